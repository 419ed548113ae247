# ruff: noqa: E501  (the scripts below are whole programs, as a step would run them)
"""Done when (issue 15): a bare GitHub Actions job, and the official actions' steps in it.

`guardlib emulators up --platform github-actions --oidc-subject SUB` runs in its own process
and writes a bare runner job: the runner's token URL and request token, the GITHUB_* variables,
no cloud credential. Then, in FRESH processes with only that environment:

- a script that does what aws-actions/configure-aws-credentials does (the runner token for
  sts.amazonaws.com, AssumeRoleWithWebIdentity, the keys exported through GITHUB_ENV) and a
  next step with boto3's default chain reads prod-api-key on main;
- a script that writes google-github-actions/auth's file (credential_source url + headers)
  and a next step with google-auth reads it;
- as a pull request, both are refused.

These scripts are written here from the actions' sources, independently of guardlib's own step
code (``platforms/steps.py``), which the second half checks through ``platforms.environment``.
Then the runner's token endpoint, hostile: no token, a wrong token, another job's token, no
audience, two audiences, another method.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from guardlib import emulators
from guardlib.emulators import platforms
from guardlib.emulators.kit import jwt
from guardlib.emulators.platforms.github import parse_file_command
from guardlib.emulators.seed import COURSE
from guardlib.emulators.up import in_subprocess

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PULL_REQUEST = "repo:codehive/wallet:pull_request"
PROD_VALUE = COURSE["secrets"]["prod-api-key"]["value"]
PROD_HASH = hashlib.sha256(PROD_VALUE.encode()).hexdigest()
ROLE = "arn:aws:iam::123456789012:role/prod-app"
NO_CREDENTIALS = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE",
                  "GOOGLE_APPLICATION_CREDENTIALS", "VAULT_JWT_FILE", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "VAULT_TOKEN", "IDENTITY_HEADER",
                  "AZURE_CLIENT_SECRET", "GCE_METADATA_HOST")  # fmt: skip

# What configure-aws-credentials does (v6.2.3, src/index.ts + src/helpers.ts): core.getIDToken
# ("&audience=" appended to the URL, Bearer request token), AssumeRoleWithWebIdentity with
# session name GitHubActions, exportVariable -> "NAME<<delimiter" heredocs in $GITHUB_ENV.
CONFIGURE_AWS = r"""
import json, os, sys, urllib.parse, urllib.request, uuid
import boto3
from botocore.exceptions import ClientError
url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + urllib.parse.quote("sts.amazonaws.com", safe="")
request = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]})
token = json.load(urllib.request.urlopen(request))["value"]
def export(name, value):
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(os.environ["GITHUB_ENV"], "a") as fh:
        fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
export("AWS_DEFAULT_REGION", "us-east-1")
export("AWS_REGION", "us-east-1")
try:
    answer = boto3.client("sts", region_name="us-east-1").assume_role_with_web_identity(
        RoleArn=sys.argv[1], RoleSessionName="GitHubActions", DurationSeconds=3600,
        WebIdentityToken=token)
except ClientError as error:
    print("refused", error.response["Error"]["Code"])
    sys.exit(0)
