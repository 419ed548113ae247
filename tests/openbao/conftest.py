"""One real OpenBao dev server per session, its data wiped per test (no restart)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

SEED = DEV_PROD


@pytest.fixture(scope="session")
def cloud() -> emulators.OfflineCloud:
    try:
        return emulators.start(only=["vault"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def vault(cloud: emulators.OfflineCloud) -> Iterator[Any]:
    cloud["vault"].reset()
    yield cloud["vault"]


@pytest.fixture
def seeded(cloud: emulators.OfflineCloud, vault: Any) -> Any:
    cloud.seed(SEED)
    return vault


@pytest.fixture
def hvac_client(
    cloud: emulators.OfflineCloud, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str | None], Any]:
    """``hvac_client(identity)``: ``hvac.Client()`` with no arguments, as a chapter writes it,
    after os.environ was pointed at the server as ``identity``."""
    import hvac

    def make(identity: str | None = None) -> Any:
        for key in REAL_CLOUD_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        for key, value in cloud.env(identity).items():
            monkeypatch.setenv(key, value)
        return hvac.Client()

    return make


def read(client: Any, path: str) -> Any:
    out = client.secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )
    return out["data"]["data"]


def raw(
    cloud: emulators.OfflineCloud,
    method: str,
    path: str,
    token: str | None,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request exactly as written (no client-side path clean-up), as an attacker sends it."""
    import http.client
    import json

    port = cloud["vault"].backend()[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = dict(headers or {})
        if token is not None:
            sent["X-Vault-Token"] = token
        data = None if body is None else json.dumps(body)
        if data is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()
