"""IAM: policies on secrets and the project, the access matrix, the real denial."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.iam.v1 import policy_pb2

from .conftest import PROJECT, VALUE

SA = "serviceAccount:{}@guard-demo.iam.gserviceaccount.com"
SECRET = f"{PROJECT}/secrets/matrix"

# operation -> (permission it needs, callable(client) performing it)
OPERATIONS = {
    "access": (
        "secretmanager.versions.access",
        lambda c: c.access_secret_version(name=f"{SECRET}/versions/latest"),
    ),
    "get_secret": ("secretmanager.secrets.get", lambda c: c.get_secret(name=SECRET)),
    "update_secret": (
        "secretmanager.secrets.update",
        lambda c: c.update_secret(
            secret={"name": SECRET, "labels": {"a": "b"}}, update_mask={"paths": ["labels"]}
        ),
    ),
    "delete_secret": ("secretmanager.secrets.delete", lambda c: c.delete_secret(name=SECRET)),
    "add_version": (
        "secretmanager.versions.add",
        lambda c: c.add_secret_version(parent=SECRET, payload={"data": b"demo-not-real-2"}),
    ),
    "get_version": (
        "secretmanager.versions.get",
        lambda c: c.get_secret_version(name=f"{SECRET}/versions/1"),
    ),
    "list_versions": (
        "secretmanager.versions.list",
        lambda c: list(c.list_secret_versions(parent=SECRET)),
    ),
    "disable": (
        "secretmanager.versions.disable",
        lambda c: c.disable_secret_version(name=f"{SECRET}/versions/1"),
    ),
    "enable": (
        "secretmanager.versions.enable",
        lambda c: c.enable_secret_version(name=f"{SECRET}/versions/1"),
    ),
    "destroy": (
        "secretmanager.versions.destroy",
        lambda c: c.destroy_secret_version(name=f"{SECRET}/versions/1"),
    ),
    "get_policy": (
        "secretmanager.secrets.getIamPolicy",
        lambda c: c.get_iam_policy(request={"resource": SECRET}),
    ),
    "set_policy": (
        "secretmanager.secrets.setIamPolicy",
        lambda c: c.set_iam_policy(request={"resource": SECRET, "policy": {}}),
    ),
}

ROLE_ALLOWS = {
    "roles/secretmanager.secretAccessor": {"access"},
    "roles/secretmanager.viewer": {"get_secret", "get_version", "list_versions", "get_policy"},
    "roles/secretmanager.secretVersionAdder": {"add_version"},
    "roles/secretmanager.secretVersionManager": {
        "add_version", "get_version", "list_versions", "disable", "enable", "destroy",
    },
    "roles/secretmanager.admin": set(OPERATIONS),
    None: set(),
}  # fmt: skip


def grant(client, resource: str, role: str, member: str) -> None:
    policy = client.get_iam_policy(request={"resource": resource})
    policy.bindings.append(policy_pb2.Binding(role=role, members=[member]))
    client.set_iam_policy(request={"resource": resource, "policy": policy})


@pytest.mark.parametrize("role", list(ROLE_ALLOWS))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_access_matrix_secret_level(cloud, gcp, client, client_as, make_secret, role, operation):
    make_secret("matrix", VALUE)
    gcp.add_identity("matrix-app")
    if role is not None:
        grant(client, SECRET, role, SA.format("matrix-app"))
    permission, call = OPERATIONS[operation]
    as_app = client_as("matrix-app")
    if operation in ROLE_ALLOWS[role]:
        call(as_app)
    else:
        with pytest.raises(exceptions.PermissionDenied) as info:
            call(as_app)
        assert info.value.message.startswith(f"Permission '{permission}' denied for resource '")
        assert info.value.message.endswith("' (or it may not exist).")
        assert VALUE.decode() not in str(info.value)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("roles/secretmanager.viewer", {"list", "get"}),
        ("roles/secretmanager.secretAccessor", {"access"}),
        ("roles/secretmanager.admin", {"list", "get", "access", "create"}),
    ],
)
def test_project_level_roles(cloud, gcp, client, client_as, make_secret, role, allowed):
    make_secret("matrix", VALUE)
    cloud.seed({"gcp": {"project_roles": {"proj-app": [role]}}})
    app = client_as("proj-app")
    calls = {
        "list": lambda: list(app.list_secrets(parent=PROJECT)),
        "get": lambda: app.get_secret(name=SECRET),
        "access": lambda: app.access_secret_version(name=f"{SECRET}/versions/1"),
        "create": lambda: app.create_secret(
            parent=PROJECT, secret_id="new", secret={"replication": {"automatic": {}}}
        ),
    }
    for what, call in calls.items():
        if what in allowed:
            call()
        else:
            with pytest.raises(exceptions.PermissionDenied):
                call()


def test_denied_message_exact(seeded, client_as):
    dev = client_as("dev-app")
    name = "projects/guard-demo/secrets/prod-api-key/versions/latest"
    with pytest.raises(exceptions.PermissionDenied) as info:
        dev.access_secret_version(request={"name": name})
    assert info.value.message == (
        "Permission 'secretmanager.versions.access' denied for resource "
        f"'{name}' (or it may not exist)."
    )


def test_missing_secret_looks_forbidden_without_rights(seeded, client_as):
    dev = client_as("dev-app")
    with pytest.raises(exceptions.PermissionDenied, match="or it may not exist"):
        dev.access_secret_version(name=f"{PROJECT}/secrets/no-such/versions/latest")


def test_seeded_readers_and_writers(seeded, client_as):
    dev, prod, ci = client_as("dev-app"), client_as("prod-app"), client_as("ci-app")
    latest = f"{PROJECT}/secrets/{{}}/versions/latest"
    assert dev.access_secret_version(name=latest.format("dev-api-key")).payload.data == (
        b"demo-not-a-real-key-dev"
    )
    assert prod.access_secret_version(name=latest.format("prod-api-key")).payload.data == (
        b"demo-not-a-real-key-prod"
    )
    with pytest.raises(exceptions.PermissionDenied):
        prod.access_secret_version(name=latest.format("dev-api-key"))
    # a writer (secretVersionManager) may add and manage versions, but not read them
    ci.add_secret_version(
        parent=f"{PROJECT}/secrets/shared-key", payload={"data": b"demo-not-a-real-key-2"}
    )
    ci.disable_secret_version(name=f"{PROJECT}/secrets/shared-key/versions/1")
    with pytest.raises(exceptions.PermissionDenied):
        ci.access_secret_version(name=latest.format("shared-key"))


def test_admin_cannot_reach_other_project(client):
    with pytest.raises(exceptions.PermissionDenied, match="projects/someone-else"):
        client.access_secret_version(name="projects/someone-else/secrets/x/versions/latest")


def test_policy_roundtrip_and_etag(client, make_secret):
    name = make_secret("api-key")
    empty = client.get_iam_policy(request={"resource": name})
    assert list(empty.bindings) == []
    member = SA.format("dev-app")
    empty.bindings.append(
        policy_pb2.Binding(role="roles/secretmanager.secretAccessor", members=[member])
    )
    stored = client.set_iam_policy(request={"resource": name, "policy": empty})
    assert stored.etag and stored.etag != empty.etag
    again = client.get_iam_policy(request={"resource": name})
    assert [(b.role, list(b.members)) for b in again.bindings] == [
        ("roles/secretmanager.secretAccessor", [member])
    ]
    # a second writer holding the old etag loses
    with pytest.raises(exceptions.Aborted, match="concurrent policy changes"):
        client.set_iam_policy(request={"resource": name, "policy": empty})


@pytest.mark.parametrize(
    "binding",
    [
        {"role": "roles/storage.admin", "members": [SA.format("x")]},
        {"role": "roles/secretmanager.viewer", "members": ["not-a-member"]},
    ],
)
def test_bad_policies(client, make_secret, binding):
    name = make_secret("api-key")
    with pytest.raises(exceptions.InvalidArgument):
        client.set_iam_policy(request={"resource": name, "policy": {"bindings": [binding]}})


def test_test_iam_permissions(seeded, client, client_as):
    name = f"{PROJECT}/secrets/dev-api-key"
    asked = [
        "secretmanager.versions.access",
        "secretmanager.secrets.get",
        "secretmanager.secrets.delete",
    ]
    dev = client_as("dev-app").test_iam_permissions(
        request={"resource": name, "permissions": asked}
    )
    assert list(dev.permissions) == ["secretmanager.versions.access"]
    admin = client.test_iam_permissions(request={"resource": name, "permissions": asked})
    assert list(admin.permissions) == asked
    with pytest.raises(exceptions.InvalidArgument):
        client.test_iam_permissions(
            request={"resource": name, "permissions": ["storage.objects.get"]}
        )
