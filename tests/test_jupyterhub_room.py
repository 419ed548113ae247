"""jupyterhub/jupyterhub_config.py: a real JupyterHub for a room on one machine, started here on a
free loopback port as a facilitator starts it, and used as learners use it: the login form, the
automation token, a learner's server with the course in my-work/, and a room of two running
chapter 05 through their servers' kernels (bench/bench_room.py, N = 2). Every process the hub
started is gone afterwards."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyterhub", reason="the hub extra: pip install -e '.[hub]'")
pytest.importorskip("configurable_http_proxy", reason="the hub extra: pip install -e '.[hub]'")
pytest.importorskip("websocket", reason="the test extra brings websocket-client")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "jupyterhub" / "jupyterhub_config.py"
JUPYTERHUB = Path(sys.executable).parent / "jupyterhub"
DEMO_PASSWORD = "demo-not-a-real-room-password"


def _bench() -> Any:  # bench/ is not a package: load the script as a module
    spec = importlib.util.spec_from_file_location("bench_room", ROOT / "bench" / "bench_room.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    import psutil

    data = tmp_path_factory.mktemp("room") / "data"
    with bench.running_hub(data) as running:
        yield running
    alive = []
    for pid in running.seen:
        try:
            process = psutil.Process(pid)
        except psutil.Error:
            continue
        if process.status() != psutil.STATUS_ZOMBIE:
            alive.append(" ".join(process.cmdline()[:3]))
    assert not alive, f"the hub left processes behind: {alive}"
    assert not bench._processes_in(data)


def _config_error(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GUARDLIB_HUB_")}
    base.setdefault("GUARDLIB_HUB_DATA", str(tmp_path / "data"))
    return subprocess.run(
        [str(JUPYTERHUB), "-f", str(CONFIG), "--ip", "127.0.0.1", "--port", str(bench.free_port())],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "GUARDLIB_HUB_PASSWORD"),
        ({"GUARDLIB_HUB_PASSWORD": "x" * 7}, "8 characters"),
        (
            {
                "GUARDLIB_HUB_PASSWORD": "demo-not-a-real-room-password",
                "GUARDLIB_HUB_API_TOKEN": "abc",
            },
            "GUARDLIB_HUB_API_TOKEN must be 32 characters",
        ),
        (
            {
                "GUARDLIB_HUB_PASSWORD": "demo-not-a-real-room-password",
                "GUARDLIB_HUB_DATA": str(ROOT / "x"),
            },
            "outside the repository",
        ),
    ],
    ids=["no-password", "short-password", "short-token", "data-in-repo"],
)
def test_the_hub_refuses_a_bad_setting_with_a_clear_message(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    result = _config_error(tmp_path, **env)
    assert result.returncode != 0
    assert says in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for secret in ("short", "abc"):  # never echo a value back
        assert f"'{secret}'" not in result.stderr
    assert not (ROOT / "x").exists()


def test_a_learner_logs_in_through_the_form_and_a_wrong_password_is_refused(hub: Any) -> None:
    session, status = bench.login(hub.url, "ada", hub.password)
    assert status == 302
    assert any(c.name.startswith("jupyterhub-") for c in session.cookies if c.name != "_xsrf")
    home = session.get(f"{hub.url}/hub/home", timeout=60, allow_redirects=False)
    assert home.status_code == 200 and "ada" in home.text

    stranger, status = bench.login(hub.url, "bob", "not-the-room-password")
    assert status == 403
    assert not [c for c in stranger.cookies if c.name.startswith("jupyterhub-session")]
    assert stranger.get(f"{hub.url}/hub/home", timeout=60, allow_redirects=False).status_code == 302


@pytest.mark.parametrize("name", ["../escape", "a/b", "x" * 40, ".hidden"])
def test_a_name_that_is_no_folder_name_is_refused(hub: Any, name: str) -> None:
    _, status = bench.login(hub.url, name, hub.password)
    assert status == 403
    assert not (hub.data.parent / "escape").exists()
    assert sorted(p.name for p in (hub.data / "learners").iterdir()) <= ["ada", "grace"]


def test_the_login_form_needs_its_xsrf_token(hub: Any) -> None:
    import requests

    answer = requests.post(
        f"{hub.url}/hub/login",
        data={"username": "mallory", "password": hub.password},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 403


def test_the_api_token_starts_a_learners_server_with_the_course_in_my_work(hub: Any) -> None:
    assert (
        hub.api("GET", "/hub/api/users", headers={"Authorization": "token wrong"}).status_code
        == 403
    )
    assert hub.api("POST", "/hub/api/users/grace").status_code == 201
    seconds = bench.start_server(hub, "grace", timeout=180)
    listing = hub.api("GET", "/user/grace/api/contents/my-work")
    assert listing.status_code == 200
    names = {item["name"] for item in listing.json()["content"]}
    assert "00_welcome.ipynb" in names
    assert names == {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    home = hub.data / "learners" / "grace"
    assert (home / "my-work" / "00_welcome.ipynb").is_file()
    assert (home / "course.py").read_bytes() == (ROOT / "course.py").read_bytes()
    assert (home / "notebooks").resolve() == (hub.data / "course" / "notebooks")
    server = hub.api("GET", "/hub/api/users/grace").json()["servers"][""]
    assert server["url"] == "/user/grace/"
    print(f"grace's server was ready in {seconds:.1f} s; the hub started in {hub.started_s:.1f} s")
    assert hub.api("DELETE", "/hub/api/users/grace/server").status_code in (202, 204)


def test_a_room_of_two_runs_chapter_05_through_their_servers_kernels(hub: Any) -> None:
    room = bench.run_room(hub, 2, ["05"], timeout=240, prefix="room")
    assert room["errors"] == []
    assert room["complete"] == 2
    for listed in room["listed"].values():
        assert "00_welcome.ipynb" in listed
    assert room["idle_server_mb"] > 30
    assert room["peak_rss_mb"]["max"] > room["idle_server_mb"]  # the kernel and its clouds ran
    assert room["chapter_s"]["05"] > 0
    users = hub.api("GET", "/hub/api/users").json()
    assert all(not u["servers"] for u in users if u["name"].startswith("room")), "servers stopped"


def test_the_memory_watchdog_stops_the_largest_kernel_not_the_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Past Spawner.mem_limit (here lowered to 400M on the command line), the hub stops the
    learner's largest kernel, as a container's out-of-memory killer would; the server lives on
    and JupyterLab restarts the kernel."""
    import psutil
    import websocket

    data = tmp_path_factory.mktemp("watchdog") / "data"
    with bench.running_hub(data, args=("--Spawner.mem_limit=400M",)) as small:
        assert small.api("POST", "/hub/api/users/lin").status_code == 201
        bench.start_server(small, "lin", timeout=180)
        server = psutil.Process(bench.server_pid(small, "lin"))
        answer = small.api("POST", "/user/lin/api/kernels", json={"name": "python3"})
        assert answer.status_code == 201, answer.text
        kernel = answer.json()["id"]
        ws = websocket.create_connection(
            small.url.replace("http://", "ws://") + f"/user/lin/api/kernels/{kernel}/channels",
            header=[f"Authorization: token {small.token}"],
            timeout=120,
        )
        try:
            assert (
                bench._execute(ws, "import os; ballast = bytearray(450 * 1024 * 1024)", 120) is None
            )
            before = {p.pid for p in server.children() if "ipykernel" in " ".join(p.cmdline())}
            assert before
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                alive = {p.pid for p in server.children() if p.is_running()}
                if not before & alive:
                    break
                time.sleep(1)
            else:
                pytest.fail("the kernel over the limit was not stopped")
        finally:
            ws.close()
        assert server.is_running(), "the watchdog must spare the server"
        assert small.api("GET", "/hub/api/users/lin").json()["servers"][""]["ready"]
        log = small.log.read_text(errors="replace")
        assert "over the 400 MB limit: stopping their largest kernel" in log
