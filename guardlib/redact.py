"""Scrub secrets from log records and tracebacks.

* :class:`Redactor` -- a set of registered values (raw strings, bytes or
  :class:`~guardlib.secret.Secret` objects) and :meth:`Redactor.scrub` to mask them in any text,
  together with their common spellings: ``repr``/JSON escapes, percent-encoding (``quote``,
  ``quote_plus``), hex, and standard and URL-safe base64, including the value inside a longer
  base64 text such as a ``Basic`` auth header.
* :class:`RedactingFilter` -- a :class:`logging.Filter` that rewrites each record: the message
  *after* ``%``-formatting with its args, ``extra=`` fields, the formatted exception
  (``exc_info`` becomes a scrubbed ``exc_text``) and ``stack_info``.
* :func:`install_redaction` -- attach one filter to a logger *and* its handlers. (A filter on a
  logger only sees records logged on that very logger; records from child loggers reach the
  handlers directly, so the handlers need it too.)
* :func:`install_everywhere` -- one call for the whole process: every log record of every logger
  and handler (present or future), uncaught exceptions in the main thread and in threads,
  unraisable exceptions, warnings and IPython tracebacks (:mod:`guardlib.redact_hooks`).
* :func:`format_exception` / :func:`install_excepthook` / :func:`install_ipython_handler` --
  scrubbed tracebacks for scripts and notebooks.

A ``Secret`` already renders as a mask; registering one also catches its *revealed* value,
for example inside an exception message built with ``.reveal()``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from guardlib.errors import RedactionError
from guardlib.secret import MASK, Secret, forget_locals

if TYPE_CHECKING:
    from guardlib.redact_hooks import ProcessRedaction

#: the shortest value :meth:`Redactor.register` accepts
MIN_LENGTH = 6
#: the shortest *encoded* spelling (base64, hex, percent) that is scrubbed. The base64 of a value
#: in the middle of a longer text keeps only the characters that depend on the value alone,
#: two or three fewer than the value's own base64: for a 6-byte value that is 7 characters.
#: Below 8 such a fragment would start to match inside unrelated base64 and hex in the logs.
MIN_ENCODED_LENGTH = 8

# attributes every LogRecord has; anything else came from ``extra=``
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
_URLSAFE = str.maketrans("+/", "-_")
_PERCENT = re.compile(r"%[0-9A-F]{2}")


@forget_locals
def spellings(value: str | bytes | Secret[Any] | Any) -> set[str]:
    """Every spelling of ``value`` that :meth:`Redactor.scrub` masks (see the module docstring).

    Raises :class:`~guardlib.errors.RedactionError` (without the value) when the value is
    shorter than :data:`MIN_LENGTH`.
    """
    raw: Any = value.reveal() if isinstance(value, Secret) else value
    if isinstance(raw, bytes):
        data = raw
        texts = {repr(raw)[2:-1]}
        try:
            texts.add(raw.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    elif isinstance(raw, str):
        data = raw.encode("utf-8", "surrogatepass")
        texts = {raw}
    else:
        data = str(raw).encode("utf-8", "surrogatepass")
        texts = {str(raw), repr(raw)}
    if any(len(text) < MIN_LENGTH for text in texts):
        raise RedactionError(
            f"refusing to register a value shorter than {MIN_LENGTH} characters for redaction"
        )
    forms = set(texts)
    forms.add(repr(data)[2:-1])  # inside the repr of the encoded bytes
    for text in texts:  # inside a repr() or a JSON document
        forms.add(repr(text)[1:-1])
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    encoded = {data.hex(), data.hex().upper()}
    for percent in (quote(data, safe=""), quote(data), quote_plus(data)):
        encoded |= {percent, _PERCENT.sub(lambda m: m.group().lower(), percent)}
    padded = base64.b64encode(data).decode("ascii")
    encoded |= {padded, padded.rstrip("=")}
    for offset in (0, 1, 2):  # inside a longer base64 text, at each of the 3 byte alignments
        text = base64.b64encode(bytes(offset) + data).decode("ascii")
        # keep the characters whose 6 bits all come from the value's bytes
        encoded.add(text[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6])
    encoded |= {form.translate(_URLSAFE) for form in encoded}
    return {f for f in forms if len(f) >= MIN_LENGTH} | {
        f for f in encoded if len(f) >= MIN_ENCODED_LENGTH
    }


def _trie_pattern(words: Iterable[str]) -> str:
    """One regular expression matching any of ``words``, the longest at any position.

    The words share their prefixes in a trie, so the engine checks one character class per
    position instead of every word: about 15x faster than a flat alternation of a few thousand
    literals. At a node where a word ends, the longer continuations are tried first (a greedy
    ``(?:...)?``), which gives the same result as a flat alternation sorted longest first.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _node_pattern(root)


