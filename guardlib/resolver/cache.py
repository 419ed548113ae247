"""``SecretCache``: TTL + LRU + single-flight + stale-if-error, keyed by WHO ASKS and the FULL
source reference. Who asks: a fingerprint (salted hash) of the caller's identity inputs for
that provider -- credentials, profile, role, token file content, endpoint
(:mod:`guardlib.sources`) -- so a value resolved as ``prod-app`` is never a hit for
``dev-app``, nor a main-branch job's for a pull request's, and ``describe`` never shows another
identity's version or length. The full reference: ``aws-sm://x?stage=AWSPENDING`` and
``aws-sm://x`` are different keys, so a read of a pending version is never served for a plain
read (Powertools' ``get_secret`` caches by name alone and has that trap).

Keys are ``(fingerprint, reference text)``; ``"ref" in cache`` and ``invalidate("ref")`` take
the reference text alone and mean every identity's entry.

* ``ttl``: seconds an entry is fresh. After it, the next read goes to the provider; for an
  unpinned reference that read notices a rotation (a new AWSCURRENT version id, a new latest
  GCP version, a new Azure version): ``stats.rotations`` counts them.
* ``max_size``: least recently used entries go first.
* ``grace``: if the provider raises ``ProviderUnavailable`` after the TTL, the stale value is
  served for up to ``grace`` seconds past expiry (``stats.stale_served``). ``AccessDenied``
  and ``SecretNotFound`` evict instead: a revoked grant must not keep working from cache. The
  stale entry is the caller's own (same fingerprint), and a refusal is AccessDenied however
  the transport reports it (the sources classify by cause), so a caller whose own request was
  refused is never served.
* single-flight: concurrent misses on one key make exactly one provider call; the others
  wait for it and share its result or its error.
* ``clock``: injectable (default ``time.monotonic``) for tests.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from guardlib.errors import AccessDenied, ProviderUnavailable, SecretNotFound
from guardlib.sources import Fetched


@dataclasses.dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0
    rotations: int = 0
    stale_served: int = 0
    evictions: int = 0


class Entry:
    __slots__ = ("fetched", "expires", "derived")

    def __init__(self, fetched: Fetched, expires: float) -> None:
        self.fetched = fetched
        self.expires = expires
        self.derived: dict[Any, Any] = {}  # (field, type) -> Secret, so a hit builds nothing

    def __repr__(self) -> str:
        return f"Entry(version={self.fetched.version!r}, expires={self.expires!r})"


class _Flight:
    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: Entry | None = None
        self.error: BaseException | None = None


class SecretCache:
    def __init__(
        self,
        ttl: float = 300.0,
        max_size: int = 1024,
        grace: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or grace < 0 or max_size < 1:
            raise ValueError("ttl and grace must be >= 0 and max_size >= 1")
        self.ttl, self.max_size, self.grace, self.clock = ttl, max_size, grace, clock
        self.stats = CacheStats()
        self._entries: OrderedDict[Any, Entry] = OrderedDict()
        self._flights: dict[Any, _Flight] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SecretCache(ttl={self.ttl}, size={len(self._entries)}/{self.max_size})"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """``(fingerprint, ref)`` exactly, or a reference's text: any identity's entry."""
        if isinstance(key, str):
            return any(k[1] == key for k in list(self._entries) if isinstance(k, tuple))
        return key in self._entries

    def fresh(self, key: Any) -> Entry | None:
        """The entry if it is fresh (counts a hit), else None. Never calls a provider.

        Lock-free: ``dict.get`` and ``OrderedDict.move_to_end`` are single C calls, atomic
        under the GIL for keys of ``str`` (tuples of them); a concurrent eviction only makes
        ``move_to_end`` raise KeyError, which is harmless. ``stats.hits`` may undercount under
        contention."""
        entry = self._entries.get(key)
        if entry is not None and self.clock() < entry.expires:
            try:
                self._entries.move_to_end(key)
            except KeyError:
                pass  # evicted meanwhile: the entry we hold is still a valid answer
            self.stats.hits += 1
            return entry
        return None

    def get(self, key: Any, load: Callable[[], Fetched]) -> Entry:
        """The fresh entry for ``key``, or ``load()`` it (once, however many threads ask)."""
        entry = self.fresh(key)
        if entry is not None:
            return entry
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self.clock() < entry.expires:  # filled meanwhile
                self.stats.hits += 1
                return entry
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self.stats.misses += 1
            stale = entry
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.entry is not None
            return flight.entry
        try:
            result = self._load(key, load, stale)
            flight.entry = result
            return result
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _load(self, key: Any, load: Callable[[], Fetched], stale: Entry | None) -> Entry:
        try:
            fetched = load()
        except ProviderUnavailable:
            if stale is not None and self.clock() < stale.expires + self.grace:
                with self._lock:
                    self.stats.stale_served += 1
                return stale
            raise
        except (AccessDenied, SecretNotFound):
            self.invalidate(key)
            raise
        entry = Entry(fetched, self.clock() + self.ttl)
        with self._lock:
            self.stats.loads += 1
            if stale is not None and stale.fetched.version != fetched.version:
                self.stats.rotations += 1
            elif stale is not None and stale.fetched.value == fetched.value:
                entry.derived = stale.derived  # same value: keep the converted Secrets
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
                self.stats.evictions += 1
        return entry

    def invalidate(self, key: Any = None) -> None:
        """Forget one key, a reference's entries for every identity (its text), or everything."""
        with self._lock:
            if key is None:
                self._entries.clear()
            elif isinstance(key, str):
                for k in [k for k in self._entries if isinstance(k, tuple) and k[1] == key]:
                    del self._entries[k]
            else:
                self._entries.pop(key, None)

    clear = invalidate
