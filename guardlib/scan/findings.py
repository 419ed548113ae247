"""What a scan reports: :class:`Finding` (where and what kind, never the value), the kinds
that are about a file rather than a value, and the allow-list of demo values."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

#: A file of allowed demo values, one per line (``#`` comments), at the repository root.
ALLOWLIST_FILE = ".secrets-allowlist"

KIND_TRACKED_ENV = "Tracked .env file"
KIND_UNIGNORED_ENV = "Unignored .env file"
#: a file the scan could not parse or open: it was scanned as plain text when it could be read
KIND_UNREADABLE = "Unreadable file"


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based line in the file, in the cell part, or the history line number
    kind: str  # detect-secrets' plugin type, e.g. "AWS Access Key", or guardlib's own kind
    fingerprint: str  # SHA-1 of the value (never the value itself)
    where: str = ""  # "cell 3 output", "notebook metadata", "session 2 input" ...
    advice: str = ""  # for a finding about a file rather than a value: what to do
    commit: str = ""  # ``--history``: the commit that introduced the file's content

    def __str__(self) -> str:
        if not self.fingerprint:  # a file git would commit, or a file that cannot be read
            return f"{self.path}: {self.kind}: {self.advice}"
        where = ", ".join(
            w for w in (self.where, self.commit and f"commit {self.commit[:12]}") if w
        )
        place = f"{self.path}:{self.line}" + (f" ({where})" if where else "")
        return f"{place}: {self.kind} [sha1 {self.fingerprint[:12]}]"


class ScanError(ValueError):
    """A baseline or repository cannot be read. The message names the file, never a value."""


def fingerprint(value: str) -> str:
    """detect-secrets' hash of a value: SHA-1 of its UTF-8 bytes (never shown in full)."""
    return hashlib.sha1(value.encode("utf-8")).hexdigest()  # noqa: S324 - a fingerprint


def load_allowlist(path: str | Path) -> frozenset[str]:
    """The allowed demo values in ``path`` (one per line; blank lines and ``#`` skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#"))


#: allow-list entries at least this long also allow any finding that contains them (a marker
#: such as ``demo-not-a-real``, or a ``KEY=demo-…`` line captured whole); shorter ones
#: (``testing``) allow only themselves and their parts.
_MARKER_LENGTH = 12


def allowed(value: str, allow: Iterable[str]) -> bool:
    """A finding is allowed when it is an allowed value, part of one (detect-secrets finds
    substrings), or contains a long allowed entry."""
    return bool(value) and any(
        value in a or (len(a) >= _MARKER_LENGTH and a in value) for a in allow
    )
