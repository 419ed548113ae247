"""The offline cloud's lifecycle as a user meets it: the work folder goes on every exit path,
the gateway cuts off slow and idle clients, ``as_identity`` acts as someone else and restores
everything, the env file is never written through a planted path."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from guardlib import emulators
from guardlib.emulators import workdir
from guardlib.emulators.gateway import REFUSED_KEPT, Gateway
from guardlib.emulators.up import write_env_file

ROOT = Path(__file__).resolve().parents[1]

# A child that starts the offline cloud (gateway + CA only: no emulator), prints its work
# folder, then waits to be ended.
CHILD = textwrap.dedent(
    """
    import sys, time
    from guardlib import emulators
    cloud = emulators.start(only=[])
    print(cloud.workdir, flush=True)
    if sys.argv[1] == "exit":
        sys.exit(0)
    time.sleep(60)
    """
)


def _start_child(how: str) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, how], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the child did not start the offline cloud"
    folder = Path(line)
    assert folder.is_dir()
    assert folder.name.startswith(f"{workdir.PREFIX}{proc.pid}-")
    return proc, folder


def _gone_soon(folder: Path, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not folder.exists()


def test_work_folder_is_removed_at_normal_exit() -> None:
    proc, folder = _start_child("exit")
    assert proc.wait(30) == 0
    assert _gone_soon(folder)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL])
def test_work_folder_is_removed_when_the_process_is_ended(signum: int) -> None:
    # SIGKILL is how jupyter_client ends a kernel that does not shut down in time: no handler
    # runs, the reaper removes the folder
    proc, folder = _start_child("wait")
    proc.send_signal(signum)
    proc.wait(30)
    assert _gone_soon(folder), f"{folder} outlived its process after signal {signum}"


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_sigterm_still_ends_the_process_with_its_default_action() -> None:
    proc, _ = _start_child("wait")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM


def test_a_fresh_start_sweeps_folders_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{workdir.PREFIX}{dead.pid}-abc123"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "key.json").write_text("{}")
    alive = tmp_path / f"{workdir.PREFIX}{os.getpid()}-def456"
    alive.mkdir()
    other = tmp_path / "guardlib-cloud-not-ours"
    other.mkdir()
    assert workdir.sweep(tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and other.exists()


def test_sweep_never_follows_a_symlink(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("kept")
    (tmp_path / f"{workdir.PREFIX}{dead.pid}-lnk").symlink_to(precious)
    workdir.sweep(tmp_path)
    assert (precious / "keep.txt").read_text() == "kept"


def test_a_whole_strict_nbval_style_kernel_run_leaves_no_folder() -> None:
    """A kernel killed the way nbval ends it (SIGKILL to its process group) leaves nothing."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "wait"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert _gone_soon(folder)
    assert folder not in set(Path(tempfile.gettempdir()).glob(f"{workdir.PREFIX}*"))


# -- gateway ----------------------------------------------------------------------------------
@pytest.fixture
def quick_gateway():
    gw = Gateway(handshake_timeout=0.5, idle_timeout=0.5)
    gw.start()
    yield gw
    gw.stop()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_gateway_cuts_off_a_client_that_dribbles_its_request_head(quick_gateway) -> None:
    with socket.create_connection(("127.0.0.1", quick_gateway.port), timeout=5) as sock:
        began = time.monotonic()
        for byte in b"CONNECT example.com:443 HTTP/1.1\r\n":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            if time.monotonic() - began > 3:
                break
        assert _closed_within(sock, 3), "a slow client kept its connection"


def test_gateway_closes_an_idle_tunnel(quick_gateway) -> None:
    backend = socket.create_server(("127.0.0.1", 0))
    quick_gateway.route("emulated.example:443", lambda: backend.getsockname()[:2])
    with socket.create_connection(("127.0.0.1", quick_gateway.port), timeout=5) as sock:
        sock.sendall(b"CONNECT emulated.example:443 HTTP/1.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        upstream, _ = backend.accept()
        try:
            sock.sendall(b"ping")
            assert upstream.recv(4) == b"ping"
            assert _closed_within(sock, 5), "an idle tunnel stayed open"
        finally:
            upstream.close()
            backend.close()


def test_gateway_refusal_log_is_bounded(quick_gateway) -> None:
    for i in range(REFUSED_KEPT + 20):
        with socket.create_connection(("127.0.0.1", quick_gateway.port), timeout=5) as sock:
            sock.sendall(f"CONNECT host{i}.example:443 HTTP/1.1\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 403")
    assert len(quick_gateway.refused) == REFUSED_KEPT
    assert quick_gateway.refused[-1] == f"CONNECT host{REFUSED_KEPT + 19}.example:443"


def test_gateway_refusal_names_the_host_and_why() -> None:
    gw = Gateway()
    gw.start()
    try:
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
            sock.sendall(b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n")
            answer = sock.recv(4096).decode()
    finally:
        gw.stop()
    assert answer.startswith("HTTP/1.1 403")
    assert "pypi.org" in answer and "offline cloud" in answer


# -- as_identity -----------------------------------------------------------------------------
@pytest.fixture
def bare_cloud():
    saved = emulators._current
    emulators._current = None
    cloud = emulators.start(only=[])
    yield cloud
    emulators.stop()
    emulators._current = saved


def test_as_identity_applies_and_restores_the_environment(bare_cloud, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "my-real-profile")
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    bare_cloud.identity = "dev-app"
    with bare_cloud.as_identity("admin") as env:
        assert os.environ["HTTPS_PROXY"] == env["HTTPS_PROXY"] == bare_cloud.gateway.url
        assert "AWS_PROFILE" not in os.environ  # a real-cloud variable never reaches the block
        assert bare_cloud.identity == "admin"
    assert os.environ["AWS_PROFILE"] == "my-real-profile"
    assert "HTTPS_PROXY" not in os.environ
    assert bare_cloud.identity == "dev-app"


def test_as_identity_restores_even_when_the_block_raises(bare_cloud, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "my-real-profile")
    with pytest.raises(RuntimeError), bare_cloud.as_identity("admin"):
        raise RuntimeError("boom")
    assert os.environ["AWS_PROFILE"] == "my-real-profile"


# -- env file ---------------------------------------------------------------------------------
def test_env_file_is_not_written_through_a_planted_tmp_file(tmp_path: Path) -> None:
    target = tmp_path / "offline.env"
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    (tmp_path / "offline.env.tmp").symlink_to(victim)
    write_env_file(target, "KEY='value'\n")
    assert victim.read_text() == "untouched"
    assert target.read_text() == "KEY='value'\n"
    if os.name != "nt":
        assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "offline.env",
        "offline.env.tmp",
        "victim.txt",
    ]


def test_env_file_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    target = tmp_path / "offline.env"
    target.symlink_to(victim)
    write_env_file(target, "KEY='value'\n")
    assert victim.read_text() == "untouched"
    assert not target.is_symlink() and target.read_text() == "KEY='value'\n"
