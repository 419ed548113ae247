"""Scrub secrets from log records, tracebacks and every other channel of a process.

* :func:`install_redaction` (also ``guardlib.install_redaction``) -- the whole process, in one
  call: every log record of every logger and handler (present or future), uncaught exceptions in
  the main thread and in threads, unraisable exceptions, warnings and IPython tracebacks
  (:mod:`guardlib.redact.process`). By default it scrubs every value ``guardlib.resolve``
  returns; give it a :class:`Redactor` to scrub your own.
* :func:`redact_logger` -- one logger (or handler) only: a :class:`RedactingFilter` on it and its
  handlers (:mod:`guardlib.redact.records`).
* :class:`Redactor` -- a set of registered values (raw strings, bytes or
  :class:`~guardlib.secret.Secret` objects) and :meth:`Redactor.scrub` to mask them in any text,
  with their common spellings (:mod:`guardlib.redact.scrubber`).
* :func:`format_exception` / :func:`install_excepthook` / :func:`install_ipython_handler` --
  scrubbed tracebacks for scripts and notebooks (:mod:`guardlib.redact.tracebacks`).

A ``Secret`` already renders as a mask; registering one also catches its *revealed* value,
for example inside an exception message built with ``.reveal()``.
"""

from __future__ import annotations

from guardlib.redact.process import ProcessRedaction, install_excepthook, install_redaction
from guardlib.redact.records import RedactingFilter, redact_logger, scrub_record
from guardlib.redact.scrubber import (
    MIN_ENCODED_LENGTH,
    MIN_LENGTH,
    Redactor,
    shared_redactor,
    spellings,
)
from guardlib.redact.tracebacks import (
    format_exception,
    install_ipython_handler,
    verbose_traceback,
)

__all__ = [
    "MIN_ENCODED_LENGTH",
    "MIN_LENGTH",
    "ProcessRedaction",
    "RedactingFilter",
    "Redactor",
    "format_exception",
    "install_excepthook",
    "install_ipython_handler",
    "install_redaction",
    "redact_logger",
    "scrub_record",
    "shared_redactor",
    "spellings",
    "verbose_traceback",
]
