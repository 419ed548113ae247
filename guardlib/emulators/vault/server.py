"""Run a real OpenBao dev server as a child process, and stop it cleanly.

``bao server -dev`` keeps everything in memory, unseals itself, mounts KV v2 at ``secret/`` and
creates a root token with the id we give it. It listens on plain http on 127.0.0.1 (loopback
only; ``-dev-tls`` would add a second CA to trust for nothing a course needs). The child gets
its own process group (killed as a group on stop) and, on Linux, dies with its parent.

The root token goes to the child in its environment (``BAO_DEV_ROOT_TOKEN_ID``; HashiCorp's
``vault`` reads ``VAULT_DEV_ROOT_TOKEN_ID``), never on the command line, which every local
user can read in ``/proc/<pid>/cmdline``; ``-dev-no-store-token`` keeps it out of
``~/.vault-token``. The dev server still prints the root token and unseal key to its log, so
the log is created owner-only (0600) inside the caller's private work folder.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

READY_TIMEOUT = 15.0
#: loopback only: never through HTTP(S)_PROXY, whatever the environment says
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    """PR_SET_PDEATHSIG: SIGTERM when the thread that forked us ends (prctl(2): it is tied to
    the *thread*, so start the server from a thread that lives as long as the process, as
    the lifecycle does). If the parent already died before prctl ran, exit now."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


class DevServer:
    def __init__(self, binary: str, root_token: str, workdir: Path) -> None:
        self.binary = binary
        self.root_token = root_token
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # the child gets its own copy of the log's descriptor; ours is closed once it runs.
        # Owner-only: the dev server prints its root token and unseal key there.
        fd = os.open(self.workdir / "bao.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        log = os.fdopen(fd, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(self.workdir)  # nothing is written there (-dev-no-store-token)
        env["SKIP_SETCAP"] = "1"
        env["BAO_DEV_ROOT_TOKEN_ID"] = env["VAULT_DEV_ROOT_TOKEN_ID"] = self.root_token
        last_error = "did not start"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            cmd = [
                self.binary, "server", "-dev", "-dev-no-store-token",
                f"-dev-listen-address=127.0.0.1:{self.port}",
            ]  # fmt: skip
            kwargs: dict[str, Any] = {}
            if sys.platform == "win32":  # pragma: no cover
                kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
            else:
                kwargs["start_new_session"] = True
                if sys.platform.startswith("linux"):
                    kwargs["preexec_fn"] = functools.partial(_die_with_parent, os.getpid())
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=self.workdir, **kwargs,
            )  # fmt: skip
            try:
                self._wait_ready()
                log.close()
                return
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
        log.close()
        tail = (self.workdir / "bao.log").read_text(errors="replace")[-800:]
        raise RuntimeError(f"OpenBao dev server {last_error}; log tail:\n{tail}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.01
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with status {self.proc.returncode}")
            try:
                with _OPENER.open(f"{self.addr}/v1/sys/health", timeout=1) as resp:
                    if json.load(resp).get("initialized"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)
        raise RuntimeError(f"was not ready within {READY_TIMEOUT:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if sys.platform == "win32":  # pragma: no cover
                proc.terminate()
            else:
                os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                if sys.platform == "win32":  # pragma: no cover
                    proc.kill()
                else:
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
