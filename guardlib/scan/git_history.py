"""``guardlib scan --history``: every blob reachable from any ref (all branches, tags, the
stash, remote-tracking branches), each reported with the commit that introduced it, as
gitleaks reports a leak: a key deleted in a later commit is still in the history, and still
valid until it is rotated.

Three git commands, each run once with an argument list (no shell):

- ``git log --all --reverse --format=%H`` lists the commits, oldest first;
- ``git diff-tree --stdin -r -m --root --raw -z`` gives, per commit, the blobs it added or
  changed (``-m``: a merge's own changes too), so each blob is credited to the first commit
  that had it, under the path it had there;
- ``git cat-file --batch`` streams the contents of each distinct blob once.

``git rev-list --objects --all`` adds blobs that no commit introduces (a tag on a tree or a
blob). A blob is scanned exactly as a file of the same name on disk (notebooks part by part,
history databases entry by entry), from a private temporary copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .detectors import Engine
from .files import SKIPPED_FOLDERS, scan_file
from .findings import Finding, ScanError

_MAX_BLOB = 64 * 1024 * 1024  # larger blobs are data, not configuration
_ZERO = "0" * 40


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    git = shutil.which("git")
    if git is None:
        raise ScanError("--history needs git, which is not installed")
    result = subprocess.run(
        [git, "-c", "core.quotepath=off", *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )
    if result.returncode != 0:
        raise ScanError(f"git {args[0]} failed in {repo}: {result.stderr.strip()[:200]}")
    return result.stdout


def repository_root(path: str | Path) -> Path:
    """The work tree holding ``path``, or the bare repository it is."""
    folder = Path(path)
    folder = folder if folder.is_dir() else folder.parent
    try:
        if _git(folder, "rev-parse", "--is-bare-repository").strip() == "true":
            return Path(_git(folder, "rev-parse", "--absolute-git-dir").strip())
        return Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except ScanError:
        raise ScanError(f"not a git repository: {path}") from None


def repositories(path: str | Path) -> list[Path]:
    """The repository holding ``path``; or, when ``path`` is a folder outside any, the
    repositories under it (work trees with a ``.git``, and bare ``NAME.git`` folders)."""
    try:
        return [repository_root(path)]
    except ScanError:
        if not Path(path).is_dir():
            raise
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        here = Path(root)
        if ".git" in dirs or ".git" in files:
            found.append(here.resolve())
        bare = here.name.endswith(".git") and (here / "HEAD").is_file() and "objects" in dirs
        if bare:
            found.append(here.resolve())
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_FOLDERS)
    if not found:
        raise ScanError(f"not a git repository, and none under it: {path}")
    return found


def introduced(repo: Path) -> dict[str, tuple[str, str, str]]:
    """``blob id -> (commit, path, previous blob id)``: the oldest commit that added or
    changed a file to that blob, and the blob the file had before ("" when it is new)."""
    commits = _git(repo, "log", "--all", "--reverse", "--format=%H")
    blobs: dict[str, tuple[str, str, str]] = {}
    if commits.strip():
        raw = _git(repo, "diff-tree", "--stdin", "-r", "-m", "--root", "--no-renames",
                   "--raw", "--no-abbrev", "-z", stdin=commits)  # fmt: skip
        tokens = raw.split("\0")
        commit = ""
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.startswith(":"):
                meta = token[1:].split()
                path = tokens[index + 1] if index + 1 < len(tokens) else ""
                index += 2
                if len(meta) >= 5 and meta[1].startswith("100") and meta[3] != _ZERO:
                    before = meta[2] if meta[0].startswith("100") and meta[2] != _ZERO else ""
                    blobs.setdefault(meta[3], (commit, path, before))
                continue
            if len(token) == 40:
                commit = token
            index += 1
    for line in _git(repo, "rev-list", "--objects", "--all").splitlines():
        blob, _, path = line.partition(" ")
        if path and blob not in blobs and not path.endswith("/"):
            blobs.setdefault(blob, ("", path, ""))  # trees: skipped by cat-file's type below
    return blobs


def _new_lines_only(data: bytes, previous: bytes | None, suffix: str) -> bytes:
    """A text blob with the lines its previous version already had blanked (their findings
    belong to the commit that introduced them, as gitleaks reads ``git log -p``), keeping
    line numbers; notebooks and binary files are returned whole (see ``scan_file``)."""
    if previous is None or suffix == ".ipynb" or b"\0" in data[:8192] or b"\0" in previous[:8192]:
        return data
    seen = set(previous.splitlines())
    return b"\n".join(b"" if line in seen else line for line in data.splitlines()) + b"\n"


def _skipped(path: str, excluded: set[str]) -> bool:
    parts = PurePosixPath(path).parts
    return path in excluded or any(p in SKIPPED_FOLDERS for p in parts[:-1])


def scan_history(
    path: str | Path = ".", *, allow: Iterable[str] = (), exclude: Iterable[str | Path] = ()
) -> list[Finding]:
    """Findings in every blob of the history of the repository holding ``path``; each names
    the file (relative to the current folder), the line, the kind and the commit."""
    repo = repository_root(path)
    excluded = set()
    for item in exclude:
        try:
            excluded.add(Path(os.path.abspath(item)).relative_to(repo).as_posix())
        except ValueError:
            continue
    blobs = {b: cp for b, cp in introduced(repo).items() if not _skipped(cp[1], excluded)}
    if not blobs:
        return []
    git = shutil.which("git")
    assert git is not None  # checked by introduced()
    findings: list[Finding] = []
    with (
        tempfile.TemporaryDirectory(prefix="guardlib-history-") as scratch,
        Engine(allow) as engine,
    ):
        batch = subprocess.Popen(
            [git, "cat-file", "--batch"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
        assert batch.stdin is not None and batch.stdout is not None
        stdin, stdout = batch.stdin, batch.stdout

        def read(blob: str) -> bytes | None:
            stdin.write(f"{blob}\n".encode())
            stdin.flush()
            header = stdout.readline().decode().split()
            if len(header) < 3 or header[1] == "missing":
                return None
            size = int(header[2])
            data = stdout.read(size)
            stdout.read(1)  # the newline after the content
            return data if header[1] == "blob" and size <= _MAX_BLOB else None

        try:
            for number, (blob, (commit, blob_path, before)) in enumerate(blobs.items()):
                data = read(blob)
                if data is None:
                    continue
                previous = read(before) if before else None
                copy = Path(scratch) / str(number)
                copy.mkdir()
                file = copy / PurePosixPath(blob_path).name
                file.write_bytes(_new_lines_only(data, previous, file.suffix))
                shown = os.path.relpath(repo / blob_path)
                earlier = previous.decode("utf-8", "replace") if previous is not None else None
                for finding in scan_file(file, engine, previous=earlier):
                    findings.append(
                        Finding(
                            shown,
                            finding.line,
                            finding.kind,
                            finding.fingerprint,
                            finding.where,
                            finding.advice.replace(str(file), shown),
                            commit,
                        )  # fmt: skip
                    )
                shutil.rmtree(copy)
        finally:
            stdin.close()
            batch.wait(timeout=30)
    return findings
