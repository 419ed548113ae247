"""Identity: self-signed JWTs from key files, forged/expired/wrong-audience tokens, unknown
accounts, and the metadata-server story. Bad credentials are made with google-auth itself."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import google.auth.jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions
from google.auth import crypt
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager
from google.oauth2 import credentials as oauth2_credentials

from .conftest import PROJECT, VALUE

AUD = "https://secretmanager.googleapis.com/"
LATEST = f"{PROJECT}/secrets/dev-api-key/versions/latest"
INVALID = "Request had invalid authentication credentials"


def key_info(cloud, identity: str) -> dict:
    return json.loads(Path(cloud.env(identity)["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())


def with_token(token: bytes | str) -> secretmanager.SecretManagerServiceClient:
    token = token.decode() if isinstance(token, bytes) else token
    return secretmanager.SecretManagerServiceClient(
        credentials=oauth2_credentials.Credentials(token=token)
    )


def assert_unauthenticated(client, message: str = INVALID) -> None:
    with pytest.raises(exceptions.Unauthenticated) as info:
        client.access_secret_version(name=LATEST)
    assert message in info.value.message
    assert "demo-not-a-real-key" not in str(info.value)


def test_key_file_identity_works(seeded, client_as):
    assert client_as("dev-app").access_secret_version(name=LATEST).payload.data == (
        b"demo-not-a-real-key-dev"
    )


def test_key_file_is_a_real_service_account_key(cloud, gcp):
    info = key_info(cloud, "dev-app")
    assert info["type"] == "service_account"
    assert info["client_email"] == "dev-app@guard-demo.iam.gserviceaccount.com"
    assert info["project_id"] == "guard-demo"
    path = Path(cloud.env("dev-app")["GOOGLE_APPLICATION_CREDENTIALS"])
    assert path.parent == cloud.workdir and oct(path.stat().st_mode)[-3:] == "600"


def test_explicit_scopes_send_a_scope_jwt(seeded, cloud, monkeypatch):
    # with user scopes google-auth sends a JWT with a "scope" claim and no "aud" (AIP-4111)
    for key, value in cloud.env("dev-app").items():
        monkeypatch.setenv(key, value)
    client = secretmanager.SecretManagerServiceClient(
        client_options={"scopes": ["https://www.googleapis.com/auth/cloud-platform"]}
    )
    assert client.access_secret_version(name=LATEST).payload.data == b"demo-not-a-real-key-dev"


def test_forged_key(seeded, cloud, monkeypatch, tmp_path):
    """Right key id and email, wrong private key: the signature does not verify."""
    info = key_info(cloud, "dev-app")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(forged))
    assert_unauthenticated(secretmanager.SecretManagerServiceClient())


def test_key_of_another_account(seeded, cloud, monkeypatch, tmp_path):
    """prod-app's key, claiming to be dev-app."""
    info = key_info(cloud, "prod-app")
    info["client_email"] = "dev-app@guard-demo.iam.gserviceaccount.com"
    path = tmp_path / "impostor.json"
    path.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    assert_unauthenticated(secretmanager.SecretManagerServiceClient())


def test_unknown_account(seeded, client_as):
    assert_unauthenticated(client_as("ghost-app"))


def test_account_forgotten_after_reset(seeded, cloud, client_as):
    dev = client_as("dev-app")
    dev.access_secret_version(name=LATEST)
    cloud.reset()
    assert_unauthenticated(dev)


def signed(cloud, identity: str, **claims) -> bytes:
    info = key_info(cloud, identity)
    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    payload = {"iss": info["client_email"], "sub": info["client_email"], "aud": AUD}
    payload.update({"iat": now, "exp": now + 3600})
    payload.update(claims)
    return google.auth.jwt.encode(signer, {k: v for k, v in payload.items() if v is not None})


def test_handmade_valid_jwt_is_accepted(seeded, cloud):
    # the control for the tests below: the same construction with good claims works
    assert with_token(signed(cloud, "dev-app")).access_secret_version(name=LATEST).payload.data


def test_expired_jwt(seeded, cloud):
    now = int(time.time())
    assert_unauthenticated(with_token(signed(cloud, "dev-app", iat=now - 7200, exp=now - 3600)))


def test_jwt_from_the_future(seeded, cloud):
    now = int(time.time())
    assert_unauthenticated(with_token(signed(cloud, "dev-app", iat=now + 600, exp=now + 1200)))


def test_jwt_lifetime_over_an_hour(seeded, cloud):
    now = int(time.time())
    assert_unauthenticated(with_token(signed(cloud, "dev-app", iat=now, exp=now + 7200)))


def test_wrong_audience_with_google_auth_jwt_credentials(seeded, cloud):
    creds = google.auth.jwt.Credentials.from_service_account_info(
        key_info(cloud, "dev-app"), audience="https://storage.googleapis.com/"
    )
    assert_unauthenticated(secretmanager.SecretManagerServiceClient(credentials=creds))


