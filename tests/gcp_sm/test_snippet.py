"""Done-when: the seed article's snippet, unchanged but for the names, in a fresh process with
only the environment the offline cloud writes; and the restricted account's PermissionDenied."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# the seed article's code, with "your-project-id"/"your-secret-name" filled in
SNIPPET = """
from google.cloud import secretmanager

# Create the Secret Manager client.
client = secretmanager.SecretManagerServiceClient()

# Build the resource name of the secret.
secret_name = f"projects/guard-demo/secrets/api-key/versions/latest"

# Access the secret version.
response = client.access_secret_version(request={"name": secret_name})

# Print the secret payload.
payload = response.payload.data.decode('UTF-8')
print("Plaintext: {}".format(payload))
"""


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    return subprocess.run(
        [sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def article(cloud, gcp):
    cloud.seed(
        {"secrets": {"api-key": {"value": "demo-not-a-real-key-1234", "readers": ["web-app"]}}}
    )
    return cloud


def test_snippet_as_admin(article):
    done = run(article.env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "Plaintext: demo-not-a-real-key-1234\n"


def test_snippet_as_reader(article):
    done = run(article.env("web-app"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "Plaintext: demo-not-a-real-key-1234\n"


def test_snippet_as_restricted_account(article):
    article.seed({"identities": ["batch-app"]})
    done = run(article.env("batch-app"))
    assert done.returncode != 0
    assert "google.api_core.exceptions.PermissionDenied: 403 Permission " in done.stderr
    assert "'secretmanager.versions.access' denied" in done.stderr
    assert "demo-not-a-real-key" not in done.stdout + done.stderr


def test_nothing_leaves_loopback(article):
    done = run(article.env())
    assert done.returncode == 0
    gateway = article.gateway
    assert gateway.tunnels.get(article["gcp"].backend(), 0) > 0
    host, _ = article["gcp"].backend()
    assert host == "127.0.0.1"
    # any other Google host is refused by the gateway, never dialled
    assert gateway.resolve("oauth2.googleapis.com:443") is None
    assert gateway.resolve("secretmanager.googleapis.com:443") == article["gcp"].backend()
    assert gateway.resolve("secretmanager.us-east1.rep.googleapis.com:443") is not None


def test_snippet_with_the_env_file_of_emulators_up(tmp_path):
    """`guardlib emulators up --only gcp` in one process; the article's code in another, with
    nothing but the environment file it wrote."""
    import json
    import signal
    import time

    from dotenv import dotenv_values

    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"secrets": {"api-key": {"value": "demo-not-a-real-key-1234"}}}))
    env_file = tmp_path / "offline.env"
    up = subprocess.Popen(
        [sys.executable, "-m", "guardlib.cli", "emulators", "up", "--only", "gcp"]
        + ["--env-file", str(env_file), "--seed", str(seed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists() and time.monotonic() < deadline and up.poll() is None:
            time.sleep(0.05)
        assert env_file.exists(), up.stderr.read() if up.poll() is not None else "timeout"
        env = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        for key in ("GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS", "HTTPS_PROXY"):
            assert key in env
        assert env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"].endswith("guardlib-offline-ca.pem")
        done = run(env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout == "Plaintext: demo-not-a-real-key-1234\n"
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(15)
