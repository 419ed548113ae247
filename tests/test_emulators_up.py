"""The environment file `guardlib emulators up` writes, in every format, read back by the
program that loads it: a POSIX shell, python-dotenv, JSON."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dotenv import dotenv_values

from guardlib import emulators
from guardlib.emulators.seed import COURSE, DEV_PROD
from guardlib.emulators.up import FORMATS, in_subprocess, render_env, seed_argument

AWKWARD = {
    "PLAIN": "https://guard-demo.vault.azure.net",
    "QUOTE": "it's-demo",
    "BACKSLASH": "C:\\demo\\path",
    "SPACE": "/tmp/a folder/ca.pem",
    "DOLLAR": "$HOME-and-`backticks`",
    "EMPTY": "",
}


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell")
def test_sh_format_is_exported_to_child_processes_exactly(tmp_path: Path) -> None:
    path = tmp_path / "offline.env"
    path.write_text(render_env(AWKWARD, "sh"))
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    script = f". {shlex.quote(str(path))} && {shlex.quote(sys.executable)} -c {shlex.quote(dump)}"
    out = subprocess.run(["sh", "-c", script], env={"PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    seen = json.loads(out)
    assert {k: seen.get(k) for k in AWKWARD} == AWKWARD


def test_sh_format_is_read_by_python_dotenv_for_ordinary_values(tmp_path: Path) -> None:
    ordinary = {k: AWKWARD[k] for k in ("PLAIN", "SPACE", "EMPTY")}
    path = tmp_path / "offline.env"
    path.write_text(render_env(ordinary, "sh"))
    assert dotenv_values(path) == ordinary


def test_dotenv_format_round_trips_through_python_dotenv(tmp_path: Path) -> None:
    path = tmp_path / "offline.env"
    path.write_text(render_env(AWKWARD, "dotenv"))
    assert not any(line.startswith("export ") for line in path.read_text().splitlines())
    assert dotenv_values(path, interpolate=False) == AWKWARD


def test_json_and_powershell_formats() -> None:
    assert json.loads(render_env(AWKWARD, "json")) == AWKWARD
    text = render_env({"QUOTE": "it's-demo"}, "powershell")
    assert "$env:QUOTE = 'it''s-demo'" in text.splitlines()


def test_an_unknown_format_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="sh, dotenv, powershell, json"):
        render_env(AWKWARD, "yaml")
    assert FORMATS[0] == "sh"  # the default: `source offline.env` exports


def test_the_course_seed_is_the_default_and_none_is_empty(tmp_path: Path) -> None:
    course = seed_argument("course")
    assert seed_argument(None) == course
    assert {**course, "trusts": COURSE["trusts"]} == COURSE  # COURSE, and the cluster's pods
    assert {t["issuer"] for t in course["trusts"][len(COURSE["trusts"]) :]} == {"kubernetes"}
    assert COURSE["secrets"] == DEV_PROD["secrets"]
    assert seed_argument("none") is None
    assert seed_argument(str(tmp_path / "seed.json")) == str(tmp_path / "seed.json")


def _emulators_up_once(folder: Path) -> dict[str, str]:
    """Run `guardlib emulators up --identity dev-app` until its env file appears; stop it."""
    with in_subprocess(["--identity", "dev-app"], folder) as values:
        key_file = values.get("GOOGLE_APPLICATION_CREDENTIALS")
        if key_file:  # the service-account key itself, not only its path
            values["(gcp private key)"] = json.loads(Path(key_file).read_text())["private_key"]
        return values


def test_two_runs_of_emulators_up_hand_out_different_credentials(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = _emulators_up_once(tmp_path / "one")
    second = _emulators_up_once(tmp_path / "two")
    credentials = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "IDENTITY_HEADER",
        "VAULT_TOKEN",
        "VAULT_ROLE_ID",
        "VAULT_SECRET_ID",
        "(gcp private key)",
    ]
    present = [name for name in credentials if name in first]
    if emulators.available().get("vault") is None:
        assert {"VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"} <= set(present)
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "IDENTITY_HEADER"} <= set(present)
    assert "(gcp private key)" in present
    same = [name for name in present if first[name] == second.get(name)]
    assert same == [], f"the same in two runs: {same}"


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guardlib", "emulators", *args],
        capture_output=True, text=True, timeout=180, check=False, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_emulators_run_gives_the_command_the_identity_and_its_exit_code() -> None:
    probe = (
        "import os, sys, boto3\n"
        "arn = boto3.client('sts').get_caller_identity()['Arn']\n"
        "print(arn.split(':')[-1].split('/')[1])\n"
        "sm = boto3.client('secretsmanager')\n"
        "print(sm.get_secret_value(SecretId='dev-api-key')['Name'])\n"
        "sys.exit(42)\n"
    )
    result = _cli(
        "run", "--only", "aws", "--identity", "dev-app", "--", sys.executable, "-c", probe
    )
    assert result.returncode == 42, result.stderr
    assert result.stdout.split() == ["dev-app", "dev-api-key"]  # the course seed, by default
    assert "demo-not-a-real" not in result.stdout + result.stderr


def test_emulators_run_with_an_empty_seed_and_a_missing_command() -> None:
    result = _cli("run", "--only", "aws", "--seed", "none", "--", "no-such-command-guardlib")
    assert result.returncode == 127 and "command not found" in result.stderr


def test_emulators_up_json_format_and_audience_without_subject(tmp_path: Path) -> None:
    bad = _cli("up", "--only", "aws", "--oidc-audience", "sts.amazonaws.com")
    assert bad.returncode == 2 and "--oidc-subject" in bad.stderr
    worse = _cli("up", "--only", "aws", "--oidc-subject", "repo:codehive/wallet")
    assert worse.returncode == 2 and "GitHub Actions subject" in worse.stderr


def test_up_says_to_use_a_second_terminal_and_how_to_leave(tmp_path: Path) -> None:
    env_file = tmp_path / "offline.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "guardlib", "emulators", "up", "--only", "aws",
         "--identity", "dev-app", "--env-file", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not env_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert "second terminal" in err and f"source {env_file}" in err
    assert "unset " in err and "AWS_ACCESS_KEY_ID" in err  # names only, never a value
    assert "exit" in err
