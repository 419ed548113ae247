"""The seed article's snippets, run unchanged (but for names and region) in fresh processes
whose only configuration is the environment that `guardlib emulators up` writes.

This is the promise of the offline cloud end to end: a separate process (here the CLI, as a
workshop attendee would start it) runs the emulators; the application process has nothing
but environment variables, exactly as in production.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

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

client = hvac.Client()  # VAULT_ADDR and VAULT_TOKEN from the environment
try:
    response = client.secrets.kv.v2.read_secret_version(
        path=sys.argv[1], raise_on_deleted_version=True
    )
    print("read", response["data"]["data"]["value"] == sys.argv[2])
except Forbidden as e:
    print("denied", type(e).__name__, 403)
"""


@pytest.fixture(scope="module")
def written_env(emulators_up_env: dict[str, str]) -> dict[str, str]:
    return emulators_up_env


def _run(code: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "demo-not-a-real-key" not in result.stdout + result.stderr  # never printed
    return result.stdout.strip()


def test_written_env_has_no_real_cloud_and_no_preset_trust(written_env: dict[str, str]) -> None:
    assert written_env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    assert written_env["REQUESTS_CA_BUNDLE"] == written_env["SSL_CERT_FILE"]
    assert written_env["VAULT_URL"] == "https://guard-demo.vault.azure.net"
    assert written_env["GOOGLE_CLOUD_PROJECT"] == "guard-demo"


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
    written_env: dict[str, str], code: str, denied: str
) -> None:
    assert _run(code, written_env, "dev-api-key", "demo-not-a-real-key-dev") == "read True"
    assert _run(code, written_env, "prod-api-key", "demo-not-a-real-key-prod") == denied


def test_aws_snippet_reads_dev_by_arn_and_is_denied_prod(written_env: dict[str, str]) -> None:
    arn = _run(AWS_ARN, written_env, "dev-api-key")
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-")
    assert _run(AWS, written_env, arn, "demo-not-a-real-key-dev") == "read True"
    prod_arn = arn.replace("dev-api-key", "prod-api-key")  # a guess: denied before lookup
    assert _run(AWS, written_env, prod_arn, "x") == "denied ClientError AccessDeniedException"
