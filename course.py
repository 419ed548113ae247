#!/usr/bin/env python3
"""Set up and open the Guard Your Secrets course, or run its tests. Standard library only.

    python3.11 course.py          # 1. create .venv, install guardlib[all], open JupyterLab
    python3.11 course.py test     # 2. run the whole test suite
    python3.11 course.py doctor   # is this machine ready? (guardlib doctor)
    python3.11 course.py reset 03 # put chapter 03 in my-work/ back as published

Options for the first form: ``--no-open`` sets up without opening JupyterLab (also implied when
the ``CI`` variable is set). Arguments after ``test`` are passed to pytest.
Works the same on Linux, macOS and Windows (``py -3.11 course.py`` there).

You work in ``my-work/`` (git-ignored): the first launch copies every chapter there, later
launches copy only chapters you do not have yet (after a ``git pull``) and never overwrite your
file. The tests always run the published ``notebooks/``. ``reset NN`` moves your copy of chapter
NN to ``my-work/.backup/`` before restoring it, so nothing you wrote is lost.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".guardlib-installed"
WORKSPACE = "my-work"
FIRST_CHAPTER = "00_welcome.ipynb"


def venv_scripts(root: Path = ROOT) -> Path:
    return root / ".venv" / ("Scripts" if os.name == "nt" else "bin")


def venv_python() -> Path:
    return venv_scripts() / ("python.exe" if os.name == "nt" else "python")


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
    """Copy the chapters that ``my-work/`` lacks; never touch a file already there."""
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


def reset_chapter(number: str, root: Path = ROOT) -> int:
    """Restore chapter ``number`` in ``my-work/``; the learner's copy goes to ``.backup/``."""
    found = [c for c in chapters(root) if c.name.split("_", 1)[0] == number.zfill(2)]
    if len(number) > 2 or not number.isdigit() or not found:
        known = ", ".join(c.name.split("_", 1)[0] for c in chapters(root))
        print(f"[course] no chapter {number!r}; the chapters are {known}", file=sys.stderr)
        return 2
    chapter = found[0]
    target = root / WORKSPACE / chapter.name
    target.parent.mkdir(exist_ok=True)
    if target.exists():
        backup = root / WORKSPACE / ".backup"
        backup.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = backup / f"{chapter.stem}-{stamp}.ipynb"
        n = 1
        while kept.exists():
            n += 1
            kept = backup / f"{chapter.stem}-{stamp}-{n}.ipynb"
        target.replace(kept)
        say(f"your copy is kept as {kept.relative_to(root).as_posix()}")
    shutil.copyfile(chapter, target)
    say(f"{target.relative_to(root).as_posix()} is as published again")
    return 0


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def setup() -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script runs before any install
        sys.exit(f"[course] Python 3.10 or newer is needed; this is {sys.version.split()[0]}.")
    if not venv_python().exists():
        say(f"creating a virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    # reinstall only when the project's requirements change
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        say("dependencies are up to date")
        return
    say("installing guardlib with every extra (this takes a minute the first time)")
    py = venv_python()
    if run(py, "-m", "pip", "install", "--quiet", "--upgrade", "pip") != 0:
        sys.exit("[course] could not upgrade pip in .venv")
    if run(py, "-m", "pip", "install", "--quiet", "-e", ".[all]") != 0:
        sys.exit("[course] installing the course failed: see pip's message above")
    STAMP.write_text(wanted + "\n")
    say("installed")


def lab_arguments(root: Path = ROOT) -> list[str]:
    """JupyterLab rooted at the repository (README, .env.example in reach), opening chapter 00
    of the learner's workspace."""
    args = [f"--ServerApp.root_dir={root}", f"{WORKSPACE}/{FIRST_CHAPTER}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container or VM shell: Jupyter refuses
        args.append("--allow-root")
    return args


def open_lab() -> int:
    copied = prepare_workspace()
    if copied:
        say(f"copied {len(copied)} chapter(s) to {WORKSPACE}/: your work stays there")
    say(f"opening JupyterLab at {WORKSPACE}/{FIRST_CHAPTER} (stop it with Ctrl+C)")
    say(f"in another terminal, `{activate_hint()}` puts `guardlib` on PATH")
    args = lab_arguments()
    if "--allow-root" in args:
        say("running as root (a container?): passing --allow-root to JupyterLab")
    return run(venv_python(), "-m", "jupyterlab", *args, env=venv_environment())


def doctor() -> int:
    if not venv_python().exists():
        sys.exit("[course] no .venv yet: run `python3.11 course.py` first")
    return run(venv_python(), "-m", "guardlib.cli", "doctor", env=venv_environment())


def test(pytest_args: list[str]) -> int:
    if not venv_python().exists():
        sys.exit("[course] no .venv yet: run `python3.11 course.py` first")
    say("running the test suite: pytest (ruff, mypy, unit, emulators, strict nbval)")
    return run(venv_python(), "-m", "pytest", *pytest_args, env=venv_environment())


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        return test(argv[1:])
    if argv == ["doctor"]:
        return doctor()
    if argv[:1] == ["reset"] and len(argv) == 2:
        return reset_chapter(argv[1])
    if argv and argv[0] not in ("--no-open",):
        print(__doc__)
        return 2
    setup()
    if "--no-open" in argv or os.environ.get("CI"):
        say("set up; not opening JupyterLab (--no-open or CI). Next: python3.11 course.py test")
        return 0
    return open_lab()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
