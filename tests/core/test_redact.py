"""Unit tests for guardlib.redact: log records and tracebacks are scrubbed."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from guardlib import MASK, RedactingFilter, Redactor, Secret, redact_logger
from guardlib.errors import RedactionError
from guardlib.redact import format_exception, install_excepthook, verbose_traceback

VALUE = "demo-not-a-real-key-1234"
OTHER = "demo-not-a-real-password-replace-me"


def _capture(logger: logging.Logger, fmt: str = "%(levelname)s %(message)s") -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    return stream


def test_scrub_longest_first_and_escaped_forms() -> None:
    redactor = Redactor([VALUE, VALUE + "-longer"])
    assert redactor.scrub(f"a {VALUE}-longer b {VALUE}") == f"a {MASK} b {MASK}"
    tricky = "demo-quote'and\\backslash"
    redactor.register(tricky)
    assert tricky not in redactor.scrub(repr(tricky))
    assert "backslash" not in redactor.scrub(repr({"k": tricky}))
    assert redactor.scrub("nothing here") == "nothing here"


def test_short_values_are_refused() -> None:
    with pytest.raises(RedactionError):
        Redactor(["abc"])


def test_bytes_and_secret_values() -> None:
    redactor = Redactor([Secret(VALUE), b"demo-bytes-value"])
    assert VALUE not in redactor.scrub(f"x {VALUE}")
    assert "demo-bytes-value" not in redactor.scrub(repr(b"demo-bytes-value"))


def test_filter_scrubs_message_args_and_extra(isolated_logger: logging.Logger) -> None:
    stream = _capture(isolated_logger, "%(message)s %(user_token)s")
    flt = redact_logger(isolated_logger, Secret(VALUE, name="API_KEY"), OTHER)
    assert isinstance(flt, RedactingFilter)
    isolated_logger.warning("raw " + VALUE, extra={"user_token": "-"})
    isolated_logger.warning("arg %s and %r", VALUE, {"password": OTHER}, extra={"user_token": "-"})
    isolated_logger.warning("extra", extra={"user_token": VALUE})
    out = stream.getvalue()
    assert VALUE not in out and OTHER not in out
    assert out.count(MASK) == 4


def test_filter_scrubs_exceptions(isolated_logger: logging.Logger) -> None:
    stream = _capture(isolated_logger)
    redact_logger(isolated_logger, VALUE)
    try:
        raise ConnectionError(f"refused key {VALUE}")
    except ConnectionError:
        isolated_logger.exception("request failed")
    try:
        try:
            raise KeyError(VALUE)
        except KeyError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        isolated_logger.error("chained", exc_info=True)
    isolated_logger.warning("with stack", stack_info=True)
    out = stream.getvalue()
    assert "ConnectionError" in out and "Traceback" in out
    assert VALUE not in out


def test_filter_on_handler_covers_child_loggers(isolated_logger: logging.Logger) -> None:
    stream = _capture(isolated_logger)
    isolated_logger.propagate = False
    redact_logger(isolated_logger, VALUE)
    child = logging.getLogger(isolated_logger.name + ".child")
    child.warning("child says %s", VALUE)  # reaches the parent's handler, not its filter
    assert VALUE not in stream.getvalue()
    assert MASK in stream.getvalue()


def test_filter_on_a_handler_only() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact_logger(handler, VALUE)
    logger = logging.getLogger("guardlib-test.handler-only")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("k=%s", VALUE)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == f"k={MASK}"


def test_broken_format_string_does_not_dump_args(
    isolated_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = _capture(isolated_logger)
    redact_logger(isolated_logger, VALUE)
    isolated_logger.warning("two placeholders %s %s", VALUE)  # wrong number of args
    assert VALUE not in stream.getvalue() + capsys.readouterr().err
    assert "arguments not shown" in stream.getvalue()


def test_format_exception_and_excepthook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    redactor = Redactor([VALUE])
    try:
        raise ValueError(f"bad {VALUE}")
    except ValueError as exc:
        text = format_exception(exc, redactor)
        caught = exc
    assert "ValueError: bad " + MASK in text
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(redactor)
    sys.excepthook(type(caught), caught, caught.__traceback__)
    err = capsys.readouterr().err
    assert VALUE not in err and MASK in err


def _connect(url: str, key: object) -> None:
    raise ConnectionError("payment service unreachable")


def _handler_code(api_key: object) -> None:
    _connect("https://payments.example.invalid", api_key)


def test_verbose_traceback_shows_locals_and_secret_hides_them() -> None:
    try:
        _handler_code(VALUE)
    except ConnectionError as exc:
        leaky = verbose_traceback(exc)
    # (the test's own frame shows the module-level VALUE: look at the frames below it)
    leaky = leaky.split("in _handler_code", 1)[1]
    assert VALUE in leaky  # the lesson: verbose tracebacks print local variables
    try:
        _handler_code(Secret(VALUE, name="API_KEY"))
    except ConnectionError as exc:
        safe = verbose_traceback(exc)
    safe = safe.split("in _handler_code", 1)[1]
    assert VALUE not in safe
    assert "Secret(name='API_KEY', value='**********')" in safe


def test_ipython_handler_scrubs_shell_tracebacks() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from guardlib.redact import install_ipython_handler

    shell = InteractiveShell.instance()
    shown: list[list[str]] = []
    shell._showtraceback = lambda etype, value, stb: shown.append(stb)  # type: ignore[method-assign]
    try:
        assert install_ipython_handler(Redactor([VALUE]), shell)
        shell.run_cell(f"api_key = {VALUE!r}\nraise RuntimeError('failed for ' + api_key)")
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()
    assert shown
    text = "\n".join(shown[0])
    assert "RuntimeError" in text and VALUE not in text


def test_json_leaves_lists_every_field_of_a_json_document() -> None:
    from guardlib.redact.scrubber import json_leaves

    doc = '{"a": "demo-one-field", "b": {"c": ["demo-two-field", 123456]}, "d": true, "e": null}'
    assert json_leaves(doc) == ["demo-one-field", "demo-two-field", "123456"]
    assert json_leaves(doc.encode()) == json_leaves(doc)
    assert json_leaves({"k": '{"inner": "demo-inner-field"}'}) == [
        '{"inner": "demo-inner-field"}', "demo-inner-field"]  # fmt: skip
    for not_json in ("demo-plain-value", "{not json", b"\xff\xfe", "", "42", None, 7):
        assert json_leaves(not_json) == []
