"""``guardlib scan PATH ...``: report credentials without printing them.

What it finds (see :mod:`guardlib.scan`): values detect-secrets recognises in files and in
notebook cells (sources *and* outputs: a key printed by a cell is in the ``.ipynb``), and
``.env`` files that git tracks or does not ignore. Each finding is one line on stdout naming
the file, line and kind with a SHA-1 fingerprint, never the value; the count goes to stderr.

``--baseline FILE`` suppresses findings recorded in a detect-secrets baseline, and
``--write-baseline FILE`` records every value found now (both files are skipped by the scan:
their hashes look like secrets). A ``.env`` that git would commit is never recorded: it is
fixed, not accepted. Exit 1 when anything is reported, else 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from guardlib.cli.exit_codes import EXIT_FOUND, EXIT_OK, EXIT_USAGE


def main(
    paths: Sequence[Path],
    *,
    allowlist: Path | None = None,
    baseline: Path | None = None,
    write_baseline: Path | None = None,
) -> int:
    from guardlib.scan import (
        ScanError,
        load_allowlist,
        load_baseline,
        scan_paths,
        suppress_known,
    )
    from guardlib.scan import (
        write_baseline as write,
    )

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"guardlib scan: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    for label, path in (("allow-list", allowlist), ("baseline", baseline)):
        if path is not None and not path.is_file():
            print(f"guardlib scan: no such {label} file: {path}", file=sys.stderr)
            return EXIT_USAGE
    try:
        allow = load_allowlist(allowlist) if allowlist else frozenset()
        known = load_baseline(baseline) if baseline else frozenset()
    except (ScanError, OSError, UnicodeDecodeError) as exc:
        print(f"guardlib scan: {exc}", file=sys.stderr)
        return EXIT_USAGE
    skipped = [p for p in (baseline, write_baseline) if p is not None]
    findings = scan_paths(paths, allow=allow, exclude=skipped)
    if write_baseline is not None:
        try:
            count = write(write_baseline, findings)
        except OSError as exc:
            print(f"guardlib scan: cannot write baseline {write_baseline}: "
                  f"{exc.strerror or type(exc).__name__}", file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        print(f"wrote {count} finding(s) to baseline {write_baseline}", file=sys.stderr)
        known = known | load_baseline(write_baseline)
    reported = suppress_known(findings, known)
    for finding in reported:
        print(finding)
    hidden = len(findings) - len(reported)
    note = f" ({hidden} known, in the baseline)" if hidden else ""
    print(f"{len(reported)} potential secret(s) found{note}", file=sys.stderr)
    return EXIT_FOUND if reported else EXIT_OK
