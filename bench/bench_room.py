"""A room on one machine: N learners against a real JupyterHub (jupyterhub/jupyterhub_config.py),
through its login form and REST API, each running the cloud chapters on their own server.

    python bench/bench_room.py                           # N = 1, 5, 10, 20; chapters 05-09
    python bench/bench_room.py --learners 2 --chapters 05 --json out.json
    python bench/bench_room.py --learners 1 5 --timeout 900

The hub is started here on a free loopback port with a shared password and an automation token
(GUARDLIB_HUB_PASSWORD, GUARDLIB_HUB_API_TOKEN), its data folder in a temporary directory. For
each N, at the same moment, every learner:

1. **logs in** through ``/hub/login``'s real form (GET for the ``_xsrf`` cookie and field, POST
   name and password): a learner's browser does no more;
2. **gets a server**: ``POST /hub/api/users/<name>/server`` with the token, then polls until
   the hub says it is ready (the time a learner waits at "Your server is starting");
3. **runs each chapter** (05-09 by default) from *their* ``my-work/``, as Run All does: a
   session through the server's REST API (``/user/<name>/api/sessions``: a kernel started in
   ``my-work/``), the chapter read through the contents API, every code cell sent as an
   ``execute_request`` over the kernel's websocket (``/api/kernels/<id>/channels``), outputs
   and errors read from iopub; the session is deleted afterwards (the chapter's tab closed).

Measured:

- **hub start**: from launching ``jupyterhub`` to ``/hub/health`` answering;
- **login** and **ready** times per learner (median and max);
- **memory**: every learner's process tree (the single-user server, its kernels, OpenBao and
  the emulators' helpers) sampled twice a second with psutil: the server's RSS idle, and each
  learner's peak RSS and PSS while running; the room's peak RSS in total;
- **chapter time**: from the session request to the last cell's reply, median over learners,
  and the ratio of all chapters together to N = 1;
- **learners per core**: N over the machine's CPUs, beside the slowdown it caused;
- **errors**: cells that raised without the ``raises-exception`` tag (there should be none).

Bounded by ``--timeout`` seconds per N; the hub is stopped at the end (it stops every server and
kernel), and any process it started that is still alive is killed. Loopback only.
Not a test: pytest does not collect it (tests/test_jupyterhub_room.py runs N = 2, chapter 05).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the sibling benchmark, also when a test loads this file by its path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_learners import kill_all  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "jupyterhub" / "jupyterhub_config.py"
BIN = Path(sys.executable).parent
MB = 1024 * 1024
CHAPTERS = ["05", "06", "07", "08", "09"]
CLEAN = (  # the hub starts as on a laptop: no CA presets (the setup cells set their own)
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "AWS_CA_BUNDLE",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "HTTPLIB2_CA_CERTS",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_SERVICE_URL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the hub ---------------------------------------------------------------------------------------
@dataclass
class Hub:
    url: str
    password: str
    token: str
    data: Path
    proc: subprocess.Popen[bytes]
    log: Path
    started_s: float
    seen: set[int] = field(default_factory=set)  # every pid ever seen under the hub

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method,
            f"{self.url}{path}",
            headers=headers,
            timeout=kwargs.pop("timeout", 60),
            **kwargs,
        )

    def remember_tree(self) -> None:
        import psutil

        try:
            hub = psutil.Process(self.proc.pid)
            self.seen.update(p.pid for p in [hub, *hub.children(recursive=True)])
        except psutil.Error:
            pass


@contextmanager
def running_hub(data: Path, password: str | None = None, token: str | None = None,
                extra_env: dict[str, str] | None = None, ready_s: float = 120,
                args: tuple[str, ...] = ()):  # fmt: skip
    """``jupyterhub -f jupyterhub/jupyterhub_config.py`` on a free loopback port, until the
    block ends; then the hub is stopped (SIGTERM: it stops every server) and every process it
    started that is still alive is killed."""
    import requests

    password = password or f"demo-room-{secrets.token_hex(6)}"
    token = token or secrets.token_hex(32)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env |= {
        "GUARDLIB_HUB_PASSWORD": password,
        "GUARDLIB_HUB_API_TOKEN": token,
        "GUARDLIB_HUB_DATA": str(data),
        "PATH": os.pathsep.join([str(BIN), env.get("PATH", os.defpath)]),
        **(extra_env or {}),
    }
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}-hub.log"
    began = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "jupyterhub"),
                "-f",
                str(CONFIG),
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                *args,
            ],  # fmt: skip
            cwd=data,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{port}", password, token, data, proc, log, 0.0)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {proc.returncode}:\n{_tail(log)}")
            try:
                if requests.get(f"{hub.url}/hub/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not answer within {ready_s} s:\n{_tail(log)}")
            time.sleep(0.2)
        hub.started_s = time.perf_counter() - began
        hub.remember_tree()
        yield hub
    finally:
        hub.remember_tree()
        stop_hub(hub)


def stop_hub(hub: Hub, grace: float = 60) -> None:
    if hub.proc.poll() is None:
        hub.proc.send_signal(signal.SIGTERM)  # the hub stops the servers, services and proxy
        try:
            hub.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill_all(hub.seen | _processes_in(hub.data), timeout=10)
    if hub.proc.poll() is None:
        hub.proc.kill()
        hub.proc.wait()


def _processes_in(folder: Path) -> set[int]:
    """Processes whose working directory is in ``folder`` (a learner's server and kernels)."""
    import psutil

    found = set()
    for process in psutil.process_iter(["pid"]):
        try:
            cwd = process.cwd()
        except psutil.Error:
            continue
        if cwd == str(folder) or cwd.startswith(f"{folder}{os.sep}"):
            found.add(process.pid)
    return found - {os.getpid()}


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- a learner's browser: the login form -----------------------------------------------------------
_XSRF_FIELD = re.compile(r'name="_xsrf"\s+value="([^"]+)"')


def login(hub_url: str, name: str, password: str) -> tuple[Any, int]:
    """Log in through /hub/login's form; returns the session and the POST's status (302 on
    success, the hub's redirect onward; 403 for a wrong password)."""
    import requests

    session = requests.Session()
    page = session.get(f"{hub_url}/hub/login", timeout=60)
    page.raise_for_status()
    found = _XSRF_FIELD.search(page.text)
    if not found or "_xsrf" not in session.cookies:
        raise RuntimeError("the login form has no _xsrf field or cookie")
    answer = session.post(
        f"{hub_url}/hub/login",
        data={"username": name, "password": password, "_xsrf": found.group(1)},
        allow_redirects=False,
        timeout=60,
    )
    return session, answer.status_code


def start_server(hub: Hub, name: str, timeout: float) -> float:
    """Ask the hub for the learner's server with the token; seconds until the hub says ready."""
    began = time.perf_counter()
    answer = hub.api("POST", f"/hub/api/users/{name}/server")
    if answer.status_code not in (201, 202):
        raise RuntimeError(f"starting {name}'s server: {answer.status_code} {answer.text[:200]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server = hub.api("GET", f"/hub/api/users/{name}").json()["servers"].get("")
        if server and server.get("ready"):
            return time.perf_counter() - began
        if server is None and time.perf_counter() - began > 5:
            raise RuntimeError(f"{name}'s server stopped while starting")
        time.sleep(0.25)
    raise TimeoutError(f"{name}'s server was not ready within {timeout} s")


def server_pid(hub: Hub, name: str) -> int:
    state = hub.api("GET", f"/hub/api/users/{name}").json()["servers"][""].get("state") or {}
    return int(state["pid"])


# -- Run All, through the server's REST API and the kernel's websocket -----------------------------
def run_chapter(hub: Hub, name: str, path: str, cell_timeout: float) -> tuple[float, list[str]]:
    """Every code cell of the learner's ``path`` in a fresh kernel, in order; the cells that
    raised without the ``raises-exception`` tag. Returns (seconds, unexpected errors)."""
    import websocket

    base = f"/user/{name}/api"
    began = time.perf_counter()
    answer = hub.api(
        "POST",
        f"{base}/sessions",
        json={"path": path, "type": "notebook", "name": Path(path).name,
              "kernel": {"name": "python3"}},
    )  # fmt: skip
    answer.raise_for_status()
    session = answer.json()
    kernel = session["kernel"]["id"]
    errors: list[str] = []
    try:
        notebook = hub.api("GET", f"{base}/contents/{path}?content=1").json()["content"]
        ws_url = hub.url.replace("http://", "ws://") + f"{base}/kernels/{kernel}/channels"
        ws = websocket.create_connection(
            f"{ws_url}?session_id={uuid.uuid4().hex}",
            header=[f"Authorization: token {hub.token}"],
            timeout=cell_timeout,
        )
        try:
            for index, cell in enumerate(notebook["cells"], start=1):
                source = "".join(cell["source"])
                if cell["cell_type"] != "code" or not source.strip():
                    continue
                raised = _execute(ws, source, cell_timeout)
                tags = cell.get("metadata", {}).get("tags", [])
                if raised and "raises-exception" not in tags:
                    errors.append(f"{path} cell {index}: {raised}")
        finally:
            ws.close()
        seconds = time.perf_counter() - began
    finally:
        hub.api("DELETE", f"{base}/sessions/{session['id']}")
    return seconds, errors


def _execute(ws: Any, code: str, timeout: float) -> str | None:
    """One execute_request (Jupyter messaging protocol 5.3, JSON over the websocket); waits for
    the reply on shell and for the kernel to go idle on iopub. Returns the error's name, if any."""
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "bench",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                "parent_header": {},
                "metadata": {},
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": False,
                },
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    replied = idle = False
    error = None
    deadline = time.monotonic() + timeout
    while not (replied and idle):
        if time.monotonic() > deadline:
            raise TimeoutError("a cell did not finish in time")
        raw = ws.recv()
        if isinstance(raw, bytes):  # a message with binary buffers: not one we wait for
            continue
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "execute_reply":
            replied = True
            if msg["content"].get("status") == "error":
                error = error or msg["content"].get("ename", "error")
        elif kind == "error":
            error = msg["content"].get("ename", "error")
        elif kind == "status" and msg["content"].get("execution_state") == "idle":
            idle = True
    return error


# -- memory ----------------------------------------------------------------------------------------
def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and PSS of a process and its descendants (PSS falls back to RSS where unknown)."""
    import psutil

    rss = pss = 0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.AccessDenied:
            try:
                info = process.memory_info()
            except psutil.Error:
                continue
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss, pss


# -- one room --------------------------------------------------------------------------------------
@dataclass
class Learner:
    name: str
    login_s: float = 0.0
    ready_s: float = 0.0
    pid: int = 0
    idle_rss: int = 0
    peak_rss: int = 0
    peak_pss: int = 0
    chapter_s: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)


def run_room(hub: Hub, n: int, chapters: list[str], timeout: float, prefix: str = "learner",
             cell_timeout: float = 300) -> dict[str, Any]:  # fmt: skip
    """N learners at once: log in, get a server, run the chapters; then stop their servers."""
    paths = {}
    for number in chapters:
        found = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        if not found:
            raise SystemExit(f"no chapter {number}")
        paths[number] = f"my-work/{found[0].name}"
    learners = [Learner(f"{prefix}{n}-{i + 1:02d}") for i in range(n)]
    load_before = os.getloadavg()
    room_peak = 0
    stop_sampling = threading.Event()
    deadline = time.monotonic() + timeout

    def sample() -> None:
        nonlocal room_peak
        while not stop_sampling.is_set():
            total = 0
            for learner in learners:
                if learner.pid:
                    rss, pss = tree_memory(learner.pid)
                    learner.peak_rss = max(learner.peak_rss, rss)
                    learner.peak_pss = max(learner.peak_pss, pss)
                    total += rss
            room_peak = max(room_peak, total)
            hub.remember_tree()
            stop_sampling.wait(0.5)

    def learn(learner: Learner) -> None:
        try:
            began = time.perf_counter()
            _, status = login(hub.url, learner.name, hub.password)
            learner.login_s = time.perf_counter() - began
            if status != 302:
                raise RuntimeError(f"login answered {status}")
            learner.ready_s = start_server(hub, learner.name, max(1.0, deadline - time.monotonic()))
            learner.pid = server_pid(hub, learner.name)
            time.sleep(2)  # the server as the learner first sees it, before any chapter
            learner.idle_rss = tree_memory(learner.pid)[0]
            listing = hub.api("GET", f"/user/{learner.name}/api/contents/my-work").json()
            learner.listed = sorted(item["name"] for item in listing["content"])
            for number, path in paths.items():
                if time.monotonic() > deadline:
                    learner.errors.append(f"out of time before chapter {number}")
                    break
                seconds, errors = run_chapter(hub, learner.name, path, cell_timeout)
                learner.chapter_s[number] = seconds
                learner.errors += errors
        except Exception as error:  # reported per learner; the room goes on
            learner.errors.append(f"{type(error).__name__}: {error}")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.perf_counter()
    workers = [threading.Thread(target=learn, args=(learner,)) for learner in learners]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(1.0, deadline - time.monotonic() + 60))
    wall = time.perf_counter() - began
    stop_sampling.set()
    sampler.join(5)
    for learner in learners:  # the room empties: servers stopped, memory back
        hub.api("DELETE", f"/hub/api/users/{learner.name}/server")
    _wait_stopped(hub, [learner.name for learner in learners], 120)
    return summarise(n, learners, chapters, wall, room_peak, load_before)


def _wait_stopped(hub: Hub, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        while time.monotonic() < deadline:
            servers = hub.api("GET", f"/hub/api/users/{name}").json().get("servers", {})
            if not servers:
                break
            time.sleep(0.5)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(n: int, learners: list[Learner], chapters: list[str], wall: float,
              room_peak: int, load_before: tuple[float, ...]) -> dict[str, Any]:  # fmt: skip
    complete = [lr for lr in learners if len(lr.chapter_s) == len(chapters)]
    return {
        "learners": n,
        "cpus": os.cpu_count(),
        "learners_per_cpu": n / (os.cpu_count() or 1),
        "wall_s": wall,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "login_s": {"median": _median([lr.login_s for lr in learners]),
                    "max": max(lr.login_s for lr in learners)},
        "ready_s": {"median": _median([lr.ready_s for lr in learners if lr.ready_s]),
                    "max": max((lr.ready_s for lr in learners), default=0.0)},
        "idle_server_mb": _median([lr.idle_rss / MB for lr in learners if lr.idle_rss]),
        "peak_rss_mb": {"median": _median([lr.peak_rss / MB for lr in learners if lr.peak_rss]),
                        "max": max(lr.peak_rss for lr in learners) / MB},
        "peak_pss_mb": {"median": _median([lr.peak_pss / MB for lr in learners if lr.peak_pss]),
                        "max": max(lr.peak_pss for lr in learners) / MB},
        "room_peak_rss_gb": room_peak / 1024**3,
        "chapter_s": {c: _median([lr.chapter_s[c] for lr in learners if c in lr.chapter_s])
                      for c in chapters},
        "all_chapters_s": _median([sum(lr.chapter_s.values()) for lr in complete]),
        "complete": len(complete),
        "errors": [e for lr in learners for e in lr.errors],
        "listed": {lr.name: lr.listed for lr in learners},
    }  # fmt: skip


def report(hub_start: float, rooms: list[dict[str, Any]], chapters: list[str]) -> None:
    print(f"hub ready in {hub_start:.1f} s (jupyterhub + pure-Python proxy + idle culler)")
    base = rooms[0]["all_chapters_s"] if rooms else float("nan")
    head = ["N", "per CPU", "login s", "ready s (med/max)", "idle server MB",
            "peak RSS/learner MB (med/max)", "PSS med MB", *chapters, "all", "vs N=1",
            "room peak GB", "done", "errors"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for room in rooms:
        cells = [
            str(room["learners"]),
            f"{room['learners_per_cpu']:.1f}",
            f"{room['login_s']['median']:.1f}",
            f"{room['ready_s']['median']:.1f} / {room['ready_s']['max']:.1f}",
            f"{room['idle_server_mb']:.0f}",
            f"{room['peak_rss_mb']['median']:.0f} / {room['peak_rss_mb']['max']:.0f}",
            f"{room['peak_pss_mb']['median']:.0f}",
            *(f"{room['chapter_s'][c]:.1f}" for c in chapters),
            f"{room['all_chapters_s']:.1f}",
            f"{room['all_chapters_s'] / base:.2f}",
            f"{room['room_peak_rss_gb']:.2f}",
            f"{room['complete']}/{room['learners']}",
            str(len(room["errors"])),
        ]
        print("| " + " | ".join(cells) + " |")
    for room in rooms:
        for error in room["errors"][:10]:
            print(f"N={room['learners']}: {error}")
        load = ", ".join(f"{x:.1f}" for x in room["load_before"][:1] + room["load_after"][:1])
        print(
            f"N={room['learners']}: load average before/after {load}; wall {room['wall_s']:.0f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--chapters", nargs="+", default=CHAPTERS)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per N")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    chapters = [c.zfill(2) for c in args.chapters]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; chapters {' '.join(chapters)}")
    rooms = []
    with tempfile.TemporaryDirectory(prefix="guardlib-room-") as tmp:
        with running_hub(Path(tmp) / "data") as hub:
            for n in args.learners:
                room = run_room(hub, n, chapters, args.timeout)
                rooms.append(room)
                print(f"N={n}: done in {room['wall_s']:.0f} s", flush=True)
            report(hub.started_s, rooms, chapters)
    if args.json:
        args.json.write_text(json.dumps({"hub_start_s": hub.started_s, "rooms": rooms}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
