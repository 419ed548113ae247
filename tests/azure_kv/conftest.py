"""One Azure emulator per session, state reset per test, env applied per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

VAULT_URL = "https://guard-demo.vault.azure.net"

#: the seed most tests use: dev reads dev secrets, prod reads prod secrets, ops writes both
SEED = {**DEV_PROD, "identities": ["nobody-app"]}


@pytest.fixture(scope="session")
def cloud() -> Iterator[emulators.OfflineCloud]:
    cloud = emulators.start(only=["azure"])
    yield cloud


@pytest.fixture(scope="session")
def azure(cloud: emulators.OfflineCloud):  # -> AzureEmulator
    return cloud["azure"]


@pytest.fixture(autouse=True)
def _fresh_state(cloud: emulators.OfflineCloud) -> Iterator[None]:
    cloud.reset()
    yield
    cloud.faults.clear()


@pytest.fixture
def use_identity(
    cloud: emulators.OfflineCloud, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str | None], dict[str, str]]:
    """Point os.environ at the emulator as ``identity`` (None: the administrator)."""

    def apply(identity: str | None = None) -> dict[str, str]:
        for key in REAL_CLOUD_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        env = cloud.env(identity)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return apply


@pytest.fixture
def client_as(use_identity) -> Iterator[Callable[[str | None], object]]:
    """A ``SecretClient`` with ``DefaultAzureCredential`` acting as ``identity``."""
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    made: list[SecretClient] = []

    def make(identity: str | None = None) -> SecretClient:
        use_identity(identity)
        client = SecretClient(
            vault_url=os.environ["VAULT_URL"], credential=DefaultAzureCredential()
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def admin(client_as):
    return client_as(None)


@pytest.fixture
def seeded(cloud: emulators.OfflineCloud) -> None:
    cloud.seed(SEED)
