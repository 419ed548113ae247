"""Redaction for the whole process, in one call: :func:`install_redaction`.

Channels and how each is covered:

* **logging** -- two layers, because each closes a gap the other leaves:

  1. a *log record factory* (:func:`logging.setLogRecordFactory`, chained to the previous one)
     scrubs every record the moment a logger creates it: the message rendered with its args,
     the exception rendered into a scrubbed ``exc_text`` (``exc_info`` dropped) and the stack.
     It runs for every logger, whatever its ``propagate``, before any logger filter, handler or
     integration that wraps ``Logger.callHandlers`` can see the record;
  2. a wrapper around :meth:`logging.Handler.handle` scrubs the record again (cheap: it is
     clean already) as each handler takes it. That covers what the factory cannot see:
     ``extra=`` fields (``Logger.makeRecord`` sets them *after* the factory), records built by
     :func:`logging.makeLogRecord` (socket and queue listeners), values registered between the
     record's creation and its output, and a factory replaced later by code that does not
     chain. It covers every handler, including ones added after the installation and
     ``logging.lastResort``, unless a handler class overrides ``handle`` without calling it.

  A filter on the root logger (:func:`guardlib.redact.redact_logger`) would miss records of
  loggers with ``propagate=False`` and handlers added later, hence neither layer is a filter.
* **sys.excepthook, threading.excepthook, sys.unraisablehook** -- the previous hook still runs,
  with ``sys.stderr`` pointed at a buffer; what it wrote is scrubbed and written to the real
  ``sys.stderr``. So a custom hook (or the default one) is chained, not replaced. If the previous
  hook fails, a scrubbed traceback is written instead: Python would otherwise print the original
  exception raw. (While a hook runs, another thread's writes to ``sys.stderr`` land in the same
  buffer and come out scrubbed, after the hook's text.)
* **warnings** -- ``warnings.showwarning`` gets a scrubbed message and source line, and
  ``warnings.formatwarning``'s output is scrubbed, which also covers ``logging.captureWarnings``
  (it formats with ``formatwarning``) and a ``showwarning`` put back by ``captureWarnings(False)``.
* **IPython** -- :func:`guardlib.redact.install_ipython_handler` on the running shell, if any
  (IPython is never imported here). The shell keeps one custom exception handler: a previous
  one is set aside while installed and put back by ``uninstall()``.

Every hook consults the live :class:`~guardlib.redact.Redactor`, so values registered after the
installation are scrubbed too; and no hook raises (a failing hook would make Python print the
raw exception). ``uninstall()`` puts each previous hook back; where someone else wrapped ours
in the meantime, ours stays in their chain but passes everything through untouched.

Not covered: text written straight to ``sys.stdout``/``sys.stderr`` (``print``,
``traceback.print_exc()``), previous hooks that send the exception elsewhere than ``sys.stderr``
(an error tracker gets the raw exception object), and output of other processes.
"""

from __future__ import annotations

import contextlib
import functools
import io
import linecache
import logging
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any

from guardlib.redact.records import _WITHHELD, scrub_record
from guardlib.redact.scrubber import Redactor, shared_redactor
from guardlib.redact.tracebacks import format_exception, install_ipython_handler
from guardlib.secret import forget_locals

_install_lock = threading.Lock()
_stderr_lock = threading.RLock()  # one hook at a time swaps sys.stderr (they may nest)
_installed: dict[int, ProcessRedaction] = {}  # id(redactor) -> its active installation


class _Patch:
    """One replaced hook: what was there before, ours, and how to put it back."""

    def __init__(self, get: Callable[[], Any], put: Callable[[Any], None]) -> None:
        self.get, self.put = get, put
        self.previous = get()
        self.active = True
        self.ours: Any = None

    def undo(self) -> None:
        self.active = False  # if someone wrapped ours, ours now passes everything through
        current = self.get()
        if current is self.ours or (isinstance(current, tuple) and current == self.ours):
            self.put(self.previous)


