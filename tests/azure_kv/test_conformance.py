"""Every Key Vault secrets operation through the real sync SDK (SecretClient)."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import KeyVaultSecret, SecretClient

from .conftest import VAULT_URL


def test_set_and_get_latest(admin: SecretClient) -> None:
    created = admin.set_secret("db-password", "demo-not-a-real-password-1")
    assert isinstance(created, KeyVaultSecret)
    assert created.value == "demo-not-a-real-password-1"
    assert created.id == f"{VAULT_URL}/secrets/db-password/{created.properties.version}"
    assert created.properties.vault_url == VAULT_URL
    assert created.properties.enabled is True
    assert created.properties.recovery_level == "Recoverable+Purgeable"
    got = admin.get_secret("db-password")
    assert got.value == "demo-not-a-real-password-1"
    assert got.properties.version == created.properties.version


def test_names_are_case_insensitive(admin: SecretClient) -> None:
    admin.set_secret("Api-Key", "demo-not-a-real-key-1")
    assert admin.get_secret("api-key").value == "demo-not-a-real-key-1"


def test_get_a_given_version(admin: SecretClient) -> None:
    first = admin.set_secret("rotating", "demo-not-a-real-v1")
    second = admin.set_secret("rotating", "demo-not-a-real-v2")
    assert first.properties.version != second.properties.version
    assert admin.get_secret("rotating").value == "demo-not-a-real-v2"
    assert admin.get_secret("rotating", first.properties.version).value == "demo-not-a-real-v1"


def test_set_with_properties(admin: SecretClient) -> None:
    expires = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    not_before = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    secret = admin.set_secret(
        "with-props",
        "demo-not-a-real-value",
        content_type="text/plain",
        tags={"env": "dev", "owner": "course"},
        expires_on=expires,
        not_before=not_before,
        enabled=True,
    )
    props = admin.get_secret("with-props").properties
    assert props.content_type == "text/plain"
    assert props.tags == {"env": "dev", "owner": "course"}
    assert props.expires_on == expires
    assert props.not_before == not_before
    assert props.created_on is not None and props.updated_on is not None
    assert secret.properties.version == props.version


def test_update_properties(admin: SecretClient) -> None:
    admin.set_secret("upd", "demo-not-a-real-value")
    expires = dt.datetime(2032, 6, 1, tzinfo=dt.timezone.utc)
    updated = admin.update_secret_properties(
        "upd", content_type="application/json", tags={"a": "b"}, expires_on=expires
    )
    assert updated.content_type == "application/json"
    assert updated.tags == {"a": "b"}
    assert updated.expires_on == expires
    got = admin.get_secret("upd")
    assert got.value == "demo-not-a-real-value"
    assert got.properties.content_type == "application/json"


def test_update_a_given_version_and_disable_enable(admin: SecretClient) -> None:
    old = admin.set_secret("toggle", "demo-not-a-real-old")
    admin.set_secret("toggle", "demo-not-a-real-new")
    admin.update_secret_properties("toggle", old.properties.version, enabled=False)
    assert admin.get_secret("toggle").value == "demo-not-a-real-new"  # latest unaffected
    admin.update_secret_properties("toggle", old.properties.version, enabled=True)
    assert admin.get_secret("toggle", old.properties.version).value == "demo-not-a-real-old"


def test_expired_and_not_yet_valid_secrets_can_still_be_read(admin: SecretClient) -> None:
    # Azure docs: "A secret's get operation will work for not-yet-valid and expired secrets"
    past = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    future = dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc)
    admin.set_secret("expired", "demo-not-a-real-x", expires_on=past)
    admin.set_secret("later", "demo-not-a-real-y", not_before=future)
    assert admin.get_secret("expired").value == "demo-not-a-real-x"
    assert admin.get_secret("later").value == "demo-not-a-real-y"


def test_list_secrets_pages_with_next_link(admin: SecretClient) -> None:
    names = {f"s-{i:02d}" for i in range(7)}
    for name in names:
        admin.set_secret(name, "demo-not-a-real-value")
    pages = list(admin.list_properties_of_secrets(max_page_size=3).by_page())
    page_sizes = [len(list(p)) for p in pages]
    assert page_sizes == [3, 3, 1]
    listed = {p.name for p in admin.list_properties_of_secrets(max_page_size=3)}
    assert listed == names
    for props in admin.list_properties_of_secrets():
        assert props.version is None  # list items carry no version, and no value


def test_list_versions(admin: SecretClient) -> None:
    versions = {
        admin.set_secret("many", f"demo-not-a-real-{i}").properties.version for i in range(5)
    }
    listed = list(admin.list_properties_of_secret_versions("many", max_page_size=2))
    assert {p.version for p in listed} == versions
    assert all(p.name == "many" for p in listed)


def test_list_versions_of_a_missing_secret(admin: SecretClient) -> None:
    """An unknown name has no versions: an empty list, as the service pages it (issue 16)."""
    assert list(admin.list_properties_of_secret_versions("nope")) == []
    admin.set_secret("gone-soon", "demo-not-a-real-value")
    admin.begin_delete_secret("gone-soon").wait()
    assert list(admin.list_properties_of_secret_versions("gone-soon")) == []


def test_soft_delete_get_deleted_list_deleted_recover(admin: SecretClient) -> None:
    admin.set_secret("gone", "demo-not-a-real-value", tags={"t": "1"})
    poller = admin.begin_delete_secret("gone")
    deleted = poller.result()
    poller.wait()
    assert deleted.name == "gone"
    assert deleted.recovery_id == f"{VAULT_URL}/deletedsecrets/gone"
    assert deleted.deleted_date is not None and deleted.scheduled_purge_date is not None
    assert deleted.scheduled_purge_date - deleted.deleted_date == dt.timedelta(days=90)
    with pytest.raises(ResourceNotFoundError):
        admin.get_secret("gone")
    assert admin.get_deleted_secret("gone").name == "gone"
    assert [d.name for d in admin.list_deleted_secrets()] == ["gone"]
    # the name cannot be reused while deleted but recoverable
    with pytest.raises(ResourceExistsError) as err:
        admin.set_secret("gone", "demo-not-a-real-other")
    assert err.value.error.code == "Conflict"
    recovered = admin.begin_recover_deleted_secret("gone")
    recovered.wait()
    assert recovered.result().name == "gone"
    assert admin.get_secret("gone").value == "demo-not-a-real-value"
    assert list(admin.list_deleted_secrets()) == []


def test_purge(admin: SecretClient) -> None:
    admin.set_secret("purge-me", "demo-not-a-real-value")
    admin.begin_delete_secret("purge-me").wait()
    admin.purge_deleted_secret("purge-me")
    with pytest.raises(ResourceNotFoundError):
        admin.get_deleted_secret("purge-me")
    admin.set_secret("purge-me", "demo-not-a-real-again")  # the name is free again
    with pytest.raises(ResourceNotFoundError):
        admin.purge_deleted_secret("never-deleted")


def test_delete_missing_secret(admin: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        admin.begin_delete_secret("nope")
    assert err.value.error.code == "SecretNotFound"


def test_backup_and_restore(admin: SecretClient) -> None:
    v1 = admin.set_secret("precious", "demo-not-a-real-v1")
    admin.set_secret("precious", "demo-not-a-real-v2", content_type="text/plain")
    backup = admin.backup_secret("precious")
    assert isinstance(backup, bytes) and b"demo-not-a-real" not in backup  # opaque
    with pytest.raises(ResourceExistsError):
        admin.restore_secret_backup(backup)  # still there
    admin.begin_delete_secret("precious").wait()
    admin.purge_deleted_secret("precious")
    restored = admin.restore_secret_backup(backup)
    assert restored.name == "precious"
    assert restored.content_type == "text/plain"
    assert admin.get_secret("precious").value == "demo-not-a-real-v2"
    assert admin.get_secret("precious", v1.properties.version).value == "demo-not-a-real-v1"


@pytest.mark.parametrize("mangle", [
    lambda b: b"not a backup", lambda b: b"", lambda b: b[:20], lambda b: b[:-1],
    lambda b: b[:-2] + bytes([b[-2] ^ 1]) + b[-1:],
])  # fmt: skip
def test_a_malformed_backup_is_malformed_backup_blob(admin: SecretClient, mangle) -> None:
    """Restoring what is not an intact backup: 400, code ``Malformed backup blob`` (issue 16;
    azure-core puts the body's error code in ``HttpResponseError.error.code``)."""
    from azure.core.exceptions import HttpResponseError

    admin.set_secret("precious", "demo-not-a-real-v1")
    backup = admin.backup_secret("precious")
    admin.begin_delete_secret("precious").wait()
    admin.purge_deleted_secret("precious")
    with pytest.raises(HttpResponseError) as err:
        admin.restore_secret_backup(mangle(backup))
    assert err.value.status_code == 400
    assert err.value.error.code == "Malformed backup blob"
    assert "demo-not-a-real" not in str(err.value)


def test_service_principal_client_secret_flow(cloud, azure, monkeypatch) -> None:
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    cloud.seed({"secrets": {"sp-key": {"value": "demo-not-a-real-sp", "readers": ["ci-app"]}}})
    for key, value in cloud.env("ci-app").items():
        monkeypatch.setenv(key, value)
    sp = azure.service_principal("ci-app")
    cred = ClientSecretCredential(
        sp["AZURE_TENANT_ID"], sp["AZURE_CLIENT_ID"], sp["AZURE_CLIENT_SECRET"]
    )
    with SecretClient(VAULT_URL, cred) as client:
        assert client.get_secret("sp-key").value == "demo-not-a-real-sp"
    # and through EnvironmentCredential inside DefaultAzureCredential
    for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        monkeypatch.delenv(key)
    for key, value in sp.items():
        monkeypatch.setenv(key, value)
    with SecretClient(VAULT_URL, DefaultAzureCredential()) as client:
        assert client.get_secret("sp-key").value == "demo-not-a-real-sp"


def test_managed_identity_credential_user_and_system_assigned(cloud, azure, use_identity) -> None:
    from azure.identity import ManagedIdentityCredential

    cloud.seed({"secrets": {"mi-key": {"value": "demo-not-a-real-mi", "readers": ["web-app"]}}})
    use_identity("web-app")
    principal = azure.principal("web-app")
    for cred in (
        ManagedIdentityCredential(client_id=principal.client_id),
        ManagedIdentityCredential(identity_config={"object_id": principal.object_id}),
        ManagedIdentityCredential(identity_config={"resource_id": principal.resource_id}),
    ):
        with SecretClient(VAULT_URL, cred) as client:
            assert client.get_secret("mi-key").value == "demo-not-a-real-mi"
    # the administrator's site has a system-assigned identity
    use_identity(None)
    with SecretClient(VAULT_URL, ManagedIdentityCredential()) as client:
        assert client.get_secret("mi-key").value == "demo-not-a-real-mi"


def test_seed_extra_vault_with_access_policies(cloud, client_as) -> None:
    cloud.seed(
        {
            "identities": ["dev-app"],
            "azure": {
                "vaults": {"legacy-kv": {"permission_model": "access_policy"}},
                "access_policies": [
                    {"vault": "legacy-kv", "identity": "dev-app", "secrets": ["get", "list"]}
                ],
                "secrets": [
                    {"vault": "legacy-kv", "name": "old-key", "value": "demo-not-a-real-old"}
                ],
            },
        }
    )
    client_as("dev-app")
    from azure.identity import DefaultAzureCredential

    with SecretClient("https://legacy-kv.vault.azure.net", DefaultAzureCredential()) as client:
        assert client.get_secret("old-key").value == "demo-not-a-real-old"
        assert [p.name for p in client.list_properties_of_secrets()] == ["old-key"]


# -- the REST definition, walked -----------------------------------------------------------------
def _rest_operations() -> list[tuple[str, object]]:
    """Every ``build_*_request`` of the SDK's generated operations: the SDK is generated from
    Azure/azure-rest-api-specs' KeyVault secrets definition, so this is that definition's list of
    operations (method + URL template + api-version), as this installed SDK speaks it."""
    import inspect

    from azure.keyvault.secrets._generated._operations import _operations as generated

    found = [
        (name, func)
        for name, func in inspect.getmembers(generated, inspect.isfunction)
        if name.startswith("build_") and name.endswith("_request")
    ]
    assert len(found) >= 12, [n for n, _ in found]
    return found


REST_OPERATIONS = _rest_operations()
_BODIES = {
    "PUT": {"value": "demo-not-a-real-conformance"},
    "PATCH": {"contentType": "text/plain"},
}


def _build(func: object, secret: str, version: str, backup: str = "bm90LWEtYmFja3Vw") -> object:
    import inspect

    params = inspect.signature(func).parameters  # type: ignore[arg-type]
    kwargs: dict[str, object] = {}
    if "secret_name" in params:
        kwargs["secret_name"] = secret
    if "secret_version" in params:
        kwargs["secret_version"] = version
    request = func(**kwargs)  # type: ignore[operator]
    body = _BODIES.get(request.method)
    if request.url.split("?")[0].endswith("/restore"):
        body = {"value": backup}
    if body is not None:
        request = func(**kwargs, json=body)  # type: ignore[operator]
    return request


def _send(azure, identity: str | None, request) -> object:
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy

    token = azure.issue_token(identity)
    headers = HeadersPolicy({"Authorization": f"Bearer {token}"})
    with PipelineClient(VAULT_URL, policies=[headers, RetryPolicy(retry_total=0)]) as raw:
        request.url = raw.format_url(request.url)
        return raw.send_request(request)


@pytest.mark.parametrize(("name", "func"), REST_OPERATIONS, ids=[n for n, _ in REST_OPERATIONS])
def test_every_rest_operation_is_routed(cloud, azure, use_identity, name, func) -> None:
    from .conftest import SEED

    cloud.seed(SEED)
    use_identity(None)
    vault = azure.state.vault("guard-demo")
    secret, current = vault.get("prod-api-key")
    backup = ""
    if "restore" in name:  # a genuine backup of a secret that is gone
        backup = azure.app.backups.dump(secret)
        vault.delete("prod-api-key")
        vault.purge("prod-api-key")
    elif "deleted" in name and "deleted_secrets" not in name:
        vault.delete("prod-api-key")
    response = _send(azure, None, _build(func, "prod-api-key", current.version, backup))
    assert response.status_code < 500, (name, response.text()[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert "is not supported" not in error["message"], (name, error)
        assert error["code"] != "BadParameter", (name, error)
    assert response.headers["x-ms-request-id"]


@pytest.mark.parametrize(("name", "func"), REST_OPERATIONS, ids=[n for n, _ in REST_OPERATIONS])
def test_dev_app_is_forbidden_every_operation_on_prod(
    cloud, azure, use_identity, name, func
) -> None:
    from .conftest import SEED

    cloud.seed(SEED)
    use_identity(None)
    vault = azure.state.vault("guard-demo")
    version = vault.get("prod-api-key")[1].version
    if "deleted" in name and "deleted_secrets" not in name:
        vault.delete("prod-api-key")  # so only permission stands between dev-app and it
    response = _send(azure, "dev-app", _build(func, "prod-api-key", version))
    assert response.status_code == 403, (name, response.text()[:300])
    error = response.json()["error"]
    assert error["code"] == "Forbidden"
    assert error["innererror"] == {"code": "ForbiddenByRbac"}
    assert "demo-not-a-real-key-prod" not in response.text()


def test_an_empty_name_and_an_empty_value(admin: SecretClient) -> None:
    """Issue 16's cases in the walk: ``set_secret("", v)`` PUTs to the collection, 405
    MethodNotAllowed; an empty value is stored as one."""
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as err:
        admin.set_secret("", "demo-not-a-real-value")
    assert (err.value.status_code, err.value.error.code) == (405, "MethodNotAllowed")
    assert admin.set_secret("blank", "").value == ""
