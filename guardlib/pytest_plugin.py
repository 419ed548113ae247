"""pytest fixtures for testing your own code against the offline cloud.

Installed with guardlib (entry point ``pytest11``), so any project can write::

    def test_reads_api_key(offline_cloud):
        offline_cloud.seed({"secrets": {"api-key": {"value": "demo-not-a-real-key"}}})
        assert my_app.load_api_key() == "demo-not-a-real-key"   # unmodified SDK code

- ``offline_cloud``: the running emulators, with their environment applied to ``os.environ``
  for this test only (real cloud variables removed), and state reset before the test. Its
  methods seed data (``.seed``), inject faults (``.faults``), act as another identity for a
  block (``with offline_cloud.as_identity("admin"): ...``) and reach an emulator (``["aws"]``).
- ``offline_env``: the same environment as a dict, for subprocesses.
- For a subprocess that runs as it would on a real platform, use
  ``offline_cloud.platform_env("ec2", identity="dev-app")`` (or ``"app-service"``, ``"gce"``,
  ``"github-actions+configure-aws-credentials"`` with ``subject=...``, ...): exactly what a
  process there has, plus the offline wiring (``guardlib.emulators.platforms``).

The servers start once per session. Choose which with ``--guardlib-emulators=azure,aws``
or the ini option ``guardlib_emulators`` (default: every one that can start here). A test
that needs an emulator this machine cannot run is skipped, with the reason and install hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from guardlib.emulators import OfflineCloud


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("guardlib", "guardlib offline cloud")
    group.addoption(
        "--guardlib-emulators",
        default=None,
        help="comma-separated emulators for the offline_cloud fixture (default: all available; "
        "'none': the gateway only)",
    )
    parser.addini("guardlib_emulators", "emulators for the offline_cloud fixture", default="")


def _wanted(config: pytest.Config) -> list[str] | None:
    raw = str(config.getoption("--guardlib-emulators") or config.getini("guardlib_emulators"))
    if raw.strip() == "none":  # the gateway and CA only
        return []
    return [n.strip() for n in raw.split(",") if n.strip()] or None


def _start(config: pytest.Config) -> OfflineCloud:
    """The process's offline cloud with the wanted emulators (started, or already running)."""
    from guardlib import emulators

    wanted = _wanted(config)
    if wanted is None:
        wanted = [name for name, why in emulators.available().items() if why is None]
    try:
        return emulators.start(only=wanted)
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def _guardlib_cloud(request: pytest.FixtureRequest) -> Iterator[OfflineCloud]:
    from guardlib import emulators

    yield _start(request.config)
    emulators.stop()


@pytest.fixture
def offline_cloud(
    _guardlib_cloud: OfflineCloud, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OfflineCloud]:
    from guardlib import emulators
    from guardlib.emulators import REAL_CLOUD_VARIABLES

    cloud = _guardlib_cloud
    if emulators.current() is not cloud:  # code under test called emulators.stop(): start anew
        cloud = _start(request.config)
    cloud.reset()
    for key in REAL_CLOUD_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    for key, value in cloud.env().items():
        monkeypatch.setenv(key, value)
    yield cloud
    cloud.identity = None


@pytest.fixture
def offline_env(offline_cloud: OfflineCloud) -> dict[str, str]:
    return offline_cloud.env()