class ProcessRedaction:
    """The hooks :func:`install_redaction` put in place for one redactor. ``uninstall()``
    removes them; also a context manager. Its repr names the channels, never a value."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.channels: list[str] = []
        self._patches: list[_Patch] = []

    @property
    def installed(self) -> bool:
        return any(patch.active for patch in self._patches)

    def register(self, value: Any) -> None:
        self.redactor.register(value)

    def uninstall(self) -> None:
        with _install_lock:
            for patch in reversed(self._patches):
                patch.undo()
            if _installed.get(id(self.redactor)) is self:
                del _installed[id(self.redactor)]

    def __enter__(self) -> ProcessRedaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return f"ProcessRedaction({state}: {', '.join(self.channels)}; {self.redactor!r})"

    def _patch(
        self,
        channel: str,
        get: Callable[[], Any],
        put: Callable[[Any], None],
        wrap: Callable[[Any, _Patch], Any],
    ) -> None:
        patch = _Patch(get, put)
        patch.ours = wrap(patch.previous, patch)
        put(patch.ours)
        self._patches.append(patch)
        self.channels.append(channel)


def install_redaction(
    redactor: Redactor | None = None, *, ipython: bool = True
) -> ProcessRedaction:
    """Scrub ``redactor``'s values (default: :data:`~guardlib.redact.scrubber.shared_redactor`,
    every value ``guardlib.resolve`` has returned or will return) from the whole process: every
    log record of every logger and handler (including ones added later), uncaught exceptions in
    the main thread and in threads, unraisable exceptions, warnings and IPython tracebacks
    (the channels in this module's docstring).

    One call, idempotent: while an installation for ``redactor`` is in place, it is returned
    again; ``.uninstall()`` puts the previous hooks back. To cover one logger only, see
    :func:`guardlib.redact.redact_logger`."""
    if redactor is None:
        redactor = shared_redactor
    with _install_lock:
        current = _installed.get(id(redactor))
        if current is not None and current.redactor is redactor and current.installed:
            return current
        done = _installed[id(redactor)] = ProcessRedaction(redactor)
        r = done.redactor
        done._patch(
            "logging.records",
            logging.getLogRecordFactory,
            logging.setLogRecordFactory,
            lambda previous, patch: _record_factory(r, previous, patch),
        )
        for channel, owner, attribute, wrap in (
            ("logging.handlers", logging.Handler, "handle", _handle),
            ("sys.excepthook", sys, "excepthook", chained_excepthook),
            ("threading.excepthook", threading, "excepthook", _thread_hook),
            ("sys.unraisablehook", sys, "unraisablehook", _unraisable_hook),
            ("warnings.showwarning", warnings, "showwarning", _showwarning),
            ("warnings.formatwarning", warnings, "formatwarning", _formatwarning),
        ):
            done._patch(
                channel,
                functools.partial(getattr, owner, attribute),
                functools.partial(setattr, owner, attribute),
                functools.partial(wrap, r),
            )
        shell = _ipython_shell() if ipython else None
        if shell is not None:
            done._patch(
                "ipython",
                lambda: (shell.custom_exceptions, shell.CustomTB),
                lambda saved: _restore_shell(shell, saved),
                lambda previous, patch: _ipython(r, shell),
            )
    return done


# -- logging ----------------------------------------------------------------------------------
def _record_factory(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    @forget_locals  # if a factory below raises, our frame must not keep the raw arguments
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        if patch.active:
            scrub_record(record, redactor)
        return record

    return factory


def _handle(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    @functools.wraps(previous)
    def handle(self: logging.Handler, record: logging.LogRecord) -> Any:
        if patch.active:
            scrub_record(record, redactor)
        return previous(self, record)

    return handle


# -- exception hooks: the previous hook writes into a buffer, we scrub it ----------------------
def _through_scrubber(
    redactor: Redactor,
    name: str,
    call: Callable[[], object],
    original: Callable[[], str],
) -> None:
    # a hook must not raise: Python would then print the original exception raw
    with contextlib.suppress(Exception):
        buffer = io.StringIO()
        with _stderr_lock:
            real = sys.stderr
            sys.stderr = buffer
            try:
                call()
            except BaseException as failure:  # Python would print the original exception raw
                buffer.write(f"Error in {name}:\n")
                buffer.write("".join(traceback.format_exception_only(failure)))
                buffer.write("\nOriginal exception was:\n" + original())
            finally:
                sys.stderr = real
        text = buffer.getvalue()
        if text and real is not None:
            real.write(redactor.scrub(text))
            real.flush()


def _exception_hook(
    redactor: Redactor,
    name: str,
    previous: Any,
    patch: _Patch | None,
    exception: Callable[..., tuple[BaseException | None, TracebackType | None]],
) -> Any:
    def hook(*args: Any) -> None:
        if patch is not None and not patch.active:
            return previous(*args)  # type: ignore[no-any-return]
        _through_scrubber(
            redactor, name, lambda: previous(*args), lambda: _text(redactor, *exception(*args))
        )

    return hook


def _text(redactor: Redactor, value: BaseException | None, tb: TracebackType | None) -> str:
    return "" if value is None else format_exception(value, redactor, tb=tb)


def chained_excepthook(redactor: Redactor, previous: Any, patch: _Patch | None = None) -> Any:
    """A ``sys.excepthook`` that runs ``previous`` and scrubs what it writes to stderr."""
    return _exception_hook(
        redactor, "sys.excepthook", previous, patch, lambda etype, value, tb: (value, tb)
    )


def _thread_hook(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    return _exception_hook(redactor, "threading.excepthook", previous, patch, _args_exception)


def _unraisable_hook(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    return _exception_hook(redactor, "sys.unraisablehook", previous, patch, _args_exception)


def _args_exception(args: Any) -> tuple[BaseException | None, TracebackType | None]:
    return args.exc_value, args.exc_traceback


# -- warnings ---------------------------------------------------------------------------------
def _showwarning(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    @forget_locals
    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if patch.active:
            try:
                message, line = _scrub_warning(redactor, message, category, filename, lineno, line)
            except Exception:
                message, line = _WITHHELD, ""
        previous(message, category, filename, lineno, file, line)

    return showwarning


def _scrub_warning(
    redactor: Redactor,
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None,
) -> tuple[Warning | str, str]:
    text = str(message)
    clean = redactor.scrub(text)
    if clean != text:
        message = clean
        with contextlib.suppress(Exception):  # keep a Warning instance for hooks expecting one
            rebuilt = category(clean)
            if str(rebuilt) == clean:
                message = rebuilt
    if line is None:  # what the default formatter would read
        line = linecache.getline(filename, lineno)
    return message, redactor.scrub(line)


def _formatwarning(redactor: Redactor, previous: Any, patch: _Patch) -> Any:
    @forget_locals
    def formatwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        text: str = previous(message, category, filename, lineno, line)
        if not patch.active:
            return text
        try:
            return redactor.scrub(text)
        except Exception:
            return _WITHHELD + "\n"

    return formatwarning


# -- IPython ----------------------------------------------------------------------------------
def _ipython_shell() -> Any:
    module = sys.modules.get("IPython")  # not imported: not running in IPython
    get = getattr(module, "get_ipython", None)
    return get() if get is not None else None


def _ipython(redactor: Redactor, shell: Any) -> Any:
    install_ipython_handler(redactor, shell)
    return (shell.custom_exceptions, shell.CustomTB)


def _restore_shell(shell: Any, saved: tuple[Any, Any]) -> None:
    shell.custom_exceptions, shell.CustomTB = saved


def install_excepthook(redactor: Redactor) -> None:
    """Wrap ``sys.excepthook`` so uncaught exceptions print scrubbed tracebacks. The previous
    hook still runs; what it writes to ``sys.stderr`` is scrubbed on the way out."""
    sys.excepthook = chained_excepthook(redactor, sys.excepthook)
