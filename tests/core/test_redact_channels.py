"""Redaction on every channel a value can leave a process through, and in its common encodings.

The channel tests run a small script in a fresh interpreter (``sys.executable -c``): they install
process-wide hooks and trigger the real mechanism (an uncaught exception, a failing thread, a
failing ``__del__``, ``warnings.warn``), none of which pytest would let through unchanged. Each
script also runs once *without* the installation, as a control that proves the channel really
shows the value, so every assertion can fail.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from guardlib import MASK, RedactingFilter, Redactor, Secret
from guardlib.errors import RedactionError
from guardlib.redact import MIN_ENCODED_LENGTH, install_redaction

VALUE = "demo-not-a-real-key-1234"
LATE = "demo-not-a-real-late-token-5678"
ROOT = Path(__file__).resolve().parents[2]


# -- encodings --------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _urlsafe(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


@pytest.mark.parametrize(
    "form",
    [
        _b64(VALUE.encode()),
        _b64(VALUE.encode()).rstrip("="),
        _urlsafe(VALUE.encode()),
        _urlsafe(VALUE.encode()).rstrip("="),
        VALUE.encode().hex(),
        VALUE.encode().hex().upper(),
        quote(VALUE + " /&?é", safe=""),
        quote(VALUE + " /&?é"),
        quote_plus(VALUE + " /&?é"),
        quote(VALUE + " /&?é", safe="").lower(),
        json.dumps(VALUE + ' "q" \\ é\n')[1:-1],
        json.dumps(VALUE + ' "q" \\ é\n', ensure_ascii=False)[1:-1],
        repr(VALUE + " 'q' \\ é\n")[1:-1],
        repr((VALUE + " é").encode())[2:-1],
    ],
    ids=lambda form: form[:12],
)
def test_scrub_replaces_each_common_encoding(form: str) -> None:
    redactor = Redactor([VALUE, VALUE + " /&?é", VALUE + ' "q" \\ é\n', VALUE + " 'q' \\ é\n"])
    redactor.register(VALUE + " é")
    out = redactor.scrub(f"before {form} after")
    assert out == f"before {MASK} after"


@pytest.mark.parametrize("user", ["", "u", "us", "usr", "user", "admin"])
@pytest.mark.parametrize("encode", [_b64, _urlsafe])
def test_value_inside_a_longer_base64_text_at_every_alignment(
    user: str, encode: Callable[[bytes], str]
) -> None:
    redactor = Redactor([VALUE])
    header = "Basic " + encode(f"{user}:{VALUE}".encode() + b";tail")
    out = redactor.scrub(header)
    assert MASK in out
    assert header not in out
    # what is left around the mask is the user name's and the tail's part, not the value's:
    # two characters at most on each side encode bits of both
    left, right = out[len("Basic ") :].split(MASK)
    assert len(left) <= len(_b64(f"{user}:".encode())) and len(right) <= 12


def test_a_registered_encoding_does_not_swallow_ordinary_text() -> None:
    redactor = Redactor([VALUE, "demo-not-a-real-6"])  # a short value has short encodings
    line = "GET /api/v1/items?page=2 200 OK user=alice session=5f2c9a0b elapsed=12ms aGVsbG8="
    assert redactor.scrub(line) == line
    assert all(len(v) >= MIN_ENCODED_LENGTH for v in redactor._values)


def test_binary_values_are_scrubbed_in_their_base64_and_hex_forms() -> None:
    blob = b"\x00\xffdemo-not-a-real-signing-key\x10\x80"
    redactor = Redactor([blob])
    for form in (_b64(blob), _urlsafe(blob).rstrip("="), blob.hex(), repr(blob)[2:-1]):
        assert redactor.scrub(f"key={form};") == f"key={MASK};"


def test_values_registered_later_are_scrubbed_by_the_same_redactor() -> None:
    redactor = Redactor([VALUE])
    assert redactor.scrub(LATE) == LATE
    redactor.register(Secret(LATE))
    assert redactor.scrub(f"{VALUE} {_b64(LATE.encode())}") == f"{MASK} {MASK}"


def test_longest_match_wins_between_a_value_and_its_encodings() -> None:
    redactor = Redactor([VALUE, VALUE + "-longer"])
    encoded = _b64((VALUE + "-longer").encode())
    assert redactor.scrub(f"{VALUE}-longer|{encoded}|{VALUE}") == f"{MASK}|{MASK}|{MASK}"


def test_refusing_a_short_value_keeps_it_out_of_the_error_and_the_frames() -> None:
    short = "dem0!"
    with pytest.raises(RedactionError) as info:
        Redactor().register(short)
    assert short not in str(info.value) and short not in repr(info.value)
    assert info.value.__traceback__ is not None
    tb = info.value.__traceback__.tb_next  # (the first frame is this test's own)
    while tb is not None:  # no frame the exception passed through still holds the value
        assert short not in repr(tb.tb_frame.f_locals)
        tb = tb.tb_next


def test_scrub_is_one_pattern_and_fast_with_many_values() -> None:
    import time

    redactor = Redactor(f"demo-not-a-real-{i:03d}-{i * 7919:08x}" for i in range(100))
    line = "2024-05-01 12:00:00 INFO app.payments calling https://pay.example.invalid/v1 " * 2
    redactor.scrub(line)  # the pattern is built on first use after a register
    started = time.perf_counter()
    for _ in range(2000):
        redactor.scrub(line)
    per_line = (time.perf_counter() - started) / 2000
    # a loop over ~3000 spellings per call takes ~300 us here; one pattern takes ~2 us
    assert per_line < 50e-6, f"{per_line * 1e6:.1f} us per line"


# -- the process-wide installation, in this process -------------------------------------------
@pytest.fixture
def everywhere() -> Iterator[tuple[Redactor, object]]:
    redactor = Redactor([VALUE])
    installed = install_redaction(redactor, ipython=False)
    try:
        yield redactor, installed
    finally:
        installed.uninstall()


def _handler(stream: io.StringIO, fmt: str = "%(levelname)s %(message)s") -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    return handler


def test_install_is_idempotent_and_uninstall_restores_every_hook() -> None:
    before = (
        logging.getLogRecordFactory(),
        logging.Handler.handle,
        sys.excepthook,
        threading.excepthook,
        sys.unraisablehook,
        warnings.showwarning,
        warnings.formatwarning,
    )
    redactor = Redactor([VALUE])
    first = install_redaction(redactor, ipython=False)
    try:
        assert install_redaction(redactor, ipython=False) is first
        assert first.installed
        assert sys.excepthook is not before[2] and logging.Handler.handle is not before[1]
        assert VALUE not in repr(first)
    finally:
        first.uninstall()
    first.uninstall()  # twice is harmless
    assert not first.installed
    after = (
        logging.getLogRecordFactory(),
        logging.Handler.handle,
        sys.excepthook,
        threading.excepthook,
        sys.unraisablehook,
        warnings.showwarning,
        warnings.formatwarning,
    )
    assert after == before
    assert install_redaction(redactor, ipython=False) is not first  # a fresh one after uninstall
    install_redaction(redactor, ipython=False).uninstall()


def test_logging_handlers_added_later_and_loggers_that_do_not_propagate(
    everywhere: tuple[Redactor, object],
) -> None:
    redactor, _ = everywhere
    stream = io.StringIO()
    lonely = logging.getLogger("guardlib-test.channels.lonely")
    lonely.propagate = False
    lonely.setLevel(logging.INFO)
    handler = _handler(stream, "%(levelname)s %(message)s ctx=%(ctx)s")
    lonely.addHandler(handler)  # added after the installation, on a non-propagating logger
    try:
        lonely.info("plain %s", VALUE, extra={"ctx": "-"})
        lonely.info("basic %s", _b64(f"ruby:{VALUE}".encode()), extra={"ctx": "-"})
        lonely.info("hex %s", VALUE.encode().hex(), extra={"ctx": {"token": VALUE}})
        redactor.register(LATE)  # a value registered after the installation
        lonely.info("late %s", quote(LATE), extra={"ctx": "-"})
        try:
            raise ConnectionError(f"refused {VALUE}")
        except ConnectionError:
            lonely.exception("request failed", extra={"ctx": "-"})
        lonely.warning("with stack %s", VALUE, stack_info=True, extra={"ctx": "-"})
    finally:
        lonely.removeHandler(handler)
    out = stream.getvalue()
    assert VALUE not in out and LATE not in out and VALUE.encode().hex() not in out
    assert f"INFO plain {MASK}" in out
    assert "ConnectionError: refused " + MASK in out and "Traceback" in out
    assert f"late {MASK}" in out and "'token': '" + MASK in out


def test_a_record_made_elsewhere_is_scrubbed_by_the_handler(
    everywhere: tuple[Redactor, object],
) -> None:
    # makeLogRecord (a SocketHandler/QueueListener receiver) sets attributes after the factory
    stream = io.StringIO()
    handler = _handler(stream)
    record = logging.makeLogRecord({"msg": "from the wire %s", "args": (VALUE,), "levelname": "E"})
    handler.handle(record)
    assert stream.getvalue() == f"E from the wire {MASK}\n"


def test_caplog_sees_scrubbed_records(
    everywhere: tuple[Redactor, object], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("guardlib-test.channels.caplog").info("k=%s", VALUE)
    assert caplog.text.strip().endswith(f"k={MASK}")
    assert caplog.records[0].getMessage() == f"k={MASK}"


def test_the_filter_and_callhandlers_see_scrubbed_records_too(
    everywhere: tuple[Redactor, object],
) -> None:
    # a logger-level filter (or an integration that wraps Logger.callHandlers) runs before any
    # handler: the record factory has scrubbed message and traceback already
    seen: list[str] = []

    def spy(record: logging.LogRecord) -> bool:
        seen.append(record.getMessage() + str(record.exc_text) + str(record.exc_info))
        return False

    logger = logging.getLogger("guardlib-test.channels.spy")
    logger.addFilter(spy)
    try:
        try:
            raise KeyError(VALUE)
        except KeyError:
            logger.error("failed %s", VALUE, exc_info=True)
    finally:
        logger.removeFilter(spy)
    assert seen and VALUE not in seen[0] and MASK in seen[0]


def test_a_record_that_cannot_be_rendered_is_withheld_not_raised() -> None:
    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("cannot render " + VALUE)

        __repr__ = __str__

    stream = io.StringIO()
    handler = _handler(stream, "%(message)s|%(ctx)s")
    handler.addFilter(RedactingFilter(Redactor([VALUE])))
    logger = logging.getLogger("guardlib-test.channels.exploding")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("key %s", VALUE, extra={"ctx": Exploding()})  # does not raise
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "[withheld: this could not be redacted]|" + (
        "[withheld: this could not be redacted]\n"
    )


def test_uninstall_under_someone_elses_wrapper_passes_through() -> None:
    redactor = Redactor([VALUE])
    original = logging.getLogRecordFactory()
    installed = install_redaction(redactor, ipython=False)
    ours = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *a, **k: ours(*a, **k))  # another library wraps ours
    try:
        installed.uninstall()
        record = logging.getLogger("guardlib-test.channels.wrapped").makeRecord(
            "n", logging.INFO, "f.py", 1, "key %s", (VALUE,), None
        )
        assert record.getMessage() == f"key {VALUE}"  # ours stays in the chain, inert
        assert not installed.installed
    finally:
        logging.setLogRecordFactory(original)


# -- the process-wide installation, in a fresh interpreter ------------------------------------
PRELUDE = f"""
import base64, logging, sys, threading, warnings
from guardlib.redact import Redactor, install_redaction
VALUE = {VALUE!r}
redactor = Redactor([VALUE])
"""


def run(body: str, *, install: bool) -> subprocess.CompletedProcess[str]:
    setup = "hooks = install_redaction(redactor)\n" if install else ""
    script = PRELUDE + setup + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def _assert_scrubbed(out: str, control: str) -> None:
    assert VALUE in control, "the control run did not show the value: the test proves nothing"
    assert VALUE not in out and MASK in out


def test_logging_everywhere_in_a_fresh_process() -> None:
    body = """
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)  # after the installation
    alone = logging.getLogger("app.alone"); alone.propagate = False
    alone.addHandler(logging.StreamHandler(sys.stdout))
    logging.getLogger("app").info("key %s", VALUE)
    alone.warning("b64 %s", base64.b64encode(("ruby:" + VALUE).encode()).decode())
    logging.getLogger("nobody").propagate = False
    logging.getLogger("nobody").warning("last resort %s", VALUE)   # logging.lastResort
    try:
        raise RuntimeError("failed with " + VALUE)
    except RuntimeError:
        alone.exception("boom")
    """
    control, done = run(body, install=False), run(body, install=True)
    assert done.returncode == 0, done.stderr
    _assert_scrubbed(done.stdout + done.stderr, control.stdout + control.stderr)
    assert "RuntimeError: failed with " + MASK in done.stdout
    assert f"last resort {MASK}" in done.stderr
    b64 = base64.b64encode(VALUE.encode()).decode()[:16]
    assert b64[:10] not in done.stdout  # the stable middle of the value's base64 is gone


def test_uncaught_exception_goes_through_the_previous_excepthook() -> None:
    body = """
    previous = sys.excepthook
    def custom(*exc):
        print("custom hook ran", file=sys.stderr)
        previous(*exc)
    sys.excepthook = custom
    """
    body, tail = textwrap.dedent(body), "raise SystemError('token ' + VALUE)\n"
    control = run(body + tail, install=False)
    done = run(body + "hooks = install_redaction(redactor)\n" + tail, install=False)
    assert done.returncode == 1
    _assert_scrubbed(done.stderr, control.stderr)
    assert "custom hook ran" in done.stderr  # chained, not dropped
    assert "SystemError: token " + MASK in done.stderr


def test_exception_in_a_thread() -> None:
    body = """
    def work():
        raise PermissionError("denied for " + VALUE)
    t = threading.Thread(target=work, name="worker"); t.start(); t.join()
    print("main continues")
    """
    control, done = run(body, install=False), run(body, install=True)
    _assert_scrubbed(done.stderr, control.stderr)
    assert "Exception in thread worker" in done.stderr and "PermissionError" in done.stderr
    assert "main continues" in done.stdout


def test_unraisable_exception_in_del() -> None:
    body = """
    class Connection:
        def __del__(self):
            raise ValueError("could not close with " + VALUE)
    c = Connection(); del c
    print("main continues")
    """
    control, done = run(body, install=False), run(body, install=True)
    _assert_scrubbed(done.stderr, control.stderr)
    assert "Exception ignored in" in done.stderr and "ValueError: could not close with" in (
        done.stderr
    )


def test_warnings_shown_and_captured_by_logging() -> None:
    body = """
    warnings.simplefilter("always")
    warnings.warn("deprecated key " + VALUE, DeprecationWarning)
    logging.basicConfig(stream=sys.stdout)
    logging.captureWarnings(True)          # after the installation: through logging
    warnings.warn("captured key " + VALUE, UserWarning)
    logging.captureWarnings(False)         # puts back the showwarning it saw
    warnings.warn("released key " + VALUE, UserWarning)
    """
    control, done = run(body, install=False), run(body, install=True)
    assert done.returncode == 0, done.stderr
    _assert_scrubbed(done.stdout + done.stderr, control.stdout + control.stderr)
    assert f"DeprecationWarning: deprecated key {MASK}" in done.stderr
    assert f"UserWarning: captured key {MASK}" in done.stdout
    assert f"UserWarning: released key {MASK}" in done.stderr


def test_warnings_captured_before_the_installation() -> None:
    body = """
    warnings.simplefilter("always")
    logging.basicConfig(stream=sys.stdout)
    logging.captureWarnings(True)
    hooks = install_redaction(redactor)
    warnings.warn("captured key " + VALUE, UserWarning)
    logging.captureWarnings(False)  # puts back the default showwarning, not ours
    warnings.warn("released key " + VALUE, UserWarning)
    """
    done = run(body, install=False)
    assert done.returncode == 0, done.stderr
    assert f"UserWarning: captured key {MASK}" in done.stdout
    assert f"UserWarning: released key {MASK}" in done.stderr  # warnings.formatwarning
    assert VALUE not in done.stdout + done.stderr


def test_a_custom_showwarning_gets_a_scrubbed_message() -> None:
    body = """
    warnings.simplefilter("always")
    def custom(message, category, filename, lineno, file=None, line=None):
        print("custom:", message, type(message).__name__)   # no formatwarning involved
    warnings.showwarning = custom
    hooks = install_redaction(redactor)
    warnings.warn("shown key " + VALUE, RuntimeWarning)
    """
    done = run(body, install=False)
    assert done.returncode == 0, done.stderr
    assert f"custom: shown key {MASK} RuntimeWarning" in done.stdout
    assert VALUE not in done.stdout + done.stderr


def test_a_failing_previous_hook_still_shows_nothing() -> None:
    body = """
    def broken(*args):
        raise RuntimeError("the previous hook broke")
    sys.excepthook = broken
    threading.excepthook = broken
    hooks = install_redaction(redactor)
    def work():
        raise KeyError(VALUE)
    t = threading.Thread(target=work); t.start(); t.join()
    raise LookupError("lookup of " + VALUE)
    """
    done = run(body, install=False)
    assert "the previous hook broke" in done.stderr
    assert "LookupError: lookup of " + MASK in done.stderr and "KeyError" in done.stderr
    assert VALUE not in done.stderr


def test_after_uninstall_the_value_shows_again() -> None:
    body = """
    hooks.uninstall()
    logging.basicConfig(stream=sys.stdout)
    logging.getLogger("app").warning("key %s", VALUE)
    raise OSError(VALUE)
    """
    done = run(body, install=True)
    assert f"key {VALUE}" in done.stdout and f"OSError: {VALUE}" in done.stderr


def test_ipython_tracebacks_and_uninstall() -> None:
    body = """
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shown = []
    shell._showtraceback = lambda etype, value, stb: shown.append("\\n".join(stb))
    before = (shell.custom_exceptions, shell.CustomTB)
    hooks = install_redaction(redactor)
    shell.run_cell("api_key = " + repr(VALUE) + "\\nraise RuntimeError('failed for ' + api_key)")
    hooks.uninstall()
    assert (shell.custom_exceptions, shell.CustomTB) == before
    print("CHANNELS", sorted(hooks.channels))
    print("SHOWN", shown[0])
    """
    done = run(body, install=False)
    assert done.returncode == 0, done.stderr
    assert "'ipython'" in done.stdout
    assert "RuntimeError" in done.stdout and VALUE not in done.stdout
    assert MASK in done.stdout
