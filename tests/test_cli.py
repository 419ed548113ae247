"""The `guardlib` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values

GUARDLIB = [sys.executable, "-m", "guardlib.cli"]


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GUARDLIB, *args], capture_output=True, text=True, timeout=120, **kwargs)


def test_doctor_reports_every_package() -> None:
    result = _run("doctor")
    assert "python-dotenv" in result.stdout and "azure-identity" in result.stdout
    assert (
        result.stdout.strip().splitlines()[-1] in ("Ready for the course.",)
        or "problem(s)" in result.stdout
    )


def test_scan_finds_a_key_without_printing_it(tmp_path: Path) -> None:
    leaky = tmp_path / "settings.py"
    fake_aws_key = "AKIA" + "Z7QGDEMOFAKEKEY9"  # an AWS-shaped fake, split so this file scans clean
    leaky.write_text(f'AWS_ACCESS_KEY_ID = "{fake_aws_key}"\n')
    result = _run("scan", str(leaky))
    assert result.returncode == 1
    assert "AWS Access Key" in result.stdout and f"{leaky}:1" in result.stdout
    assert fake_aws_key not in result.stdout + result.stderr


def test_scan_allowlist_and_clean_exit(tmp_path: Path) -> None:
    demo = tmp_path / "demo.env"
    demo.write_text("API_KEY=demo-not-a-real-key-1234\n")
    allow = tmp_path / "allow.txt"
    allow.write_text("# demo values\ndemo-not-a-real-key-1234\n")
    assert _run("scan", str(demo), "--allowlist", str(allow)).returncode == 0


def test_scan_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = _run("scan", str(tmp_path / "nope"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr


def test_emulators_up_writes_env_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    env_file = tmp_path / "offline.env"
    proc = subprocess.Popen(
        [*GUARDLIB, "emulators", "up", "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        values = dotenv_values(env_file)
        assert values["HTTPS_PROXY"].startswith("http://127.0.0.1:")
        assert os.path.exists(values["REQUESTS_CA_BUNDLE"])
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "offline cloud stopped" in err
    assert not env_file.exists()


def test_emulators_up_rejects_unknown_emulator() -> None:
    result = _run("emulators", "up", "--only", "oracle")
    assert result.returncode == 2 and "unknown emulator 'oracle'" in result.stderr


SUBCOMMANDS = ["get", "run", "scan", "check-env", "doctor", "emulators"]


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guardlib", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert f"    {command}" in result.stdout, command
    for code in ("65", "66", "69", "77"):
        assert f"\n  {code} " in result.stdout, code


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_command_help_has_purpose_arguments_example_and_exit_codes(command: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0, result.stderr
    usage, purpose = result.stdout.split("\n\n")[:2]
    assert usage.startswith(f"usage: guardlib {command}")
    assert purpose.strip().endswith(".") and len(purpose.strip()) > 20
    assert "options:" in result.stdout
    example = result.stdout.split("example:\n", 1)[1]
    assert example.startswith(f"  guardlib {command}") or f"guardlib {command}" in example
    assert "exit codes:\n  " in result.stdout
    codes = result.stdout.split("exit codes:\n", 1)[1]
    assert "\n  0 " in "\n" + codes or command == "run"


def test_exit_code_table_matches_the_errors() -> None:
    from guardlib.cli import exit_codes as cli
    from guardlib.errors import (
        AccessDenied,
        InvalidReference,
        MappingError,
        ProviderUnavailable,
        SecretNotFound,
    )

    assert cli.exit_code_for(InvalidReference("x", "m")) == 65 == cli.EXIT_INVALID_REFERENCE
    assert cli.exit_code_for(MappingError("m")) == 65
    assert cli.exit_code_for(SecretNotFound("x", "m")) == 66
    assert cli.exit_code_for(ProviderUnavailable("x", "m")) == 69
    assert cli.exit_code_for(AccessDenied("x", "m")) == 77
    assert cli.exit_code_for(KeyboardInterrupt()) == 130
    assert cli.exit_code_for(RuntimeError("boom")) == 70
    for code in (0, 1, 2, 65, 66, 69, 70, 77, 126, 127, 130):  # documented in the docstring
        assert f"\n{code:<4} " in cli.__doc__, code  # type: ignore[operator]


def test_python_dash_m_guardlib_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guardlib", "get"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "usage: guardlib get" in result.stderr


def test_check_env_without_env_never_echoes_a_bare_token_line(tmp_path: Path) -> None:
    """A token pasted alone on a line of .env.example (no '=') is not a key name to list."""
    token = "demo-not-a-real-" + "token-4f1c9a"
    (tmp_path / ".env.example").write_text(f"API_KEY=\n{token}\nDB_URL=postgres://db\n")
    result = _run("check-env", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing from .env: API_KEY, DB_URL" in result.stdout
    assert token not in result.stdout + result.stderr
