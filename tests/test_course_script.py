"""course.py as a learner meets it: the workspace, reset, PATH for the CLI, doctor."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
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
    mine.write_text('{"solved": "again"}')
    again = _run(sandbox, "reset", "03")  # a second reset keeps both backups
    assert again.returncode == 0
    assert len(list((sandbox / "my-work" / ".backup").iterdir())) == 2


def test_reset_of_an_untouched_copy_writes_no_backup(sandbox: Path) -> None:
    _course(sandbox).prepare_workspace(sandbox)
    result = _run(sandbox, "reset", "03")
    assert result.returncode == 0, result.stderr
    assert "already as published" in result.stdout
    assert not (sandbox / "my-work" / ".backup").exists()


def test_reset_of_a_missing_copy_restores_it_without_a_backup(sandbox: Path) -> None:
    result = _run(sandbox, "reset", "1")
    assert result.returncode == 0, result.stderr
    restored = sandbox / "my-work" / "01_hardcoded_secrets.ipynb"
    assert restored.read_text() == '{"published": "01_hardcoded_secrets.ipynb"}'
    assert not (sandbox / "my-work" / ".backup").exists()


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
def test_reset_never_writes_through_a_symlink(
    sandbox: Path, tmp_path: Path, dangling: bool
) -> None:
    """A link in the chapter's place (dangling or not) is the learner's: it moves to the backup
    as a link, and nothing is written where it points, outside my-work/."""
    outside = tmp_path / "outside" / "victim.txt"
    outside.parent.mkdir()
    if not dangling:
        outside.write_text("not yours")
    workspace = sandbox / "my-work"
    workspace.mkdir()
    link = workspace / "03_dotenv_files.ipynb"
    link.symlink_to(outside)
    result = _run(sandbox, "reset", "03")
    assert result.returncode == 0, result.stderr
    if dangling:
        assert not outside.exists(), "reset wrote through a dangling symlink"
    else:
        assert outside.read_text() == "not yours"
    assert not link.is_symlink() and link.read_text() == '{"published": "03_dotenv_files.ipynb"}'
    (kept,) = (workspace / ".backup").iterdir()
    assert kept.is_symlink() and os.readlink(kept) == str(outside)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_reset_refuses_a_backup_folder_that_leads_out(sandbox: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _course(sandbox).prepare_workspace(sandbox)
    mine = sandbox / "my-work" / "03_dotenv_files.ipynb"
    mine.write_text('{"solved": "mine"}')
    (sandbox / "my-work" / ".backup").symlink_to(elsewhere)
    result = _run(sandbox, "reset", "03")
    assert result.returncode == 2
    assert ".backup" in result.stderr and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert mine.read_text() == '{"solved": "mine"}'


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_first_launch_never_writes_through_a_dangling_symlink(
    sandbox: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "victim.ipynb"
    workspace = sandbox / "my-work"
    workspace.mkdir()
    (workspace / "00_welcome.ipynb").symlink_to(outside)
    copied = _course(sandbox).prepare_workspace(sandbox)
    assert "00_welcome.ipynb" not in copied
    assert not outside.exists()


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
    # the URL JupyterLab prints (and opens) is chapter 00's, not the Launcher's
    assert "--LabApp.default_url=/lab/tree/my-work/00_welcome.ipynb" in args
    assert "--no-browser" not in args and "--no-browser" in course.lab_arguments(sandbox, False)
    assert "--LabApp.news_url=None" in args
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


def test_lab_settings_turn_the_news_pop_up_off_and_keep_other_overrides(sandbox: Path) -> None:
    course = _course(sandbox)
    path = sandbox / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}})
    )
    assert course.lab_settings(sandbox) == path
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyterlab/apputils-extension:notification"]["checkForUpdates"] is False
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}


@pytest.mark.parametrize("argv", [["--no-browser", "--frobnicate"], ["--port=1"], ["open"]])
def test_unknown_options_print_the_usage(sandbox: Path, argv: list[str]) -> None:
    result = _run(sandbox, *argv)
    assert result.returncode == 2
    assert "--no-browser" in result.stdout and "python3.11 course.py test" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(os.name == "nt", reason="stopped with SIGINT to its process group")
def test_no_browser_prints_one_url_that_opens_chapter_00_and_ctrl_c_stops_it(
    sandbox: Path, tmp_path: Path
) -> None:
    """`course.py --no-browser` as on a headless machine: a few [course] lines, the URL of
    chapter 00 with its token, JupyterLab's own log in a file, news off; Ctrl+C stops it."""
    course = _course(ROOT)
    if not course.venv_python().exists():
        pytest.skip("no .venv: the suite runs from `python3.11 course.py test`")
    course.lab_settings(ROOT)  # what course.py does before it starts JupyterLab
    shutil.copy(ROOT / "notebooks" / "00_welcome.ipynb", sandbox / "notebooks" / "00_welcome.ipynb")
    (sandbox / ".venv").mkdir()
    jupyter = {name: tmp_path / name for name in ("config", "data", "runtime")}
    for folder in jupyter.values():
        folder.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_PORT": str(port),
        "JUPYTER_CONFIG_DIR": str(jupyter["config"]),
        "JUPYTER_DATA_DIR": str(jupyter["data"]),
        "JUPYTER_RUNTIME_DIR": str(jupyter["runtime"]),
    }
    env.pop("CI", None)
    # the sandbox's course.py, with this suite's Python as its .venv's
    script = (
        "import sys, importlib.util; from pathlib import Path\n"
        "spec = importlib.util.spec_from_file_location('course', 'course.py')\n"
        "course = importlib.util.module_from_spec(spec); spec.loader.exec_module(course)\n"
        f"course.venv_python = lambda root=None: Path({sys.executable!r})\n"
        "course.install = lambda extras, title: None\n"
        "sys.exit(course.main(['--no-browser']))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=sandbox,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"\[course\] open (\S+)", line)
            if found:
                url = found.group(1)
        assert url, "".join(lines)
        parts = urllib.parse.urlsplit(url)
        assert parts.path == "/lab/tree/my-work/00_welcome.ipynb", url
        assert parts.netloc.endswith(f":{port}")
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"jupyter" in page.read().lower()
        headers = {"Authorization": f"token {token}"}
        request = urllib.request.Request(f"{base}/api/contents/my-work", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            names = {item["name"] for item in json.load(answer)["content"]}
        assert "00_welcome.ipynb" in names
        plugin = "@jupyterlab/apputils-extension:notification"
        request = urllib.request.Request(f"{base}/lab/api/settings/{plugin}", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            schema = json.load(answer)["schema"]["properties"]  # overrides are its defaults
        assert schema["fetchNews"]["default"] == "false"
        assert schema["checkForUpdates"]["default"] is False
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in the terminal: the whole group gets it
        rest, _ = proc.communicate(timeout=60)
        lines.append(rest)
        assert proc.returncode == 0, "".join(lines)
    except Exception:
        log = sandbox / ".venv" / "jupyterlab.log"
        print(log.read_text(errors="replace") if log.exists() else "no JupyterLab log")
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    printed = [line for line in "".join(lines).splitlines() if line.strip()]
    assert all(line.startswith("[course]") for line in printed), printed
    assert len(printed) <= 8, printed
    assert (sandbox / ".venv" / "jupyterlab.log").read_text().count("Jupyter Server") >= 1


def test_the_workspace_is_git_ignored() -> None:
    assert "my-work/" in (ROOT / ".gitignore").read_text().splitlines()
