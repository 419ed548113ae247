"""``Secret``: a value that will not print, log, pickle, serialise or display itself by accident.

What it protects against: *accidents*. A ``Secret`` shows a mask through ``print``, ``repr``,
f-strings and ``%``-formatting, ``logging`` arguments, tracebacks that print local variables
(``traceback`` with ``capture_locals=True``, IPython's ``%xmode Verbose``, ``rich``), and notebook
display; ``pickle`` and ``json.dumps`` refuse it.

What it cannot protect against: code in the same process that goes looking. ``.reveal()`` hands
the value to anyone who calls it, and the value is an ordinary object in memory, reachable through
``gc.get_objects()``, frame inspection (``inspect``, ``sys._getframe``), a debugger, a core or
memory dump, or ``/proc/self/mem``. Nor does it wipe memory: Python strings are immutable and
copies may remain after the ``Secret`` is gone. A revealed value is a plain ``str`` again: to
keep it out of logs and tracebacks, register it with :mod:`guardlib.redact`.

Design decisions (each one closes a channel a value could leak through):

* ``repr``/``str``/``format``/``%``-formatting/IPython display all render a fixed mask
  (``**********``), whose length says nothing about the value's length.
* ``.reveal()`` is the only way to get the value back, so every use is explicit and greppable.
* No ``__len__``, ``__iter__``, ``__getitem__``, ``__int__`` or ``__index__``: ``len(secret)`` would
  leak the length, and the others would leak the value itself (``"%d" % secret`` raises
  ``TypeError`` instead of printing a number).
* Truthiness is that of any object (always ``True``): it does not even reveal emptiness, and
  ``if secret:`` on an ``Optional[Secret]`` keeps meaning "is it there?".
* Equality uses :func:`hmac.compare_digest` for ``str``/``bytes`` values, so comparing a token does
  not leak how many leading characters matched through timing.
* Unhashable (``__hash__ = None``). Hashing the value would make ``hash(secret)`` a cheap,
  non-cryptographic fingerprint of it, and a set or dict keyed by secrets is a membership oracle.
  Hashing a digest instead would be inconsistent with ``Secret("x") == "x"`` (equal objects must
  hash equal). Key your dicts by the secret's *name*.
* Pickling is refused with a ``TypeError``: a pickle is bytes on disk or on the wire, which is
  exactly where a secret must not go implicitly. ``copy``/``deepcopy`` return a new ``Secret``.
* ``json.dumps`` raises the standard ``TypeError`` ("not JSON serializable"), without the value.
* The instance is immutable and has no ``__dict__`` (``vars()`` shows nothing). The value is in
  no attribute at all (kept by ``id`` in a private store, see ``_values_store``), so
  ``inspect.getmembers``, ``rich.inspect(private=True)``, IPython's ``obj?`` and a debugger's
  variable view, which enumerate attributes, show the name and the methods only.

:func:`forget_locals` is the other half, for library code: when a decorated function raises, the
frames it ran keep no local variables on the traceback.
"""

from __future__ import annotations

import functools
import hmac
import sys
import traceback
from collections.abc import Callable
from html import escape
from typing import Any, Generic, NoReturn, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

MASK = "**********"


def _values_store() -> tuple[
    Callable[[Any, Any], None], Callable[[Any], Any], Callable[[Any], None]
]:
    """Where every ``Secret`` keeps its value: a dict keyed by ``id(secret)``, reachable only
    through the three closures this returns -- not an attribute of the instance (so
    ``dir()``, ``inspect.getmembers``, ``rich.inspect(private=True)``, IPython's ``?`` and a
    debugger's variable view, which all walk ``dir()`` and ``getattr``, never meet it; nor
    ``gc.get_referents(secret)``), and not a module global (a debugger's globals view would
    list it). ``Secret.__del__`` removes the entry before the id can be reused. Deliberate
    code can still reach it (``__closure__``): this stops accidents, not an attacker in the
    same process (see the module docstring)."""
    values: dict[int, Any] = {}

    def keep(secret: Any, value: Any) -> None:
        if values.setdefault(id(secret), value) is not value:  # __init__ called again
            raise AttributeError("Secret objects are immutable")

    def look_up(secret: Any) -> Any:
        try:
            return values[id(secret)]
        except KeyError:
            pass
        raise AttributeError("this Secret holds no value (its __init__ did not run)")

    def drop(secret: Any) -> None:
        values.pop(id(secret), None)

    return keep, look_up, drop


_keep, _look_up, _drop = _values_store()