def test_right_audience_with_google_auth_jwt_credentials(seeded, cloud):
    creds = google.auth.jwt.Credentials.from_service_account_info(
        key_info(cloud, "dev-app"), audience=AUD
    )
    client = secretmanager.SecretManagerServiceClient(credentials=creds)
    assert client.access_secret_version(name=LATEST).payload.data == b"demo-not-a-real-key-dev"


def test_wrong_scope_without_audience(seeded, cloud):
    token = signed(
        cloud, "dev-app", aud=None, scope="https://www.googleapis.com/auth/devstorage.read_only"
    )
    assert_unauthenticated(with_token(token))


def test_tampered_claims(seeded, cloud):
    head, _, sig = signed(cloud, "dev-app").decode().split(".")
    other_body = signed(cloud, "dev-app", iss="prod-app@guard-demo.iam.gserviceaccount.com")
    assert_unauthenticated(with_token(f"{head}.{other_body.decode().split('.')[1]}.{sig}"))


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", "ya29.made-up-access-token"],
)
def test_garbage_tokens(seeded, token):
    assert_unauthenticated(with_token(token))


def test_no_credentials(seeded):
    client = secretmanager.SecretManagerServiceClient(credentials=AnonymousCredentials())
    assert_unauthenticated(client, "Request is missing required authentication credential")


METADATA_SCRIPT = """
import google.auth
from google.api_core import exceptions
from google.cloud import secretmanager

credentials, project = google.auth.default()
print(type(credentials).__module__, project)
client = secretmanager.SecretManagerServiceClient()
name = f"projects/{project}/secrets/dev-api-key/versions/latest"
print(client.access_secret_version(request={"name": name}).payload.data.decode())
try:
    client.access_secret_version(name=f"projects/{project}/secrets/prod-api-key/versions/1")
except exceptions.PermissionDenied as exc:
    print("denied", exc.message)
"""


def test_metadata_server_identity(seeded, cloud, gcp):
    env = {k: v for k, v in cloud.env("dev-app").items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    env.update(gcp.metadata_env("dev-app"))
    env["PATH"] = "/usr/bin:/bin"
    env["CLOUDSDK_CONFIG"] = "/nonexistent"  # no gcloud user credentials
    done = subprocess.run(
        [sys.executable, "-c", METADATA_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "google.auth.compute_engine.credentials guard-demo"
    assert lines[1] == "demo-not-a-real-key-dev"
    assert lines[2].startswith("denied Permission 'secretmanager.versions.access' denied")


def test_metadata_server_requires_flavor_header(seeded, gcp):
    import urllib.request

    host = gcp.metadata_env("dev-app")["GCE_METADATA_HOST"]
    url = f"http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(url, timeout=5)
    assert info.value.code == 403
    request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
    with opener.open(request, timeout=5) as response:
        token = json.load(response)
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    client = with_token(token["access_token"])
    assert client.access_secret_version(name=LATEST).payload.data == b"demo-not-a-real-key-dev"


def test_secret_value_never_in_errors(seeded, client_as):
    with pytest.raises(exceptions.FailedPrecondition) as info:
        admin = client_as(None)
        admin.disable_secret_version(name=f"{PROJECT}/secrets/dev-api-key/versions/1")
        admin.access_secret_version(name=LATEST)
    assert "demo-not-a-real-key" not in str(info.value)
    assert VALUE not in str(info.value).encode()


def metadata_token(gcp, identity: str) -> str:
    import urllib.request

    host = gcp.metadata_env(identity)["GCE_METADATA_HOST"]
    url = f"http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
    with opener.open(request, timeout=5) as response:
        return json.load(response)["access_token"]


def test_metadata_token_follows_the_account_across_reset(seeded, cloud, gcp):
    client = with_token(metadata_token(gcp, "dev-app"))
    assert client.access_secret_version(name=LATEST).payload.data
    cloud.reset()
    assert_unauthenticated(client)
    cloud.seed(
        {"secrets": {"dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]}}}
    )
    assert client.access_secret_version(name=LATEST).payload.data == b"demo-not-a-real-key-dev"


def test_jwt_client_follows_the_account_across_reset(seeded, cloud, client_as):
    dev = client_as("dev-app")
    dev.access_secret_version(name=LATEST)
    cloud.reset()
    assert_unauthenticated(dev)
    cloud.seed(
        {"secrets": {"dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]}}}
    )
    assert dev.access_secret_version(name=LATEST).payload.data == b"demo-not-a-real-key-dev"


@pytest.mark.parametrize("identity", ["../escape", "UPPER", "a", "x/y"])
def test_env_refuses_bad_identity_names(cloud, gcp, identity):
    with pytest.raises(ValueError, match="identity names"):
        gcp.env(identity)
