"""``resolve`` on a miss (no cache) through the AWS emulator against the bare boto3 call it
makes (``get_secret_value`` on a client built the same way: retries off), interleaved in
the same run so drift hits both alike. Target: guardlib's median <= 1.05 x boto3's.
"""

from __future__ import annotations

import logging
import statistics
import time

CALLS = 400
WARMUP = 30
REF = "aws-sm://bench-key"


def main() -> None:
    import boto3
    from botocore.config import Config

    import guardlib
    from guardlib import emulators

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    cloud = emulators.start(only=["aws"])
    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-bench-key"}}})
    cloud.apply_env("admin")
    client = boto3.session.Session().client(
        "secretsmanager", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )

    def bare() -> object:
        return client.get_secret_value(SecretId="bench-key")["SecretString"]

    def ours() -> object:
        return guardlib.resolve(REF, cache=None)

    for _ in range(WARMUP):
        bare()
        ours()
    samples: dict[str, list[float]] = {"boto3": [], "guardlib": []}
    for i in range(CALLS):
        order = (
            (("boto3", bare), ("guardlib", ours))
            if i % 2
            else (("guardlib", ours), ("boto3", bare))
        )
        for label, call in order:
            began = time.perf_counter()
            call()
            samples[label].append(time.perf_counter() - began)
    b = statistics.median(samples["boto3"]) * 1000
    g = statistics.median(samples["guardlib"]) * 1000
    print(f"resolve on a miss through the AWS emulator, median of {CALLS} interleaved calls:")
    print(f"  boto3 get_secret_value   {b:7.3f} ms")
    print(f"  guardlib.resolve         {g:7.3f} ms   overhead {100 * (g / b - 1):+.1f}%")
    print(f"target: <= +5% ({'met' if g <= 1.05 * b else 'MISSED'})")
    emulators.stop()


if __name__ == "__main__":
    main()
