"""Find credentials in text, files and notebook outputs, on top of detect-secrets.

A finding names where and what kind, never the value: it carries detect-secrets' SHA-1
fingerprint instead, so two findings of the same value can be matched.
Values on the allow-list (the course's obviously fake demo values) are not reported.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

#: A file of allowed demo values, one per line (``#`` comments), at the repository root.
ALLOWLIST_FILE = ".secrets-allowlist"


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based line in the file, or in the cell output for notebooks
    kind: str  # detect-secrets' plugin type, e.g. "AWS Access Key"
    fingerprint: str  # SHA-1 of the value (never the value itself)
    where: str = ""  # for notebooks: "cell 3 source" / "cell 3 output"

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" + (f" ({self.where})" if self.where else "")
        return f"{place}: {self.kind} [sha1 {self.fingerprint[:12]}]"


def load_allowlist(path: str | Path) -> frozenset[str]:
    """The allowed demo values in ``path`` (one per line; blank lines and ``#`` skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#"))


#: allow-list entries at least this long also allow any finding that contains them (a marker
#: such as ``demo-not-a-real``, or a ``KEY=demo-…`` line captured whole); shorter ones
#: (``testing``) allow only themselves and their parts.
_MARKER_LENGTH = 12


def _allowed(value: str, allow: frozenset[str]) -> bool:
    """A finding is allowed when it is an allowed value, part of one (detect-secrets finds
    substrings), or contains a long allowed entry."""
    return bool(value) and any(
        value in a or (len(a) >= _MARKER_LENGTH and a in value) for a in allow
    )


def _scan_lines(
    lines: Iterable[str], allow: frozenset[str], suffix: str = ".txt"
) -> Iterator[tuple[int, str, str]]:
    """detect-secrets' file scan (not its eager ad-hoc ``scan_line``, which flags prose as
    high-entropy), run on the lines written to a private temporary file."""
    import tempfile

    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings

    kept = [line if len(line) <= 2000 else "" for line in lines]  # skip base64 images etc.
    if not any(kept):
        return
    with tempfile.TemporaryDirectory(prefix="guardlib-scan-") as folder:
        path = Path(folder) / f"chunk{suffix}"
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        with default_settings():
            found = sorted(scan_file(str(path)), key=lambda s: (s.line_number, s.type))
    for secret in found:
        if not _allowed(secret.secret_value or "", allow):
            yield secret.line_number, secret.type, secret.secret_hash


def scan_text(text: str, *, allow: Iterable[str] = (), path: str = "<text>") -> list[Finding]:
    allowed = frozenset(allow)
    return [Finding(path, n, kind, fp) for n, kind, fp in _scan_lines(text.splitlines(), allowed)]


def _notebook_texts(nb: dict) -> Iterator[tuple[str, str]]:
    for index, cell in enumerate(nb.get("cells", []), start=1):
        source = cell.get("source", "")
        yield f"cell {index} source", "".join(source) if isinstance(source, list) else source
        for output in cell.get("outputs", []):
            chunks: list[str] = []
            if "text" in output:
                text = output["text"]
                chunks.append("".join(text) if isinstance(text, list) else text)
            for mime, data in output.get("data", {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    chunks.append("".join(data) if isinstance(data, list) else str(data))
            if "traceback" in output:
                chunks.append("\n".join(output["traceback"]))
            yield f"cell {index} output", "\n".join(chunks)


def scan_path(path: str | Path, *, allow: Iterable[str] = ()) -> list[Finding]:
    """Scan one file; a notebook's sources and outputs are scanned cell by cell."""
    path = Path(path)
    allowed = frozenset(allow)
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return [
            Finding(str(path), n, kind, fp)
            for n, kind, fp in _scan_lines(text.splitlines(), allowed, path.suffix or ".txt")
        ]
    findings = []
    for where, chunk in _notebook_texts(json.loads(text)):
        suffix = ".py" if where.endswith("source") else ".txt"
        for n, kind, fp in _scan_lines(chunk.splitlines(), allowed, suffix):
            findings.append(Finding(str(path), n, kind, fp, where))
    return findings


def scan_paths(paths: Iterable[str | Path], *, allow: Iterable[str] = ()) -> list[Finding]:
    """Scan files, and the files under directories (skipping hidden folders such as ``.git``
    and ``.ipynb_checkpoints`` inside them; a file named explicitly is always scanned)."""
    allowed = frozenset(allow)
    findings: list[Finding] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
        else:
            files = [path]
        for file in files:
            findings.extend(scan_path(file, allow=allowed))
    return findings
