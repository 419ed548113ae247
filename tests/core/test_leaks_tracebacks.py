"""No value read by guardlib shows up in a traceback rendered with local variables.

Each case calls a public function of guardlib.env / guardlib.dotenv_files (or ``Secret``) so that
it raises, then renders the exception -- and every exception chained to it, even a suppressed
``__context__`` -- the ways a user would: ``traceback`` with ``capture_locals=True``, IPython's
``%xmode Verbose`` (``verbose_traceback``), ``rich.traceback`` with ``show_locals=True`` (when
rich is installed), and the raw ``f_locals`` of every frame still on the traceback.

The value is never a local of this module's frames that end up on the traceback: it reaches the
library through ``os.environ``, a file, or a helper call (``_environ()``), so a hit means a
library frame (or the exception itself) kept it.
"""

from __future__ import annotations

import io
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from guardlib import Secret, env
from guardlib.dotenv_files import compare_with_example, git_status, load_env_file, read_env_file
from guardlib.redact import verbose_traceback

LEAK = "demo-not-a-real-key-LEAK-1234"
SET_VAR = "GUARD_LEAK_SET"  # always in os.environ during these tests: a frame holding
#                             os.environ (or a copy) would print it


def _leak_value() -> str:
    return LEAK


def _environ(*names: str) -> dict[str, str]:
    return {name: LEAK for name in (*names, "OTHER_SECRET")}


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is f for f in found):
            continue
        found.append(e)
        todo += [e.__cause__, e.__context__]  # __context__ even when suppressed (from None)
    return found


def _frames(tb: TracebackType | None) -> list[Any]:
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _rich(exc: BaseException) -> str:
    try:
        from rich.console import Console
        from rich.traceback import Traceback
    except ImportError:
        return ""
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    console.print(
        Traceback.from_exception(
            type(exc),
            exc,
            exc.__traceback__,
            show_locals=True,
            locals_max_string=100_000,
            locals_max_length=100_000,
        )
    )
    return out.getvalue()


def _renderings(exc: BaseException) -> dict[str, str]:
    shown: dict[str, str] = {}
    for i, e in enumerate(_chain(exc)):
        name = f"{i}:{type(e).__name__}"
        shown[f"{name} str/repr/attributes"] = str(e) + repr(e) + repr(vars(e)) + repr(e.args)
        shown[f"{name} capture_locals"] = "".join(
            traceback.TracebackException.from_exception(e, capture_locals=True).format()
        )
        shown[f"{name} verbose_traceback"] = verbose_traceback(e)
        shown[f"{name} rich"] = _rich(e)
        shown[f"{name} f_locals"] = repr([dict(f.f_locals) for f in _frames(e.__traceback__)])
    return shown


def _raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not raise")


def _assert_nowhere(exc: BaseException) -> None:
    leaks = [where for where, text in _renderings(exc).items() if LEAK in text]
    assert leaks == [], f"{type(exc).__name__} shows the value in: {leaks}"


@pytest.fixture(autouse=True)
def _value_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SET_VAR, LEAK)
    for name in ("GUARD_LEAK_MISSING", "GUARD_LEAK_A", "GUARD_LEAK_B"):
        monkeypatch.delenv(name, raising=False)


def _keeps_it_in_a_local(api_key: str) -> None:
    raise ConnectionError("unreachable")


def test_the_renderings_do_show_locals() -> None:
    """Control: the harness sees a value a frame keeps (so the tests below can fail)."""
    exc = _raised(lambda: _keeps_it_in_a_local(_leak_value()))
    renderings = _renderings(exc)
    for kind in ("capture_locals", "verbose_traceback", "f_locals"):
        assert LEAK in renderings[f"0:ConnectionError {kind}"], kind


def test_rich_renders_locals_too() -> None:
    pytest.importorskip("rich")
    exc = _raised(lambda: _keeps_it_in_a_local(_leak_value()))
    assert LEAK in _renderings(exc)["0:ConnectionError rich"]


URL_WITH_BAD_PORT = f"https://user:{LEAK}@db.example.invalid:port"

# The calls and the values live apart: IPython's verbose traceback prints the globals a shown
# statement uses, and a list holding both would print the values from this module's frame.
ENV_CALLS: dict[str, Callable[[], object]] = {
    "require-missing": lambda: env.require("GUARD_LEAK_MISSING"),
    "require-empty": lambda: env.require("GUARD_LEAK_A"),
    "require-missing-mapping": lambda: env.require("X", environ=_environ()),
    "required-alias": lambda: env.required("GUARD_LEAK_MISSING"),
    "require-name-not-str": lambda: env.require(123),  # type: ignore[arg-type]
    "optional-name-not-str": lambda: env.optional(b"X"),  # type: ignore[call-overload]
    "integer-bad": lambda: env.integer("GUARD_LEAK_A"),
    "integer-bad-mapping": lambda: env.integer("P", environ=_environ("P")),
    "integer-missing": lambda: env.integer("GUARD_LEAK_MISSING"),
    "boolean-bad": lambda: env.boolean("GUARD_LEAK_A"),
    "boolean-bad-mapping": lambda: env.boolean("B", environ=_environ("B")),
    "url-bad-port": lambda: env.url("GUARD_LEAK_A"),
    "url-bad-scheme": lambda: env.url("GUARD_LEAK_A"),
    "url-missing": lambda: env.url("GUARD_LEAK_MISSING"),
    "json-bad": lambda: env.json_value("GUARD_LEAK_A"),
    "json-too-deep": lambda: env.json_value("GUARD_LEAK_A"),
    "json-missing": lambda: env.json_value("GUARD_LEAK_MISSING"),
}
ENV_VALUES: dict[str, str] = {  # put in os.environ as GUARD_LEAK_A
    "require-empty": "",
    "integer-bad": LEAK,
    "boolean-bad": LEAK,
    "url-bad-port": URL_WITH_BAD_PORT,
    "url-bad-scheme": f"ftp://{LEAK}@h.example.invalid",
    "json-bad": '{"token": "' + LEAK + '"',
    "json-too-deep": "[" * 100_000 + LEAK,
}


