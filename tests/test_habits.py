"""Lint, format and types are part of the test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["guardlib", "tests", "bench", "course.py"]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this environment: pip install -e '.[test]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_lint() -> None:
    result = _run(_tool("ruff"), "check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(_tool("ruff"), "format", "--check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_guardlib() -> None:
    result = _run(_tool("mypy"), "guardlib")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_nbval_lax_anywhere() -> None:
    needle = "--nbval" + "-lax"
    for path in [ROOT / "pyproject.toml", ROOT / ".ci/run", ROOT / "course.py", ROOT / "README.md"]:
        assert needle not in path.read_text(), path
