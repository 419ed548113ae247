#!/usr/bin/env python3
"""Set up and open the Guard Your Secrets course, or run its tests. Standard library only.

    python3.11 course.py              # 1. create .venv, install the course, open JupyterLab
    python3.11 course.py test         # 2. add the test tools (first time), run the test suite
    python3.11 course.py doctor       # is this machine ready? (guardlib doctor)
    python3.11 course.py reset 03     # put chapter 03 in my-work/ back as published

Options for the first form:
  --no-browser   start JupyterLab without opening a browser, and print the URL to open (a
                 headless or remote machine: see the README's "Headless and remote machines")
  --no-open      set up only, do not start JupyterLab (implied when the ``CI`` variable is set)
Arguments after ``test`` are passed to pytest.
Works the same on Linux, macOS and Windows (``py -3.11 course.py`` there).

The first command installs what a learner needs: the four clouds' SDKs and emulators, the
course (JupyterLab) and the scanner. ``test`` adds the test, docs and hub tools the first time
it runs. pip's full output goes to ``.venv/install.log``, JupyterLab's to ``.venv/jupyterlab.log``.

You work in ``my-work/`` (git-ignored): the first launch copies every chapter there, later
launches copy only chapters you do not have yet (after a ``git pull``) and never overwrite your
file. The tests always run the published ``notebooks/``. ``reset NN`` moves your copy of chapter
NN to ``my-work/.backup/`` before restoring it, so nothing you wrote is lost (an untouched copy
needs no backup).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WORKSPACE = "my-work"
FIRST_CHAPTER = "00_welcome.ipynb"
#: what a learner installs (the four clouds, the course, the scanner) ...
LEARNER_EXTRAS = "aws,azure,gcp,vault,course"
#: ... and what `course.py test` adds: test and docs tools (`all`), the one-machine hub (`hub`)
DEVELOPER_EXTRAS = "all,hub"
INSTALL_LOG = "install.log"
LAB_LOG = "jupyterlab.log"
#: JupyterLab's news pop-up and update check off: the course never reaches the internet
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
LAB_OFFLINE_ARGS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


def venv_scripts(root: Path = ROOT) -> Path:
    return root / ".venv" / ("Scripts" if os.name == "nt" else "bin")


def venv_python(root: Path = ROOT) -> Path:
    return venv_scripts(root) / ("python.exe" if os.name == "nt" else "python")


def activate_hint() -> str:
    if os.name == "nt":
        return r".venv\Scripts\activate"
    return "source .venv/bin/activate"


def venv_environment(root: Path = ROOT, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this environment) with the venv's scripts first on PATH, as
    activating the venv does: JupyterLab's terminals and ``!`` commands then find ``guardlib``."""
    env = dict(os.environ if base is None else base)
    scripts = str(venv_scripts(root))
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts]
    env["PATH"] = os.pathsep.join([scripts, *rest])
    env["VIRTUAL_ENV"] = str(root / ".venv")
    env.pop("PYTHONHOME", None)
    return env


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def prepare_workspace(root: Path = ROOT) -> list[str]:
    """Copy the chapters that ``my-work/`` lacks; never touch a file already there (nor write
    through a symlink: "x" mode refuses any existing name, a dangling link included)."""
    workspace = root / WORKSPACE
    workspace.mkdir(exist_ok=True)
    copied = []
    for chapter in chapters(root):
        try:
            with open(workspace / chapter.name, "xb") as out:  # "x": never overwrite
                out.write(chapter.read_bytes())
        except FileExistsError:
            continue
        copied.append(chapter.name)
    return copied


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def reset_chapter(number: str, root: Path = ROOT) -> int:
    """Restore chapter ``number`` in ``my-work/``; the learner's copy goes to ``.backup/``.

    Nothing is written through a symlink: a link in the chapter's place (dangling or not) is
    moved to the backup as it is, and the backup folder must be a real folder in my-work/."""
    found = [c for c in chapters(root) if c.name.split("_", 1)[0] == number.zfill(2)]
    if len(number) > 2 or not number.isdigit() or not found:
        known = ", ".join(c.name.split("_", 1)[0] for c in chapters(root))
        print(f"[course] no chapter {number!r}; the chapters are {known}", file=sys.stderr)
        return 2
    chapter = found[0]
    workspace = root / WORKSPACE
    workspace.mkdir(exist_ok=True)
    target = workspace / chapter.name
    is_link = target.is_symlink()
    if not is_link and target.is_file() and target.read_bytes() == chapter.read_bytes():
        say(f"{target.relative_to(root).as_posix()} is already as published: nothing to do")
        return 0
    if is_link or target.exists():
        backup = workspace / ".backup"
        if backup.is_symlink() or (backup.exists() and not backup.is_dir()):
            print(
                f"[course] {WORKSPACE}/.backup is not a folder in {WORKSPACE}/: move it away first",
                file=sys.stderr,
            )
            return 2
        backup.mkdir(exist_ok=True)
        if not _inside(backup, workspace):
            print(f"[course] {WORKSPACE}/.backup leads out of {WORKSPACE}/", file=sys.stderr)
            return 2
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = backup / f"{chapter.stem}-{stamp}.ipynb"
        n = 1
        while kept.exists() or kept.is_symlink():
            n += 1
            kept = backup / f"{chapter.stem}-{stamp}-{n}.ipynb"
        target.replace(kept)  # renames the link itself, never what it points at
        what = "your link" if is_link else "your copy"
        say(f"{what} is kept as {kept.relative_to(root).as_posix()}")
    with open(target, "xb") as out:  # a fresh file: refuses anything that took the name since
        out.write(chapter.read_bytes())
    say(f"{target.relative_to(root).as_posix()} is as published again")
    return 0


