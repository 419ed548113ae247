"""GCP Secret Manager emulator: start-up time, and the ``access_secret_version`` round trip
against moto server's ``get_secret_value`` (boto3) measured in the same run.

Start-up is measured three ways (medians):

- *emulator*: ``GcpEmulator.start(ctx)`` alone, in this process (gRPC server bound, TLS leaf);
- *warm*: ``emulators.start(only=["gcp"])`` in a fresh process that has already imported the
  client library (as a notebook that uses it has), i.e. CA + gateway + emulator;
- *cold*: the same in a fresh process, including importing grpc and the Secret Manager types.

Round trips go through the whole path a user's code takes: the real client, the gateway's
CONNECT tunnel, TLS, gRPC, JWT check, IAM. Targets: ready <= 300 ms; access median <= 0.5 x
moto's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from peer import moto_get_secret_value_ms

CALLS = 300
WARMUP = 20
STARTS = 7

_START_SCRIPT = """
import time
{preload}
from guardlib import emulators
t0 = time.perf_counter()
emulators.start(only=["gcp"])
print(time.perf_counter() - t0)
"""


def start_in_fresh_process(preload: bool) -> float:
    script = _START_SCRIPT.format(
        preload="import grpc; from google.cloud import secretmanager" if preload else ""
    )
    samples = []
    for _ in range(STARTS):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples) * 1000


def emulator_start(cloud) -> float:  # type: ignore[no-untyped-def]
    from guardlib.emulators.gcp import GcpEmulator

    samples = []
    for _ in range(STARTS):
        emulator = GcpEmulator()
        t0 = time.perf_counter()
        emulator.start(cloud.context)
        samples.append(time.perf_counter() - t0)
        emulator.stop()
    return statistics.median(samples) * 1000


def median_ms(call) -> float:  # type: ignore[no-untyped-def]
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(CALLS):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def gcp_access_ms(cloud) -> float:  # type: ignore[no-untyped-def]
    from google.cloud import secretmanager

    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-key-bench"}}})
    client = secretmanager.SecretManagerServiceClient()
    name = "projects/guard-demo/secrets/bench-key/versions/latest"
    return median_ms(lambda: client.access_secret_version(request={"name": name}))


def main() -> int:
    cold = start_in_fresh_process(preload=False)
    warm = start_in_fresh_process(preload=True)

    from guardlib import emulators

    cloud = emulators.start(only=["gcp"])
    cloud.apply_env()
    os.environ.pop("AWS_CA_BUNDLE", None)  # moto is plain http on loopback
    alone = emulator_start(cloud)
    gcp = gcp_access_ms(cloud)
    moto = moto_get_secret_value_ms(CALLS)
    emulators.stop()

    ratio = gcp / moto
    print(f"start-up, emulator only (median of {STARTS}): {alone:7.1f} ms")
    print(f"start-up, warm process  (median of {STARTS}): {warm:7.1f} ms   target <= 300 ms")
    print(f"start-up, cold process  (median of {STARTS}): {cold:7.1f} ms   (incl. grpc + types)")
    print(f"gcp  access_secret_version median ({CALLS} calls): {gcp:6.2f} ms")
    print(f"moto get_secret_value      median ({CALLS} calls): {moto:6.2f} ms")
    print(f"ratio gcp/moto: {ratio:.2f}   target <= 0.50")
    ok = warm <= 300 and ratio <= 0.5
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
