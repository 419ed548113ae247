"""Fixtures for the leak hunt's tests: a fixed room secret, never the user's room folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOM_SECRET = "demo-not-a-real-room-secret-0001"


@pytest.fixture
def room(tmp_path: Path) -> dict[str, str]:
    """An environment for one room: its secret, a board folder, no hub user."""
    return {
        "GUARDLIB_HUNT_ROOM_SECRET": ROOM_SECRET,
        "GUARDLIB_HUNT_BOARD": str(tmp_path / "board"),
        "PATH": os.environ.get("PATH", ""),
    }


def guardlib_scan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``guardlib scan ARGS`` in a fresh process, as a learner types it."""
    return subprocess.run(
        [sys.executable, "-m", "guardlib", "scan", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
