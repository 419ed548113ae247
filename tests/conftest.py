"""Session-wide hygiene: no real cloud credential or endpoint reaches any test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD
from guardlib.emulators.up import in_subprocess

for _key in REAL_CLOUD_VARIABLES:
    os.environ.pop(_key, None)
# never read a developer's ~/.aws, ~/.azure or gcloud configuration by accident
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["CLOUDSDK_CONFIG"] = os.devnull
os.environ["NO_GCE_CHECK"] = "true"  # google-auth compares lowercase


@pytest.fixture(scope="session")
def emulators_up_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment a fresh application process gets: only what `guardlib emulators up
    --identity dev-app --seed <DEV_PROD>` writes, plus PATH and a HOME of its own. The
    emulators run in that separate CLI process, as in a workshop."""
    folder = tmp_path_factory.mktemp("offline")
    seed = folder / "seed.json"
    seed.write_text(json.dumps(DEV_PROD))
    with in_subprocess(["--identity", "dev-app", "--seed", str(seed)], folder) as env:
        yield env


@pytest.fixture
def http(cloud: Any) -> Any:
    """A plain HTTPS client through the offline cloud's gateway, trusting its CA: for raw
    requests an SDK would never send (``cloud`` is the test folder's own fixture)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": cloud.gateway.url}
    session.verify = str(cloud.ca.cert_path)
    return session


@pytest.fixture
def fresh_python() -> Callable[..., list[str]]:
    """``fresh_python(script, env, *args, **extra)``: run ``script`` in a new interpreter whose
    environment is ``env`` (what a federation or identity env gives), a bare PATH and HOME, and
    ``extra``; assert it succeeded and return its output lines."""

    def run(script: str, env: dict[str, str], *args: str, **extra: str) -> list[str]:
        env = {**env, "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **extra}
        done = subprocess.run([sys.executable, "-c", script, *args], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.splitlines()

    return run
