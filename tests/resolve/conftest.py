"""Every provider's emulator once per session; per test: state reset, the DEV_PROD seed plus a
JSON and a binary secret, the environment pointed at the emulators as ``dev-app``, and a
fresh default cache. Provider calls are counted by wrapping guardlib's own source functions."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

JSON_VALUE = '{"user": "app", "password": "demo-not-a-real-pw-123", "db": {"port": 5432}}'
BINARY_VALUE = b"\x00\xffdemo-not-a-real-binary\x01"
SEED = {
    "identities": ["nobody-app"],
    "secrets": {
        **DEV_PROD["secrets"],
        "db-creds": {"value": JSON_VALUE, "readers": ["dev-app"], "writers": ["ops-app"]},
    },
}
BINARY_SEED = {"secrets": {"blob-key": {"value": BINARY_VALUE, "readers": ["dev-app"],
                                         "clouds": ["aws"]}}}  # fmt: skip


@pytest.fixture(scope="session")
def cloud() -> emulators.OfflineCloud:
    try:
        return emulators.start(only=["aws", "azure", "gcp", "vault"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def use(cloud: emulators.OfflineCloud, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``use(identity)``: point os.environ at the emulators as ``identity`` (None: admin)."""

    def apply(identity: str | None = "dev-app") -> None:
        for key in REAL_CLOUD_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        for key, value in cloud.env(identity).items():
            monkeypatch.setenv(key, value)

    return apply


@pytest.fixture
def seeded(cloud: emulators.OfflineCloud, use: Callable[..., None]) -> Iterator[Any]:
    from guardlib import resolver

    cloud.reset()
    cloud.seed(SEED)
    cloud.seed(BINARY_SEED)
    use("dev-app")
    resolver.default_cache.clear()
    yield cloud
    cloud.faults.clear()
    resolver.default_cache.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """Counts provider calls per source reference, by wrapping guardlib's own fetch functions."""
    from guardlib import resolver

    counter: collections.Counter[str] = collections.Counter()
    for scheme in ("aws-sm", "azure-kv", "gcp-sm", "vault", "dotenv", "env"):
        fetch = resolver.source(scheme)

        def counted(ref: Any, fetch: Any = fetch) -> Any:
            counter[str(ref)] += 1
            return fetch(ref)

        monkeypatch.setitem(resolver.SOURCES, scheme, counted)
    return counter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()