def say(message: str, end: str = "\n") -> None:
    print(f"[course] {message}", end=end, flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


class Phase:
    """One line per phase: ``[course] installing ... done (42 s)``; the output goes to the log."""

    def __init__(self, log: Path, title: str) -> None:
        self.log, self.title = log, title

    def __enter__(self) -> Phase:
        self.began = time.monotonic()
        say(f"{self.title} ...", end="")
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {self.title}\n")
        return self

    def run(self, *args: str | Path) -> None:
        with self.log.open("ab") as out:
            code = subprocess.call(
                [str(a) for a in args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        if code != 0:
            print(" failed", flush=True)
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(lines[-25:]), file=sys.stderr)
            sys.exit(f"[course] {self.title} failed: the whole log is {self.log}")

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            print(f" done ({time.monotonic() - self.began:.0f} s)", flush=True)


def _stamp(extras: str) -> Path:
    name = "learner" if extras == LEARNER_EXTRAS else "developer"
    return VENV / f".guardlib-{name}-installed"


def _wanted(extras: str) -> str:
    """Reinstall only when the project's requirements (or the extras asked for) change."""
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()


def install(extras: str, title: str) -> None:
    """``pip install -e .[extras]`` into .venv, only when pyproject.toml changed since."""
    if sys.version_info < (3, 10):  # noqa: UP036 - this script runs before any install
        sys.exit(f"[course] Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    log = VENV / INSTALL_LOG
    if not venv_python().exists():
        VENV.mkdir(exist_ok=True)
        with Phase(log, f"creating a virtual environment in {VENV.name}/") as phase:
            venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
            phase.run(venv_python(), "-m", "pip", "install", "--upgrade", "--no-compile", "pip")
            if sys.version_info < (3, 12):  # ensurepip adds setuptools; builds fetch their own
                phase.run(venv_python(), "-m", "pip", "uninstall", "--yes", "setuptools")
    stamp, wanted = _stamp(extras), _wanted(extras)
    covered = [(stamp, wanted)]
    if extras == LEARNER_EXTRAS:  # `course.py test` installed a superset
        covered.append((_stamp(DEVELOPER_EXTRAS), _wanted(DEVELOPER_EXTRAS)))
    if any(s.exists() and s.read_text().strip() == w for s, w in covered):
        say(f"{title}: up to date")
        return
    with Phase(log, f"{title} (the first time takes a minute; log: .venv/{INSTALL_LOG})") as phase:
        # --no-compile: Python compiles what a chapter imports when it first imports it, instead
        # of pip compiling every module of every package up front (100 MB, mostly never run)
        phase.run(
            venv_python(),
            "-m",
            "pip",
            "install",
            "--progress-bar",
            "off",
            "--no-compile",
            "-e",
            f".[{extras}]",
        )
    stamp.write_text(wanted + "\n")


def lab_settings(root: Path = ROOT) -> Path:
    """JupyterLab's admin overrides in the venv: no news pop-up, no update check."""
    path = root / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    for plugin, values in LAB_OVERRIDES.items():
        current[plugin] = {**current.get(plugin, {}), **values}
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path


def first_chapter_url_path() -> str:
    return f"/lab/tree/{WORKSPACE}/{FIRST_CHAPTER}"


def lab_arguments(root: Path = ROOT, browser: bool = True) -> list[str]:
    """JupyterLab rooted at the repository (README, .env.example in reach); its URL opens
    chapter 00 of the learner's workspace."""
    args = [
        f"--ServerApp.root_dir={root}",
        f"--LabApp.default_url={first_chapter_url_path()}",
        "--ServerApp.answer_yes=True",  # Ctrl+C stops it: no "Shutdown?" prompt in a hidden log
        *LAB_OFFLINE_ARGS,
    ]
    if not browser:
        args.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container or VM shell: Jupyter refuses
        args.append("--allow-root")
    return args


_URL = re.compile(r"(https?://(?:127\.0\.0\.1|localhost)[^\s]*\?token=\S+)")


def _wait_until_listening(url: str, timeout: float = 30) -> None:
    """JupyterLab logs its URL a moment before it accepts connections: print it only then."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((parts.hostname or "localhost", parts.port or 80), 1).close()
            return
        except OSError:
            time.sleep(0.1)


def open_lab(browser: bool = True) -> int:
    copied = prepare_workspace()
    if copied:
        say(f"copied {len(copied)} chapter(s) to {WORKSPACE}/: your work stays there")
    lab_settings()
    args = lab_arguments(browser=browser)
    log = VENV / LAB_LOG
    say(f"starting JupyterLab (log: .venv/{LAB_LOG}; stop it with Ctrl+C)")
    proc = subprocess.Popen(
        [str(venv_python()), "-m", "jupyterlab", *args],
        cwd=ROOT,
        env=venv_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None

    def relay() -> None:
        shown = False
        with log.open("w", encoding="utf-8") as out:
            for line in proc.stdout:  # type: ignore[union-attr]
                out.write(line)
                out.flush()
                found = _URL.search(line)
                if found and not shown:
                    shown = True
                    _wait_until_listening(found.group(1))
                    say(f"open {found.group(1)}")
                    if not browser:
                        port = urllib.parse.urlsplit(found.group(1)).port
                        say(f"on a remote machine: `ssh -L {port}:localhost:{port} you@host` first")
                    say(f"in another terminal, `{activate_hint()}` puts `guardlib` on PATH")
                elif line.startswith(("[E ", "Traceback")):  # errors; the rest is in the log
                    print(line, end="", file=sys.stderr, flush=True)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to JupyterLab too: let it stop
        try:
            code = proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.terminate()
            code = proc.wait()
        say("JupyterLab stopped; your work is in my-work/")
    reader.join(timeout=2)
    if code not in (0, -2, 130) and code is not None:
        say(f"JupyterLab exited with {code}: see .venv/{LAB_LOG}")
    return 0 if code in (-2, 130) else code


def doctor() -> int:
    if not venv_python().exists():
        sys.exit("[course] no .venv yet: run `python3.11 course.py` first")
    return run(venv_python(), "-m", "guardlib.cli", "doctor", env=venv_environment())


def test(pytest_args: list[str]) -> int:
    # one pip run: the developer extras include the learner's
    install(DEVELOPER_EXTRAS, "installing the course with the test, docs and hub tools")
    lab_settings()
    say("running the test suite: pytest (ruff, mypy, unit, emulators, strict nbval)")
    return run(venv_python(), "-m", "pytest", *pytest_args, env=venv_environment())


OPTIONS = ("--no-open", "--no-browser")


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        return test(argv[1:])
    if argv == ["doctor"]:
        return doctor()
    if argv[:1] == ["reset"] and len(argv) == 2:
        return reset_chapter(argv[1])
    if any(a not in OPTIONS for a in argv):
        print(__doc__)
        return 2
    install(LEARNER_EXTRAS, "installing the course (the four clouds, JupyterLab, the scanner)")
    lab_settings()
    if "--no-open" in argv or os.environ.get("CI"):
        say("set up; not starting JupyterLab (--no-open or CI). Next: python3.11 course.py test")
        return 0
    return open_lab(browser="--no-browser" not in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
