"""The offline cloud's work folder (CA, service-account keys) and its removal on every exit.

One folder per process, ``<tmp>/guardlib-cloud-<pid>-<random>``. It is removed:

- at normal interpreter exit (``atexit``);
- on SIGTERM and SIGHUP, when nobody else handles them (the default action would skip
  ``atexit``): the folder goes, then the signal's default action runs as before;
- when the process dies in a way no handler sees (SIGKILL, which is how jupyter_client ends a
  kernel that does not stop in time, or a crash): a tiny reaper process, started with the
  folder, holds the read end of a pipe whose write end only this process has; when that
  closes, for any reason, the reaper removes the folder. It runs in its own session, so a
  signal to the kernel's process group does not take it along;
- and a fresh start sweeps folders left by processes that no longer exist.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

PREFIX = "guardlib-cloud-"
_NAME = re.compile(rf"{PREFIX}(\d+)-[A-Za-z0-9_]+")

_REAPER = (
    "import shutil, sys\n"
    "sys.stdin.buffer.read()\n"  # returns once every copy of the pipe's write end is closed
    "shutil.rmtree(sys.argv[1], ignore_errors=True)\n"
)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - no cheap liveness test without pywin32
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep(root: str | Path | None = None) -> list[Path]:
    """Remove work folders whose process is gone. Returns what was removed."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            match = _NAME.fullmatch(entry.name)
            if match and entry.is_dir() and not entry.is_symlink():
                if not _alive(int(match.group(1))):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
    return removed


class WorkDir:
    """A private temporary folder that disappears with this process, however it ends."""

    def __init__(self) -> None:
        sweep()
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        self._reaper: subprocess.Popen[bytes] | None = None
        self._start_reaper()
        atexit.register(self.remove)
        _on_signals(self.remove)

    def _start_reaper(self) -> None:
        try:
            self._reaper = subprocess.Popen(
                [sys.executable, "-c", _REAPER, str(self.path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,
            )
        except OSError:  # pragma: no cover - the sweep at the next start still cleans up
            self._reaper = None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        reaper, self._reaper = self._reaper, None
        if reaper is not None and reaper.stdin is not None:
            with contextlib.suppress(OSError):
                reaper.stdin.close()  # the reaper wakes, finds nothing left, and exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                reaper.wait(2)


def _on_signals(cleanup: object) -> None:
    """Run ``cleanup`` on SIGTERM/SIGHUP where those still have their default action."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None or signal.getsignal(signum) is not signal.SIG_DFL:
            continue  # someone (ipykernel, a web server, the user) handles it: leave it be

        def handler(number: int, frame: FrameType | None) -> None:
            cleanup()  # type: ignore[operator]
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)  # the default action, as if we had not been here

        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, handler)
