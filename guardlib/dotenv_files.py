"""``.env`` files on top of python-dotenv, with reports that name keys and never values.

The parser is python-dotenv's (``dotenv_values`` / ``load_dotenv``); guardlib only adds:

* strict checks before anything is applied: the file exists, is a regular file, is valid
  text, and every line parses (python-dotenv itself only logs *"could not parse statement
  starting at line N"* and carries on);
* a :class:`LoadReport` listing which keys were loaded and which were skipped because the
  variable was already set;
* explicit override semantics. ``load_dotenv()`` does **not** override variables that are already
  set (``override=False`` is its default), while the ``dotenv run`` command **does** (its
  ``--override`` flag defaults to on). :func:`load_env_file` makes you say which one you want;
* :func:`git_status` -- would git commit this file?  (``git check-ignore`` / ``git ls-files``);
* :func:`compare_with_example` -- which keys of ``.env.example`` are missing from ``.env``.

A failed load changes nothing: not the file, and not ``os.environ``.

Every public function is wrapped in :func:`~guardlib.secret.forget_locals`: when one raises, the
frames it ran (ours, python-dotenv's, ``subprocess``'s) keep no local variables, so a traceback
that prints locals shows neither the file's text nor a copy of the environment.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from guardlib.errors import (
    DotenvEncodingError,
    DotenvNotAFileError,
    DotenvNotFoundError,
    DotenvParseError,
)
from guardlib.secret import forget_locals

_DOTENV_LOGGER = "dotenv.main"
_PARSE_WARNING = re.compile(r"python-dotenv could not parse statement starting at line (\d+)")


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_env_file` did. Keys only: a report is safe to print or log."""

    path: str
    override: bool
    loaded: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # already set in the environment and override=False
    overridden: tuple[str, ...] = ()  # already set, replaced because override=True
    #: line numbers of lines without ``=`` (python-dotenv sets nothing for them). By number
    #: only: such a line may be a token pasted alone, so its text is never repeated.
    bare_lines: tuple[int, ...] = ()
    disabled: bool = False  # PYTHON_DOTENV_DISABLED is set: python-dotenv loaded nothing

    def __str__(self) -> str:
        def keys(names: tuple[str, ...]) -> str:
            return ", ".join(names) if names else "(none)"

        lines = [f"Loaded from {self.path} (override={self.override}):"]
        if self.disabled:
            lines.append("  nothing: PYTHON_DOTENV_DISABLED is set")
        lines.append(f"  loaded:  {keys(self.loaded)}")
        if self.overridden:
            lines.append(f"  replaced existing values: {keys(self.overridden)}")
        lines.append(f"  skipped, already set: {keys(self.skipped)}")
        if self.bare_lines:
            lines.append(f"  ignored, no '=' (a value alone?): {_line_list(self.bare_lines)}")
        return "\n".join(lines)


@contextmanager
def _capture_parse_warnings() -> Iterator[list[int]]:
    """Collect python-dotenv's "could not parse" line numbers instead of letting it log them."""
    lines: list[int] = []

    def grab(record: logging.LogRecord) -> bool:
        # match the formatted text: a filter that ran first (a RedactingFilter on this logger)
        # may already have merged record.args into record.msg
        try:
            found = _PARSE_WARNING.fullmatch(record.getMessage())
        except Exception:
            return True
        if found is None:
            return True
        lines.append(int(found.group(1)))
        return False  # swallow: we report it as an error ourselves

    logger = logging.getLogger(_DOTENV_LOGGER)
    logger.addFilter(grab)
    try:
        yield lines
    finally:
        logger.removeFilter(grab)


def _display(path: str | os.PathLike[str]) -> str:
    return os.fspath(path)


@forget_locals
def read_env_file(
    path: str | os.PathLike[str] = ".env", *, encoding: str = "utf-8", interpolate: bool = True
) -> dict[str, str | None]:
    """Parse ``path`` strictly with python-dotenv and return ``{key: value}``.

    Raises a :class:`~guardlib.errors.DotenvError` subclass (never showing a value) when the file
    is missing, is a directory, is not valid ``encoding`` text, or has a line python-dotenv
    cannot parse. Interpolation (``${OTHER}``) follows ``dotenv_values``.
    """
    from dotenv import dotenv_values

    shown = _display(path)
    text = _read_text(path, encoding)
    with _capture_parse_warnings() as bad_lines:
        values = dotenv_values(stream=io.StringIO(text), interpolate=interpolate)
    _check_parsed(shown, bad_lines, values)
    return dict(values)