def _node_pattern(node: dict[str, Any]) -> str:
    parts: list[str] = []
    while True:  # follow a chain of single children without recursing
        kids = [char for char in node if char]
        if len(kids) == 1 and "" not in node:
            parts.append(re.escape(kids[0]))
            node = node[kids[0]]
            continue
        break
    if kids:
        branches = [re.escape(char) + _node_pattern(node[char]) for char in sorted(kids)]
        group = "(?:" + "|".join(branches) + ")"
        parts.append(group + "?" if "" in node else group)
    return "".join(parts)


def _compile(values: set[str]) -> re.Pattern[str] | None:
    if not values:
        return None
    try:
        return re.compile(_trie_pattern(values))
    except (RecursionError, re.error, OverflowError):  # absurdly nested: a flat alternation
        ordered = sorted(values, key=len, reverse=True)  # longest first
        return re.compile("|".join(re.escape(v) for v in ordered))


class Redactor:
    """A registry of secret values and a fast ``scrub`` over any text.

    ``register`` only records the new spellings; the single pattern over all of them is rebuilt
    on the next ``scrub`` (so registering a hundred values compiles once). ``scrub`` always
    consults the current set: a value registered after a hook was installed is scrubbed too.
    """

    @forget_locals
    def __init__(self, values: Iterable[str | bytes | Secret[Any]] = (), *, mask: str = MASK):
        self.mask = mask
        self._values: set[str] = set()
        self._seen: set[str | bytes] = set()  # registered values, to skip them quickly
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False
        for value in values:
            self.register(value)

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} patterns)"

    def __len__(self) -> int:
        return len(self._values)

    @forget_locals
    def register(self, value: str | bytes | Secret[Any]) -> None:
        """Add a value (or a Secret's value) to scrub, with its escaped and encoded spellings.

        Values shorter than ``MIN_LENGTH`` are refused: masking every ``"abc"`` in every log line
        would wreck the logs and such a short value is not a secret anyway. If it raises, no
        frame of the traceback keeps the value (:func:`~guardlib.secret.forget_locals`).
        """
        raw = value.reveal() if isinstance(value, Secret) else value
        if isinstance(raw, (str, bytes)) and raw in self._seen:
            return  # env:// values are registered on every resolve: keep that cheap
        forms = spellings(raw)
        with self._lock:
            if not forms <= self._values:
                self._values |= forms
                self._stale = True
            if isinstance(raw, (str, bytes)):
                self._seen.add(raw)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every registered value (in any spelling) replaced by the mask."""
        if not text:
            return text
        pattern = self._pattern
        if self._stale:
            with self._lock:
                if self._stale:
                    self._pattern = _compile(self._values)
                    self._stale = False
                pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(self.mask, text)


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


def install_redaction(
    target: logging.Logger | logging.Handler | None = None,
    *values: str | bytes | Secret[Any],
    redactor: Redactor | None = None,
) -> RedactingFilter:
    """Attach a :class:`RedactingFilter` to ``target`` (default: the root logger) and, for a
    logger, to each of its handlers. Returns the filter; call ``.register(...)`` to add values.

    Handlers added later, loggers with ``propagate=False`` and the other channels (threads,
    warnings, uncaught exceptions) are not covered: :func:`install_everywhere` is."""
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


def install_everywhere(redactor: Redactor, *, ipython: bool = True) -> ProcessRedaction:
    """Scrub ``redactor``'s values from every channel of the process, in one idempotent call.

    See :mod:`guardlib.redact_hooks`. Returns a :class:`~guardlib.redact_hooks.ProcessRedaction`
    whose ``uninstall()`` puts every previous hook back."""
    from guardlib.redact_hooks import install

    return install(redactor, ipython=ipython)


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
    """Wrap ``sys.excepthook`` so uncaught exceptions print scrubbed tracebacks. The previous
    hook still runs; what it writes to ``sys.stderr`` is scrubbed on the way out."""
    from guardlib.redact_hooks import chained_excepthook

    sys.excepthook = chained_excepthook(redactor, sys.excepthook)


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
        try:
            stb = self.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
            scrubbed = [redactor.scrub(_strip_ansi(line)) for line in stb]
        except Exception:  # IPython would show the raw traceback if this handler failed
            scrubbed = [format_exception(value, redactor, tb=tb)]
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
