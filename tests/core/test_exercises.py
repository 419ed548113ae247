"""The exercise checks accept the published solutions and reject placeholders and leaks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from guardlib import Secret, env, redact_logger
from guardlib.course.exercises import (
    check_no_hardcoded_secret,
    evaluate_env_example,
    evaluate_no_hardcoded_secret,
    evaluate_redacting_logger,
    evaluate_timeout_reader,
)


def test_verdicts_print(capsys: pytest.CaptureFixture[str]) -> None:
    check_no_hardcoded_secret(...)
    assert capsys.readouterr().out.startswith("❌ Not yet: replace the ...")


def test_chapter_01() -> None:
    assert not evaluate_no_hardcoded_secret(...).ok
    leaky = 'API_KEY = "demo-not-a-real-key-1234"\n'
    verdict = evaluate_no_hardcoded_secret(leaky)
    assert not verdict.ok and "line 1" in verdict.message
    assert not evaluate_no_hardcoded_secret("API_KEY = input()\n").ok
    fixed = 'import os\n\nAPI_KEY = os.environ["WALLET_API_KEY"]\n'
    assert evaluate_no_hardcoded_secret(fixed).ok


def test_chapter_02(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIMEOUT_SECONDS", raising=False)

    def placeholder() -> None:
        return None

    assert not evaluate_timeout_reader(...).ok  # type: ignore[arg-type]
    assert not evaluate_timeout_reader(placeholder).ok

    def naive() -> str | None:
        return os.getenv("TIMEOUT_SECONDS", "30")

    assert not evaluate_timeout_reader(naive).ok

    def solution() -> Secret[int]:
        return env.integer("TIMEOUT_SECONDS", default=30)

    assert evaluate_timeout_reader(solution).ok
    assert "TIMEOUT_SECONDS" not in os.environ  # the check restored the environment


def test_chapter_03(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("WALLET_API_KEY=demo-not-a-real-key-1234\nDB_PASSWORD=demo-pass-0000\n")
    assert not evaluate_env_example(..., path).ok
    assert not evaluate_env_example("WALLET_API_KEY=\n", path).ok
    copied = "WALLET_API_KEY=demo-not-a-real-key-1234\nDB_PASSWORD=\n"
    assert "real values" in evaluate_env_example(copied, path).message
    good = "# ask Brad for the sandbox key\nWALLET_API_KEY=\nDB_PASSWORD=replace-me\n"
    assert evaluate_env_example(good, path).ok


def test_chapter_04() -> None:
    key = Secret("demo-not-a-real-key-1234", name="WALLET_API_KEY")
    plain = logging.getLogger("guardlib-test.exercise-plain")
    plain.propagate = False
    assert not evaluate_redacting_logger(..., key).ok
    assert "appeared 3 time(s)" in evaluate_redacting_logger(plain, key).message
    safe = logging.getLogger("guardlib-test.exercise-safe")
    safe.propagate = False
    flt = redact_logger(safe, key)
    try:
        assert evaluate_redacting_logger(safe, key).ok
    finally:
        safe.removeFilter(flt)
