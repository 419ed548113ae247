"""Unit tests for guardlib.dotenv_files: strict loading on python-dotenv, git checks, examples."""

from __future__ import annotations

import os
import shutil
import subprocess
import traceback
from pathlib import Path

import pytest

from guardlib import (
    DotenvEncodingError,
    DotenvError,
    DotenvNotAFileError,
    DotenvNotFoundError,
    DotenvParseError,
    compare_with_example,
    git_status,
    load_env_file,
    read_env_file,
)

VALUE = "demo-not-a-real-key-1234"


def _all_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("GUARD_A", "GUARD_B", "GUARD_C", "GUARD_D"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("PYTHON_DOTENV_DISABLED", raising=False)
    # a developer's global gitignore (which may well list .env) must not change the answers
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return tmp_path


def _unchanged(path: Path, before: bytes, env_before: dict[str, str]) -> None:
    if before:
        assert path.read_bytes() == before
    assert dict(os.environ) == env_before


def test_load_reports_keys_never_values(folder: Path, restore_environ: None) -> None:
    path = folder / ".env"
    path.write_text(f"GUARD_A={VALUE}\nexport GUARD_B='quoted value'\n# comment\nGUARD_C\n")
    report = load_env_file(path)
    assert report.loaded == ("GUARD_A", "GUARD_B")
    assert report.bare_lines == (4,)
    assert report.skipped == ()
    assert os.environ["GUARD_A"] == VALUE
    assert os.environ["GUARD_B"] == "quoted value"
    assert "GUARD_C" not in os.environ
    assert VALUE not in str(report) and VALUE not in repr(report)
    assert "GUARD_A" in str(report)


def test_override_semantics_are_explicit(folder: Path, restore_environ: None) -> None:
    path = folder / ".env"
    path.write_text("GUARD_A=from-file-value\nGUARD_B=new\n")
    os.environ["GUARD_A"] = "already-set-value"
    report = load_env_file(path)  # load_dotenv's default: do not override
    assert report.skipped == ("GUARD_A",)
    assert report.loaded == ("GUARD_B",)
    assert os.environ["GUARD_A"] == "already-set-value"
    report = load_env_file(path, override=True)  # what `dotenv run` does
    assert report.overridden == ("GUARD_A", "GUARD_B")
    assert os.environ["GUARD_A"] == "from-file-value"


def test_matches_python_dotenv_exactly(folder: Path, restore_environ: None) -> None:
    """guardlib loads through python-dotenv: same environment as load_dotenv would give."""
    from dotenv import load_dotenv

    text = "GUARD_A=one\nGUARD_B=\"two ${GUARD_A}\"\nGUARD_C='${GUARD_A}'\nGUARD_D=x # note\n"
    path = folder / ".env"
    path.write_text(text)
    os.environ["GUARD_A"] = "pre"
    saved = dict(os.environ)
    load_dotenv(path)
    theirs = {k: os.environ.get(k) for k in ("GUARD_A", "GUARD_B", "GUARD_C", "GUARD_D")}
    os.environ.clear()
    os.environ.update(saved)
    load_env_file(path)
    ours = {k: os.environ.get(k) for k in ("GUARD_A", "GUARD_B", "GUARD_C", "GUARD_D")}
    assert ours == theirs


def test_missing_file(folder: Path, restore_environ: None) -> None:
    env_before = dict(os.environ)
    with pytest.raises(DotenvNotFoundError) as info:
        load_env_file(folder / "nope.env")
    assert "no such file" in str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DotenvError)
    _unchanged(folder, b"", env_before)
    assert not (folder / "nope.env").exists()


def test_directory(folder: Path, restore_environ: None) -> None:
    (folder / ".env").mkdir()
    env_before = dict(os.environ)
    with pytest.raises(DotenvNotAFileError) as info:
        load_env_file(folder / ".env")
    assert "is a directory" in str(info.value)
    assert isinstance(info.value, IsADirectoryError)
    assert dict(os.environ) == env_before


