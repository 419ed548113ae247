"""Done when: keyless deploys end to end, as a CI job would run them.

`guardlib emulators up --oidc-subject SUBJECT --env-file F` runs the offline cloud (the course
seed and its trusts) in its own process and writes what a GitHub Actions job gets: a token
file per cloud and the variables that tell each SDK to exchange it, and no static credential.
Then, in a FRESH process with only that environment (plus PATH and HOME), each cloud's
ordinary SDK code reads ``prod-api-key``: boto3 (AssumeRoleWithWebIdentity), azure-identity's
DefaultAzureCredential (WorkloadIdentityCredential), google-auth's default credentials (an
external_account file) and hvac (OpenBao's JWT auth). The same code as a pull request is
refused by each cloud with its real error.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardlib import emulators
from guardlib.emulators.seed import COURSE
from guardlib.emulators.up import in_subprocess

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PULL_REQUEST = "repo:codehive/wallet:pull_request"
PROD_VALUE = COURSE["secrets"]["prod-api-key"]["value"]
CLOUDS = ("aws", "azure", "gcp", "vault")
STATIC = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_CLIENT_SECRET", "IDENTITY_HEADER",
          "IDENTITY_ENDPOINT", "VAULT_TOKEN", "GCE_METADATA_HOST")  # fmt: skip

# Each script reads prod-api-key with the SDK's own credential chain and prints one line:
# "read <sha256 of the value>" or "refused <exception type> <the service's code>".
SCRIPTS = {
    "aws": r"""
import hashlib
import boto3
from botocore.exceptions import ClientError
try:
    client = boto3.session.Session().client("secretsmanager")
    answer = client.get_secret_value(SecretId="prod-api-key")
    print("read", hashlib.sha256(answer["SecretString"].encode()).hexdigest())
except ClientError as error:
    print("refused", type(error).__name__, error.response["Error"]["Code"])
""",
    "azure": r"""
import hashlib, os, re
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
credential = DefaultAzureCredential()
try:
    with SecretClient(os.environ["VAULT_URL"], credential) as client:
        value = client.get_secret("prod-api-key").value
    print("read", hashlib.sha256(value.encode()).hexdigest())
except ClientAuthenticationError as error:
    codes = re.findall(r"AADSTS\d+", str(error))
    print("refused", type(error).__name__, codes[0] if codes else "no-code")
except HttpResponseError as error:
    print("refused", type(error).__name__, error.status_code)
""",
    "gcp": r"""
import hashlib, json, os
import google.auth
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request
from google.cloud import secretmanager
credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
try:
    credentials.refresh(Request())
except auth_exceptions.GoogleAuthError as error:
    raw = error.args[1] if len(error.args) > 1 else "{}"
    body = json.loads(raw) if isinstance(raw, str) else raw
    found = body.get("error")
    code = found.get("status") if isinstance(found, dict) else found
    print("refused", type(error).__name__, code)
else:
    client = secretmanager.SecretManagerServiceClient(credentials=credentials)
    name = f"projects/{project}/secrets/prod-api-key/versions/latest"
    data = client.access_secret_version(name=name, retry=None, timeout=30).payload.data
    print("read", hashlib.sha256(data).hexdigest())
""",
    "vault": r"""
import hashlib, os
from pathlib import Path
import hvac
import hvac.exceptions
client = hvac.Client()
try:
    client.auth.jwt.jwt_login(
        role=os.environ["VAULT_AUTH_ROLE"],
        jwt=Path(os.environ["VAULT_JWT_FILE"]).read_text(encoding="ascii").strip(),
        path=os.environ["VAULT_AUTH_PATH"],
    )
    answer = client.secrets.kv.v2.read_secret_version(path="prod-api-key", mount_point="secret",
                                                      raise_on_deleted_version=True)
    print("read", hashlib.sha256(answer["data"]["data"]["value"].encode()).hexdigest())
except hvac.exceptions.VaultError as error:
    print("refused", type(error).__name__, (error.errors or ["no-message"])[0])
""",
}
#: what each cloud answers a pull request (type, code)
PR_REFUSALS = {
    "aws": "refused ClientError AccessDenied",  # STS: the role's trust policy has no match
    "azure": "refused ClientAuthenticationError AADSTS700213",  # no federated credential matches
    "gcp": "refused RefreshError PERMISSION_DENIED",  # IAM Credentials: no workloadIdentityUser
    "vault": 'refused InvalidRequest error validating claims: claim "sub" does not match',
}


def _federation_missing(cloud: str) -> str | None:
    """Why ``cloud`` cannot run keyless yet (its emulator, or its federation, is missing)."""
    why = emulators.available().get(cloud)
    if why is not None:
        return f"{cloud}: {why}"
    if not hasattr(emulators._load(cloud), "federation_env"):
        return f"the {cloud} emulator has no workload identity federation yet (no federation_env)"
    return None


def _up(subject: str, folder: Path) -> Iterator[dict[str, str]]:
    with in_subprocess(["--oidc-subject", subject], folder) as env:
        yield env


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from _up(MAIN, tmp_path_factory.mktemp("ci-main"))


@pytest.fixture(scope="module")
def pull_request_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from _up(PULL_REQUEST, tmp_path_factory.mktemp("ci-pr"))


def _run(cloud: str, env: dict[str, str]) -> str:
    reason = _federation_missing(cloud)
    if reason is not None:
        pytest.skip(reason)
    done = subprocess.run([sys.executable, "-c", SCRIPTS[cloud]], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert PROD_VALUE not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


def test_the_job_environment_holds_no_static_credential(main_job: dict[str, str]) -> None:
    assert not set(STATIC) & set(main_job)
    for name, path in main_job.items():
        if name.endswith("TOKEN_FILE"):
            assert Path(path).is_file()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_main_branch_reads_prod(main_job: dict[str, str], cloud: str) -> None:
    assert _run(cloud, main_job) == f"read {hashlib.sha256(PROD_VALUE.encode()).hexdigest()}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_pull_request_is_refused(pull_request_job: dict[str, str], cloud: str) -> None:
    assert _run(cloud, pull_request_job).startswith(PR_REFUSALS[cloud])
