"""Retries: exponential backoff with full jitter, bounded in attempts and total time.

Only :class:`~guardlib.errors.ProviderUnavailable` is retried (throttling: HTTP 429,
``ThrottlingException``, gRPC ``RESOURCE_EXHAUSTED``; transient 5xx, ``UNAVAILABLE``,
connection resets). ``AccessDenied``, ``SecretNotFound`` and every other error go straight to
the caller. A provider's ``Retry-After`` is a floor for the next delay.

How it composes with the SDKs' own retries: every source builds its client with the SDK's
retries off (botocore ``total_max_attempts=1``, azure-core ``retry_total=0``, google-api-core
``retry=None``; hvac has none), so ``max_attempts`` here is the total number of requests.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from typing import TypeVar

from guardlib.errors import ProviderUnavailable

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base: float = 0.05  # seconds: the first backoff window
    cap: float = 2.0  # seconds: the largest backoff window
    total: float = 10.0  # seconds: no retry starts after this much time has passed
    max_retry_after: float = 5.0  # a larger Retry-After is not waited for: give up instead

    def delay(self, attempt: int, error: ProviderUnavailable, rng: Callable[[], float]) -> float:
        """Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
        ``uniform(0, min(cap, base * 2**attempt))``, never below the provider's Retry-After."""
        window = min(self.cap, self.base * (2**attempt))
        delay = rng() * window
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)
DEFAULT = RetryPolicy()


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> T:
    began = clock()
    attempt = 0
    while True:
        try:
            return fn()
        except ProviderUnavailable as error:
            attempt += 1
            if attempt >= policy.max_attempts:
                raise
            if error.retry_after is not None and error.retry_after > policy.max_retry_after:
                raise  # the provider asks for a longer wait than we may spend: fail now
            delay = policy.delay(attempt - 1, error, rng)
            if clock() - began + delay > policy.total:
                raise
            sleep(delay)