def test_malformed_line_names_the_line_never_the_content(
    folder: Path, restore_environ: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = folder / ".env"
    path.write_bytes(f"GUARD_A={VALUE}\nGUARD_B='{VALUE}\nGUARD_C=ok\n".encode())
    before = path.read_bytes()
    env_before = dict(os.environ)
    with pytest.raises(DotenvParseError) as info:
        load_env_file(path)
    assert info.value.lines == (2,)
    assert "line 2" in str(info.value)
    assert VALUE not in _all_text(info.value)
    _unchanged(path, before, env_before)  # nothing applied, not even GUARD_A from line 1
    assert "could not parse" not in caplog.text  # python-dotenv's own warning is swallowed


def test_several_malformed_lines(folder: Path) -> None:
    path = folder / ".env"
    path.write_text("GUARD_A=1\nnot a statement\nGUARD_B=2\nalso bad here\n")
    with pytest.raises(DotenvParseError) as info:
        read_env_file(path)
    assert info.value.lines == (2, 4)
    assert "lines 2, 4" in str(info.value)


def test_non_utf8_file(folder: Path, restore_environ: None) -> None:
    path = folder / ".env"
    path.write_bytes(f"GUARD_A={VALUE}\nGUARD_B=caf".encode() + b"\xe9\n")  # latin-1 e-acute
    before = path.read_bytes()
    env_before = dict(os.environ)
    with pytest.raises(DotenvEncodingError) as info:
        load_env_file(path)
    assert info.value.line == 2
    assert "not valid utf-8" in str(info.value)
    assert VALUE not in _all_text(info.value)
    assert info.value.__context__ is None
    _unchanged(path, before, env_before)
    # the same file loads when the right encoding is given
    assert read_env_file(path, encoding="latin-1")["GUARD_B"] == "caf\xe9"


def test_unknown_encoding(folder: Path) -> None:
    path = folder / ".env"
    path.write_text("GUARD_A=1\n")
    with pytest.raises(DotenvEncodingError, match="unknown encoding"):
        read_env_file(path, encoding="no-such-codec")


def test_bom_is_not_part_of_the_first_key(folder: Path) -> None:
    path = folder / ".env"
    path.write_bytes(b"\xef\xbb\xbfGUARD_A=1\n")
    assert list(read_env_file(path)) == ["GUARD_A"]


def test_nul_in_value_is_rejected_before_anything_is_applied(
    folder: Path, restore_environ: None
) -> None:
    path = folder / ".env"
    path.write_text('GUARD_A=fine\nGUARD_B="bad\\x00"\n'.replace("\\x00", "\x00"))
    env_before = dict(os.environ)
    with pytest.raises(DotenvParseError):
        load_env_file(path)
    assert dict(os.environ) == env_before


def test_disabled_by_python_dotenv_switch(
    folder: Path, restore_environ: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = folder / ".env"
    path.write_text("GUARD_A=1\n")
    monkeypatch.setenv("PYTHON_DOTENV_DISABLED", "1")
    report = load_env_file(path)
    assert report.disabled and report.loaded == ()
    assert "GUARD_A" not in os.environ
    assert "PYTHON_DOTENV_DISABLED" in str(report)


def test_compare_with_example(folder: Path) -> None:
    (folder / ".env").write_text(f"GUARD_A={VALUE}\nGUARD_LOCAL=1\n")
    (folder / ".env.example").write_text("GUARD_A=\nGUARD_B=replace-me\n")
    result = compare_with_example(folder / ".env", folder / ".env.example")
    assert result.missing == ("GUARD_B",)
    assert result.extra == ("GUARD_LOCAL",)
    assert not result.ok
    assert VALUE not in str(result)


# -- git ---------------------------------------------------------------------------------------
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


@needs_git
def test_git_status_outside_a_repository(folder: Path) -> None:
    (folder / ".env").write_text("GUARD_A=1\n")
    status = git_status(folder / ".env")
    assert not status.in_repository and status.safe


@needs_git
def test_git_status_not_ignored(folder: Path) -> None:
    _git(folder, "init", "-q")
    (folder / ".env").write_text("GUARD_A=1\n")
    status = git_status(folder / ".env")
    assert status.in_repository and not status.ignored and not status.safe
    assert ".gitignore" in str(status)


@needs_git
def test_git_status_ignored(folder: Path) -> None:
    _git(folder, "init", "-q")
    (folder / ".gitignore").write_text(".env\n")
    status = git_status(folder / ".env")  # works before the file even exists
    assert status.ignored and not status.tracked and status.safe


@needs_git
def test_git_status_tracked_despite_gitignore(folder: Path) -> None:
    _git(folder, "init", "-q")
    (folder / ".env").write_text("GUARD_A=1\n")
    _git(folder, "add", ".env")
    _git(folder, "commit", "-q", "-m", "oops")
    (folder / ".gitignore").write_text(".env\n")
    status = git_status(folder / ".env")
    assert status.tracked and status.ignored and not status.safe
    assert "TRACKS" in str(status)


@needs_git
def test_git_status_in_a_subfolder(folder: Path) -> None:
    _git(folder, "init", "-q")
    (folder / ".gitignore").write_text(".env\n")
    sub = folder / "service"
    sub.mkdir()
    assert git_status(sub / ".env").safe


TOKEN_ALONE = "ghp_demoNotARealToken0123456789abcdefABCD"  # a token pasted without NAME=


def test_a_line_without_equals_is_named_by_number_never_text(
    folder: Path, restore_environ: None
) -> None:
    """Issue 16: a .env line that holds a token alone is reported by line number only."""
    path = folder / ".env"
    path.write_text(f"GUARD_A={VALUE}\n\n{TOKEN_ALONE}\nexport {TOKEN_ALONE}x\nGUARD_B=ok-value\n")
    report = load_env_file(path)
    assert report.loaded == ("GUARD_A", "GUARD_B")
    assert report.bare_lines == (3, 4)
    for shown in (str(report), repr(report)):
        assert TOKEN_ALONE not in shown and VALUE not in shown
        assert "ghp_" not in shown
    assert "line 3, line 4" in str(report)
    assert TOKEN_ALONE not in os.environ


def test_compare_with_example_names_bare_lines_by_number(folder: Path) -> None:
    (folder / ".env").write_text(f"GUARD_A={VALUE}\n{TOKEN_ALONE}\n")
    (folder / ".env.example").write_text("GUARD_A=\nGUARD_B=\nghp_demoExampleTokenAlone99\n")
    result = compare_with_example(folder / ".env", folder / ".env.example")
    assert result.missing == ("GUARD_B",)
    assert result.extra == ()
    assert result.bare_lines == (2,) and result.example_bare_lines == (3,)
    for shown in (str(result), repr(result)):
        assert "ghp_" not in shown and VALUE not in shown
    assert ".env lines without '=' (ignored): line 2" in str(result)


def test_check_env_cli_never_prints_a_token_alone(folder: Path) -> None:
    import subprocess
    import sys

    (folder / ".env").write_text(f"GUARD_A={VALUE}\n{TOKEN_ALONE}\n")
    (folder / ".env.example").write_text("GUARD_A=\n")
    out = subprocess.run([sys.executable, "-m", "guardlib", "check-env", "--env",
                          str(folder / ".env"), "--example", str(folder / ".env.example")],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "ghp_" not in out.stdout + out.stderr and VALUE not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr
