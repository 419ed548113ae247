"""Scanning files on disk: which files a folder holds, and what each kind of file yields.

Walking a folder reads every file, hidden folders included (``.github/``,
``.ipynb_checkpoints/``, ``.ipython/``), except the folders that only tools write:
``.git`` internals (``--history`` reads git's objects properly), virtual and conda
environments (a folder with ``pyvenv.cfg`` or ``conda-meta/``), ``node_modules``,
``__pycache__`` and the caches of pytest, mypy, ruff, tox, nox and hypothesis. A folder or
file named on the command line is always scanned. Binary files are skipped, except SQLite
databases that hold IPython history.

A file that cannot be parsed (a notebook with merge-conflict markers) or opened is reported
as :data:`~guardlib.scan.findings.KIND_UNREADABLE`, its text is scanned as plain text when it
can be read, and the scan goes on.

Besides hardcoded values, ``.env`` files that git would commit (tracked, or not ignored:
``git ls-files`` / ``git check-ignore``) are reported. A ``.env`` that git ignores and does
not track is where secrets belong, so its content is not scanned.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import ipython_history, notebooks
from .detectors import Engine, Hit
from .findings import (
    KIND_TRACKED_ENV,
    KIND_UNIGNORED_ENV,
    KIND_UNREADABLE,
    Finding,
    allowed,
    fingerprint,
)
from .patterns import is_decoy

#: folders that tools write and people do not: never walked into (named explicitly, scanned)
SKIPPED_FOLDERS = frozenset(
    {".git", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache",
     ".tox", ".nox", ".hypothesis", ".eggs"}
)  # fmt: skip
_BINARY_PROBE = 8192
#: larger files are reported as unreadable, not read (Kingfisher's default limit)
MAX_FILE_BYTES = 256 * 1024 * 1024


def _unreadable(path: Path, reason: str) -> Finding:
    return Finding(str(path), 0, KIND_UNREADABLE, "",
                   advice=f"{reason}; it was not fully scanned: fix it and scan again")  # fmt: skip


def _findings(path: Path, hits: Iterable[Hit], where: str = "") -> list[Finding]:
    return [Finding(str(path), h.line, h.kind, h.fingerprint, where) for h in hits]


def _bare(value: str) -> str:
    """A value without JSON's escaping, to match a raw notebook line's value to a part's."""
    return value.replace("\\", "").strip("\"'")


def _conflict_sides(text: str) -> list[str]:
    """The two sides of a file with merge-conflict markers (``<<<<<<<``, ``|||||||``,
    ``=======``, ``>>>>>>>``), each as the whole file would read had it won."""
    sides: list[list[str]] = [[], []]
    state = "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            state = "ours"
        elif line.startswith("|||||||") and state == "ours":
            state = "base"
        elif line.startswith("=======") and state in ("ours", "base"):
            state = "theirs"
        elif line.startswith(">>>>>>>") and state == "theirs":
            state = "both"
        else:
            if state in ("both", "ours"):
                sides[0].append(line)
            if state in ("both", "theirs"):
                sides[1].append(line)
    return ["".join(side) for side in sides]


def _notebook(path: Path, text: str, engine: Engine, previous: str | None = None) -> list[Finding]:
    try:
        parts = list(notebooks.chunks(json.loads(text)))
    except (ValueError, RecursionError) as exc:
        reason = "not valid notebook JSON"
        conflicted = "<<<<<<<" in text and ">>>>>>>" in text
        if conflicted:
            reason += " (merge-conflict markers)"
        elif isinstance(exc, json.JSONDecodeError):
            reason += f" (line {exc.lineno})"
        found = [_unreadable(path, reason), *_findings(path, engine.file_hits(path, text))]
        if conflicted:  # each side of the conflict, parsed as the notebook it would be
            for side, label in zip(_conflict_sides(text), ("ours", "theirs"), strict=True):
                try:
                    side_parts = list(notebooks.chunks(json.loads(side)))
                except (ValueError, RecursionError):
                    continue
                for part in side_parts:
                    for hit in engine.line_hits(part.lines, part.name):
                        finding = Finding(str(path), hit.line, hit.kind, hit.fingerprint,
                                          f"{part.where}, {label}")  # fmt: skip
                        if all(f.fingerprint != finding.fingerprint for f in found):
                            found.append(finding)
        return found
    findings: list[Finding] = []
    values: list[str] = []
    seen_parts: set[tuple[str, ...]] = set()
    seen_lines: set[str] = set()
    if previous is not None:
        seen_lines = set(previous.splitlines())
        try:
            seen_parts = {tuple(p.lines) for p in notebooks.chunks(json.loads(previous))}
        except (ValueError, RecursionError):
            pass
    for part in parts:
        if tuple(part.lines) in seen_parts:
            continue
        hits = engine.line_hits(part.lines, part.name)
        for line, kind, value in part.direct:
            context = part.lines[line - 1] if 0 < line <= len(part.lines) else ""
            if allowed(value, engine.allow) or is_decoy(value, context):
                engine.dropped.append(value)
            elif not any(h.value == value for h in hits):
                hits.append(Hit(line, kind, fingerprint(value), value))
        values += [_bare(v) for v in [*engine.dropped, *(h.value for h in hits)]]
        if previous is not None:  # --history: a value the previous version had is not new
            hits = [h for h in hits if h.value not in previous]
        findings += _findings(path, sorted(hits, key=lambda h: h.line), part.where)
    # detect-secrets on the raw JSON, as `detect-secrets scan` reads a notebook: whatever it
    # finds that the parts above did not is reported on the file's own line
    raw_lines = text.splitlines()
    if seen_lines:  # --history: only the lines this version added
        raw_hits = engine.line_hits(
            [x if x not in seen_lines else "" for x in raw_lines], path.name
        )
    else:
        raw_hits = engine.file_hits(path, text)
    for hit in raw_hits:
        bare = _bare(hit.value)
        if any(bare in v or v in bare for v in values):
            continue
        if raw_lines[hit.line - 1].lstrip().startswith('"image/'):
            continue  # base64 image data, not a credential
        if previous is not None and (hit.value in previous or bare in previous):
            continue  # in the previous version already
        values.append(bare)
        findings.append(Finding(str(path), hit.line, hit.kind, hit.fingerprint, "notebook JSON"))
    return findings


