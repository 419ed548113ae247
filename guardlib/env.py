"""Read environment variables as :class:`~guardlib.secret.Secret` values, with safe errors.

* :func:`require` -- the variable must be set (and non-empty); otherwise
  :class:`~guardlib.errors.MissingVariableError` explains how to set it in bash, PowerShell
  and a ``.env`` file.
* :func:`optional` -- fall back to a default.
* :func:`integer`, :func:`boolean`, :func:`url`, :func:`json_value` -- typed variables. They are
  required unless you pass ``default=``. Numbers and flags are configuration, not secrets, and
  come back as plain ``int``/``bool``; a URL (it may carry a password) and a JSON document (it
  may carry tokens) stay wrapped in a ``Secret``. A malformed value raises
  :class:`~guardlib.errors.InvalidVariableError`, which names the variable and the expected type
  but never the value.

Every error is raised *outside* the ``except`` block that detected the problem, so the
original exception (``int()``'s message and ``JSONDecodeError.doc`` both contain the value) is
not even attached as ``__context__``. Inside, a value read from the environment is held in a
``Secret``, and every public function is wrapped in :func:`~guardlib.secret.forget_locals`: when
it raises, the frames it ran keep no local variables (no value, no ``environ`` mapping) for a
traceback that prints locals -- ``capture_locals=True``, ``%xmode Verbose``, ``rich``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from guardlib.errors import InvalidVariableError, MissingVariableError
from guardlib.secret import Secret, forget_locals

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_MISSING: Any = _Missing()

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f"})


def how_to_set(name: str) -> str:
    """Return instructions for setting ``name`` in bash/zsh, PowerShell and a ``.env`` file."""
    return (
        f"Set it before starting Python, for example:\n"
        f"  bash/zsh:    export {name}='...'\n"
        f'  PowerShell:  $env:{name} = "..."\n'
        f"  .env file:   {name}=...   (git-ignored; load it with guardlib.load_env_file)"
    )


def _read(name: str, environ: Mapping[str, str] | None, allow_empty: bool) -> Secret[str] | None:
    if not isinstance(name, str):
        # os.environ would raise from inside its own methods, whose `self` prints every variable
        raise TypeError(f"a variable name must be a str, not {type(name).__name__}")
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or (raw == "" and not allow_empty):
        return None
    return Secret(raw, name=name)


def _missing(name: str, environ: Mapping[str, str] | None) -> MissingVariableError:
    empty = (os.environ if environ is None else environ).get(name) == ""
    state = "is set but empty" if empty else "is not set"
    return MissingVariableError(name, f"Environment variable {name} {state}.\n{how_to_set(name)}")


@forget_locals
def require(
    name: str, *, environ: Mapping[str, str] | None = None, allow_empty: bool = False
) -> Secret[str]:
    """Return the variable ``name`` as a ``Secret``; raise ``MissingVariableError`` if unset."""
    found = _read(name, environ, allow_empty)
    if found is None:
        raise _missing(name, environ)
    return found


@overload
def optional(
    name: str,
    default: str,
    *,
    environ: Mapping[str, str] | None = ...,
    allow_empty: bool = ...,
) -> Secret[str]: ...
@overload
def optional(
    name: str,
    default: None = ...,
    *,
    environ: Mapping[str, str] | None = ...,
    allow_empty: bool = ...,
) -> Secret[str] | None: ...
@forget_locals
def optional(
    name: str,
    default: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    allow_empty: bool = False,
) -> Secret[str] | None:
    """Return the variable as a ``Secret``, or ``default`` (wrapped) when it is unset.

    With no default, an unset variable gives ``None`` (test it with ``is None``).
    """
    found = _read(name, environ, allow_empty)
    if found is None:
        return None if default is None else Secret(default, name=name)
    return found


def _typed(
    name: str,
    default: Any,
    environ: Mapping[str, str] | None,
    expected: str,
    parse: Callable[[str], T],
) -> Secret[T]:
    """The parsed value, wrapped (the raw text is held in a Secret while it is parsed)."""
    found = _read(name, environ, allow_empty=False)
    if found is None:
        if default is _MISSING:
            raise _missing(name, environ)
        return Secret(default, name=name)
    ok = True
    value: Any = None
    try:
        value = parse(found.reveal())
    except (ValueError, TypeError, RecursionError):
        ok = False
    if not ok:
        # raised here, outside the except block: no __context__ carrying the value
        raise InvalidVariableError(
            name,
            expected,
            f"Environment variable {name} is set but is not {expected}. "
            f"(The value is not shown, because it may be a secret.)",
        )
    return Secret(value, name=name)


def _parse_int(raw: str) -> int:
    text = raw.strip()
    # int() accepts "1_000" and non-ASCII digits; configuration should not
    if not text.lstrip("+-").isascii() or not text.lstrip("+-").isdigit():
        raise ValueError
    return int(text)


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError


@forget_locals
def integer(name: str, *, default: int = _MISSING, environ: Mapping[str, str] | None = None) -> int:
    """Read an integer such as ``8080`` (required unless ``default`` is given).

    A number is configuration, not a secret, so it comes back as a plain ``int``. The error
    for a malformed value still never shows it: a key pasted into the wrong variable is one.
    """
    parsed: int = _typed(name, default, environ, "an integer (like 8080)", _parse_int).reveal()
    return parsed


@forget_locals
def boolean(
    name: str, *, default: bool = _MISSING, environ: Mapping[str, str] | None = None
) -> bool:
    """Read a boolean: 1/true/yes/on or 0/false/no/off (case-insensitive), as a plain ``bool``.

    Python's ``bool("false")`` is ``True``; this helper exists so that never bites you. The
    error for anything else never shows the value.
    """
    expected = "a boolean (true/false, 1/0, yes/no, on/off)"
    parsed: bool = _typed(name, default, environ, expected, _parse_bool).reveal()
    return parsed


@forget_locals
def url(
    name: str,
    *,
    default: str = _MISSING,
    schemes: tuple[str, ...] = ("http", "https"),
    environ: Mapping[str, str] | None = None,
) -> Secret[str]:
    """Read a URL with one of ``schemes`` and a host. The value (it may hold a password) stays
    wrapped; only the scheme list appears in errors."""

    def parse(raw: str) -> str:
        parts = urlsplit(raw.strip())
        if parts.scheme.lower() not in schemes or not parts.netloc:
            raise ValueError
        _ = parts.port  # raises ValueError for a non-numeric or out-of-range port
        return raw.strip()

    expected = "a URL with scheme " + " or ".join(f"{s}://" for s in schemes)
    return _typed(name, default, environ, expected, parse)


@forget_locals
def json_value(
    name: str, *, default: Any = _MISSING, environ: Mapping[str, str] | None = None
) -> Secret[Any]:
    """Read a JSON document (object, list, number, ...) and return it parsed, wrapped."""
    return _typed(name, default, environ, "valid JSON", json.loads)


# ``env.required(...)`` reads naturally too; same function.
required = require
