"""Keyless deploys end to end, as a GitHub Actions job runs them (issue 15's platforms).

For each cloud, `guardlib emulators up --platform github-actions+STEP --oidc-subject SUBJECT`
runs the offline cloud (the course seed and its trusts) in its own process and writes what the
job has after that cloud's official step: aws-actions/configure-aws-credentials (exported
keys), google-github-actions/auth (a gha-creds-*.json file), hashicorp/vault-action
(exportToken), and for Azure the workflow's AZURE_CLIENT_ID/AZURE_TENANT_ID with the runner's
token endpoint (ClientAssertionCredential). Then, in a FRESH process with only that
environment (plus PATH and HOME), each cloud's ordinary SDK code reads ``prod-api-key``. As a
pull request, each cloud refuses with its real error: at the step where the action itself
exchanges the token (AWS, OpenBao: the job stops there), or at the read (GCP, Azure).
"""

from __future__ import annotations

import contextlib
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
STEPS = {"aws": "configure-aws-credentials", "azure": "azure-client-assertion",
         "gcp": "google-github-actions-auth", "vault": "vault-action"}  # fmt: skip
TOKEN_FILES = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE",
               "VAULT_JWT_FILE", "IDENTITY_HEADER", "IDENTITY_ENDPOINT", "AZURE_CLIENT_SECRET",
               "GCE_METADATA_HOST")  # fmt: skip

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
import hashlib, json, os, re, urllib.parse, urllib.request
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ClientAssertionCredential
from azure.keyvault.secrets import SecretClient
def github_token():
    audience = urllib.parse.quote("api://AzureADTokenExchange", safe="")
    url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + audience
    token = os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)["value"]
credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
                                       github_token)
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
import hashlib
import hvac
import hvac.exceptions
client = hvac.Client()  # VAULT_ADDR (the workflow's env) and VAULT_TOKEN (vault-action's export)
try:
    answer = client.secrets.kv.v2.read_secret_version(path="prod-api-key", mount_point="secret",
                                                      raise_on_deleted_version=True)
    print("read", hashlib.sha256(answer["data"]["data"]["value"].encode()).hexdigest())
    client.auth.token.revoke_self()
except hvac.exceptions.VaultError as error:
    print("refused", type(error).__name__, (error.errors or ["no-message"])[0])
""",
}
#: what each cloud answers a pull request: at the step (the job stops there) or at the read
PR_REFUSALS = {
    "aws": "Could not assume role with OIDC: AccessDenied",  # no trust policy statement matches
    "azure": "refused ClientAuthenticationError AADSTS700213",  # no federated credential matches
    "gcp": "refused RefreshError PERMISSION_DENIED",  # IAM Credentials: no workloadIdentityUser
    "vault": 'claim "sub" does not match',  # OpenBao's bound claims (vault-action's error)
}
AT_THE_STEP = ("aws", "vault")


def _missing(cloud: str) -> str | None:
    why = emulators.available().get(cloud)
    return None if why is None else f"{cloud}: {why}"


@contextlib.contextmanager
def _job(cloud: str, subject: str, folder: Path) -> Iterator[dict[str, str] | str]:
    """The job's environment after the cloud's step while the cloud runs, or the step's
    error (then ``up`` exits 2 and says why)."""
    args = ["--only", cloud, "--platform", f"github-actions+{STEPS[cloud]}",
            "--oidc-subject", subject]  # fmt: skip
    try:
        with in_subprocess(args, folder) as env:
            yield env
            return
    except RuntimeError as error:
        if "did not become ready" not in str(error):
            raise
        failure = str(error)
    yield failure


def _run(cloud: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPTS[cloud]], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert PROD_VALUE not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_main_branch_reads_prod_after_the_official_step(cloud: str, tmp_path: Path) -> None:
    reason = _missing(cloud)
    if reason is not None:
        pytest.skip(reason)
    with _job(cloud, MAIN, tmp_path) as job:
        assert isinstance(job, dict), job
        assert not set(TOKEN_FILES) & set(job)
        assert _run(cloud, job) == f"read {hashlib.sha256(PROD_VALUE.encode()).hexdigest()}"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_pull_request_is_refused(cloud: str, tmp_path: Path) -> None:
    reason = _missing(cloud)
    if reason is not None:
        pytest.skip(reason)
    with _job(cloud, PULL_REQUEST, tmp_path) as job:
        if cloud in AT_THE_STEP:
            assert isinstance(job, str), "the step should have failed"
            assert PR_REFUSALS[cloud] in job and "Traceback" not in job
            assert PROD_VALUE not in job
        else:
            assert isinstance(job, dict), job
            assert _run(cloud, job).startswith(PR_REFUSALS[cloud])
