"""Scrubbed tracebacks for scripts and notebooks: :func:`format_exception`,
:func:`install_ipython_handler` (every traceback an IPython shell shows, any ``%xmode``) and
:func:`verbose_traceback` (what ``%xmode Verbose`` prints, for chapter 04's demonstration).
"""

from __future__ import annotations

import re
import traceback
from types import TracebackType
from typing import Any

from guardlib.redact.scrubber import Redactor


def format_exception(
    exc: BaseException,
    redactor: Redactor,
    *,
    tb: TracebackType | None = None,
) -> str:
    """Format ``exc`` (with its chain) like Python does, then scrub it."""
    text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    return redactor.scrub(text)


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
