"""An offline cloud of its own for the issuer tests (no cloud emulator needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guardlib import emulators


@pytest.fixture(scope="module")
def bare_cloud() -> Iterator[emulators.OfflineCloud]:
    saved = emulators._current
    emulators._current = None
    cloud = emulators.start(only=[])
    try:
        yield cloud
    finally:
        emulators.stop()
        emulators._current = saved