def _read_text(path: str | os.PathLike[str], encoding: str) -> str:
    shown = _display(path)
    p = Path(path)
    if not p.exists():
        raise DotenvNotFoundError(
            shown,
            f"{shown}: no such file. Create it from .env.example (cp .env.example .env), "
            f"or pass the right path.",
        )
    if p.is_dir():
        raise DotenvNotAFileError(
            shown, f"{shown} is a directory, not a .env file. Pass the path of the file itself."
        )
    if not p.is_file():
        raise DotenvNotAFileError(shown, f"{shown} is not a regular file.")
    try:
        data = p.read_bytes()
    except PermissionError:
        denied = True
    else:
        denied = False
    if denied:
        raise DotenvNotAFileError(shown, f"{shown}: permission denied while reading it.")
    bad_at = -1
    text = ""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    except LookupError:
        bad_at = -2
    if bad_at == -2:
        raise DotenvEncodingError(shown, 0, encoding, f"{shown}: unknown encoding {encoding!r}.")
    if bad_at >= 0:
        line = data.count(b"\n", 0, bad_at) + 1
        raise DotenvEncodingError(
            shown,
            line,
            encoding,
            f"{shown} is not valid {encoding} text (first bad byte on line {line}). "
            f"Re-save it as {encoding}; the content is not shown.",
        )
    if text.startswith("\ufeff"):
        text = text[1:]  # a BOM from Windows editors would otherwise become part of the key
    return text


def _check_parsed(shown: str, bad_lines: list[int], values: dict[str, str | None]) -> None:
    if bad_lines:
        where = ", ".join(str(n) for n in bad_lines)
        noun = "line" if len(bad_lines) == 1 else "lines"
        raise DotenvParseError(
            shown,
            tuple(bad_lines),
            f"{shown}: python-dotenv could not parse the statement starting at {noun} {where}. "
            f"Expected KEY=value (quote values that contain spaces or #). "
            f"Nothing was loaded; the content is not shown.",
        )
    if not all(_exportable(key, value) for key, value in values.items()):
        raise DotenvParseError(
            shown,
            (),
            f"{shown}: a key or value cannot be exported to the environment (empty key, '=' in "
            f"a key, a NUL character, or text the environment cannot encode). Nothing was loaded.",
        )


def _exportable(key: str, value: str | None) -> bool:
    if not key or "=" in key or "\x00" in key or (value is not None and "\x00" in value):
        return False
    try:  # what os.environ[key] = value does; it would raise halfway through a load
        os.fsencode(key)
        if value is not None:
            os.fsencode(value)
    except UnicodeError:
        return False
    return True


@forget_locals
def load_env_file(
    path: str | os.PathLike[str] = ".env",
    *,
    override: bool = False,
    encoding: str = "utf-8",
    interpolate: bool = True,
) -> LoadReport:
    """Validate ``path`` fully, then load it into ``os.environ`` with python-dotenv.

    ``override=False`` (python-dotenv's ``load_dotenv`` default) keeps variables that are
    already set; ``override=True`` (what ``dotenv run`` does) replaces them. The report says which
    keys went which way. On any error nothing is applied.
    """
    from dotenv import load_dotenv
    from dotenv.main import DotEnv

    shown = _display(path)
    text = _read_text(path, encoding)
    # Parse exactly as load_dotenv will (same override rule for ${VAR} interpolation).
    with _capture_parse_warnings() as bad_lines:
        values = DotEnv(
            dotenv_path=None,
            stream=io.StringIO(text),
            interpolate=interpolate,
            override=override,
        ).dict()
    _check_parsed(shown, bad_lines, dict(values))

    before = dict(os.environ)
    disabled = os.environ.get("PYTHON_DOTENV_DISABLED", "").casefold() in {
        "1",
        "true",
        "t",
        "yes",
        "y",
    }  # the same switch python-dotenv's load_dotenv honours
    if disabled:
        return LoadReport(path=shown, override=override, disabled=True)
    loaded: list[str] = []
    skipped: list[str] = []
    overridden: list[str] = []
    for key, value in values.items():
        if value is None:
            continue  # a line without '=': reported by its line number only
        if key in before and not override:
            skipped.append(key)
        else:
            loaded.append(key)
            if key in before:
                overridden.append(key)
    try:
        with _capture_parse_warnings():
            load_dotenv(stream=io.StringIO(text), override=override, interpolate=interpolate)
    except BaseException:
        # all-or-nothing: put the environment back exactly as it was
        for key in values:
            if key in before:
                os.environ[key] = before[key]
            else:
                os.environ.pop(key, None)
        raise
    return LoadReport(
        path=shown,
        override=override,
        loaded=tuple(loaded),
        skipped=tuple(skipped),
        overridden=tuple(overridden),
        bare_lines=_bare_lines(text, values),
    )


@dataclass(frozen=True)
class GitStatus:
    """Whether git would protect a file. ``safe`` is True only if git ignores it and does not
    track it (or the folder is not a git repository at all)."""

    path: str
    in_repository: bool
    ignored: bool
    tracked: bool
    git_available: bool = True
    problems: tuple[str, ...] = field(default=())

    @property
    def safe(self) -> bool:
        return self.git_available and not self.problems

    def __str__(self) -> str:
        if not self.git_available:
            return f"{self.path}: git is not installed, cannot check."
        if not self.in_repository:
            return f"{self.path}: not inside a git repository (nothing to commit it to)."
        if not self.problems:
            return f"{self.path}: OK, git ignores it and does not track it."
        return f"{self.path}: PROBLEM\n" + "\n".join(f"  - {p}" for p in self.problems)


