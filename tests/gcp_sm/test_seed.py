"""The shared seed form, as the GCP emulator applies it."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from guardlib.emulators.seed import SeedError

from .conftest import PROJECT


def test_seed_creates_secret_labels_and_bindings(cloud, client):
    cloud.seed(
        {
            "secrets": {
                "db-password": {
                    "value": "demo-not-a-real-password",
                    "readers": ["web-app"],
                    "writers": ["ops-app"],
                    "tags": {"Env": "dev"},
                }
            }
        }
    )
    name = f"{PROJECT}/secrets/db-password"
    assert dict(client.get_secret(name=name).labels) == {"env": "dev"}
    policy = client.get_iam_policy(request={"resource": name})
    assert {b.role: list(b.members) for b in policy.bindings} == {
        "roles/secretmanager.secretAccessor": [
            "serviceAccount:web-app@guard-demo.iam.gserviceaccount.com"
        ],
        "roles/secretmanager.secretVersionManager": [
            "serviceAccount:ops-app@guard-demo.iam.gserviceaccount.com"
        ],
    }


def test_seed_is_idempotent_and_adds_a_version_on_change(cloud, client):
    spec = {"secrets": {"api-key": {"value": "demo-not-a-real-key-1"}}}
    cloud.seed(spec)
    cloud.seed(spec)
    name = f"{PROJECT}/secrets/api-key"
    assert len(list(client.list_secret_versions(parent=name))) == 1
    cloud.seed({"secrets": {"api-key": {"value": "demo-not-a-real-key-2"}}})
    latest = client.access_secret_version(name=f"{name}/versions/latest")
    assert latest.name.endswith("/versions/2") and latest.payload.data == b"demo-not-a-real-key-2"


def test_seed_respects_clouds(cloud, client):
    cloud.seed({"secrets": {"aws-only": {"value": "demo-not-a-real-key", "clouds": ["aws"]}}})
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=f"{PROJECT}/secrets/aws-only")


def test_seed_rejects_names_gcp_cannot_hold(cloud, gcp):
    with pytest.raises(SeedError, match=r"gcp: secret name 'bad\.name'") as info:
        # clouds=["gcp"]: other emulators running in this process reject the name first
        cloud.seed({"secrets": {"bad.name": {"value": "demo-not-a-real-key-x", "clouds": ["gcp"]}}})
    assert "demo-not-a-real-key-x" not in str(info.value)


def test_seed_admin_identity_and_project_roles(cloud, client_as):
    cloud.seed(
        {
            "identities": {"boss-app": {"admin": True}},
            "gcp": {"project_roles": {"audit-app": ["roles/secretmanager.viewer"]}},
            "secrets": {"api-key": {"value": "demo-not-a-real-key"}},
        }
    )
    boss, audit = client_as("boss-app"), client_as("audit-app")
    assert boss.access_secret_version(name=f"{PROJECT}/secrets/api-key/versions/1").payload.data
    assert [s.name.rsplit("/", 1)[1] for s in audit.list_secrets(parent=PROJECT)] == ["api-key"]
    with pytest.raises(exceptions.PermissionDenied):
        audit.access_secret_version(name=f"{PROJECT}/secrets/api-key/versions/1")
    with pytest.raises(SeedError, match="unknown role"):
        cloud.seed({"gcp": {"project_roles": {"audit-app": ["roles/made.up"]}}})


# -- subject patterns (issue 16) -------------------------------------------------------------------
@pytest.mark.parametrize(
    "pattern",
    ["r*", "repo:c*", "repo:codehive*", "repo:codehive/*", "repo:codehive/wallet*", "repo:*"],
)
def test_a_pattern_without_an_exact_repository_is_a_seed_error(cloud, pattern):
    from guardlib.emulators.seed import COURSE

    wide = {"identity": "prod-app", "subject": pattern, "clouds": ["gcp"]}
    with pytest.raises(SeedError, match="exact owner and repository before its"):
        cloud.seed({**COURSE, "trusts": [*COURSE["trusts"], wide]})


@pytest.mark.parametrize(
    "pattern", ["system:serviceaccount:*", "system:*", "system:serviceaccount:Prod:*"]
)
def test_a_kubernetes_pattern_names_a_namespace(cloud, pattern):
    wide = {"identity": "prod-app", "issuer": "kubernetes", "subject": pattern}
    with pytest.raises(SeedError, match="namespace"):
        cloud.seed({"trusts": [wide]})


def test_a_look_alike_repository_never_reads_prod(cloud, gcp):
    """``repo:codehive-evil/x`` is refused by STS under the course's trusts (the provider's
    condition names the owner codehive, and no binding names another repository)."""
    from guardlib.emulators.seed import COURSE

    from .test_federation import TOKEN_AUDIENCE, sts_refusal

    ops = {"identity": "ops-app", "subject": "repo:codehive/wallet:*", "clouds": ["gcp"]}
    cloud.seed({**COURSE, "trusts": [*COURSE["trusts"], ops]})
    for subject in (
        "repo:codehive-evil/x:pull_request",
        "repo:codehive-evil/x:ref:refs/heads/main",
    ):
        token = cloud.oidc.mint(subject, TOKEN_AUDIENCE)
        assert sts_refusal(cloud, gcp, token)["error"] == "unauthorized_client"
