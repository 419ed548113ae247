"""The seed article's snippets, run unchanged (but for names and region) in fresh processes
whose only configuration is what `guardlib emulators up --platform NAME --identity dev-app`
writes: exactly what a process on that real platform has (Azure on App Service, AWS on
Lambda, Google Cloud on Compute Engine, OpenBao on a developer's laptop after `bao login`).

This is the promise of the offline cloud end to end: a separate process (here the CLI, as a
workshop attendee would start it) runs the emulators; the application process has nothing
but what its platform gives it, exactly as in production.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardlib.emulators.seed import DEV_PROD
from guardlib.emulators.up import in_subprocess

AZURE = """
import os, sys
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

credential = DefaultAzureCredential()
secret_client = SecretClient(vault_url=os.environ["VAULT_URL"], credential=credential)
try:
    secret = secret_client.get_secret(sys.argv[1])
    print("read", secret.value == sys.argv[2])
except HttpResponseError as e:
    print("denied", type(e).__name__, e.status_code)
"""

AWS_ARN = """
import sys, boto3
client = boto3.session.Session().client(service_name="secretsmanager", region_name="us-east-1")
print(client.describe_secret(SecretId=sys.argv[1])["ARN"])
"""

AWS = """
import sys
import boto3
from botocore.exceptions import ClientError

session = boto3.session.Session()
client = session.client(service_name="secretsmanager", region_name="us-east-1")
try:
    response = client.get_secret_value(SecretId=sys.argv[1])
    print("read", response["SecretString"] == sys.argv[2])
except ClientError as e:
    print("denied", type(e).__name__, e.response["Error"]["Code"])
"""

GCP = """
import sys
from google.api_core.exceptions import PermissionDenied
from google.cloud import secretmanager

client = secretmanager.SecretManagerServiceClient()
secret_name = f"projects/guard-demo/secrets/{sys.argv[1]}/versions/latest"
try:
    response = client.access_secret_version(request={"name": secret_name})
    print("read", response.payload.data.decode("UTF-8") == sys.argv[2])
except PermissionDenied as e:
    print("denied", type(e).__name__, e.grpc_status_code.name)
"""

VAULT = """
import sys
import hvac
from hvac.exceptions import Forbidden

client = hvac.Client()  # VAULT_ADDR from the environment, the token from ~/.vault-token
try:
    response = client.secrets.kv.v2.read_secret_version(
        path=sys.argv[1], raise_on_deleted_version=True
    )
    print("read", response["data"]["data"]["value"] == sys.argv[2])
except Forbidden as e:
    print("denied", type(e).__name__, 403)
"""


#: where each cloud's snippet runs: a platform that gives its process that cloud's identity
PLATFORM = {"azure": "app-service", "aws": "lambda", "gcp": "gce", "vault": "laptop"}


@pytest.fixture(scope="module")
def platform_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, str]]]:
    """Each cloud's platform environment, as `emulators up --platform` writes it in its own
    process (one per cloud, each with only that emulator)."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        envs = {}
        for cloud, platform in PLATFORM.items():
            folder = tmp_path_factory.mktemp(f"offline-{cloud}")
            seed = folder / "seed.json"
            seed.write_text(json.dumps(DEV_PROD))
            args = ["--platform", platform, "--identity", "dev-app", "--seed", str(seed),
                    "--only", cloud]  # fmt: skip
            envs[cloud] = stack.enter_context(in_subprocess(args, Path(folder)))
        yield envs


def _run(code: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo-not-a-real-key" not in result.stdout + result.stderr  # never printed
    return result.stdout.strip()


def test_written_envs_are_the_platforms_and_no_preset_trust(
    platform_env: dict[str, dict[str, str]],
) -> None:
    for env in platform_env.values():
        assert env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
        assert env["REQUESTS_CA_BUNDLE"] == env["SSL_CERT_FILE"]
    azure, aws, gcp, vault = (platform_env[c] for c in ("azure", "aws", "gcp", "vault"))
    assert azure["VAULT_URL"] == "https://guard-demo.vault.azure.net"  # an app setting
    assert {"IDENTITY_ENDPOINT", "IDENTITY_HEADER"} <= set(azure)  # App Service's own
    assert {"AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME"} <= set(aws)
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in gcp and "GOOGLE_CLOUD_PROJECT" not in gcp
    assert "VAULT_TOKEN" not in vault and (Path(vault["HOME"]) / ".vault-token").is_file()


@pytest.mark.parametrize(
    ("code", "denied"),
    [
        (AZURE, "denied HttpResponseError 403"),
        (GCP, "denied PermissionDenied PERMISSION_DENIED"),
        (VAULT, "denied Forbidden 403"),
    ],
    ids=["azure", "gcp", "vault"],
)
def test_snippet_reads_dev_and_is_denied_prod(
    platform_env: dict[str, dict[str, str]], code: str, denied: str, request: pytest.FixtureRequest
) -> None:
    env = platform_env[request.node.callspec.id]
    assert _run(code, env, "dev-api-key", "demo-not-a-real-key-dev") == "read True"
    assert _run(code, env, "prod-api-key", "demo-not-a-real-key-prod") == denied


def test_aws_snippet_reads_dev_by_arn_and_is_denied_prod(
    platform_env: dict[str, dict[str, str]],
) -> None:
    written_env = platform_env["aws"]
    arn = _run(AWS_ARN, written_env, "dev-api-key")
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-")
    assert _run(AWS, written_env, arn, "demo-not-a-real-key-dev") == "read True"
    prod_arn = arn.replace("dev-api-key", "prod-api-key")  # a guess: denied before lookup
    assert _run(AWS, written_env, prod_arn, "x") == "denied ClientError AccessDeniedException"
