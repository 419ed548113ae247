"""Find credentials in files, notebooks, IPython history and git history, on top of
detect-secrets.

A finding names where and what kind, never the value: it carries detect-secrets' SHA-1
fingerprint instead, so two findings of the same value can be matched.
Values on the allow-list (the course's obviously fake demo values) are not reported.

The modules, each named for its job:

- :mod:`~guardlib.scan.findings`: :class:`Finding`, the allow-list;
- :mod:`~guardlib.scan.detectors`: detect-secrets' plugins and filters (imported lazily) plus
  :mod:`~guardlib.scan.patterns`, guardlib's own detectors and decoy rules;
- :mod:`~guardlib.scan.files`: walking folders (hidden ones included), ``.env`` files git
  would commit, unreadable files;
- :mod:`~guardlib.scan.notebooks`: a notebook's sources, outputs, metadata, widget state and
  papermill parameters;
- :mod:`~guardlib.scan.ipython_history`: IPython's ``history.sqlite``;
- :mod:`~guardlib.scan.git_history`: every blob of a repository's history (``--history``);
- :mod:`~guardlib.scan.baseline`: detect-secrets baselines.
"""

from __future__ import annotations

from collections.abc import Iterable

from .baseline import (
    baseline_document,
    load_baseline,
    suppress_known,
    write_baseline,
)
from .files import SKIPPED_FOLDERS, env_file_findings, is_env_file, scan_path, scan_paths, walk
from .findings import (
    ALLOWLIST_FILE,
    KIND_TRACKED_ENV,
    KIND_UNIGNORED_ENV,
    KIND_UNREADABLE,
    Finding,
    ScanError,
    load_allowlist,
)
from .git_history import scan_history


def scan_text(text: str, *, allow: Iterable[str] = (), path: str = "<text>") -> list[Finding]:
    """Findings in a string, line by line (for text that is not in a file)."""
    from .detectors import Engine

    with Engine(allow) as engine:
        hits = engine.line_hits(text.splitlines())
    return [Finding(path, h.line, h.kind, h.fingerprint) for h in hits]


__all__ = [
    "ALLOWLIST_FILE",
    "KIND_TRACKED_ENV",
    "KIND_UNIGNORED_ENV",
    "KIND_UNREADABLE",
    "SKIPPED_FOLDERS",
    "Finding",
    "ScanError",
    "baseline_document",
    "env_file_findings",
    "is_env_file",
    "load_allowlist",
    "load_baseline",
    "scan_history",
    "scan_path",
    "scan_paths",
    "scan_text",
    "suppress_known",
    "walk",
    "write_baseline",
]
