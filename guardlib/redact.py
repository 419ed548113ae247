"""Scrub secrets from log records and tracebacks.

* :class:`Redactor` -- a set of registered values (raw strings or :class:`~guardlib.secret.Secret`
  objects) and :meth:`Redactor.scrub` to mask them in any text.
* :class:`RedactingFilter` -- a :class:`logging.Filter` that rewrites each record: the message
  *after* ``%``-formatting with its args, string ``extra=`` fields, the formatted exception
  (``exc_info`` becomes a scrubbed ``exc_text``) and ``stack_info``.
* :func:`install_redaction` -- attach one filter to a logger *and* its handlers. (A filter on a
  logger only sees records logged on that very logger; records from child loggers reach the
  handlers directly, so the handlers need it too.)
* :func:`format_exception` / :func:`install_excepthook` / :func:`install_ipython_handler` --
  scrubbed tracebacks for scripts and notebooks.

A ``Secret`` already renders as a mask; registering one also catches its *revealed* value,
for example inside an exception message built with ``.reveal()``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from guardlib.errors import RedactionError
from guardlib.secret import MASK, Secret

MIN_LENGTH = 6

# attributes every LogRecord has; anything else came from ``extra=``
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class Redactor:
    """A registry of secret values and a fast ``scrub`` over any text."""

    def __init__(self, values: Iterable[str | bytes | Secret[Any]] = (), *, mask: str = MASK):
        self.mask = mask
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        for value in values:
            self.register(value)

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} patterns)"

    def __len__(self) -> int:
        return len(self._values)

    def register(self, value: str | bytes | Secret[Any]) -> None:
        """Add a value (or a Secret's value) to scrub, with its escaped spellings.

        Values shorter than ``MIN_LENGTH`` are refused: masking every ``"abc"`` in every log line
        would wreck the logs and such a short value is not a secret anyway.
        """
        raw: Any = value.reveal() if isinstance(value, Secret) else value
        if isinstance(raw, bytes):
            forms = {repr(raw)[2:-1]}
            try:
                forms.add(raw.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        elif isinstance(raw, str):
            forms = {raw}
        else:
            forms = {str(raw), repr(raw)}
        if not forms or any(len(f) < MIN_LENGTH for f in forms if f):
            raise RedactionError(
                f"refusing to register a value shorter than {MIN_LENGTH} characters for redaction"
            )
        # the spellings a value takes inside a repr() or a JSON document
        for form in list(forms):
            forms.add(repr(form)[1:-1])
            forms.add(json.dumps(form)[1:-1])
            forms.add(json.dumps(form, ensure_ascii=False)[1:-1])
        with self._lock:
            self._values.update(f for f in forms if len(f) >= MIN_LENGTH)
            ordered = sorted(self._values, key=len, reverse=True)  # longest first
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def scrub(self, text: str) -> str:
        """Return ``text`` with every registered value replaced by the mask."""
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(self.mask, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered values in every part of a record it sees."""

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor if redactor is not None else Redactor()
        self._formatter = logging.Formatter()

    def register(self, value: str | bytes | Secret[Any]) -> None:
        self.redactor.register(value)

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self.redactor.scrub
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging would print the raw args; don't
            message = f"{record.msg} [arguments not shown: they did not match the format]"
        record.msg = scrub(str(message))
        record.args = ()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None  # handlers now use the scrubbed text only
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD_ATTRS:
                continue
            if isinstance(value, str):
                setattr(record, key, scrub(value))
            elif not isinstance(value, (int, float, bool, type(None), Secret)):
                setattr(record, key, scrub(repr(value)))
        return True


def install_redaction(
    target: logging.Logger | logging.Handler | None = None,
    *values: str | bytes | Secret[Any],
    redactor: Redactor | None = None,
) -> RedactingFilter:
    """Attach a :class:`RedactingFilter` to ``target`` (default: the root logger) and, for a
    logger, to each of its handlers. Returns the filter; call ``.register(...)`` to add values."""
    flt = RedactingFilter(redactor)
    for value in values:
        flt.register(value)
    if target is None:
        target = logging.getLogger()
    target.addFilter(flt)
    if isinstance(target, logging.Logger):
        for handler in target.handlers:
            handler.addFilter(flt)
    return flt


def format_exception(
    exc: BaseException,
    redactor: Redactor,
    *,
    tb: TracebackType | None = None,
) -> str:
    """Format ``exc`` (with its chain) like Python does, then scrub it."""
    text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    return redactor.scrub(text)


def install_excepthook(redactor: Redactor) -> None:
    """Replace ``sys.excepthook`` so uncaught exceptions print scrubbed tracebacks."""

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(format_exception(value, redactor, tb=tb))

    sys.excepthook = hook


def install_ipython_handler(redactor: Redactor, shell: Any | None = None) -> bool:
    """In IPython/Jupyter, scrub every traceback the shell shows (any ``%xmode``, including
    ``Verbose`` which prints local variables). Returns False outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False

    def handler(
        self: Any,
        etype: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
        tb_offset: int | None = None,
    ) -> list[str]:
        stb = self.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        scrubbed = [redactor.scrub(_strip_ansi(line)) for line in stb]
        self._showtraceback(etype, value, scrubbed)
        return scrubbed

    shell.set_custom_exc((BaseException,), handler)
    return True


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    # colour codes could split a value in two and defeat the scrubber
    return _ANSI.sub("", text)


def verbose_traceback(exc: BaseException, *, include_locals: bool = True) -> str:
    """Return the text IPython's ``%xmode Verbose`` shows for ``exc`` (uncoloured).

    Used by the course to show, deterministically, how verbose tracebacks print local
    variables. Works with IPython 8 (``color_scheme``) and 9 (``theme_name``).
    """
    from IPython.core import ultratb

    try:
        vtb = ultratb.VerboseTB(theme_name="nocolor", include_vars=include_locals)
    except TypeError:  # IPython < 9
        vtb = ultratb.VerboseTB(color_scheme="NoColor", include_vars=include_locals)
    return _strip_ansi(vtb.text(type(exc), exc, exc.__traceback__))
