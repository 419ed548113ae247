"""``guardlib scan PATH ...``: report credentials without printing them.

What it finds (see :mod:`guardlib.scan`): values detect-secrets and guardlib's own detectors
recognise in files (hidden folders included, ``.git`` internals and tool caches excluded), in
notebooks (sources, outputs, metadata, saved widget state, papermill parameters, and
``.ipynb_checkpoints/`` copies), in IPython history databases, and ``.env`` files that git
tracks or does not ignore. ``--history`` adds every blob of the git history of the
repository holding each PATH, all branches included, with the commit that introduced it.
Each finding is one line on stdout naming the file, line and kind with a SHA-1 fingerprint,
never the value; the count goes to stderr. A file that cannot be parsed (a merge-conflicted
notebook) or opened is reported as unreadable, and the scan goes on.

The allow-list (demo values that are not secrets) is ``--allowlist FILE``, or else
``.secrets-allowlist`` in the current folder when there is one (``--no-allowlist`` turns that
off). ``--baseline FILE`` suppresses findings recorded in a detect-secrets baseline, and
``--write-baseline FILE`` records every value found now (both files are skipped by the scan:
their hashes look like secrets). A ``.env`` that git would commit is never recorded: it is
fixed, not accepted. Exit 1 when anything is reported (an unreadable file included), else 0;
2 for a usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from guardlib.cli.exit_codes import EXIT_FOUND, EXIT_OK, EXIT_USAGE


def _error(message: str) -> int:
    print(f"guardlib scan: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(
    paths: Sequence[Path],
    *,
    allowlist: Path | None = None,
    baseline: Path | None = None,
    write_baseline: Path | None = None,
    history: bool = False,
    no_allowlist: bool = False,
) -> int:
    from guardlib.scan import (
        ALLOWLIST_FILE,
        KIND_UNREADABLE,
        ScanError,
        load_allowlist,
        load_baseline,
        scan_history,
        scan_paths,
        suppress_known,
    )
    from guardlib.scan import (
        write_baseline as write,
    )

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return _error(f"no such file or directory: {', '.join(missing)}")
    for label, path in (("allow-list", allowlist), ("baseline", baseline)):
        if path is not None and not path.is_file():
            return _error(f"no such {label} file: {path}")
    if allowlist is None and not no_allowlist and Path(ALLOWLIST_FILE).is_file():
        allowlist = Path(ALLOWLIST_FILE)
    try:
        allow = load_allowlist(allowlist) if allowlist else frozenset()
    except (OSError, UnicodeDecodeError):
        return _error(f"cannot read allow-list {allowlist}")
    try:
        known = load_baseline(baseline) if baseline else frozenset()
    except ScanError as exc:
        return _error(str(exc))
    if allowlist is not None:
        print(f"allow-list: {allowlist} ({len(allow)} demo values)", file=sys.stderr)
    skipped = [p for p in (baseline, write_baseline) if p is not None]
    findings = scan_paths(paths, allow=allow, exclude=skipped)
    if history:
        here = {(f.path, f.kind, f.fingerprint) for f in findings}
        repositories: set[Path] = set()
        try:
            from guardlib.scan.git_history import repositories as repositories_of

            for root in (r for path in paths for r in repositories_of(path)):
                if root in repositories:
                    continue
                repositories.add(root)
                findings += [
                    f
                    for f in scan_history(root, allow=allow, exclude=skipped)
                    if (f.path, f.kind, f.fingerprint) not in here
                ]
        except ScanError as exc:
            return _error(str(exc))
    if write_baseline is not None:
        try:
            count = write(write_baseline, findings)
        except OSError as exc:
            return _error(f"cannot write baseline {write_baseline}: "
                          f"{exc.strerror or type(exc).__name__}")  # fmt: skip
        print(f"wrote {count} finding(s) to baseline {write_baseline}", file=sys.stderr)
        known = known | load_baseline(write_baseline)
    reported = suppress_known(findings, known)
    for finding in reported:
        print(finding)
    unreadable = sum(f.kind == KIND_UNREADABLE for f in reported)
    hidden = len(findings) - len(reported)
    notes = [f"{hidden} known, in the baseline"] if hidden else []
    if unreadable:
        notes.append(f"{unreadable} file(s) could not be read fully")
    note = f" ({'; '.join(notes)})" if notes else ""
    print(f"{len(reported) - unreadable} potential secret(s) found{note}", file=sys.stderr)
    return EXIT_FOUND if reported else EXIT_OK
