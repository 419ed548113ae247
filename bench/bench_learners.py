"""A room of simulated learners: N Jupyter kernels running chapters 05-09 at once, each against
its own offline cloud, for sizing a JupyterHub (docs/facilitator-guide.md turns the output into
its sizing table; jupyterhub/config.yaml takes its memory guarantee and limit from it).

    python bench/bench_learners.py                      # N = 10
    python bench/bench_learners.py --learners 1 5 10    # a sweep: how memory and time grow with N
    python bench/bench_learners.py --learners 2 --chapters 05 09 --timeout 300 --json out.json

Each learner is one worker process (the "browser": nbclient, as JupyterLab's Run All) that
executes the chapters one after the other, each in a fresh kernel (jupyter_client, the venv's
``python3`` kernel) shut down at the end of the chapter, in its own copy of the chapters (as
``my-work/``). Every kernel starts its own emulators in its ``emulator-setup`` cell, exactly as
a learner's does: a gateway, Azure, AWS (moto), GCP, and a real OpenBao child process.

Measured, by sampling every ``--interval`` seconds with psutil (or /proc):

- **memory per learner**: the peak RSS of the learner's kernel tree (the kernel, its OpenBao
  server, the temp-folder reaper), and its PSS (shared pages divided among the processes that
  share them: closer to what a container's cgroup is charged). The worker (the stand-in for the
  browser) is not counted; a hub's per-user Jupyter server is measured once, idle, beside it;
- **time per chapter**: wall time from kernel start to the last cell, median and max over the
  learners, at each N, and the ratio to N = 1;
- **network**: every TCP/UDP socket of every process in the trees, sampled; any remote address
  off loopback is reported (there should be none).

Bounded: ``--timeout`` seconds in all (then every process it started is killed), a per-cell
timeout, and all processes it started are ended on exit. Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
CLEAN = (  # a learner's kernel starts without the machine's presets; the setup cell sets its own
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
)


# -- the worker: one learner ---------------------------------------------------------------
def worker(chapters: list[Path], workdir: Path, cell_timeout: int, keep: bool = False) -> int:
    """Run each chapter in a fresh kernel; one JSON line per chapter in ../chapters.jsonl.
    ``keep``: leave each chapter's kernel running until the end, as a learner who never
    closes a notebook does (JupyterLab keeps a kernel per open notebook)."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    kept: list[KernelManager] = []
    for source in chapters:
        target = workdir / source.name
        shutil.copyfile(source, target)
        nb = nbformat.read(target, as_version=4)
        marks: dict[str, float] = {}
        km = KernelManager(kernel_name="python3") if keep else None
        if km is not None:  # nbclient shuts down only the kernels whose manager it created
            kept.append(km)
        client = NotebookClient(
            nb,
            timeout=cell_timeout,
            startup_timeout=120,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(workdir)}},
            on_notebook_start=lambda marks=marks, **_: marks.setdefault("kernel_up", time.time()),
            km=km,
        )
        began = time.time()
        problem = None
        try:
            client.execute()
        except Exception as exc:  # a timeout or a dead kernel: report it, go on
            problem = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        ended = time.time()
        errors = sum(
            1
            for cell in nb.cells
            if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        )
        record = {
            "chapter": source.name[:2],
            "began": began,
            "kernel_up": marks.get("kernel_up", began),
            "ended": ended,
            "error_cells": errors,
            "problem": problem,
        }
        with open(workdir.parent / "chapters.jsonl", "a") as results:
            results.write(json.dumps(record) + "\n")
    if kept:
        time.sleep(2)  # one more sample with every kernel alive
    for km in kept:
        km.shutdown_kernel(now=False)
    return 0


# -- sampling --------------------------------------------------------------------------------
def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "localhost") or ip.startswith("::ffff:127.")


@dataclass
class Sample:
    t: float
    rss: int
    pss: int
    processes: int


@dataclass
class Learner:
    index: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    samples: list[Sample] = field(default_factory=list)
    chapters: list[dict[str, Any]] = field(default_factory=list)
    remote: set[str] = field(default_factory=set)
    pids: set[int] = field(default_factory=set)
    exit: int | None = None  # the worker's exit status; None: stopped by --timeout
    expected: int = 0


