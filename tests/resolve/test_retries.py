"""Retries against injected faults: throttling and 5xx are retried with backoff, auth never."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import guardlib
from guardlib.errors import AccessDenied, ProviderUnavailable
from guardlib.resolver.retry import RetryPolicy, call_with_retries

FAST = RetryPolicy(max_attempts=4, base=0.001, cap=0.01, total=5)
CASES = [
    ("aws", "aws-sm://dev-api-key"),
    ("azure", "azure-kv://guard-demo/dev-api-key"),
    ("gcp", "gcp-sm://guard-demo/dev-api-key"),
    ("vault", "vault://secret/dev-api-key#value"),
]


@pytest.mark.parametrize(("service", "ref"), CASES[:3])  # OpenBao is a real server: no faults
@pytest.mark.parametrize("kind", ["throttle", "error"])
def test_transient_faults_are_retried(
    seeded: Any, cloud: Any, calls: Counter[str], service: str, ref: str, kind: str
) -> None:
    options = {"retry_after": 0} if kind == "throttle" else {"status": 503}
    cloud.faults.inject(kind, service=service, times=2, **options)
    policy = RetryPolicy(max_attempts=4, base=0.001, cap=0.01, total=5)
    assert guardlib.resolve(ref, cache=None, retry=policy) == "demo-not-a-real-key-dev"
    assert calls[ref] == 3  # two faults, then the answer: one request per attempt


@pytest.mark.parametrize(("service", "ref"), CASES[:3])
def test_attempts_are_bounded(seeded: Any, cloud: Any, calls: Counter[str], service: str,
                              ref: str) -> None:  # fmt: skip
    cloud.faults.inject("throttle", service=service, retry_after=0)
    with pytest.raises(ProviderUnavailable) as info:
        guardlib.resolve(ref, cache=None, retry=FAST)
    assert info.value.throttled and calls[ref] == 4


def test_retry_after_is_honoured_and_bounded(seeded: Any, cloud: Any, calls: Counter[str]) -> None:
    ref = "azure-kv://guard-demo/dev-api-key"
    cloud.faults.inject("throttle", service="azure", retry_after=30)
    with pytest.raises(ProviderUnavailable) as info:  # 30 s > max_retry_after: give up at once
        guardlib.resolve(ref, cache=None, retry=RetryPolicy(max_retry_after=5))
    assert info.value.retry_after == 30 and calls[ref] == 1


@pytest.mark.parametrize("ref", [r for _, r in CASES])
def test_access_denied_is_never_retried(
    seeded: Any, use: Any, calls: Counter[str], ref: str
) -> None:
    use("nobody-app")
    with pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=None, retry=FAST)
    assert calls[ref] == 1


def test_backoff_is_full_jitter_and_respects_retry_after() -> None:
    slept: list[float] = []
    attempts = 0
    error = ProviderUnavailable("aws-sm://x", "throttled", throttled=True)

    def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise error
        return "ok"

    policy = RetryPolicy(max_attempts=5, base=1.0, cap=3.0, total=100)
    assert call_with_retries(flaky, policy, sleep=slept.append, rng=lambda: 1.0) == "ok"
    assert slept == [1.0, 2.0, 3.0]  # windows 1, 2, 4 capped at 3 (rng at its maximum)
    slept.clear()
    attempts = 0
    assert call_with_retries(flaky, policy, sleep=slept.append, rng=lambda: 0.0) == "ok"
    assert slept == [0.0, 0.0, 0.0]
    hinted = ProviderUnavailable("aws-sm://x", "throttled", retry_after=2.5)
    assert policy.delay(0, hinted, lambda: 0.0) == 2.5


def test_total_time_is_bounded() -> None:
    now = [0.0]

    def always() -> str:
        raise ProviderUnavailable("aws-sm://x", "down")

    def sleep(s: float) -> None:
        now[0] += s

    policy = RetryPolicy(max_attempts=100, base=1.0, cap=1.0, total=3.5)
    with pytest.raises(ProviderUnavailable):
        call_with_retries(always, policy, sleep=sleep, clock=lambda: now[0], rng=lambda: 1.0)
    assert now[0] == 3.0
