"""The access matrix: identity x secret x operation -> allowed, or 403 Forbidden with the real
error body. Seeded vault ``guard-demo`` uses Azure RBAC with roles scoped to each secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from .conftest import SEED

SECRETS = ("dev-api-key", "prod-api-key")
VALUES = {name: spec["value"] for name, spec in SEED["secrets"].items()}


def _prepare_deleted(azure, name: str) -> None:
    azure.state.vault("guard-demo").delete(name)


def _prepare_restorable(azure, name: str) -> bytes:
    vault = azure.state.vault("guard-demo")
    secret, _ = vault.get(name)
    blob = azure.app.backups.dump(secret)
    vault.delete(name)
    vault.purge(name)
    import base64

    return base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))


# operation -> (prepare(azure, name) -> arg, call(client, name, arg)), vault-scoped?
OPERATIONS: dict[str, tuple[Callable | None, Callable, bool]] = {
    "get": (None, lambda c, n, a: c.get_secret(n), False),
    "list": (None, lambda c, n, a: list(c.list_properties_of_secrets()), True),
    "list_versions": (None, lambda c, n, a: list(c.list_properties_of_secret_versions(n)), False),
    "set": (None, lambda c, n, a: c.set_secret(n, "demo-not-a-real-new-value"), False),
    "update": (None, lambda c, n, a: c.update_secret_properties(n, tags={"x": "y"}), False),
    "delete": (None, lambda c, n, a: c.begin_delete_secret(n).wait(), False),
    "backup": (None, lambda c, n, a: c.backup_secret(n), False),
    "get_deleted": (_prepare_deleted, lambda c, n, a: c.get_deleted_secret(n), False),
    "list_deleted": (_prepare_deleted, lambda c, n, a: list(c.list_deleted_secrets()), True),
    "recover": (_prepare_deleted, lambda c, n, a: c.begin_recover_deleted_secret(n).wait(), False),
    "purge": (_prepare_deleted, lambda c, n, a: c.purge_deleted_secret(n), False),
    "restore": (_prepare_restorable, lambda c, n, a: c.restore_secret_backup(a), True),
}
READER_OPS = {"get", "list_versions"}
IDENTITIES = (None, "dev-app", "prod-app", "ops-app", "nobody-app")


def expected(identity: str | None, secret: str, operation: str) -> bool:
    if identity is None:  # the administrator
        return True
    vault_scoped = OPERATIONS[operation][2]
    if vault_scoped:  # roles scoped to one secret never reach vault-wide operations
        return False
    if identity == "ops-app":  # Key Vault Secrets Officer on both secrets
        return True
    reader_of = {"dev-app": "dev-api-key", "prod-app": "prod-api-key"}.get(identity)
    return reader_of == secret and operation in READER_OPS


CASES = [
    pytest.param(i, s, op, id=f"{i or 'admin'}-{s}-{op}")
    for i in IDENTITIES
    for s in SECRETS
    for op in OPERATIONS
]


@pytest.mark.parametrize(("identity", "secret", "operation"), CASES)
def test_access_matrix(cloud, azure, client_as, identity, secret, operation) -> None:
    cloud.seed(SEED)
    prepare, call, _ = OPERATIONS[operation]
    arg = prepare(azure, secret) if prepare else None
    client: SecretClient = client_as(identity)
    if expected(identity, secret, operation):
        result = call(client, secret, arg)
        if operation == "get":
            assert result.value == VALUES[secret]
        return
    with pytest.raises(HttpResponseError) as err:
        call(client, secret, arg)
    exc = err.value
    assert exc.status_code == 403
    assert not isinstance(exc, ResourceNotFoundError)
    assert exc.error.code == "Forbidden"
    assert exc.error.innererror == {"code": "ForbiddenByRbac"}
    assert "Caller is not authorized to perform action on resource." in exc.message
    assert azure.principal(identity).object_id in exc.message
    for value in VALUES.values():
        assert value not in str(exc)


def test_access_policy_vault_is_vault_wide(cloud, azure, client_as) -> None:
    """Access policies grant per object id for the whole vault, as on Azure."""
    cloud.seed(
        {
            "identities": ["dev-app", "nobody-app"],
            "azure": {
                "vaults": {"legacy-kv": {"permission_model": "access_policy"}},
                "access_policies": [
                    {"vault": "legacy-kv", "identity": "dev-app", "secrets": ["get"]}
                ],
                "secrets": [
                    {"vault": "legacy-kv", "name": "a", "value": "demo-not-a-real-a"},
                    {"vault": "legacy-kv", "name": "b", "value": "demo-not-a-real-b"},
                ],
            },
        }
    )
    client_as("dev-app")
    from azure.identity import DefaultAzureCredential

    with SecretClient("https://legacy-kv.vault.azure.net", DefaultAzureCredential()) as client:
        assert client.get_secret("a").value == "demo-not-a-real-a"
        assert client.get_secret("b").value == "demo-not-a-real-b"
        for denied in (
            lambda: list(client.list_properties_of_secrets()),
            lambda: client.set_secret("a", "demo-not-a-real-c"),
            lambda: client.begin_delete_secret("a"),
        ):
            with pytest.raises(HttpResponseError) as err:
                denied()
            assert err.value.status_code == 403
            assert err.value.error.code == "Forbidden"
            assert err.value.error.innererror == {"code": "AccessDenied"}
            assert "does not have secrets" in err.value.message
    client_as("nobody-app")
    with SecretClient("https://legacy-kv.vault.azure.net", DefaultAzureCredential()) as client:
        with pytest.raises(HttpResponseError) as err:
            client.get_secret("a")
        assert err.value.status_code == 403
        assert "does not have secrets get permission on key vault 'legacy-kv" in err.value.message


def test_vault_scoped_role_assignment(cloud, client_as) -> None:
    cloud.seed(
        {
            "secrets": {"x": {"value": "demo-not-a-real-x"}, "y": {"value": "demo-not-a-real-y"}},
            "identities": ["auditor"],
            "azure": {"role_assignments": [{"identity": "auditor", "role": "Key Vault Reader"}]},
        }
    )
    client = client_as("auditor")
    assert {p.name for p in client.list_properties_of_secrets()} == {"x", "y"}
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("x")  # Reader sees metadata, never values
    assert err.value.status_code == 403


def test_seeded_admin_identity_is_officer_of_the_vault(cloud, client_as) -> None:
    cloud.seed(
        {
            "identities": {"boss-app": {"admin": True}},
            "secrets": {"z": {"value": "demo-not-a-real-z"}},
        }
    )
    client = client_as("boss-app")
    assert client.get_secret("z").value == "demo-not-a-real-z"
    client.set_secret("new-one", "demo-not-a-real-n")
