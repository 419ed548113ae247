"""Baselines in detect-secrets' JSON format (``version``, ``plugins_used``, ``filters_used``,
``results``): findings recorded in one are known and suppressed by :func:`suppress_known`,
matched as detect-secrets matches them, by file name, type and hashed secret. A baseline
holds SHA-1 hashes only, never a value. ``--history`` findings match by the file's path in
the repository, whatever the commit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .findings import KIND_TRACKED_ENV, KIND_UNIGNORED_ENV, Finding, ScanError


# -- baselines (detect-secrets' format) ------------------------------------------------------
def _baseline_name(path: str) -> str:
    """A finding's file as a baseline names it: relative to the current folder when it is
    inside it (as detect-secrets, run from the repository root, records it), else absolute;
    so ``scan .`` and ``scan ./notebooks`` or an absolute path name a file the same way."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # Windows: another drive
        relative = os.pardir
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    chosen = absolute if outside else relative
    return Path(chosen).as_posix()


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    """The detect-secrets baseline for ``findings`` (value findings only; a ``.env`` that
    git would commit is fixed, not recorded)."""
    from detect_secrets.__version__ import VERSION

    from .detectors import settings_document

    settings = settings_document()
    findings = list(findings)
    # a .env that git would commit is fixed (rotated, untracked, ignored), not accepted:
    # neither it nor the values in it are recorded
    to_fix = {f.path for f in findings if f.kind in (KIND_TRACKED_ENV, KIND_UNIGNORED_ENV)}
    results: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        if not finding.fingerprint or finding.path in to_fix:
            continue
        filename = _baseline_name(finding.path)
        entry: dict[str, Any] = {
            "type": finding.kind,
            "filename": filename,
            "hashed_secret": finding.fingerprint,
            "is_verified": False,
            "line_number": finding.line,
        }
        bucket = results.setdefault(filename, [])
        if not any(
            e["type"] == entry["type"] and e["hashed_secret"] == entry["hashed_secret"]
            for e in bucket
        ):
            bucket.append(entry)
    for bucket in results.values():
        bucket.sort(key=lambda e: (e["line_number"], e["type"], e["hashed_secret"]))
    return {
        "version": VERSION,
        **settings,
        "results": dict(sorted(results.items())),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_baseline(path: str | Path, findings: Iterable[Finding]) -> int:
    """Write the baseline of ``findings`` to ``path``; return how many entries it holds."""
    document = baseline_document(findings)
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return sum(len(v) for v in document["results"].values())


def load_baseline(path: str | Path) -> frozenset[tuple[str, str, str]]:
    """The known findings of a detect-secrets baseline, as ``(filename, type, hashed_secret)``."""
    shown = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise ScanError(f"cannot read baseline {shown}") from None
    except ValueError:
        raise ScanError(f"baseline {shown} is not valid JSON") from None
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict):
        raise ScanError(f"baseline {shown} has no 'results' (not a detect-secrets baseline)")
    known = set()
    for filename, entries in results.items():
        if not isinstance(entries, list):
            raise ScanError(f"baseline {shown}: results for {filename!r} are not a list")
        for entry in entries:
            try:
                known.add(
                    (_baseline_name(str(filename)), str(entry["type"]), str(entry["hashed_secret"]))
                )
            except (KeyError, TypeError):
                raise ScanError(
                    f"baseline {shown}: an entry for {filename!r} lacks type or hashed_secret"
                ) from None
    return frozenset(known)


def suppress_known(
    findings: Iterable[Finding], known: frozenset[tuple[str, str, str]]
) -> list[Finding]:
    """``findings`` without those recorded in a baseline (``.env`` findings are never known).

    A finding is known when the baseline records its file and hashed value, whatever the
    type: a value detect-secrets recorded as a ``Base64 High Entropy String`` and guardlib
    names a ``GitHub Token`` is the same value, accepted once."""
    hashes = {(filename, hashed) for filename, _, hashed in known}
    return [
        f
        for f in findings
        if not f.fingerprint or (_baseline_name(f.path), f.fingerprint) not in hashes
    ]
