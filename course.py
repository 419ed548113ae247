#!/usr/bin/env python3
"""Set up and open the Guard Your Secrets course, or run its tests. Standard library only.

    python3.11 course.py          # 1. create .venv, install guardlib[all], open JupyterLab
    python3.11 course.py test     # 2. run the whole test suite

Options for the first form: ``--no-open`` sets up without opening JupyterLab (also implied when
the ``CI`` variable is set). Arguments after ``test`` are passed to pytest.
Works the same on Linux, macOS and Windows (``py -3.11 course.py`` there).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".guardlib-installed"
FIRST_NOTEBOOK = "notebooks/00_welcome.ipynb"


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    return VENV / scripts / exe


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


def open_lab() -> int:
    say(f"opening JupyterLab at {FIRST_NOTEBOOK} (stop it with Ctrl+C)")
    args = [FIRST_NOTEBOOK]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container or VM shell: Jupyter refuses
        say("running as root (a container?): passing --allow-root to JupyterLab")
        args.append("--allow-root")
    return run(venv_python(), "-m", "jupyterlab", *args)


def test(pytest_args: list[str]) -> int:
    if not venv_python().exists():
        sys.exit("[course] no .venv yet: run `python3.11 course.py` first")
    say("running the test suite: pytest (ruff, mypy, unit, emulators, strict nbval)")
    return run(venv_python(), "-m", "pytest", *pytest_args)


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        return test(argv[1:])
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
