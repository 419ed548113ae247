"""Chapter 14's published solution finds every challenge the chapter leaves to the learner,
with no false positive (run as the chapter runs it, after its own worked examples)."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from guardlib.course.exercises import solution_blocks
from guardlib.course.hunt import CHALLENGES, Hunt

from .conftest import ROOM_SECRET, guardlib_scan

CHAPTER = Path(__file__).resolve().parents[2] / "notebooks" / "14_leak_hunt.ipynb"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the solution reads /proc")
def test_the_solution_finds_the_rest(tmp_path: Path) -> None:
    environ = {"GUARDLIB_HUNT_ROOM_SECRET": ROOM_SECRET}
    with Hunt(level="hard", learner="ruby", board=tmp_path / "board", environ=environ) as hunt:
        world = hunt.root
        line = next((world / "ci").rglob("*.txt")).read_text().splitlines()[13]
        assert hunt.check(line.split("_authToken=", 1)[1]).status == "accepted"  # the chapter's

        def git(*args: str, cwd: Path = world / "codehive") -> str:
            return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                  check=True).stdout  # fmt: skip

        namespace = {
            "hunt": hunt, "world": world, "scan": guardlib_scan(".", cwd=world).stdout,
            "git": git, "pid": hunt.worker_pid, "re": re, "json": json, "io": io,
            "gzip": gzip, "tarfile": tarfile, "Path": Path,
        }  # fmt: skip
        (solution,) = solution_blocks(CHAPTER)
        outcomes = []
        hunt.submit = lambda value: outcomes.append(hunt.check(value))  # keep, don't display
        exec(solution, namespace)
        assert [o for o in outcomes if o.status not in ("accepted", "again")] == []
        assert set(hunt.ledger.found) == {c.id for c in CHALLENGES}
