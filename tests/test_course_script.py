"""course.py as a learner meets it: the workspace, reset, PATH for the CLI, doctor."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _course(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("course_under_test", root / "course.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A copy of course.py beside three chapters, as a fresh clone has them."""
    shutil.copy(ROOT / "course.py", tmp_path / "course.py")
    (tmp_path / "notebooks").mkdir()
    for name in ("00_welcome.ipynb", "01_hardcoded_secrets.ipynb", "03_dotenv_files.ipynb"):
        (tmp_path / "notebooks" / name).write_text(f'{{"published": "{name}"}}')
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "course.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_first_launch_copies_every_chapter_and_later_ones_never_overwrite(sandbox: Path) -> None:
    course = _course(sandbox)
    assert course.prepare_workspace(sandbox) == [
        "00_welcome.ipynb",
        "01_hardcoded_secrets.ipynb",
        "03_dotenv_files.ipynb",
    ]
    mine = sandbox / "my-work" / "01_hardcoded_secrets.ipynb"
    mine.write_text('{"solved": true}')
    (sandbox / "notebooks" / "04_limits.ipynb").write_text("{}")  # arrives with a git pull
    assert course.prepare_workspace(sandbox) == ["04_limits.ipynb"]
    assert mine.read_text() == '{"solved": true}'


def test_reset_restores_a_chapter_and_keeps_the_learners_copy(sandbox: Path) -> None:
    _course(sandbox).prepare_workspace(sandbox)
    mine = sandbox / "my-work" / "03_dotenv_files.ipynb"
    mine.write_text('{"solved": "mine"}')
    result = _run(sandbox, "reset", "3")
    assert result.returncode == 0, result.stderr
    assert mine.read_text() == '{"published": "03_dotenv_files.ipynb"}'
    kept = list((sandbox / "my-work" / ".backup").glob("03_dotenv_files-*.ipynb"))
    assert [k.read_text() for k in kept] == ['{"solved": "mine"}']
    assert "my-work/.backup/03_dotenv_files-" in result.stdout
    again = _run(sandbox, "reset", "03")  # a second reset keeps both backups
    assert again.returncode == 0
    assert len(list((sandbox / "my-work" / ".backup").iterdir())) == 2


@pytest.mark.parametrize("number", ["7", "x1", "100", "-1"])
def test_reset_of_an_unknown_chapter_says_which_exist(sandbox: Path, number: str) -> None:
    result = _run(sandbox, "reset", number)
    assert result.returncode == 2
    assert "the chapters are 00, 01, 03" in result.stderr
    assert not (sandbox / "my-work" / ".backup").exists()


def test_jupyterlab_starts_at_the_repository_root_with_the_venv_first_on_path(
    sandbox: Path,
) -> None:
    course = _course(sandbox)
    args = course.lab_arguments(sandbox)
    assert f"--ServerApp.root_dir={sandbox}" in args
    assert "my-work/00_welcome.ipynb" in args
    env = course.venv_environment(sandbox, {"PATH": os.pathsep.join(["/usr/bin", "/bin"])})
    first = env["PATH"].split(os.pathsep)[0]
    assert Path(first) == sandbox / ".venv" / ("Scripts" if os.name == "nt" else "bin")
    assert env["VIRTUAL_ENV"] == str(sandbox / ".venv")


def test_the_guardlib_command_is_found_on_the_path_jupyterlab_gets() -> None:
    course = _course(ROOT)
    if not course.venv_python().exists():
        pytest.skip("no .venv: the suite runs from `python3.11 course.py test`")
    env = course.venv_environment(ROOT, {"PATH": os.defpath})
    assert shutil.which("guardlib", path=env["PATH"]) is not None


def test_course_doctor_runs_guardlib_doctor() -> None:
    if not _course(ROOT).venv_python().exists():
        pytest.skip("no .venv: the suite runs from `python3.11 course.py test`")
    result = _run(ROOT, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "python" in result.stdout and "emulator" in result.stdout


def test_the_workspace_is_git_ignored() -> None:
    assert "my-work/" in (ROOT / ".gitignore").read_text().splitlines()
