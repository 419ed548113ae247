"""Platforms (issue 15): each real runtime's environment, and nothing a real process there
would not have. For every platform, a FRESH process with only that platform's environment reads
a secret with the SDK's default chain as the seeded identity, and is refused another
identity's secret. Then the endpoints' hostile cases (IMDSv2 without a token, a forged pod
token, IMDS without its header ...), the spec errors, and the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from guardlib import emulators
from guardlib.emulators import platforms
from guardlib.emulators.seed import COURSE
from guardlib.emulators.up import in_subprocess, seed_argument

DEV_VALUE = COURSE["secrets"]["dev-api-key"]["value"]
SEED = seed_argument("course")  # COURSE and the cluster's pods (platforms.POD_TRUSTS)

# Each reads the secrets named in argv with the SDK's default chain, one line per secret:
# "<name> read" or "<name> refused <code>". Never a value.
SCRIPTS = {
    "aws": r"""
import sys, boto3
from botocore.exceptions import ClientError
client = boto3.session.Session().client("secretsmanager")
for name in sys.argv[1:]:
    try:
        client.get_secret_value(SecretId=name)
        print(name, "read")
    except ClientError as error:
        print(name, "refused", error.response["Error"]["Code"])
""",
    "azure": r"""
import os, sys
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
client = SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential())
for name in sys.argv[1:]:
    try:
        client.get_secret(name)
        print(name, "read")
    except HttpResponseError as error:
        print(name, "refused", error.status_code)
""",
    "gcp": r"""
import sys
import google.auth
from google.api_core import exceptions
from google.cloud import secretmanager
credentials, project = google.auth.default()
client = secretmanager.SecretManagerServiceClient(credentials=credentials)
for name in sys.argv[1:]:
    try:
        client.access_secret_version(name=f"projects/{project}/secrets/{name}/versions/latest",
                                     retry=None, timeout=30)
        print(name, "read")
    except exceptions.GoogleAPICallError as error:
        print(name, "refused", type(error).__name__)
""",
    "vault": r"""
import sys, hvac, hvac.exceptions
client = hvac.Client()
for name in sys.argv[1:]:
    try:
        client.secrets.kv.v2.read_secret_version(path=name, mount_point="secret",
                                                 raise_on_deleted_version=True)
        print(name, "read")
    except hvac.exceptions.VaultError as error:
        print(name, "refused", type(error).__name__)
""",
}
REFUSED = {"aws": "AccessDeniedException", "azure": "403", "gcp": "PermissionDenied",
           "vault": "Forbidden"}  # fmt: skip

#: platform -> (cloud, exactly the variables it adds to the wiring)
EXPECTED = {
    "eks-irsa": ("aws", {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                         "AWS_STS_REGIONAL_ENDPOINTS", "AWS_REGION", "AWS_DEFAULT_REGION"}),
    "eks-pod-identity": ("aws", {"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_REGION",
                                 "AWS_DEFAULT_REGION"}),
    "ecs-task": ("aws", {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION", "AWS_DEFAULT_REGION"}),
    "ec2": ("aws", {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_DEFAULT_REGION"}),
    "lambda": ("aws", {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                       "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
                       "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_INITIALIZATION_TYPE",
                       "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
                       "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "TZ"}),
    "aks-workload-identity": ("azure", {"AZURE_CLIENT_ID", "AZURE_TENANT_ID",
                                        "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
                                        "VAULT_URL"}),
    "app-service": ("azure", {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "WEBSITE_SITE_NAME",
                              "WEBSITE_HOSTNAME", "VAULT_URL", "AZURE_CLIENT_ID"}),
    "azure-functions": ("azure", {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "WEBSITE_SITE_NAME",
                                  "WEBSITE_HOSTNAME", "VAULT_URL", "AZURE_CLIENT_ID",
                                  "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"}),
    "azure-vm": ("azure", {"AZURE_POD_IDENTITY_AUTHORITY_HOST", "VAULT_URL"}),
    "gce": ("gcp", {"GCE_METADATA_HOST", "GCE_METADATA_IP"}),
    "cloud-run": ("gcp", {"GCE_METADATA_HOST", "GCE_METADATA_IP", "PORT", "K_SERVICE",
                          "K_REVISION", "K_CONFIGURATION"}),
    "gke": ("gcp", {"GCE_METADATA_HOST", "GCE_METADATA_IP"}),
}  # fmt: skip
WIRING = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
          "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "AWS_CA_BUNDLE",
          "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "GRPC_VERBOSITY", "AWS_ENDPOINT_URL",
          "AWS_EC2_METADATA_DISABLED"}  # fmt: skip


@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    running = [name for name, why in emulators.available().items() if why is None]
    started = emulators.start(only=running)
    started.reset()
    started.seed(SEED)
    yield started  # left running: the session's offline_cloud shares this process's cloud


def _need(cloud: emulators.OfflineCloud, name: str) -> None:
    if name not in cloud.emulators:
        pytest.skip(f"the {name} emulator cannot start here: {emulators.available()[name]}")


def _read(fresh_python, cloud_name: str, env: dict[str, str], **extra: str) -> list[str]:
    lines = fresh_python(SCRIPTS[cloud_name], env, "dev-api-key", "prod-api-key", **extra)
    assert not any(DEV_VALUE in line for line in lines)
    return lines


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_each_platform_reads_its_own_secret_and_is_refused_another(
    cloud: emulators.OfflineCloud, fresh_python, spec: str
) -> None:
    cloud_name, variables = EXPECTED[spec]
    _need(cloud, cloud_name)
    env = platforms.environment(cloud, spec, identity="dev-app")
    assert set(env) - WIRING == variables  # exactly the platform's variables, nothing else
    assert _read(fresh_python, cloud_name, env) == [
        "dev-api-key read",
        f"prod-api-key refused {REFUSED[cloud_name]}",
    ]


@pytest.mark.parametrize("cloud_name", ["aws", "gcp", "vault"])
def test_the_laptop_reads_through_the_files_in_its_home(
    cloud: emulators.OfflineCloud, fresh_python, cloud_name: str
) -> None:
    _need(cloud, cloud_name)
    env = platforms.environment(cloud, "laptop", identity="dev-app")
    assert not {"AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "VAULT_TOKEN"} & set(env)
    home = Path(env["HOME"])
    assert (home / ".aws" / "credentials").stat().st_mode & 0o077 == 0
    adc = json.loads((home / ".config/gcloud/application_default_credentials.json").read_text())
    assert adc["type"] == "authorized_user"
    assert _read(fresh_python, cloud_name, env, HOME=env["HOME"]) == [
        "dev-api-key read",
        f"prod-api-key refused {REFUSED[cloud_name]}",
    ]


def test_gce_credentials_say_default_until_refreshed(cloud, fresh_python) -> None:
    _need(cloud, "gcp")
    script = (
        "import google.auth\nfrom google.auth.transport.requests import Request\n"
        "credentials, project = google.auth.default()\n"
        "print(credentials.service_account_email)\n"
        "credentials.refresh(Request())\nprint(credentials.service_account_email)\n"
    )
    env = platforms.environment(cloud, "cloud-run", identity="dev-app")
    assert fresh_python(script, env) == ["default", "dev-app@guard-demo.iam.gserviceaccount.com"]


# -- the endpoints, hostile -------------------------------------------------------------------
def _plain() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def test_imdsv2_wants_a_token_first(cloud) -> None:
    _need(cloud, "aws")
    base = platforms.environment(cloud, "ec2", identity="dev-app")[
        "AWS_EC2_METADATA_SERVICE_ENDPOINT"
    ]
    http = _plain()
    path = base + "latest/meta-data/iam/security-credentials/"
    assert http.get(path).status_code == 401  # IMDSv1 is off
    assert http.get(path, headers={"X-aws-ec2-metadata-token": "forged"}).status_code == 401
    assert http.put(base + "latest/api/token").status_code == 400  # no TTL header
    ttl = {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    assert http.put(base + "latest/api/token", headers={**ttl, "X-Forwarded-For": "10.0.0.1"}
                    ).status_code == 403  # fmt: skip
    too_long = {"X-aws-ec2-metadata-token-ttl-seconds": "21601"}
    assert http.put(base + "latest/api/token", headers=too_long).status_code == 400
    token = http.put(base + "latest/api/token", headers=ttl).text
    role = http.get(path, headers={"X-aws-ec2-metadata-token": token})
    assert role.status_code == 200 and role.text == "dev-app"
    creds = http.get(path + "dev-app", headers={"X-aws-ec2-metadata-token": token}).json()
    assert creds["Code"] == "Success" and {"AccessKeyId", "Token", "Expiration"} <= set(creds)
    assert (
        http.get(path + "prod-app", headers={"X-aws-ec2-metadata-token": token}).status_code == 404
    )


def test_the_pod_identity_agent_wants_the_pods_own_token(cloud) -> None:
    _need(cloud, "aws")
    env = platforms.environment(cloud, "eks-pod-identity", identity="dev-app")
    url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    http = _plain()
    assert http.get(url).status_code == 400
    other_audience = cloud.oidc.mint("system:serviceaccount:wallet:dev-app", "sts.amazonaws.com",
                                     issuer="kubernetes")  # fmt: skip
    assert http.get(url, headers={"Authorization": other_audience}).status_code == 400
    github = cloud.oidc.mint("repo:codehive/wallet:ref:refs/heads/main", "pods.eks.amazonaws.com")
    assert http.get(url, headers={"Authorization": github}).status_code == 400
    unassociated = cloud.oidc.mint("system:serviceaccount:wallet:prod-app",
                                   "pods.eks.amazonaws.com", issuer="kubernetes")  # fmt: skip
    assert http.get(url, headers={"Authorization": unassociated}).status_code == 400
    own = Path(env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read_text()
    assert http.get(url, headers={"Authorization": own}).json().keys() >= {"AccessKeyId", "Token"}


def test_an_ecs_task_path_is_its_own(cloud) -> None:
    _need(cloud, "aws")
    url = platforms.environment(cloud, "ecs-task", identity="dev-app")[
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ]
    http = _plain()
    assert http.get(url).json()["RoleArn"].endswith(":role/dev-app")
    assert (
        http.get(url.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000").status_code == 404
    )
    assert http.post(url).status_code == 405


def test_azure_imds_wants_its_header_and_its_own_identity(cloud) -> None:
    _need(cloud, "azure")
    env = platforms.environment(cloud, "azure-vm", identity="dev-app")
    url = env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] + "/metadata/identity/oauth2/token"
    query = {"api-version": "2018-02-01", "resource": "https://vault.azure.net"}
    http = _plain()
    bare = http.get(url, params=query)
    assert bare.status_code == 400 and bare.json()["error"] == "invalid_request"
    header = {"Metadata": "true"}
    assert http.get(url, params=query, headers={**header, "X-Forwarded-For": "1.2.3.4"}
                    ).status_code == 400  # fmt: skip
    prod = cloud.emulators["azure"].principal("prod-app").client_id
    assert http.get(url, params={**query, "client_id": prod}, headers=header).status_code == 400
    assert http.get(url, params=query, headers=header).json()["token_type"] == "Bearer"


# -- specs, identities, subjects ---------------------------------------------------------------
def test_an_unknown_platform_lists_the_known_ones(cloud) -> None:
    with pytest.raises(platforms.UnknownPlatform) as caught:
        platforms.environment(cloud, "ec3", identity="dev-app")
    assert "ec2" in str(caught.value) and "github-actions+configure-aws-credentials" in str(
        caught.value
    )
    with pytest.raises(platforms.UnknownPlatform):
        platforms.environment(cloud, "eks-irsa+configure-aws-credentials", identity="dev-app")
    with pytest.raises(platforms.UnknownPlatform):
        platforms.environment(cloud, "github-actions+", subject="repo:a/b:pull_request")


def test_identity_typos_and_missing_subjects_are_refused(cloud) -> None:
    with pytest.raises(platforms.PlatformError, match="dev-app, ops-app, prod-app"):
        platforms.environment(cloud, "ec2", identity="dev-ap")
    with pytest.raises(platforms.PlatformError, match="--identity"):
        platforms.environment(cloud, "ec2")
    with pytest.raises(platforms.PlatformError, match="OIDC subject"):
        platforms.environment(cloud, "github-actions")
    with pytest.raises(platforms.PlatformError, match="no OIDC token"):
        platforms.environment(cloud, "ec2", identity="dev-app", subject="repo:a/b:pull_request")
    with pytest.raises(ValueError, match="Kubernetes subject"):
        platforms.environment(cloud, "eks-irsa", subject="repo:codehive/wallet:pull_request")


def test_azure_login_says_why_it_cannot_run_offline(cloud) -> None:
    with pytest.raises(platforms.PlatformUnavailable, match="az CLI"):
        platforms.environment(cloud, "github-actions+azure-login", subject="repo:a/b:pull_request")
    assert all(p.sources for p in [*platforms.PLATFORMS.values(), *platforms.STEPS.values()])


def test_a_pod_of_another_service_account_is_refused(cloud, fresh_python) -> None:
    _need(cloud, "aws")
    env = platforms.environment(cloud, "eks-irsa", identity="dev-app",
                                subject="system:serviceaccount:wallet:intruder")  # fmt: skip
    lines = fresh_python(SCRIPTS["aws"], env, "dev-api-key")
    assert lines == ["dev-api-key refused AccessDenied"]


# -- the CLI ----------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guardlib", "emulators", *args],
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip


def test_cli_refuses_unknown_platforms_and_identities_without_a_traceback() -> None:
    unknown = _cli("up", "--only", "aws", "--platform", "ec3")
    assert unknown.returncode == 2 and "github-actions" in unknown.stderr
    typo = _cli("up", "--only", "aws", "--identity", "prod-ap")
    assert typo.returncode == 2 and "prod-app" in typo.stderr
    assert "Traceback" not in unknown.stderr + typo.stderr
    listing = _cli("platforms")
    assert listing.returncode == 0 and "azure-login" in listing.stdout


def test_cli_up_on_ec2_in_another_process(tmp_path: Path, fresh_python) -> None:
    with in_subprocess(["--only", "aws", "--platform", "ec2", "--identity", "dev-app"],
                       tmp_path) as env:  # fmt: skip
        assert "AWS_ACCESS_KEY_ID" not in env
        assert fresh_python(SCRIPTS["aws"], env, "dev-api-key") == ["dev-api-key read"]


def test_cli_up_as_a_pod_of_the_course_cluster(tmp_path: Path, fresh_python) -> None:
    """The default seed trusts the course cluster's pods: eks-irsa reads prod as prod-app."""
    with in_subprocess(["--only", "aws", "--platform", "eks-irsa", "--identity", "prod-app"],
                       tmp_path) as env:  # fmt: skip
        assert Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).is_file()
        assert fresh_python(SCRIPTS["aws"], env, "prod-api-key", "dev-api-key") == [
            "prod-api-key read",
            "dev-api-key refused AccessDeniedException",
        ]


def test_cli_a_runner_job_needs_its_subject() -> None:
    missing = _cli("up", "--only", "aws", "--platform", "github-actions")
    assert missing.returncode == 2 and "--oidc-subject" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_vault_agent_keeps_the_apps_token_in_a_file(cloud, fresh_python) -> None:
    _need(cloud, "vault")
    env = platforms.environment(cloud, "vault-agent", identity="dev-app")
    assert set(env) - WIRING == {"HOME", "VAULT_ADDR"}  # no token, no AppRole ids
    sink = Path(env["HOME"]) / ".vault-token"
    assert sink.stat().st_mode & 0o077 == 0
    assert _read(fresh_python, "vault", env, HOME=env["HOME"]) == [
        "dev-api-key read",
        "prod-api-key refused Forbidden",
    ]
    with pytest.raises(platforms.PlatformError, match="did not log in"):
        platforms.environment(cloud, "vault-agent", identity="admin")


def test_cli_run_gives_the_command_the_platforms_environment() -> None:
    probe = (
        "import os, boto3\n"
        "print(os.environ['AWS_LAMBDA_FUNCTION_NAME'])\n"
        "print(boto3.client('sts').get_caller_identity()['Arn'].split('/')[1])\n"
    )
    done = _cli("run", "--only", "aws", "--platform", "lambda", "--identity", "dev-app", "--",
                sys.executable, "-c", probe)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["dev-app-fn", "dev-app"]


def test_an_audience_only_where_a_token_has_one(cloud) -> None:
    with pytest.raises(platforms.PlatformError, match="per request"):
        platforms.environment(cloud, "github-actions", subject="repo:a/b:pull_request",
                              audience="sts.amazonaws.com")  # fmt: skip
    with pytest.raises(platforms.PlatformError, match="no OIDC token"):
        platforms.environment(cloud, "ec2", identity="dev-app", audience="sts.amazonaws.com")
