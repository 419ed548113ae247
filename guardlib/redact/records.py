"""Scrub log records: :func:`scrub_record`, the :class:`RedactingFilter` and
:func:`redact_logger`, which attaches one filter to *one* logger and its handlers.

(A filter on a logger only sees records logged on that very logger; records from child loggers
reach the handlers directly, so the handlers need it too.) For the whole process, use
:func:`guardlib.install_redaction` instead.
"""

from __future__ import annotations

import logging
from typing import Any

from guardlib.redact.scrubber import Redactor
from guardlib.secret import Secret

# attributes every LogRecord has; anything else came from ``extra=``
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
_FORMATTER = logging.Formatter()


_WITHHELD = "[withheld: this could not be redacted]"


def scrub_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Mask registered values in every part of ``record`` a handler could show, in place.

    The message is rendered with its args and frozen (``args`` becomes ``()``), like
    :meth:`logging.handlers.QueueHandler.prepare` does; ``exc_info`` is rendered into a scrubbed
    ``exc_text`` and dropped, so no formatter can render the raw exception again; ``extra=``
    fields are scrubbed (a non-string one is replaced by its scrubbed ``str`` only when it
    shows a value, so structured fields survive). Never raises: if a part cannot be rendered
    (a ``__str__`` that fails), the record's parts are replaced by a placeholder instead.
    """
    try:
        _scrub_record(record, redactor)
    except Exception:  # never raise into a logging call, never let the raw record through
        record.msg, record.args = _WITHHELD, ()
        record.exc_info = record.exc_text = record.stack_info = None
        for key in list(record.__dict__):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _WITHHELD)


def _scrub_record(record: logging.LogRecord, redactor: Redactor) -> None:
    scrub = redactor.scrub
    if record.args:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging would print the raw args; don't
            message = f"{record.msg} [arguments not shown: they did not match the format]"
        record.msg, record.args = scrub(message), ()
    elif isinstance(record.msg, str):
        record.msg = scrub(record.msg)
    else:
        shown = str(record.msg)
        if scrub(shown) != shown:
            record.msg = scrub(shown)
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        record.exc_info = None  # handlers now use the scrubbed text only
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    for key, value in list(record.__dict__.items()):
        if key in _STANDARD_ATTRS or isinstance(value, (int, float, type(None), Secret)):
            continue
        if isinstance(value, str):
            setattr(record, key, scrub(value))
            continue
        shown, spelled = str(value), repr(value)
        if scrub(shown) != shown or scrub(spelled) != spelled:
            setattr(record, key, scrub(shown))


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered values in every part of a record it sees."""

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor if redactor is not None else Redactor()

    def register(self, value: str | bytes | Secret[Any]) -> None:
        self.redactor.register(value)

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, self.redactor)
        return True


def redact_logger(
    target: logging.Logger | logging.Handler | None = None,
    *values: str | bytes | Secret[Any],
    redactor: Redactor | None = None,
) -> RedactingFilter:
    """Attach a :class:`RedactingFilter` to ``target`` (default: the root logger) and, for a
    logger, to each of its handlers. Returns the filter; call ``.register(...)`` to add values.

    This covers one logger (or one handler) only: handlers added later, loggers with
    ``propagate=False`` and the other channels (threads, warnings, uncaught exceptions) are not
    covered. :func:`guardlib.install_redaction` covers the whole process."""
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
