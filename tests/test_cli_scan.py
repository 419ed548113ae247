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


# -- issue 16: unreadable files, hidden folders, the allow-list by default, --history ----------
GITHUB = "gh" + "p_" + "Q7dE" * 9  # built at run time: this file scans clean


def test_a_merge_conflicted_notebook_is_reported_and_the_scan_goes_on(repo: Path) -> None:
    (repo / "explore.ipynb").write_text(
        '{\n<<<<<<< HEAD\n"cells": []\n=======\n"cells": [1]\n>>>>>>> main\n}\n'
    )
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text(f"env:\n  GH_TOKEN: {GITHUB}\n")
    result = guardlib("scan", ".", "--no-allowlist", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert (
        "explore.ipynb: Unreadable file: not valid notebook JSON (merge-conflict markers); "
        "it was not fully scanned: fix it and scan again" in lines
    )
    assert any(line.startswith(".github/workflows/ci.yml:2: GitHub Token [sha1 ") for line in lines)
    assert "1 file(s) could not be read fully" in result.stderr
    assert GITHUB not in result.stdout + result.stderr


def test_an_unreadable_file_alone_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text("{not json")
    result = guardlib("scan", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("broken.ipynb: Unreadable file")
    assert "0 potential secret(s) found (1 file(s) could not be read fully)" in result.stderr


def test_the_allowlist_in_the_current_folder_is_used_by_default(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(f'TOKEN = "{GITHUB}"\n')
    result = guardlib("scan", ".", cwd=tmp_path)
    assert result.returncode == 1 and "settings.py:1: GitHub Token" in result.stdout
    (tmp_path / ".secrets-allowlist").write_text(f"# demo values\n{GITHUB}\n")
    result = guardlib("scan", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "allow-list: .secrets-allowlist (1 demo values)" in result.stderr
    result = guardlib("scan", ".", "--no-allowlist", cwd=tmp_path)
    assert result.returncode == 1


def test_history_finds_a_key_deleted_on_another_branch(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hello')\n")
    git(repo, "add", "app.py")
    git(repo, "commit", "-q", "-m", "start")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "config").mkdir()
    (repo / "config" / "settings.py").write_text(f'import os\nTOKEN = "{GITHUB}"\n')
    git(repo, "add", "config/settings.py")
    git(repo, "commit", "-q", "-m", "add settings")
    leak = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    (repo / "config" / "settings.py").write_text("import os\nTOKEN = os.environ['TOKEN']\n")
    git(repo, "commit", "-q", "-am", "read it from the environment")
    git(repo, "checkout", "-q", "main")

    result = guardlib("scan", ".", cwd=repo)
    assert result.returncode == 0, result.stdout  # the work tree is clean
    result = guardlib("scan", ".", "--history", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"config/settings.py:2 (commit {leak[:12]}): GitHub Token [sha1 "
        + hashlib.sha1(GITHUB.encode()).hexdigest()[:12]
        + "]"  # noqa: S324
    ]
    assert GITHUB not in result.stdout + result.stderr

    # a baseline written with --history accepts it
    result = guardlib("scan", ".", "--history", "--write-baseline", "base.json", cwd=repo)
    assert result.returncode == 0 and GITHUB not in (repo / "base.json").read_text()
    result = guardlib("scan", ".", "--history", "--baseline", "base.json", cwd=repo)
    assert result.returncode == 0, result.stdout


def test_history_outside_a_repository_is_a_usage_error(tmp_path: Path) -> None:
    result = guardlib("scan", ".", "--history", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a git repository" in result.stderr and "Traceback" not in result.stderr


def test_exit_codes_are_documented_alike() -> None:
    """The README's table, exit_codes.py and `scan --help` say the same about scan's codes."""
    from guardlib.cli import exit_codes

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "| 1 | `scan` found something (an unreadable file too);" in readme
    assert "(an unreadable file too)" in exit_codes.__doc__
    assert exit_codes.EXIT_FOUND == 1 and exit_codes.EXIT_USAGE == 2
    result = subprocess.run([*GUARDLIB, "scan", "--help"], capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    help_text = " ".join(result.stdout.split())
    assert "1 found something, an unreadable file too (scan)" in help_text
    assert "reported as unreadable; the scan goes on" in help_text


def test_the_repository_ships_its_baseline_and_the_readme_example_runs() -> None:
    """Issue 17: `guardlib scan . --baseline .secrets.baseline` (the README's example) needs a
    baseline. Every value in this repository is an allow-listed demo value, so the baseline
    accepts nothing: a finding is fixed (or its demo value allow-listed), never baselined."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "guardlib scan . --baseline .secrets.baseline" in readme
    document = json.loads((root / ".secrets.baseline").read_text(encoding="utf-8"))
    assert {"version", "plugins_used", "filters_used", "results"} <= set(document)
    assert document["results"] == {}
    # the example's options, on one file (the whole tree is test_notebooks.py's job)
    result = guardlib("scan", "README.md", "--baseline", ".secrets.baseline", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "allow-list: .secrets-allowlist" in result.stderr


def test_history_of_a_folder_scans_the_repositories_under_it(tmp_path: Path) -> None:
    work = tmp_path / "app"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "ci.yml").write_text(f"env:\n  GH_TOKEN: {GITHUB}\n")
    git(work, "add", "ci.yml")
    git(work, "commit", "-q", "-m", "ci")
    git(tmp_path, "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"))
    git(work, "rm", "-q", "ci.yml")
    git(work, "commit", "-q", "-m", "no token in ci")
    result = guardlib("scan", ".", "--history", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert [line.split(" (commit ")[0] for line in lines] == ["app/ci.yml:2", "origin.git/ci.yml:2"]
    assert GITHUB not in result.stdout + result.stderr


def test_history_reports_a_key_once_with_the_commit_that_added_it(tmp_path: Path) -> None:
    """Later versions of the file (a line changed elsewhere, a notebook cell re-run) do not
    report the key again: its finding names the commit that introduced it, as gitleaks does."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "settings.py").write_text(f'DEBUG = False\nTOKEN = "{GITHUB}"\n')
    (repo / "explore.ipynb").write_text(notebook(f"{GITHUB}\n"))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "add")
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                           text=True, check=True).stdout.strip()[:12]  # fmt: skip
    (repo / "settings.py").write_text(f'DEBUG = True\nTOKEN = "{GITHUB}"\n')
    nb = json.loads(notebook(f"{GITHUB}\n"))
    nb["cells"][0]["execution_count"] = 7  # re-run: the output is the same
    (repo / "explore.ipynb").write_text(json.dumps(nb))
    git(repo, "commit", "-q", "-am", "debug on")
    (repo / "settings.py").write_text("DEBUG = True\n")
    (repo / "explore.ipynb").write_text(notebook("hello\n"))
    git(repo, "commit", "-q", "-am", "remove the token")
    result = guardlib("scan", ".", "--history", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert sorted(line.split(": ")[0] for line in result.stdout.splitlines()) == [
        f"explore.ipynb:1 (cell 1 output, commit {first})",
        f"settings.py:2 (commit {first})",
    ]
