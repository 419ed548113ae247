"""One AWS emulator per session (moto + guardlib's authorization layer), reset per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

REGION = "us-east-1"
ACCOUNT = "123456789012"

#: dev reads dev, prod reads prod, ops writes both, nobody reads nothing
SEED = {**DEV_PROD, "identities": ["nobody-app"]}


@pytest.fixture(scope="session")
def cloud() -> emulators.OfflineCloud:
    try:
        return emulators.start(only=["aws"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def aws(cloud: emulators.OfflineCloud) -> Iterator[Any]:
    """The AwsEmulator, freshly reset."""
    cloud["aws"].reset()
    cloud.faults.clear("aws")
    yield cloud["aws"]
    cloud.faults.clear("aws")


@pytest.fixture
def seeded(cloud: emulators.OfflineCloud, aws: Any) -> Any:
    cloud.seed(SEED)
    return aws


@pytest.fixture
def client(
    cloud: emulators.OfflineCloud, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """``client(identity, service="secretsmanager")``: a boto3 client built the way the course
    builds it (``boto3.session.Session().client(...)``), with os.environ pointed at the
    emulator as ``identity`` (None: the administrator) while it is created."""
    import boto3

    def make(identity: str | None = None, service: str = "secretsmanager", **env: str) -> Any:
        for key in REAL_CLOUD_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        for key, value in {**cloud.env(identity), **env}.items():
            monkeypatch.setenv(key, value)
        return boto3.session.Session().client(service, region_name=REGION)

    return make


def error_code(exc: BaseException) -> str:
    return str(exc.response["Error"]["Code"])  # type: ignore[attr-defined]


def current_versions(sm: Any, secret_id: str) -> dict[str, list[str]]:
    out = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)
    return {v["VersionId"]: sorted(v["VersionStages"]) for v in out["Versions"]}


def holders(sm: Any, secret_id: str, stage: str) -> list[str]:
    return [vid for vid, stages in current_versions(sm, secret_id).items() if stage in stages]
