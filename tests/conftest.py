"""Session-wide hygiene: no real cloud credential or endpoint reaches any test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

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
