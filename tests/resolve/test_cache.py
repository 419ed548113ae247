"""SecretCache: TTL, LRU, stage-aware keys, rotation refresh, stale-if-error, single-flight.
Against the AWS emulator, with an injected clock; provider calls counted by wrapping
guardlib's own fetch functions (``calls`` fixture)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

import guardlib
from guardlib.errors import AccessDenied, ProviderUnavailable
from guardlib.resolver import SecretCache
from guardlib.resolver.retry import NO_RETRY

REF = "aws-sm://dev-api-key"
DEV = "demo-not-a-real-key-dev"


def admin_client(cloud: Any) -> Any:
    import boto3

    with cloud.as_identity("admin"):
        return boto3.session.Session().client("secretsmanager")


def test_ttl(seeded: Any, calls: Counter[str], clock: Any) -> None:
    cache = SecretCache(ttl=60, clock=clock)
    for _ in range(5):
        assert guardlib.resolve(REF, cache=cache) == DEV
    assert calls[REF] == 1
    clock.advance(59)
    guardlib.resolve(REF, cache=cache)
    assert calls[REF] == 1
    clock.advance(2)
    guardlib.resolve(REF, cache=cache)
    assert calls[REF] == 2
    assert cache.stats.hits == 5 and cache.stats.loads == 2


def test_fields_share_one_provider_call(seeded: Any, calls: Counter[str], clock: Any) -> None:
    cache = SecretCache(clock=clock)
    guardlib.resolve("aws-sm://db-creds#user", cache=cache)
    guardlib.resolve("aws-sm://db-creds#password", cache=cache)
    assert calls["aws-sm://db-creds"] == 1


def test_lru_bound(seeded: Any, calls: Counter[str], clock: Any) -> None:
    cache = SecretCache(max_size=2, clock=clock)
    for ref in (REF, "aws-sm://db-creds", "aws-sm://blob-key"):
        guardlib.resolve(ref, cache=cache)
    assert len(cache) == 2 and REF not in cache and cache.stats.evictions == 1
    guardlib.resolve("aws-sm://db-creds", cache=cache)  # a hit keeps it recent
    guardlib.resolve(REF, cache=cache)  # evicts blob-key, the least recently used
    assert "aws-sm://blob-key" not in cache and "aws-sm://db-creds" in cache
    assert calls[REF] == 2


def test_stage_is_part_of_the_key(seeded: Any, cloud: Any, clock: Any) -> None:
    """The Powertools trap: a read of AWSPENDING must never be served for a plain read."""
    admin = admin_client(cloud)
    admin.put_secret_value(SecretId="dev-api-key", SecretString="demo-not-a-real-key-pending",
                           VersionStages=["AWSPENDING"])  # fmt: skip
    cache = SecretCache(clock=clock)
    pending = guardlib.resolve(f"{REF}?stage=AWSPENDING", cache=cache)
    assert pending == "demo-not-a-real-key-pending"
    assert guardlib.resolve(REF, cache=cache) == DEV
    assert guardlib.resolve(f"{REF}?stage=AWSPENDING", cache=cache) == pending


def test_rotation_is_noticed_after_ttl(seeded: Any, cloud: Any, clock: Any) -> None:
    cache = SecretCache(ttl=30, clock=clock)
    before = guardlib.describe(REF, cache=cache)["version"]
    assert guardlib.resolve(REF, cache=cache) == DEV
    admin_client(cloud).put_secret_value(SecretId="dev-api-key",
                                         SecretString="demo-not-a-real-key-rotated")  # fmt: skip
    assert guardlib.resolve(REF, cache=cache) == DEV  # still fresh: the cached value
    clock.advance(31)
    assert guardlib.resolve(REF, cache=cache) == "demo-not-a-real-key-rotated"
    assert guardlib.describe(REF, cache=cache)["version"] != before
    assert cache.stats.rotations == 1


def test_pinned_version_survives_rotation(seeded: Any, cloud: Any, clock: Any) -> None:
    cache = SecretCache(ttl=30, clock=clock)
    version = guardlib.describe(REF, cache=cache)["version"]
    admin_client(cloud).put_secret_value(SecretId="dev-api-key",
                                         SecretString="demo-not-a-real-key-rotated")  # fmt: skip
    clock.advance(31)
    assert guardlib.resolve(f"{REF}?version={version}", cache=cache) == DEV


def test_stale_if_error_within_grace(seeded: Any, cloud: Any, clock: Any) -> None:
    cache = SecretCache(ttl=10, grace=100, clock=clock)
    guardlib.resolve(REF, cache=cache)
    clock.advance(11)
    cloud.faults.inject("error", service="aws", status=503)
    assert guardlib.resolve(REF, cache=cache, retry=NO_RETRY) == DEV
    assert cache.stats.stale_served == 1
    clock.advance(100)  # past the grace window
    with pytest.raises(ProviderUnavailable) as info:
        guardlib.resolve(REF, cache=cache, retry=NO_RETRY)
    assert info.value.cause is not None and info.value.cause.status == 503
    cloud.faults.clear()
    assert guardlib.resolve(REF, cache=cache) == DEV


def test_access_denied_is_never_served_stale(seeded: Any, use: Any, clock: Any) -> None:
    cache = SecretCache(ttl=10, grace=100, clock=clock)
    guardlib.resolve(REF, cache=cache)
    clock.advance(11)
    use("nobody-app")  # another identity: it asks, and is refused
    with pytest.raises(AccessDenied):
        guardlib.resolve(REF, cache=cache)
    assert cache.stats.stale_served == 0
    use("dev-app")
    mine = guardlib.resolver.cache_key(REF)
    assert mine in cache  # dev-app's own entry is untouched
    seeded.reset()  # the grant is revoked: dev-app is still an identity, with no read
    seeded.seed({"identities": ["dev-app"],
                 "secrets": {"dev-api-key": {"value": DEV, "readers": ["ops-app"]}}})  # fmt: skip
    with pytest.raises(AccessDenied):  # dev-app's grant is gone: evicted, not served stale
        guardlib.resolve(REF, cache=cache)
    assert mine not in cache and REF not in cache
    assert cache.stats.stale_served == 0


def test_single_flight_100_threads(
    seeded: Any, cloud: Any, calls: Counter[str], clock: Any
) -> None:
    cache = SecretCache(ttl=60, clock=clock)
    cloud.faults.inject("latency", service="aws", latency_ms=150, times=1)
    barrier = threading.Barrier(100)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(guardlib.resolve(REF, cache=cache))

    for window in range(2):
        threads = [threading.Thread(target=worker) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert calls[REF] == window + 1  # exactly one provider call per TTL window
        clock.advance(61)
    assert len(results) == 200 and all(r == DEV for r in results)


def test_single_flight_shares_errors(
    seeded: Any, use: Any, calls: Counter[str], clock: Any
) -> None:
    use("nobody-app")
    cache = SecretCache(clock=clock)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            guardlib.resolve(REF, cache=cache)
        except AccessDenied as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 20 and 1 <= calls[REF] <= 20


def test_cache_none_bypasses(seeded: Any, calls: Counter[str]) -> None:
    guardlib.resolve(REF, cache=None)
    guardlib.resolve(REF, cache=None)
    assert calls[REF] == 2


def test_invalid_cache_options() -> None:
    with pytest.raises(ValueError):
        SecretCache(max_size=0)
