"""Files that hold credentials (env, token and key files): written atomically, owner-only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically with owner-only permissions.

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
    return path
