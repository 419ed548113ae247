"""A cache hit: guardlib's ``resolve`` against ``aws_secretsmanager_caching.SecretCache`` and
Powertools' ``parameters.get_secret``, all warmed, in the same run, on the same AWS emulator.

Each figure is the median over batches of the per-call time of a batch of ``BATCH`` hits
(one call is too short to time alone). Targets: guardlib <= 1 us per hit, and guardlib /
Powertools <= 0.2.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable

BATCH = 2000
BATCHES = 40
REF = "aws-sm://bench-key"


def per_call_us(call: Callable[[], object]) -> float:
    for _ in range(BATCH):
        call()
    samples = []
    for _ in range(BATCHES):
        began = time.perf_counter()
        for _ in range(BATCH):
            call()
        samples.append((time.perf_counter() - began) / BATCH)
    return statistics.median(samples) * 1e6


def main() -> None:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_secretsmanager_caching import SecretCache as AwsCache
    from aws_secretsmanager_caching import SecretCacheConfig

    import guardlib
    from guardlib import emulators

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cloud = emulators.start(only=["aws"])
    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-bench-key"}}})
    cloud.apply_env("admin")

    aws_cache = AwsCache(SecretCacheConfig(), boto3.session.Session().client("secretsmanager"))
    guardlib.resolve(REF)
    aws_cache.get_secret_string("bench-key")
    parameters.get_secret("bench-key", max_age=300)

    ours = per_call_us(lambda: guardlib.resolve(REF))
    aws = per_call_us(lambda: aws_cache.get_secret_string("bench-key"))
    power = per_call_us(lambda: parameters.get_secret("bench-key", max_age=300))
    print(f"cache hit, median of {BATCHES} batches of {BATCH} calls (us per call):")
    print(f"  guardlib.resolve                         {ours:8.3f}")
    print(f"  aws_secretsmanager_caching               {aws:8.3f}   ratio {ours / aws:.3f}")
    print(f"  powertools parameters.get_secret         {power:8.3f}   ratio {ours / power:.3f}")
    print(f"targets: <= 1 us per hit ({'met' if ours <= 1 else 'MISSED'}), ratio vs Powertools "
          f"<= 0.2 ({'met' if ours / power <= 0.2 else 'MISSED'})")  # fmt: skip
    emulators.stop()


if __name__ == "__main__":
    main()
