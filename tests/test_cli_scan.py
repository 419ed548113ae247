"""`guardlib scan` and `guardlib check-env` in a subprocess, on a temporary git repository:
a tracked `.env`, an un-ignored `.env`, an ignored one, a notebook whose *output* holds an
AWS-shaped fake key, and a detect-secrets baseline written and reused."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GUARDLIB = [sys.executable, "-m", "guardlib"]
FAKE_KEY = "AKIADEMONOTAREALKEY0"  # AWS-shaped, allow-listed in .secrets-allowlist
OTHER_KEY = "AKIA" + "Z7QGDEMOFAKEKEY9"  # split, so this file scans clean without allowing it
TRACKED_VALUE = "demo-not-a-real-tracked-token-8842"


def guardlib(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GUARDLIB, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=ruby@example.com", "-c", "user.name=Ruby", *args],
        cwd=repo, check=True, capture_output=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"},
    )  # fmt: skip


def notebook(output_text: str) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": "code", "execution_count": 1, "metadata": {},
                 "source": ["print(settings.aws_key_id)"],
                 "outputs": [{"output_type": "stream", "name": "stdout", "text": [output_text]}]},
            ],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
        }
    )  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("ignored.env\n")
    (repo / ".env").write_text(f"API_TOKEN={TRACKED_VALUE}\n")
    git(repo, "add", ".gitignore", ".env")
    git(repo, "commit", "-q", "-m", "oops")
    (repo / "app").mkdir()
    (repo / "app" / ".env").write_text("DEBUG=1\n")  # neither tracked nor ignored
    (repo / "ignored.env").write_text(f"AWS_ACCESS_KEY_ID={OTHER_KEY}\n")  # where it belongs
    (repo / "explore.ipynb").write_text(notebook(f"{FAKE_KEY}\n"))
    return repo


def test_scan_reports_env_files_and_notebook_outputs(repo: Path) -> None:
    result = guardlib("scan", ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    for value in (FAKE_KEY, OTHER_KEY, TRACKED_VALUE):
        assert value not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(".env: Tracked .env file: git tracks it") for line in lines)
    assert any(line.startswith("app/.env: Unignored .env file") for line in lines)
    assert any(
        line.startswith("explore.ipynb:1 (cell 1 output): AWS Access Key [sha1 ") for line in lines
    ), lines
    assert not any("ignored.env" in line for line in lines)  # ignored and untracked: fine
    assert not any("cell 1 source" in line for line in lines)


def test_scan_finds_a_tracked_env_deleted_from_the_work_tree(repo: Path) -> None:
    (repo / ".env").unlink()
    result = guardlib("scan", ".", cwd=repo)
    assert result.returncode == 1
    assert any(line.startswith(".env: Tracked .env file") for line in result.stdout.splitlines())


def test_baseline_written_then_reused(repo: Path) -> None:
    baseline = repo / ".secrets.baseline"
    result = guardlib("scan", ".", "--write-baseline", str(baseline), cwd=repo)
    assert result.returncode == 1  # the .env files are not accepted into a baseline
    assert "wrote" in result.stderr and "baseline" in result.stderr
    text = baseline.read_text()
    assert FAKE_KEY not in text and TRACKED_VALUE not in text
    document = json.loads(text)
    assert {"version", "plugins_used", "filters_used", "results"} <= set(document)
    entry = document["results"]["explore.ipynb"][0]
    assert entry["type"] == "AWS Access Key"
    assert entry["hashed_secret"] == hashlib.sha1(FAKE_KEY.encode()).hexdigest()  # noqa: S324
    assert ".env" not in document["results"] and "app/.env" not in document["results"]

    result = guardlib("scan", ".", "--baseline", str(baseline), cwd=repo)
    assert result.returncode == 1
    assert "explore.ipynb" not in result.stdout and "known" in result.stderr
    assert ".env: Tracked .env file" in result.stdout

    # fix the .env files the way the advice says: then only known findings are left
    git(repo, "rm", "-q", "--cached", ".env")
    (repo / ".gitignore").write_text("ignored.env\n.env\n")
    result = guardlib("scan", ".", "--baseline", str(baseline), cwd=repo)
    assert result.returncode == 0, result.stdout
    # the same files named by an absolute path match the baseline too
    result = guardlib("scan", str(repo), "--baseline", ".secrets.baseline", cwd=repo)
    assert result.returncode == 0, result.stdout

    # a new secret is not in the baseline: reported
    (repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{OTHER_KEY}"\n')
    result = guardlib("scan", ".", "--baseline", str(baseline), cwd=repo)
    assert result.returncode == 1
    assert result.stdout.startswith("settings.py:1: AWS Access Key")
    assert OTHER_KEY not in result.stdout + result.stderr


def test_scan_allowlist_and_bad_baseline(repo: Path, tmp_path: Path) -> None:
    allow = tmp_path / "allow.txt"
    allow.write_text(f"{FAKE_KEY}\n")
    result = guardlib("scan", "explore.ipynb", "--allowlist", str(allow), cwd=repo)
    assert result.returncode == 0, result.stdout
    bad = tmp_path / "bad.baseline"
    bad.write_text("{not json")
    result = guardlib("scan", ".", "--baseline", str(bad), cwd=repo)
    assert result.returncode == 2 and "not valid JSON" in result.stderr
    result = guardlib("scan", ".", "--baseline", str(tmp_path / "none"), cwd=repo)
    assert result.returncode == 2 and "no such baseline file" in result.stderr


# -- check-env ------------------------------------------------------------------------------
def test_check_env_lists_missing_and_extra_keys_by_name(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("API_KEY=\nDB_URL=\n# a comment\nDEBUG=false\n")
    (tmp_path / ".env").write_text(f"API_KEY={TRACKED_VALUE}\nDEBUG=true\nEXTRA_TOKEN=zzz\n")
    result = guardlib("check-env", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "missing from .env: DB_URL",
        "not in .env.example: EXTRA_TOKEN",
    ]
    assert TRACKED_VALUE not in result.stdout + result.stderr and "zzz" not in result.stdout

    (tmp_path / ".env").write_text("API_KEY=x\nDB_URL=y\nDEBUG=true\n")
    result = guardlib("check-env", cwd=tmp_path)
    assert result.returncode == 0
    assert "missing from .env: (none)" in result.stdout


def test_check_env_other_files_and_errors(tmp_path: Path) -> None:
    (tmp_path / "template").write_text("API_KEY=\nDB_URL=\n")
    result = guardlib("check-env", "--env", "nope.env", "--example", "template", cwd=tmp_path)
    assert result.returncode == 1
    assert "missing from nope.env: API_KEY, DB_URL" in result.stdout
    assert "copy template to nope.env" in result.stderr
    result = guardlib("check-env", "--example", "missing.example", cwd=tmp_path)
    assert result.returncode == 2 and "no such file: missing.example" in result.stderr
    (tmp_path / "broken.env").write_bytes(b"API_KEY=\xff\xfe-demo-not-a-real\n")
    result = guardlib("check-env", "--env", "broken.env", "--example", "template", cwd=tmp_path)
    assert result.returncode == 2 and "broken.env" in result.stderr
    assert "demo-not-a-real" not in result.stderr
