"""The learner's install: the size of the environment that the README's first command builds,
and how long that command takes, on a fresh copy of this repository.

    python bench/bench_install.py                 # one fresh copy, `course.py --no-open`, twice
    python bench/bench_install.py --runs 1        # once (the first fills pip's cache)
    python bench/bench_install.py --compare-all   # also the environment of guardlib[all]

Each run copies the files git tracks or would track (as they are in the work tree, so
uncommitted changes count) into a new temporary folder, runs ``python3.11 course.py --no-open``
there (what a learner's first command does before JupyterLab starts) and measures:

- the wall time of that command (pip's cache is warm from the first run on);
- the size of ``.venv`` on disk (``du``-style: allocated blocks, hard links counted once);
- the lines the command printed (the issue: 336 lines before JupyterLab started);
- the ten largest installed distributions.

Targets: **600 MB** or less, **90 s** or less with a warm cache on this 2-core machine.
Uses the package registry the machine's pip is configured with; nothing else leaves the machine.
Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 600
TARGET_S = 90


def fresh_copy(dest: Path) -> None:
    """The work tree as git sees it: tracked files and new ones that are not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def disk_mb(folder: Path) -> float:
    seen: set[tuple[int, int]] = set()
    total = 0
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(base) / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += getattr(st, "st_blocks", 0) * 512 or st.st_size
    return total / 1e6


def largest(venv: Path, n: int = 10) -> list[tuple[str, float]]:
    site = next(venv.glob("lib/python*/site-packages"), None) or venv / "Lib" / "site-packages"
    sizes = []
    for entry in site.iterdir():
        if entry.is_dir() and not entry.name.endswith((".dist-info", ".egg-info")):
            sizes.append((entry.name, disk_mb(entry)))
    return sorted(sizes, key=lambda item: -item[1])[:n]


def one_run(python: str, extras: str | None, keep: bool) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="guardlib-install-"))
    try:
        fresh_copy(folder)
        # as on a laptop: Python writes the bytecode of what it imports (this machine sets
        # PYTHONDONTWRITEBYTECODE, which would hide that growth)
        unset = ("CI", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        began = time.perf_counter()
        if extras is None:
            result = subprocess.run(
                [python, "course.py", "--no-open"],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        else:  # the comparison: the same venv with another extra, pip's own output
            subprocess.run([python, "-m", "venv", ".venv"], cwd=folder, check=True)
            result = subprocess.run(
                [".venv/bin/python", "-m", "pip", "install", "-e", f".[{extras}]"],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        seconds = time.perf_counter() - began
        if result.returncode != 0:
            sys.exit(f"install failed:\n{result.stdout}\n{result.stderr}")
        lines = (result.stdout + result.stderr).splitlines()
        installed_mb = disk_mb(folder / ".venv")
        # then use it as a learner does: the doctor starts every emulator (imports each SDK and
        # moto's services), and JupyterLab's, the kernel's and the scanner's modules load; Python
        # writes the bytecode of what was imported, which is what the environment grows to
        python_exe = folder / ".venv" / "bin" / "python"
        subprocess.run(
            [str(python_exe), "-m", "guardlib.cli", "doctor", "--start"],
            cwd=folder, env=env, capture_output=True, check=False,
        )  # fmt: skip
        subprocess.run(
            [str(python_exe), "-c", "import jupyterlab.labapp, ipykernel.kernelapp, ipywidgets, "
             "nbformat, detect_secrets.core.scan, dotenv.cli"],
            cwd=folder, env=env, capture_output=True, check=False,
        )  # fmt: skip
        return {
            "seconds": seconds,
            "mb": installed_mb,
            "used_mb": disk_mb(folder / ".venv"),
            "lines": len(lines),
            "output": lines,
            "largest": largest(folder / ".venv"),
            "folder": folder,
        }
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh copies, one after another")
    parser.add_argument("--python", default=shutil.which("python3.11") or sys.executable)
    parser.add_argument("--compare-all", action="store_true", help="also pip install .[all]")
    parser.add_argument("--keep", action="store_true", help="keep the copies (prints where)")
    args = parser.parse_args(argv)

    print(f"python: {args.python}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    runs = []
    for n in range(1, args.runs + 1):
        run = one_run(args.python, None, args.keep)
        runs.append(run)
        cache = "cold or warm" if n == 1 else "warm"
        print(
            f"run {n} ({cache} pip cache): {run['seconds']:.0f} s, .venv {run['mb']:.0f} MB "
            f"installed, {run['used_mb']:.0f} MB once used, {run['lines']} lines printed"
            + (f" (kept in {run['folder']})" if args.keep else "")
        )
    last = runs[-1]
    print("what course.py printed:")
    for line in last["output"]:  # type: ignore[attr-defined]
        print(f"    {line}")
    print("largest packages in the learner's .venv (MB):")
    for name, mb in last["largest"]:  # type: ignore[attr-defined]
        print(f"    {name:<28} {mb:6.1f}")
    if args.compare_all:
        full = one_run(args.python, "all", args.keep)
        print(
            f"guardlib[all] for comparison: {full['seconds']:.0f} s, .venv {full['mb']:.0f} MB; "
            f"the learner's is {float(last['mb']) / float(full['mb']):.2f} of it"  # type: ignore[arg-type]
        )
    warm = runs[-1]
    ok_size = max(float(warm["mb"]), float(warm["used_mb"])) <= TARGET_MB  # type: ignore[arg-type]
    ok_time = float(warm["seconds"]) <= TARGET_S  # type: ignore[arg-type]
    print(
        f"targets: size {warm['mb']:.0f} MB installed, {warm['used_mb']:.0f} MB once used "
        f"<= {TARGET_MB} MB: {'yes' if ok_size else 'NO'}; "
        f"time {warm['seconds']:.0f} s <= {TARGET_S} s (warm cache): {'yes' if ok_time else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