def tree(pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def measure(processes: list[Any], check_net: bool, remote: set[str]) -> tuple[int, int]:
    import psutil

    rss = pss = 0
    for p in processes:
        try:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            if check_net:
                for conn in p.net_connections(kind="inet"):
                    if conn.raddr and not _is_loopback(conn.raddr.ip):
                        remote.add(f"{p.name()} -> {conn.raddr.ip}:{conn.raddr.port}")
                    if conn.laddr and conn.status == psutil.CONN_LISTEN:
                        if not _is_loopback(conn.laddr.ip):
                            remote.add(f"{p.name()} listens on {conn.laddr.ip}:{conn.laddr.port}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return rss, pss


def kill_all(pids: set[int], timeout: float = 5) -> None:
    """End every process this benchmark started (by pid), children first."""
    import psutil

    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            continue
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(procs, timeout=timeout)


# -- one room of N learners ----------------------------------------------------------------
def run_room(
    n: int,
    chapters: list[Path],
    deadline: float,
    cell_timeout: int,
    interval: float,
    keep: bool = False,
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    base = Path(tempfile.mkdtemp(prefix="bench-learners-"))
    learners: list[Learner] = []
    load_before = _loadavg()
    began = time.time()
    try:
        for i in range(n):
            workdir = base / f"learner-{i:02d}" / "my-work"
            workdir.mkdir(parents=True)
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                str(workdir),
                "--cell-timeout",
                str(cell_timeout),
                "--chapters",
                *[c.name[:2] for c in chapters],
                *(["--keep-kernels"] if keep else []),
            ]
            log = open(workdir.parent / "worker.log", "w")  # noqa: SIM115 - closed at exit
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
            log.close()  # the child holds its own copy
            learners.append(Learner(i, proc, workdir))
        tick = 0
        while any(lr.proc.poll() is None for lr in learners):
            if time.time() > deadline:
                print(f"[bench] --timeout reached with N={n}: killing the learners", flush=True)
                break
            tick += 1
            for lr in learners:
                if lr.proc.poll() is not None:
                    continue
                procs = tree(lr.proc.pid)
                lr.pids.update(p.pid for p in procs)
                rss, pss = measure(procs, check_net=tick % 4 == 0, remote=lr.remote)
                lr.samples.append(Sample(time.time(), rss, pss, len(procs)))
            time.sleep(interval)
    finally:
        leftover: set[int] = set()
        for lr in learners:
            lr.exit = lr.proc.poll()  # before the kill: None means still running
            lr.expected = len(chapters)
            leftover |= {p.pid for p in tree(lr.proc.pid)} | {lr.proc.pid}
        kill_all(leftover)
        for lr in learners:
            lr.proc.wait(timeout=30)
            results = lr.workdir.parent / "chapters.jsonl"
            if results.exists():
                lr.chapters = [json.loads(line) for line in results.read_text().splitlines()]
            if lr.exit not in (0, None):
                tail = (lr.workdir.parent / "worker.log").read_text(errors="replace")[-600:]
                print(f"[bench] learner {lr.index} exited {lr.exit}:\n{tail}", flush=True)
        # the kernels' OpenBao servers run in their own sessions: end any that outlived a kill
        kill_all({pid for lr in learners for pid in lr.pids})
        shutil.rmtree(base, ignore_errors=True)
    return summarise(n, learners, began, load_before)


def summarise(n: int, learners: list[Learner], began: float, load: tuple[float, ...]) -> dict:
    per_learner = []
    times: dict[str, list[float]] = {}
    startups: list[float] = []
    problems: list[str] = []
    for lr in learners:
        if lr.exit is None:
            problems.append(
                f"learner {lr.index}: stopped by --timeout after {len(lr.chapters)} of "
                f"{lr.expected} chapters"
            )
        elif lr.exit != 0 or len(lr.chapters) < lr.expected:
            problems.append(f"learner {lr.index}: worker exited {lr.exit}")
        peak_rss = max((s.rss for s in lr.samples), default=0)
        peak_pss = max((s.pss for s in lr.samples), default=0)
        chapter_peaks = {}
        for ch in lr.chapters:
            window = [s for s in lr.samples if ch["began"] <= s.t <= ch["ended"]]
            chapter_peaks[ch["chapter"]] = max((s.rss for s in window), default=0) / MB
            times.setdefault(ch["chapter"], []).append(ch["ended"] - ch["began"])
            startups.append(ch["kernel_up"] - ch["began"])
            if ch["problem"] or ch["error_cells"]:
                problems.append(
                    f"learner {lr.index} ch {ch['chapter']}: "
                    f"{ch['error_cells']} error cell(s) {ch['problem'] or ''}".rstrip()
                )
        per_learner.append(
            {
                "peak_rss_mb": peak_rss / MB,
                "peak_pss_mb": peak_pss / MB,
                "chapter_peak_rss_mb": chapter_peaks,
                "chapters_done": len(lr.chapters),
                "remote": sorted(lr.remote),
            }
        )
    # the room's peak: the largest simultaneous sum over learners (samples share ticks)
    ticks: dict[int, list[int]] = {}
    for lr in learners:
        for k, s in enumerate(lr.samples):
            ticks.setdefault(k, []).append(s.rss)
    room_peak = max((sum(v) for v in ticks.values()), default=0) / MB
    return {
        "learners": n,
        "wall_s": time.time() - began,
        "load_before": load,
        "load_after": _loadavg(),
        "per_learner": per_learner,
        "chapter_s": times,
        "kernel_start_s": startups,
        "room_peak_rss_mb": room_peak,
        "problems": problems,
    }


def idle_server_rss(deadline: float) -> float | None:
    """RSS of an idle Jupyter server (JupyterLab) on loopback: the per-user process of a hub."""
    import socket
    import urllib.request

    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="bench-server-"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=bench",
            f"--ServerApp.root_dir={base}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(base / "runtime")},
    )
    try:
        up = time.time() + 60
        while time.time() < min(up, deadline):
            try:
                url = f"http://127.0.0.1:{port}/lab?token=bench"
                urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.5)
        else:
            return None
        time.sleep(3)
        p = psutil.Process(proc.pid)
        return float(sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / MB)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