credentials = answer["Credentials"]
export("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
export("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
export("AWS_SESSION_TOKEN", credentials["SessionToken"])
print("assumed", answer["AssumedRoleUser"]["Arn"].split("/", 1)[1])
"""
READ_AWS = r"""
import hashlib, boto3
from botocore.exceptions import ClientError, NoCredentialsError
try:
    value = boto3.session.Session().client("secretsmanager").get_secret_value(SecretId="prod-api-key")["SecretString"]
    print("read", hashlib.sha256(value.encode()).hexdigest())
except NoCredentialsError:
    print("refused NoCredentialsError")
except ClientError as error:
    print("refused", error.response["Error"]["Code"])
"""
# What google-github-actions/auth writes (v3.0.0, src/client/workload_identity_federation.ts
# createCredentialsFile; src/main.ts exports): gha-creds-*.json in GITHUB_WORKSPACE.
GOOGLE_AUTH = r"""
import json, os, secrets, sys, urllib.parse
provider, service_account = sys.argv[1], sys.argv[2]
audience = "https://iam.googleapis.com/" + provider
parts = urllib.parse.urlsplit(os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"])
query = urllib.parse.parse_qsl(parts.query) + [("audience", audience)]
data = {
    "type": "external_account",
    "audience": "//iam.googleapis.com/" + provider,
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    "token_url": "https://sts.googleapis.com/v1/token",
    "credential_source": {
        "url": urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))),
        "headers": {"Authorization": "Bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
        "format": {"type": "json", "subject_token_field_name": "value"},
    },
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/"
        f"serviceAccounts/{service_account}:generateAccessToken",
}
path = os.path.join(os.environ["GITHUB_WORKSPACE"], f"gha-creds-{secrets.token_hex(8)}.json")
with open(path, "w") as fh:
    json.dump(data, fh)
with open(os.environ["GITHUB_ENV"], "a") as fh:
    for name in ("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_GHA_CREDS_PATH"):
        fh.write(f"{name}={path}\n")
    for name in ("CLOUDSDK_CORE_PROJECT", "CLOUDSDK_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT", "GOOGLE_CLOUD_PROJECT"):
        fh.write(f"{name}=guard-demo\n")
"""
READ_GCP = r"""
import hashlib, json
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
    print("refused", type(error).__name__, found.get("status") if isinstance(found, dict) else found)
else:
    client = secretmanager.SecretManagerServiceClient(credentials=credentials)
    data = client.access_secret_version(name=f"projects/{project}/secrets/prod-api-key/versions/latest").payload.data
    print("read", hashlib.sha256(data).hexdigest())
"""


def _skip_without(name: str) -> None:
    why = emulators.available().get(name)
    if why is not None:
        pytest.skip(f"{name}: {why}")


def _job(subject: str, folder: Path) -> Iterator[dict[str, str]]:
    with in_subprocess(["--platform", "github-actions", "--oidc-subject", subject], folder) as env:
        yield env


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from _job(MAIN, tmp_path_factory.mktemp("runner-main"))


@pytest.fixture(scope="module")
def pull_request_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from _job(PULL_REQUEST, tmp_path_factory.mktemp("runner-pr"))


def _steps(job: dict[str, str], first: str, second: str, *args: str) -> tuple[str, str]:
    """Run ``first`` as a step, then ``second`` as the next step with what the first exported
    to GITHUB_ENV (each in a fresh process); their outputs."""
    Path(job["GITHUB_ENV"]).write_text("")
    done = subprocess.run([sys.executable, "-c", first, *args], env=job, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    exported = parse_file_command(Path(job["GITHUB_ENV"]).read_text())
    after = subprocess.run([sys.executable, "-c", second], env={**job, **exported},
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert after.returncode == 0, after.stderr[-3000:]
    assert PROD_VALUE not in done.stdout + done.stderr + after.stdout + after.stderr
    return done.stdout.strip(), after.stdout.strip()


def test_the_bare_runner_holds_no_cloud_credential(main_job: dict[str, str]) -> None:
    assert not set(NO_CREDENTIALS) & set(main_job)
    assert main_job["ACTIONS_ID_TOKEN_REQUEST_URL"].startswith("https://")
    assert "?" in main_job["ACTIONS_ID_TOKEN_REQUEST_URL"]  # the toolkit appends "&audience="
    assert main_job["GITHUB_ACTIONS"] == "true" and main_job["GITHUB_REF"] == "refs/heads/main"
    assert main_job["GITHUB_REPOSITORY"] == "codehive/wallet"
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
        assert Path(main_job[name]).is_file()
    assert Path(main_job["GITHUB_WORKSPACE"]).is_dir()


def test_configure_aws_credentials_then_boto3_reads_prod_on_main(main_job) -> None:
    _skip_without("aws")
    step, read = _steps(main_job, CONFIGURE_AWS, READ_AWS, ROLE)
    assert step == "assumed prod-app/GitHubActions"
    assert read == f"read {PROD_HASH}"


def test_configure_aws_credentials_is_refused_for_a_pull_request(pull_request_job) -> None:
    _skip_without("aws")
    step, read = _steps(pull_request_job, CONFIGURE_AWS, READ_AWS, ROLE)
    assert step == "refused AccessDenied"
    assert read == "refused NoCredentialsError"  # the job has no credential at all


def _gcp_inputs() -> tuple[str, str]:
    from guardlib.emulators.gcp.state import PROJECT_NUMBER

    provider = (f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/guard-github/"
                "providers/github")  # fmt: skip
    return provider, "prod-app@guard-demo.iam.gserviceaccount.com"


def test_google_github_actions_auth_file_then_google_auth_reads_prod_on_main(main_job) -> None:
    _skip_without("gcp")
    step, read = _steps(main_job, GOOGLE_AUTH, READ_GCP, *_gcp_inputs())
    assert read == f"read {PROD_HASH}"
    creds = json.loads(Path(main_job["GITHUB_WORKSPACE"]).glob("gha-creds-*.json").__next__()
                       .read_text())  # fmt: skip
    assert "file" not in creds["credential_source"]  # the URL and header, as the action writes


def test_google_github_actions_auth_is_refused_for_a_pull_request(pull_request_job) -> None:
    _skip_without("gcp")
    step, read = _steps(pull_request_job, GOOGLE_AUTH, READ_GCP, *_gcp_inputs())
    assert read == "refused RefreshError PERMISSION_DENIED"


# -- guardlib's own steps (platforms/steps.py) through platforms.environment ------------------
@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    running = [name for name, why in emulators.available().items() if why is None]
    started = emulators.start(only=running)
    started.reset()
    started.seed(COURSE)
    yield started  # left running: the session's offline_cloud shares this process's cloud


@pytest.fixture
def http(cloud: emulators.OfflineCloud) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": cloud.gateway.url}
    session.verify = str(cloud.ca.cert_path)
    return session


def test_each_steps_exports_are_the_actions_own(cloud) -> None:
    bare = set(platforms.environment(cloud, "github-actions", subject=MAIN))
    added = {
        "configure-aws-credentials": {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"},
        "google-github-actions-auth": {"GOOGLE_APPLICATION_CREDENTIALS",
                                       "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
                                       "GOOGLE_GHA_CREDS_PATH", "CLOUDSDK_CORE_PROJECT",
                                       "CLOUDSDK_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT",
                                       "GOOGLE_CLOUD_PROJECT"},
        "vault-action": {"VAULT_TOKEN", "VAULT_ADDR"},  # VAULT_ADDR: the workflow's env
        "azure-client-assertion": {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "VAULT_URL"},
    }  # fmt: skip
    needs = {"configure-aws-credentials": "aws", "google-github-actions-auth": "gcp",
             "vault-action": "vault", "azure-client-assertion": "azure"}  # fmt: skip
    for step, names in added.items():
        if needs[step] not in cloud.emulators:
            continue
        env = platforms.environment(cloud, f"github-actions+{step}", subject=MAIN)
        assert set(env) - bare == names, step
        assert PROD_VALUE not in json.dumps(env)


def test_a_failed_step_says_why_and_shows_no_credential(cloud) -> None:
    if "aws" not in cloud.emulators:
        pytest.skip("no aws emulator")
    with pytest.raises(platforms.PlatformError, match="AccessDenied") as caught:
        platforms.environment(cloud, "github-actions+configure-aws-credentials",
                              subject=PULL_REQUEST, identity="prod-app")  # fmt: skip
    assert "eyJ" not in str(caught.value)  # no token in the message


def test_the_client_assertion_function_gets_an_entra_token(cloud, fresh_python) -> None:
    if "azure" not in cloud.emulators:
        pytest.skip("no azure emulator")
    script = r"""
import json, os, urllib.parse, urllib.request, hashlib
from azure.identity import ClientAssertionCredential
from azure.keyvault.secrets import SecretClient
def github_token():
    url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"] + "&audience=" + urllib.parse.quote("api://AzureADTokenExchange", safe="")
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]})
    return json.load(urllib.request.urlopen(request))["value"]
