"""One GCP emulator per session (through the shared lifecycle); state reset before each test.

Every client here is the real ``google-cloud-secret-manager`` client, configured only by the
environment that ``cloud.env(identity)`` writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib.emulators import REAL_CLOUD_VARIABLES

PROJECT = "projects/guard-demo"
PROJECT_NUMBER = "271828182845"
VALUE = b"demo-not-a-real-key-1234"


@pytest.fixture(scope="session")
def cloud() -> Any:
    from guardlib import emulators

    return emulators.start(only=["gcp"])


@pytest.fixture
def gcp(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The emulator, reset, with the administrator's environment applied (and restored)."""
    cloud.reset()
    for key in REAL_CLOUD_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    for key, value in cloud.env().items():
        monkeypatch.setenv(key, value)
    return cloud["gcp"]


@pytest.fixture
def client_as(cloud: Any, gcp: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``client_as("dev-app")``: a sync client built from that identity's environment only."""

    def make(identity: str | None = None) -> Any:
        from google.cloud import secretmanager

        with monkeypatch.context() as m:
            for key, value in cloud.env(identity).items():
                m.setenv(key, value)
            return secretmanager.SecretManagerServiceClient()

    return make


@pytest.fixture
def client(client_as: Callable[..., Any]) -> Any:
    return client_as(None)


@pytest.fixture
def run_async(cloud: Any, gcp: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``run_async(coro_fn, identity)``: run ``coro_fn(async_client)`` on a fresh loop."""

    def run(fn: Callable[[Any], Any], identity: str | None = None) -> Any:
        from google.cloud import secretmanager

        async def main() -> Any:
            with monkeypatch.context() as m:
                for key, value in cloud.env(identity).items():
                    m.setenv(key, value)
                client = secretmanager.SecretManagerServiceAsyncClient()
            try:
                return await fn(client)
            finally:
                await client.transport.close()

        return asyncio.run(main())

    return run


@pytest.fixture
def make_secret(client: Any) -> Callable[..., str]:
    """Create a secret (automatic replication) with optional versions; return its name."""

    def make(secret_id: str = "api-key", *values: bytes, **fields: Any) -> str:
        secret = {"replication": {"automatic": {}}, **fields}
        created = client.create_secret(
            request={"parent": PROJECT, "secret_id": secret_id, "secret": secret}
        )
        for value in values:
            client.add_secret_version(request={"parent": created.name, "payload": {"data": value}})
        return f"{PROJECT}/secrets/{secret_id}"

    return make


@pytest.fixture
def seeded(cloud: Any, gcp: Any) -> Iterator[Any]:
    cloud.seed(
        {
            "secrets": {
                "dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]},
                "prod-api-key": {"value": "demo-not-a-real-key-prod", "readers": ["prod-app"]},
                "shared-key": {"value": "demo-not-a-real-key-shared", "writers": ["ci-app"]},
            }
        }
    )
    yield cloud
