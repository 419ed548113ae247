"""OpenBao: dev-server start-up and the hvac KV v2 read round trip, against moto server's
``get_secret_value`` (boto3) measured in the same run.

- start-up: ``VaultEmulator.start`` (spawn ``bao server -dev``, wait for ``/v1/sys/health``,
  enable AppRole), median of several starts, and ``stop`` (process group gone);
- read: ``hvac.Client().secrets.kv.v2.read_secret_version`` as the AppRole identity
  ``dev-app``, median of many calls, interleaved with the moto server's ``get_secret_value``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from peer import PEER_SECRET, moto_secretsmanager

STARTS = 5
CALLS = 300
WARMUP = 20


def measure(vault, sm) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Interleaved round trips: an hvac KV v2 read, then the peer's get_secret_value."""
    reads, peers = [], []
    for i in range(WARMUP + CALLS):
        t0 = time.perf_counter()
        got = vault.secrets.kv.v2.read_secret_version(
            path="bench-key", mount_point="secret", raise_on_deleted_version=True
        )
        t1 = time.perf_counter()
        assert got["data"]["data"]["value"] == "demo-not-a-real-key"
        t2 = time.perf_counter()
        assert sm.get_secret_value(SecretId=PEER_SECRET)["SecretString"]
        t3 = time.perf_counter()
        if i >= WARMUP:
            reads.append(t1 - t0)
            peers.append(t3 - t2)
    return reads, peers


def main() -> None:
    import hvac

    from guardlib import emulators
    from guardlib.emulators.vault import VaultEmulator

    class Ctx:
        workdir = Path(tempfile.mkdtemp(prefix="bench-vault-"))

    starts, stops = [], []
    for _ in range(STARTS):
        emu = VaultEmulator()
        t0 = time.perf_counter()
        emu.start(Ctx())  # type: ignore[arg-type]
        starts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emu.stop()
        stops.append(time.perf_counter() - t0)

    cloud = emulators.start(only=["vault"])
    cloud.seed({"secrets": {"bench-key": {"value": "demo-not-a-real-key", "readers": ["dev-app"]}}})
    env = cloud.env("dev-app")
    vault = hvac.Client(url=env["VAULT_ADDR"], token=env["VAULT_TOKEN"])

    with moto_secretsmanager() as sm:
        reads, peers = measure(vault, sm)

    read_ms = statistics.median(reads) * 1000
    peer_ms = statistics.median(peers) * 1000
    start_ms = statistics.median(starts) * 1000
    stop_ms = statistics.median(stops) * 1000
    print(
        f"OpenBao dev server start (spawn + health + AppRole), median of {STARTS}: "
        f"{start_ms:.0f} ms; stop: {stop_ms:.0f} ms"
    )
    print(f"KV v2 read via hvac, median of {CALLS}:      {read_ms:6.2f} ms")
    print(f"moto server get_secret_value, same run:     {peer_ms:6.2f} ms")
    print(f"ratio OpenBao read / moto server:            {read_ms / peer_ms:5.2f}")
    emulators.stop()


if __name__ == "__main__":
    main()