# -- report --------------------------------------------------------------------------------
def report(rooms: list[dict[str, Any]], server_mb: float | None, chapters: list[str]) -> None:
    print()
    print(
        f"machine: {os.cpu_count()} CPUs, {_total_memory_gb():.0f} GB RAM; "
        f"Python {sys.version.split()[0]}"
    )
    if server_mb is not None:
        print(
            f"idle Jupyter server (JupyterLab, the hub's per-user process): {server_mb:.0f} MB RSS"
        )
    print()
    print(
        "Memory per learner (peak over the chapters of the kernel tree: kernel + OpenBao + reaper)"
    )
    print(
        f"{'N':>3} {'RSS med':>8} {'RSS max':>8} {'PSS med':>8} {'PSS max':>8} {'room peak':>10} "
        f"{'x N=' + str(rooms[0]['learners']):>6} {'load before/after':>18}"
    )
    base = rooms[0]
    base_rss = statistics.median(p["peak_rss_mb"] for p in base["per_learner"])
    for room in rooms:
        rss = [p["peak_rss_mb"] for p in room["per_learner"]]
        pss = [p["peak_pss_mb"] for p in room["per_learner"]]
        ratio = statistics.median(rss) / base_rss if base_rss else 0
        load = f"{room['load_before'][0]:.1f} / {room['load_after'][0]:.1f}"
        print(
            f"{room['learners']:>3} {statistics.median(rss):>8.0f} {max(rss):>8.0f} "
            f"{statistics.median(pss):>8.0f} {max(pss):>8.0f} {room['room_peak_rss_mb']:>10.0f} "
            f"{ratio:>6.2f} {load:>18}"
        )
    print()
    print("Peak RSS per chapter (MB, median over learners)")
    print(f"{'N':>3} " + " ".join(f"{'ch' + c:>7}" for c in chapters))
    for room in rooms:
        cells = []
        for c in chapters:
            vals = [p["chapter_peak_rss_mb"].get(c) for p in room["per_learner"]]
            vals = [v for v in vals if v]
            cells.append(f"{statistics.median(vals):>7.0f}" if vals else f"{'-':>7}")
        print(f"{room['learners']:>3} " + " ".join(cells))
    print()
    print("Wall time per chapter (s, kernel start to last cell; median / max over learners)")
    print(
        f"{'N':>3} "
        + " ".join(f"{'ch' + c:>11}" for c in chapters)
        + f" {'all':>7} {'x N=' + str(rooms[0]['learners']):>6}"
    )
    base_total = None
    for room in rooms:
        cells = []
        total = 0.0
        for c in chapters:
            vals = room["chapter_s"].get(c, [])
            if vals:
                med = statistics.median(vals)
                total += med
                cells.append(f"{med:>5.1f}/{max(vals):>5.1f}")
            else:
                cells.append(f"{'-':>11}")
        base_total = base_total or total
        ratio = total / base_total if base_total else 0
        print(f"{room['learners']:>3} " + " ".join(cells) + f" {total:>7.1f} {ratio:>6.2f}")
    print()
    for room in rooms:
        k = room["kernel_start_s"]
        if k:
            print(
                f"N={room['learners']}: kernel start median {statistics.median(k):.1f} s, "
                f"max {max(k):.1f} s; whole room {room['wall_s']:.0f} s"
            )
    remote = sorted({r for room in rooms for p in room["per_learner"] for r in p["remote"]})
    print(
        "network: " + ("only loopback seen" if not remote else "OFF LOOPBACK: " + "; ".join(remote))
    )
    problems = [p for room in rooms for p in room["problems"]]
    print("problems: " + ("none" if not problems else "\n  " + "\n  ".join(problems)))