def _history_db(path: Path, engine: Engine) -> list[Finding]:
    findings = []
    try:
        for session, number, part, text in ipython_history.entries(path):
            name = "history.py" if part == "input" else "output.txt"
            for hit in engine.line_hits(text.splitlines(), name):
                findings.append(
                    Finding(
                        str(path), number, hit.kind, hit.fingerprint, f"session {session} {part}"
                    )
                )
    except sqlite3.Error:
        return [_unreadable(path, "not a readable SQLite database")]
    return findings


def scan_file(path: Path, engine: Engine, *, previous: str | None = None) -> list[Finding]:
    """One file, with an engine already entered. ``previous`` (``--history``) is the text of
    the notebook's previous version: its parts and lines that were there already are skipped."""
    try:
        if ipython_history.is_sqlite(path):
            return _history_db(path, engine)
        if path.stat().st_size > MAX_FILE_BYTES:
            return [_unreadable(path, f"larger than {MAX_FILE_BYTES >> 20} MB")]
        data = path.read_bytes()
    except OSError as exc:
        return [_unreadable(path, f"cannot be read ({exc.strerror or type(exc).__name__})")]
    if b"\0" in data[:_BINARY_PROBE]:
        return []  # binary
    text = data.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return _notebook(path, text, engine, previous)
    return _findings(path, engine.file_hits(path, text))


def scan_path(path: str | Path, *, allow: Iterable[str] = ()) -> list[Finding]:
    """Scan one file: a notebook part by part (sources, outputs, metadata, widget state,
    papermill parameters), an IPython history database entry by entry, any other text file
    line by line."""
    with Engine(allow) as engine:
        return scan_file(Path(path), engine)


# -- .env files -----------------------------------------------------------------------------
#: ``.env.<suffix>`` files that are templates meant to be committed, not secrets files
_TEMPLATE_SUFFIXES = frozenset({"example", "sample", "template", "dist", "defaults", "schema"})


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


# -- walking --------------------------------------------------------------------------------
def _environment(folder: Path) -> bool:
    """A Python virtual environment (``pyvenv.cfg``) or a conda environment (``conda-meta``)."""
    return (folder / "pyvenv.cfg").is_file() or (folder / "conda-meta").is_dir()


def walk(folder: Path) -> Iterator[Path]:
    """The files under ``folder`` that a scan reads, in a stable order (see the module doc)."""
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(
            d for d in dirs
            if d not in SKIPPED_FOLDERS and not _environment(here / d)
        )  # fmt: skip
        for name in sorted(files):
            if name != ".git":  # a worktree's pointer to its git folder
                yield here / name


def scan_paths(
    paths: Iterable[str | Path], *, allow: Iterable[str] = (), exclude: Iterable[str | Path] = ()
) -> list[Finding]:
    """Scan files, and the files under folders (see the module doc for which).
    Files in ``exclude`` (a baseline: its SHA-1 hashes look like secrets) are skipped.

    ``.env`` files also get a finding when git tracks them or does not ignore them."""
    findings: list[Finding] = []
    seen: set[Path] = {Path(os.path.abspath(p)) for p in exclude}
    with Engine(allow) as engine:
        for path in map(Path, paths):
            if path.is_dir():
                files = list(walk(path))
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
                    findings.extend(scan_file(file, engine))
    return findings
