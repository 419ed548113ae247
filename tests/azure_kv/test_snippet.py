"""The seed article's snippet, unmodified but for where the vault URL and secret name come
from, in a fresh process whose environment is only what ``cloud.env()`` gives."""

from __future__ import annotations

import subprocess
import sys

SNIPPET = """
import os, sys
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

credential = DefaultAzureCredential()
client = SecretClient(vault_url=os.environ["VAULT_URL"], credential=credential)
try:
    secret = client.get_secret(sys.argv[1])
    print(secret.value)
except Exception as exc:
    print(type(exc).__name__, getattr(exc, "status_code", None))
"""


def _run(env: dict[str, str], name: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET, name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_snippet_in_a_fresh_process(cloud) -> None:
    cloud.seed(
        {
            "secrets": {
                "dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]},
                "prod-api-key": {"value": "demo-not-a-real-key-prod", "readers": ["prod-app"]},
            }
        }
    )
    assert _run(cloud.env(), "prod-api-key") == "demo-not-a-real-key-prod"  # administrator
    dev = cloud.env("dev-app")
    assert set(dev) >= {"VAULT_URL", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID"}
    assert dev["VAULT_URL"] == "https://guard-demo.vault.azure.net"
    assert _run(dev, "dev-api-key") == "demo-not-a-real-key-dev"
    assert _run(dev, "prod-api-key") == "HttpResponseError 403"