def _loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15-minute load averages (zeros where the OS has none, e.g. Windows)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


def _total_memory_gb() -> float:
    try:
        import psutil

        return float(psutil.virtual_memory().total / 1024**3)
    except ImportError:  # pragma: no cover
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[10], help="N, or a sweep")
    parser.add_argument("--chapters", nargs="+", default=["05", "06", "07", "08", "09"])
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for everything")
    parser.add_argument("--cell-timeout", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.5, help="sampling period, s")
    parser.add_argument(
        "--keep-kernels",
        action="store_true",
        help="leave each chapter's kernel running until the learner's last chapter",
    )
    parser.add_argument("--no-server", action="store_true", help="skip the idle-server baseline")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    paths = []
    for number in args.chapters:
        found = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        if not found:
            parser.error(f"no chapter {number}")
        paths.append(found[0])
    if args.worker:
        return worker(paths, args.worker, args.cell_timeout, args.keep_kernels)
    try:
        import psutil  # noqa: F401
    except ImportError:
        parser.error("psutil is needed (it ships with jupyter's dependencies in .venv)")

    deadline = time.time() + args.timeout
    print(
        f"[bench] {os.cpu_count()} CPUs, load average {_loadavg()[0]:.2f} at start "
        f"(other work on this machine counts too)",
        flush=True,
    )
    server_mb = None if args.no_server else idle_server_rss(deadline)
    rooms = []
    for n in args.learners:
        if time.time() > deadline:
            break
        print(f"[bench] N={n}: {n} learner(s) x chapters {' '.join(args.chapters)} ...", flush=True)
        rooms.append(
            run_room(n, paths, deadline, args.cell_timeout, args.interval, args.keep_kernels)
        )
        print(f"[bench] N={n} done in {rooms[-1]['wall_s']:.0f} s", flush=True)
    if not rooms:
        return 1
    if args.keep_kernels:
        print("\n[bench] --keep-kernels: every chapter's kernel stays up until the learner's last")
    report(rooms, server_mb, args.chapters)
    if args.json:
        args.json.write_text(json.dumps({"server_mb": server_mb, "rooms": rooms}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
