"""Files written atomically: credentials (env, token and key files) owner-only, others with
the mode they need."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically with owner-only permissions (0600)."""
    return write_atomic(path, text, mode=0o600)


def write_atomic(path: str | os.PathLike[str], text: str, *, mode: int = 0o600) -> Path:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new one whole.

    The temporary file is created fresh (``mkstemp``: ``O_CREAT | O_EXCL``, mode 0600) next to
    ``path``, so a pre-existing or symlinked ``<file>.tmp`` is never written through; it gets
    ``mode`` before it replaces ``path`` (a symlink at ``path`` itself is replaced, not
    followed)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