credential = ClientAssertionCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], github_token)
value = SecretClient(os.environ["VAULT_URL"], credential).get_secret("prod-api-key").value
print("read", hashlib.sha256(value.encode()).hexdigest())
"""
    env = platforms.environment(cloud, "github-actions+azure-client-assertion", subject=MAIN)
    assert fresh_python(script, env) == [f"read {PROD_HASH}"]


def test_file_commands_are_read_as_the_runner_reads_them() -> None:
    text = "A=1\nB<<EOF_X\nline one\nline two\nEOF_X\nA=2\n"
    assert parse_file_command(text) == {"A": "2", "B": "line one\nline two"}
    with pytest.raises(platforms.PlatformError, match="delimiter"):
        parse_file_command("B<<EOF_X\nnever closed\n")


# -- the runner's token endpoint, hostile --------------------------------------------------------
def test_the_token_endpoint_answers_the_job_with_its_claims(cloud, http) -> None:
    job = cloud.oidc.runner_job(MAIN)
    auth = {"Authorization": f"Bearer {job.request_token}"}
    answer = http.get(job.url + "&audience=sts.amazonaws.com", headers=auth)
    assert answer.status_code == 200 and set(answer.json()) == {"value"}
    claims = jwt.unverified_claims(answer.json()["value"])
    assert claims["sub"] == MAIN and claims["aud"] == "sts.amazonaws.com"
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    default = jwt.unverified_claims(http.get(job.url, headers=auth).json()["value"])
    assert default["aud"] == "https://github.com/codehive"  # no audience: the owner's URL


def test_the_token_endpoint_refuses_what_a_runner_refuses(cloud, http) -> None:
    job = cloud.oidc.runner_job(MAIN)
    other = cloud.oidc.runner_job(PULL_REQUEST)
    url = job.url + "&audience=sts.amazonaws.com"
    assert http.get(url).status_code == 401  # no bearer
    assert http.get(url, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert http.get(url, headers={"Authorization": job.request_token}).status_code == 401
    # the pull request job's token on the main job's URL: no token for main
    assert http.get(url, headers={"Authorization": f"Bearer {other.request_token}"}
                    ).status_code == 401  # fmt: skip
    auth = {"Authorization": f"Bearer {job.request_token}"}
    assert http.get(url + "&audience=x", headers=auth).status_code == 400
    assert http.post(url, headers=auth).status_code == 405
    assert http.get(url.replace("/idtoken", "/other"), headers=auth).status_code == 404
    cloud.oidc.jobs.end(job)  # the job is over: its request token stops working
    assert http.get(url, headers=auth).status_code == 404


def test_vault_actions_secrets_input_exports_the_value_to_every_later_step(cloud) -> None:
    """Why the course never uses it: with `secrets:` the value is in every later step's env."""
    if "vault" not in cloud.emulators:
        pytest.skip("no vault emulator")
    env = platforms.environment(
        cloud, "github-actions+vault-action", subject=MAIN,
        inputs={"secrets": "secret/data/prod-api-key value | API_KEY", "exportToken": "false"},
    )  # fmt: skip
    assert env["API_KEY"] == PROD_VALUE  # the leak the chapter warns about
    assert "VAULT_TOKEN" not in env  # exportToken: false exports no token


def test_a_step_for_a_cloud_that_is_not_running_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "guardlib", "emulators", "up", "--only", "gcp", "--platform",
         "github-actions+configure-aws-credentials", "--oidc-subject", MAIN],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "needs the aws emulator" in done.stderr
    assert "Traceback" not in done.stderr
