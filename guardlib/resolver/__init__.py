"""Resolve secret references (``aws-sm://dev-api-key``, ``vault://secret/app#token`` ...) to
:class:`~guardlib.secret.Secret` values, through a cache, with retries, and with every value
registered for redaction.

Public API::

    resolve(ref, *, type=None, cache=DEFAULT, retry=retry.DEFAULT, name=None) -> Secret
    await aresolve(ref, ...)              # same, the provider call runs in a worker thread
    describe(ref, *, cache=DEFAULT, retry=...) -> dict   # metadata, never the value
    parse_reference(text) -> Reference    # InvalidReference for anything else
    load_mapping(path=None, environment=None, *, environ=None) -> dict[str, str]
    resolve_mapping(mapping, **resolve_options) -> dict[str, Secret]
    SecretCache(ttl=300, max_size=1024, grace=3600, clock=time.monotonic); default_cache
    RetryPolicy(max_attempts=4, base=0.05, cap=2.0, total=10.0, max_retry_after=5.0)
    redactor                              # the process-wide Redactor every value goes to
    install_redaction()                   # guardlib.install_redaction: the whole process

The grammar is in :mod:`guardlib.resolver.references`. ``cache=None`` bypasses the cache;
``env://`` is never cached (reading the environment is cheaper than the cache). Cache entries
are keyed by the reference AND who asks: a fingerprint of the caller's identity inputs for
that provider (:mod:`guardlib.sources`), so a value or its metadata obtained as one identity
is never served to another in the same process.

Errors: :class:`~guardlib.errors.InvalidReference`, ``SecretNotFound``, ``AccessDenied``,
``ProviderUnavailable`` (all ``ResolveError``), each with ``.reference`` and ``.cause``.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from guardlib.errors import RedactionError, ResolveError
from guardlib.redact.process import install_redaction
from guardlib.redact.scrubber import json_leaves, shared_redactor
from guardlib.resolver import retry
from guardlib.resolver.cache import CacheStats, SecretCache
from guardlib.resolver.mapping import load_mapping
from guardlib.resolver.references import Reference, as_reference, parse_reference
from guardlib.resolver.retry import RetryPolicy
from guardlib.resolver.values import convert, describe_value, select
from guardlib.secret import Secret
from guardlib.sources import MODULES, Fetched, default_fingerprint

#: the process-wide redactor: every value ``resolve`` returns is registered here
#: (:data:`guardlib.redact.scrubber.shared_redactor`, which ``install_redaction()`` scrubs)
redactor = shared_redactor

#: the process-wide cache ``resolve`` uses unless told otherwise
default_cache = SecretCache()

#: scheme -> ``fetch(Reference) -> Fetched``; filled lazily from ``guardlib.sources``.
#: Replace an entry to plug in a provider of your own (or to count calls in a test).
SOURCES: dict[str, Callable[[Reference], Fetched]] = {}

_DEFAULT: Any = object()
_sources_lock = threading.Lock()


def source(scheme: str) -> Callable[[Reference], Fetched]:
    fn = SOURCES.get(scheme)
    if fn is None:
        with _sources_lock:
            fn = SOURCES.get(scheme)
            if fn is None:
                fn = SOURCES[scheme] = importlib.import_module(MODULES[scheme]).fetch
    return fn


def _register(value: Any) -> None:
    """Register ``value`` with the process's redactor -- and, when it is a JSON document
    (an object or array, as text or parsed), every leaf in it (:func:`json_leaves`): a field
    of a JSON secret resolved whole is as secret as the document, and is what a program logs."""
    if isinstance(value, (int, float, bool)) or value is None:
        value = str(value)
    for leaf in json_leaves(value):
        _register_one(leaf)
    if not isinstance(value, (str, bytes)):
        import json

        try:
            value = json.dumps(value)
        except (TypeError, ValueError):
            return
    _register_one(value)


def _register_one(value: str | bytes) -> None:
    try:
        redactor.register(value)
    except RedactionError:
        pass  # shorter than redact.MIN_LENGTH: it cannot be scrubbed without wrecking logs


def _fetch(ref: Reference, policy: RetryPolicy) -> Fetched:
    fetch = source(ref.scheme)
    fetched = retry.call_with_retries(lambda: fetch(ref), policy)
    _register(fetched.value)
    return fetched


def fingerprint(scheme: str, ref: Reference) -> Callable[[], str]:
    """The function that says who would fetch ``ref`` now (see :mod:`guardlib.sources`)."""
    module = importlib.import_module(MODULES[scheme])
    make = getattr(module, "fingerprint", default_fingerprint)
    return make(ref)  # type: ignore[no-any-return]


def cache_key(ref: str | Reference) -> tuple[str, str] | None:
    """The key a :class:`SecretCache` files ``ref`` under for the caller as it is now:
    ``(fingerprint of who asks, source reference)``; None for a reference never cached."""
    _, key, who = _plan(ref)
    return None if key is None else (who(), key)


def _entry_fetched(ref: Reference, cache: Any, policy: RetryPolicy) -> tuple[Fetched, Any]:
    if cache is _DEFAULT:
        cache = default_cache
    _, key, who = _plan(ref)
    if cache is None or key is None:
        return _fetch(ref, policy), None
    src = ref.source
    entry = cache.get((who(), key), lambda: _fetch(src, policy))
    return entry.fetched, entry


def _finish(ref: Reference, fetched: Fetched, type: Any, name: str | None) -> Secret[Any]:
    text = str(ref)
    field = None if ref.scheme == "vault" else ref.field  # vault selects its KEY at the source
    value = select(text, fetched.value, field)
    if field is not None:
        _register(value)
    value = convert(text, value, type)
    return Secret(value, name=name if name is not None else text)


_plans: dict[Any, tuple[Reference, str | None, Callable[[], str]]] = {}


def _plan(ref: str | Reference) -> tuple[Reference, str | None, Callable[[], str]]:
    """The parsed reference, its cache key (None: never cached) and the function that says
    who asks (the entry's key is ``(who(), key)``), memoised per text (at most 4096)."""
    plan = _plans.get(ref)
    if plan is None:
        reference = as_reference(ref)
        if reference.scheme == "env":
            plan = (reference, None, str)
        else:
            plan = (reference, str(reference.source), fingerprint(reference.scheme, reference))
        if len(_plans) >= 4096:
            _plans.clear()
        _plans[ref] = plan
    return plan


def _hit(ref: str | Reference, cache: Any, type: Any, name: str | None) -> Secret[Any] | None:
    # the hot path of a cache hit: the caller's fingerprint, two dict look-ups and the clock,
    # no lock (measured in bench/bench_cache.py)
    reference, key, who = _plan(ref)
    if key is None or cache is None:
        return None
    entry = (default_cache if cache is _DEFAULT else cache).fresh((who(), key))
    if entry is None:
        return None
    return entry.derived.get((reference.field, type, name))  # type: ignore[no-any-return]


def resolve(
    ref: str | Reference,
    *,
    type: Any = None,
    cache: SecretCache | None = _DEFAULT,
    retry: RetryPolicy = retry.DEFAULT,
    name: str | None = None,
) -> Secret[Any]:
    """The secret ``ref`` points to, as a :class:`Secret` named after the reference (or
    ``name``). ``type``: ``str``, ``bytes``, ``int``, ``float``, ``bool``, ``dict``, ``list``,
    ``"json"`` or any one-argument callable. Binary secrets come back as ``bytes``."""
    # the hot path of a cache hit, inlined (bench/bench_cache.py): memoised plan, the
    # caller's fingerprint (who asks: an entry is never served to another identity), one dict
    # look-up, the clock, no lock
    plan = _plans.get(ref)
    reference, key, who = plan if plan is not None else _plan(ref)
    if key is not None and cache is not None:
        the_cache = default_cache if cache is _DEFAULT else cache
        full = (who(), key)
        entry = the_cache._entries.get(full)
        if entry is not None and the_cache.clock() < entry.expires:
            got = entry.derived.get((reference.field, type, name))
            if got is not None:
                try:
                    the_cache._entries.move_to_end(full)  # LRU recency (see SecretCache.fresh)
                except KeyError:
                    pass
                the_cache.stats.hits += 1
                return got  # type: ignore[no-any-return]
    fetched, entry = _entry_fetched(reference, cache, retry)
    secret = _finish(reference, fetched, type, name)
    if entry is not None:
        entry.derived[(reference.field, type, name)] = secret
    return secret


async def aresolve(
    ref: str | Reference,
    *,
    type: Any = None,
    cache: SecretCache | None = _DEFAULT,
    retry: RetryPolicy = retry.DEFAULT,
    name: str | None = None,
) -> Secret[Any]:
    """``resolve`` for asyncio: a cache hit returns at once; a miss runs the (blocking) SDK
    call in a worker thread (``asyncio.to_thread``), so the event loop never blocks.
    Concurrent misses share one provider call (the cache's single-flight)."""
    got = _hit(ref, cache, type, name)
    if got is not None:
        return got
    return await asyncio.to_thread(resolve, ref, type=type, cache=cache, retry=retry, name=name)


def describe(
    ref: str | Reference,
    *,
    cache: SecretCache | None = _DEFAULT,
    retry: RetryPolicy = retry.DEFAULT,
) -> dict[str, Any]:
    """What ``guardlib get REF`` shows without ``--reveal``: provider, name, version, stages,
    created time (when the provider gives it), value type (string/binary/json + keys) and
    length. Never the value."""
    reference = as_reference(ref)
    fetched, _ = _entry_fetched(reference, cache, retry)
    field = None if reference.scheme == "vault" else reference.field
    value = select(str(reference), fetched.value, field)
    out: dict[str, Any] = {
        "reference": str(reference),
        "provider": reference.scheme,
        "container": reference.container,
        "name": reference.name,
        "provider_name": fetched.name,
        "version": fetched.version,
        "stages": list(fetched.stages),
        "created": fetched.created.isoformat() if fetched.created is not None else None,
        "field": reference.field,
    }
    out.update(describe_value(value))
    return out


def resolve_mapping(mapping: Mapping[str, str], **options: Any) -> dict[str, Secret[Any]]:
    """Resolve every ``logical name -> reference`` of ``mapping``; each Secret is named after
    its logical name. Fails fast: every reference is parsed (and a bad one named by its key)
    before any provider is called."""
    from guardlib.errors import MappingError
    from guardlib.resolver.mapping import _valid

    parsed: dict[str, Reference] = {}
    for key, text in mapping.items():
        if not _valid(text):  # no __context__: the entry may be a pasted value
            raise MappingError(f"{key}: not a valid secret reference")
        parsed[key] = parse_reference(text)
    out: dict[str, Secret[Any]] = {}
    for key, ref in parsed.items():
        failed = None
        try:
            out[key] = resolve(ref, name=key, **options)
        except ResolveError as exc:
            failed = exc
        if failed is not None:  # raised outside the except block: no __context__ to carry
            raise _named(failed, key)
    return out


def _named(error: ResolveError, key: str) -> ResolveError:
    """``error`` again, its message prefixed with the logical name (``.name`` holds it)."""
    again = type(error)(error.reference, f"{key}: {error.message}", cause=error.cause)
    again.__dict__.update({k: v for k, v in vars(error).items() if k not in ("args", "message")})
    again.name = key  # type: ignore[attr-defined]
    again.__cause__ = error.__cause__
    again.__suppress_context__ = True
    return again


__all__ = [
    "CacheStats",
    "Reference",
    "RetryPolicy",
    "SOURCES",
    "SecretCache",
    "aresolve",
    "cache_key",
    "default_cache",
    "describe",
    "install_redaction",
    "load_mapping",
    "parse_reference",
    "redactor",
    "resolve",
    "resolve_mapping",
]