class Secret(Generic[T]):
    """Wrap a sensitive value so it only leaves through :meth:`reveal`.

    >>> key = Secret("demo-not-a-real-key-1234", name="API_KEY")
    >>> key
    Secret(name='API_KEY', value='**********')
    >>> f"key={key}"
    'key=**********'
    >>> key.reveal()
    'demo-not-a-real-key-1234'
    """

    __slots__ = ("_secret_name",)  # the value is in no slot: see _values_store
    __hash__ = None  # type: ignore[assignment]  # deliberate: see module docstring
    _secret_name: str | None

    def __init__(self, value: T, name: str | None = None) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if name is not None and not isinstance(name, str):
            del value  # not even in this frame's locals on the traceback
            raise TypeError("Secret name must be a str or None")
        _keep(self, value)
        object.__setattr__(self, "_secret_name", name)

    # -- the one explicit way out ---------------------------------------------------------
    def reveal(self) -> T:
        """Return the wrapped value. Every call site is a place the value can leak: keep few."""
        return _look_up(self)  # type: ignore[no-any-return]

    def __del__(self, _forget: Callable[[Any], None] = _drop) -> None:
        _forget(self)  # bound at definition: still callable while the interpreter shuts down

    @property
    def name(self) -> str | None:
        """The optional name (for example the environment variable), safe to show."""
        return self._secret_name

    # -- rendering channels: always the mask ----------------------------------------------
    def __repr__(self) -> str:
        name = getattr(self, "_secret_name", None)  # unset if __init__ raised (a traceback's self)
        if name is None:
            return f"Secret({MASK!r})"
        return f"Secret(name={name!r}, value={MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        # Honour alignment/width specs such as {s:>20}; ignore specs that make no sense for
        # text (like {s:.2f}) rather than raising, so a log line never breaks on a secret.
        try:
            return format(MASK, format_spec)
        except (ValueError, TypeError):
            return MASK

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's pretty printer (plain-text display in notebooks)."""
        p.text(repr(self))

    def _repr_html_(self) -> str:
        """Jupyter's rich display."""
        return f"<code>{escape(repr(self))}</code>"

    # -- comparisons ----------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other_value = other.reveal()
        elif isinstance(other, (str, bytes)):
            other_value = other
        else:
            return NotImplemented
        mine = self.reveal()
        if isinstance(mine, (str, bytes)) and isinstance(other_value, (str, bytes)):
            a = mine.encode("utf-8") if isinstance(mine, str) else mine
            b = other_value.encode("utf-8") if isinstance(other_value, str) else other_value
            if type(mine) is not type(other_value):
                return False
            return hmac.compare_digest(a, b)
        return bool(type(mine) is type(other_value) and mine == other_value)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __bool__(self) -> bool:
        return True

    # -- copying and serialisation --------------------------------------------------------
    def __copy__(self) -> Secret[T]:
        return Secret(self.reveal(), name=self._secret_name)

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret[T]:
        import copy

        return Secret(copy.deepcopy(self.reveal(), memo), name=self._secret_name)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise _refuse_pickle()

    def __reduce__(self) -> NoReturn:
        raise _refuse_pickle()

    def __getstate__(self) -> NoReturn:
        raise _refuse_pickle()

    # -- immutability ---------------------------------------------------------------------
    def __setattr__(self, key: str, value: Any) -> NoReturn:
        raise AttributeError("Secret objects are immutable")

    def __delattr__(self, key: str) -> NoReturn:
        raise AttributeError("Secret objects are immutable")


def _refuse_pickle() -> TypeError:
    return TypeError(
        "Secret objects refuse to be pickled: a pickle would carry the value to disk or over "
        "the wire. Store a reference (a variable name or a vault path) instead, or call "
        ".reveal() explicitly if you really must."
    )


def reveal(value: Secret[T] | T) -> T:
    """Return ``value.reveal()`` for a :class:`Secret`, or ``value`` itself otherwise."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def forget_locals(func: Callable[P, T]) -> Callable[P, T]:
    """Decorate a library function so that, if it raises, no frame it ran keeps its locals.

    A traceback holds every frame the exception passed through, and renderers that show local
    variables (``traceback`` with ``capture_locals=True``, IPython's ``%xmode Verbose``,
    ``rich.traceback``) print them: a ``raw`` or ``text`` variable there prints a secret. On the
    way out this clears (``frame.clear()``, via :func:`traceback.clear_frames`) every finished
    frame on the traceback of the exception *and* of the exceptions chained to it during the call
    -- ``raise ... from None`` only hides ``__context__`` from display, the exception and its
    frames stay attached (https://docs.python.org/3/library/exceptions.html#exception-context).
    The chain is followed down to the exception the caller was already handling, if any: the
    caller's own frames are left alone.
    """

    @functools.wraps(func)
    def without_locals(*args: P.args, **kwargs: P.kwargs) -> T:
        outer = sys.exc_info()[1]
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            del args, kwargs  # this frame stays on the traceback: keep nothing in it
            _clear_chain(exc, outer)
            del outer
            raise

    return without_locals


def _clear_chain(exc: BaseException, stop: BaseException | None) -> None:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or current is stop or any(current is s for s in seen):
            continue
        seen.append(current)
        traceback.clear_frames(current.__traceback__)  # skips frames still executing
        todo += [current.__cause__, current.__context__]
        todo += getattr(current, "exceptions", ())  # an ExceptionGroup's members
