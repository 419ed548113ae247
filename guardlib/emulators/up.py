"""``guardlib emulators up``: run the offline cloud in the foreground and write its environment.

Like ``gcloud beta emulators … env-init``: once every emulator is ready, the dotenv-format
environment that points unmodified SDK code at them is written to ``--env-file`` (or stdout),
so another process can ``set -a; . ./offline.env`` or ``dotenv -f offline.env run …``.
SIGINT and SIGTERM stop everything cleanly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import start, stop


def render_env(env: dict[str, str]) -> str:
    """dotenv format, one ``KEY='value'`` per line, sorted (python-dotenv reads it back)."""
    lines = [
        "# written by `guardlib emulators up`: points unmodified SDK code at the offline cloud"
    ]
    for key in sorted(env):
        value = env[key].replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, text: str) -> None:
    """Write atomically with owner-only permissions: it names credentials of the emulators.

    The temporary file is created fresh (``mkstemp``: ``O_CREAT | O_EXCL``, mode 0600) next to
    ``path``, so a pre-existing or symlinked ``<file>.tmp`` is never written through; then it
    replaces ``path`` (a symlink at ``path`` itself is replaced, not followed)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run(
    only: list[str] | None,
    identity: str | None,
    env_file: str | None,
    seed: str | None,
    *,
    wait: bool = True,
) -> int:
    began = time.perf_counter()
    cloud = start(only, identity=identity, seed=seed)
    text = render_env(cloud.env())
    elapsed_ms = (time.perf_counter() - began) * 1000
    names = ", ".join(cloud.emulators) or "none"
    if env_file:
        write_env_file(Path(env_file), text)
        print(
            f"offline cloud ready ({names}) in {elapsed_ms:.0f} ms; environment written to "
            f"{env_file}",
            file=sys.stderr,
            flush=True,
        )
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"offline cloud ready ({names}) in {elapsed_ms:.0f} ms", file=sys.stderr, flush=True)
    if not wait:
        stop()
        return 0
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("press Ctrl+C to stop", file=sys.stderr, flush=True)
    while not done.wait(0.5):
        pass
    stop()
    if env_file:
        Path(env_file).unlink(missing_ok=True)
    print("offline cloud stopped", file=sys.stderr, flush=True)
    return 0
