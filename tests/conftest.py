"""Session-wide hygiene: no real cloud credential or endpoint reaches any test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from dotenv import dotenv_values

from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

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
    seed, env_file = folder / "seed.json", folder / "offline.env"
    seed.write_text(json.dumps(DEV_PROD))
    proc = subprocess.Popen(
        [sys.executable, "-m", "guardlib.cli", "emulators", "up", "--identity", "dev-app",
         "--seed", str(seed), "--env-file", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not env_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"emulators up did not become ready: {proc.communicate()[1]}")
            time.sleep(0.05)
        values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        base = {"PATH": os.environ["PATH"], "HOME": str(folder)}
        if os.name == "nt":
            base["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
        yield base | values
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