@pytest.mark.parametrize("case", list(ENV_CALLS))
def test_env_errors_keep_no_value(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if case in ENV_VALUES:
        monkeypatch.setenv("GUARD_LEAK_A", ENV_VALUES[case])
    exc = _raised(ENV_CALLS[case])
    assert isinstance(exc, (KeyError, ValueError, TypeError))
    _assert_nowhere(exc)


def test_env_error_raised_while_the_caller_handles_another_keeps_the_callers_frames() -> None:
    """Only frames of the library call are cleared: the caller's own exception is untouched."""
    try:
        try:
            mine = "caller-local-kept"
            raise RuntimeError("the caller's own error")
        except RuntimeError:
            env.integer("P", environ=_environ("P"))
    except ValueError as exc:
        err = exc
    _assert_nowhere(err)
    own = err.__context__
    assert isinstance(own, RuntimeError)
    assert mine in repr(_frames(own.__traceback__)[0].f_locals)


# -- .env files --------------------------------------------------------------------------------
DOTENV_CALLS: dict[str, Callable[[Path], object]] = {
    "read-bad-line": lambda d: read_env_file(d / ".env"),
    "load-bad-line": lambda d: load_env_file(d / ".env"),
    "load-nul": lambda d: load_env_file(d / ".env", override=True),
    "load-not-utf8": lambda d: load_env_file(d / ".env"),
    "read-unknown-encoding": lambda d: read_env_file(d / ".env", encoding="no-such-codec"),
    # a lone surrogate: os.environ refuses it
    "load-value-the-environment-cannot-hold": lambda d: load_env_file(
        d / ".env", encoding="unicode_escape"
    ),
    "load-missing": lambda d: load_env_file(d / "nope.env"),
    "read-directory": lambda d: read_env_file(d),
    "compare-bad-env": lambda d: compare_with_example(d / ".env", d / ".env.example"),
    "compare-missing-example": lambda d: compare_with_example(d / ".env", d / ".env.example"),
    "git-status-folder-missing": lambda d: git_status(d / "gone" / ".env"),
}
DOTENV_FILES: dict[str, dict[str, bytes]] = {  # files written in the folder first
    "read-bad-line": {".env": f"GUARD_LEAK_A={LEAK}\nGUARD_LEAK_B='{LEAK}\n".encode()},
    "load-bad-line": {".env": f"GUARD_LEAK_A={LEAK}\nnot a statement {LEAK}\n".encode()},
    "load-nul": {".env": f'GUARD_LEAK_A={LEAK}\nGUARD_LEAK_B="{LEAK}\x00"\n'.encode()},
    "load-not-utf8": {".env": f"GUARD_LEAK_A={LEAK}\nGUARD_LEAK_B=caf".encode() + b"\xe9\n"},
    "read-unknown-encoding": {".env": f"GUARD_LEAK_A={LEAK}\n".encode()},
    "load-value-the-environment-cannot-hold": {
        ".env": f"GUARD_LEAK_A={LEAK}\nGUARD_LEAK_B={LEAK}\\ud800\n".encode()
    },
    "compare-bad-env": {
        ".env": f"GUARD_LEAK_A='{LEAK}\n".encode(),
        ".env.example": b"GUARD_LEAK_A=\n",
    },
    "compare-missing-example": {".env": f"GUARD_LEAK_A={LEAK}\n".encode()},
}


@pytest.mark.parametrize("case", list(DOTENV_CALLS))
def test_dotenv_errors_keep_no_value(case: str, tmp_path: Path, restore_environ: None) -> None:
    for name, content in DOTENV_FILES.get(case, {}).items():
        (tmp_path / name).write_bytes(content)
    before = dict(os.environ)
    call = DOTENV_CALLS[case]
    exc = _raised(lambda: call(tmp_path))
    assert isinstance(exc, (OSError, ValueError))
    _assert_nowhere(exc)
    assert dict(os.environ) == before  # and nothing was applied


def test_value_the_environment_cannot_hold_is_a_parse_error(tmp_path: Path) -> None:
    from guardlib import DotenvParseError

    (tmp_path / ".env").write_bytes(b"GUARD_LEAK_A=ok\\ud800\n")
    with pytest.raises(DotenvParseError, match="cannot be exported"):
        load_env_file(tmp_path / ".env", encoding="unicode_escape")


# -- Secret itself -----------------------------------------------------------------------------
def test_secret_with_a_bad_name_keeps_no_value() -> None:
    exc = _raised(lambda: Secret(_leak_value(), name=123))  # type: ignore[arg-type]
    assert isinstance(exc, TypeError)
    _assert_nowhere(exc)