@forget_locals
def git_status(path: str | os.PathLike[str] = ".env") -> GitStatus:
    """Ask git whether ``path`` would be committed: ``git check-ignore`` and ``git ls-files``.

    Works for a file that does not exist yet (``check-ignore`` tests the pattern). Runs git in
    the file's folder, so the answer is about the repository that contains the file.
    """
    shown = _display(path)
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    git = shutil.which("git")
    if git is None:
        return GitStatus(shown, False, False, False, git_available=False)
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [git, *args], cwd=folder, capture_output=True, text=True, env=env, check=False
        )

    inside = run("rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return GitStatus(shown, False, False, False)
    name = p.name
    tracked = run("ls-files", "--error-unmatch", "--", name).returncode == 0
    # --no-index: answer from the ignore rules even if the file is already tracked
    ignored = run("check-ignore", "-q", "--no-index", "--", name).returncode == 0
    problems: list[str] = []
    if tracked:
        problems.append(
            "git already TRACKS it: it is in the history. Rotate every secret in it, then "
            "`git rm --cached " + name + "` and commit."
        )
    if not ignored:
        problems.append(f"git does NOT ignore it: add `{name}` to .gitignore.")
    return GitStatus(shown, True, ignored, tracked, problems=tuple(problems))


@dataclass(frozen=True)
class ExampleComparison:
    """Keys of ``.env`` against the committed ``.env.example`` (keys only, never values).

    A line without ``=`` is no key: it may be a token pasted alone, so it is named by its line
    number (``bare_lines``, ``example_bare_lines``), never by its text."""

    missing: tuple[str, ...]  # in .env.example, not in .env: your app will fail to start
    extra: tuple[str, ...]  # in .env, not in .env.example: document them for your teammates
    bare_lines: tuple[int, ...] = ()  # lines of .env without '='
    example_bare_lines: tuple[int, ...] = ()  # lines of .env.example without '='

    @property
    def ok(self) -> bool:
        return not self.missing

    def __str__(self) -> str:
        def keys(names: tuple[str, ...]) -> str:
            return ", ".join(names) if names else "(none)"

        text = f"missing from .env: {keys(self.missing)}\nnot in .env.example: {keys(self.extra)}"
        if self.bare_lines:
            text += f"\n.env lines without '=' (ignored): {_line_list(self.bare_lines)}"
        if self.example_bare_lines:
            text += (f"\n.env.example lines without '=' (ignored): "
                     f"{_line_list(self.example_bare_lines)}")  # fmt: skip
        return text


@forget_locals
def compare_with_example(
    env_path: str | os.PathLike[str] = ".env",
    example_path: str | os.PathLike[str] = ".env.example",
    *,
    encoding: str = "utf-8",
) -> ExampleComparison:
    """Compare the keys of ``env_path`` and ``example_path`` (both parsed by python-dotenv).
    Lines without ``=`` are no keys: they are reported by line number only."""
    env_keys = read_env_file(env_path, encoding=encoding, interpolate=False)
    example_keys = read_env_file(example_path, encoding=encoding, interpolate=False)
    env_bare = _bare_lines(_read_text(env_path, encoding), env_keys)
    example_bare = _bare_lines(_read_text(example_path, encoding), example_keys)
    env_set = {k for k, v in env_keys.items() if v is not None}
    example_set = {k for k, v in example_keys.items() if v is not None}
    return ExampleComparison(
        missing=tuple(k for k in example_keys if k in example_set and k not in env_set),
        extra=tuple(k for k in env_keys if k in env_set and k not in example_set),
        bare_lines=env_bare,
        example_bare_lines=example_bare,
    )


def _line_list(numbers: tuple[int, ...]) -> str:
    return ", ".join(f"line {n}" for n in numbers)


def _bare_lines(text: str, values: Mapping[str, str | None]) -> tuple[int, ...]:
    """The line numbers of the lines without ``=`` whose key python-dotenv left unset
    (``values[key] is None``), from python-dotenv's own parser."""
    from dotenv.parser import parse_stream

    bare = {key for key, value in values.items() if value is None}
    if not bare:
        return ()
    lines = [_first_line(b.original.string, b.original.line) for b in parse_stream(
             io.StringIO(text)) if not b.error and b.key in bare and b.value is None]  # fmt: skip
    return tuple(sorted(set(lines)))


def _first_line(original: str, line: int) -> int:
    """python-dotenv's binding starts at the blank lines before it: skip them."""
    lead = len(original) - len(original.lstrip())
    return line + original[:lead].count("\n")
