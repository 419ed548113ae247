"""The published <details> solutions of chapters 01-04 pass their own exercise checks.

A solution is never executed inside the notebook (NOTEBOOK_STYLE.md), so this test is what
keeps them from rotting: it extracts each solution's code block and runs it in a namespace
holding what the chapter has defined by then.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib import Secret, env, redact_logger
from guardlib.course import exercises as ex
from guardlib.course.exercises import solution_blocks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _solutions(name: str) -> list[str]:
    return solution_blocks(NOTEBOOKS / name)


def _run(name: str, namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _solutions(name)
    assert blocks, f"{name}: no solution found"
    for block in blocks:
        exec(compile(block, f"{name}:solution", "exec"), namespace)  # noqa: S102
        out = capsys.readouterr().out
        assert out.startswith("✅ Correct!"), out


def test_chapter_01(capsys: pytest.CaptureFixture[str]) -> None:
    _run(
        "01_hardcoded_secrets.ipynb",
        {"check_no_hardcoded_secret": ex.check_no_hardcoded_secret},
        capsys,
    )


def test_chapter_02(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMEOUT_SECONDS", raising=False)
    _run(
        "02_environment_variables.ipynb",
        {"env": env, "check_timeout_reader": ex.check_timeout_reader},
        capsys,
    )


def test_chapter_03(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("brad.env").write_text(
        "WALLET_API_KEY=demo-not-a-real-key-1234\n"
        "DB_PASSWORD=demo-not-a-real-password-replace-me\n"
        "WALLET_NETWORK=testnet-brad\n",
        encoding="utf-8",
    )
    _run("03_dotenv_files.ipynb", {"check_env_example": ex.check_env_example}, capsys)


def test_chapter_04(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("wallet.exercise")
    namespace = {
        "logging": logging,
        "redact_logger": redact_logger,
        "api_key": Secret("demo-not-a-real-key-1234", name="WALLET_API_KEY"),
        "check_redacting_logger": ex.check_redacting_logger,
        "guardlib": guardlib,
    }
    try:
        _run("04_limits_of_env_vars.ipynb", namespace, capsys)
    finally:
        for flt in list(logger.filters):
            logger.removeFilter(flt)
