"""Find credentials in text, files and notebook outputs, on top of detect-secrets.

A finding names where and what kind, never the value: it carries detect-secrets' SHA-1
fingerprint instead, so two findings of the same value can be matched.
Values on the allow-list (the course's obviously fake demo values) are not reported.

Besides hardcoded values, :func:`scan_paths` reports ``.env`` files that git would commit
(tracked, or not ignored: ``git ls-files`` / ``git check-ignore``). A ``.env`` that git ignores
and does not track is where secrets belong, so its content is not scanned.

A *baseline* (:func:`write_baseline`, :func:`load_baseline`) is detect-secrets' JSON format
(``version``, ``plugins_used``, ``filters_used``, ``results``): findings recorded in it are
known and suppressed by :func:`suppress_known`, matched as detect-secrets matches them, by
file name, type and hashed secret. It holds SHA-1 hashes only, never a value.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: A file of allowed demo values, one per line (``#`` comments), at the repository root.
ALLOWLIST_FILE = ".secrets-allowlist"


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based line in the file, or in the cell output for notebooks
    kind: str  # detect-secrets' plugin type, e.g. "AWS Access Key"
    fingerprint: str  # SHA-1 of the value (never the value itself)
    where: str = ""  # for notebooks: "cell 3 source" / "cell 3 output"
    advice: str = ""  # for a finding about a file rather than a value: what to do

    def __str__(self) -> str:
        if not self.fingerprint:  # a file git would commit, not a value in it
            return f"{self.path}: {self.kind}: {self.advice}"
        place = f"{self.path}:{self.line}" + (f" ({self.where})" if self.where else "")
        return f"{place}: {self.kind} [sha1 {self.fingerprint[:12]}]"


class ScanError(ValueError):
    """A baseline file cannot be read. The message names the file, never a value."""


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


#: ``.env.<suffix>`` files that are templates meant to be committed, not secrets files
_TEMPLATE_SUFFIXES = frozenset({"example", "sample", "template", "dist", "defaults", "schema"})
KIND_TRACKED_ENV = "Tracked .env file"
KIND_UNIGNORED_ENV = "Unignored .env file"


def is_env_file(name: str) -> bool:
    """``.env``, ``.env.local``, ``prod.env`` …, but not ``.env.example`` and other templates."""
    if name == ".env":
        return True
    if name.startswith(".env."):
        return name[5:].casefold() not in _TEMPLATE_SUFFIXES
    return name.endswith(".env") and len(name) > 4


def _tracked_env_files(folder: Path) -> list[Path]:
    """``.env`` files git tracks under ``folder``, also ones deleted from the work tree."""
    git = shutil.which("git")
    if git is None:
        return []
    result = subprocess.run(
        [git, "ls-files", "-z", "--", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )
    if result.returncode != 0:
        return []
    return [folder / f for f in result.stdout.split("\0") if f and is_env_file(Path(f).name)]


def env_file_findings(path: str | Path) -> tuple[list[Finding], bool]:
    """Findings for one ``.env`` file, from git; and whether its content should be scanned
    (False when git ignores it and does not track it: that is where secrets belong)."""
    from guardlib.dotenv_files import git_status

    status = git_status(path)
    if not status.git_available or not status.in_repository:
        return [], True
    findings = []
    name = Path(path).name
    if status.tracked:
        findings.append(
            Finding(
                str(path),
                0,
                KIND_TRACKED_ENV,
                "",
                advice=f"git tracks it; rotate every secret in it, `git rm --cached {name}`, "
                f"add {name} to .gitignore and commit",
            )
        )
    elif not status.ignored:
        findings.append(
            Finding(
                str(path),
                0,
                KIND_UNIGNORED_ENV,
                "",
                advice=f"git does not ignore it; add {name} to .gitignore",
            )
        )
    return findings, bool(findings)


def scan_paths(
    paths: Iterable[str | Path], *, allow: Iterable[str] = (), exclude: Iterable[str | Path] = ()
) -> list[Finding]:
    """Scan files, and the files under directories (skipping hidden folders such as ``.git``
    and ``.ipynb_checkpoints`` inside them; a file named explicitly is always scanned).
    Files in ``exclude`` (a baseline: its SHA-1 hashes look like secrets) are skipped.

    ``.env`` files also get a finding when git tracks them or does not ignore them."""
    allowed = frozenset(allow)
    findings: list[Finding] = []
    seen: set[Path] = {Path(os.path.abspath(p)) for p in exclude}
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
            on_disk = set(files)
            files += sorted(p for p in _tracked_env_files(path) if p not in on_disk)
        else:
            files = [path]
        for file in files:
            key = Path(os.path.abspath(file))
            if key in seen:
                continue
            seen.add(key)
            scan_content = True
            if is_env_file(file.name):
                env_findings, scan_content = env_file_findings(file)
                findings.extend(env_findings)
            if scan_content and file.is_file():
                findings.extend(scan_path(file, allow=allowed))
    return findings


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
    from detect_secrets.settings import default_settings, get_settings

    with default_settings():
        settings = get_settings().json()
    results: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        if not finding.fingerprint:
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
    """``findings`` without those recorded in a baseline (``.env`` findings are never known)."""
    return [
        f
        for f in findings
        if not f.fingerprint or (_baseline_name(f.path), f.kind, f.fingerprint) not in known
    ]
