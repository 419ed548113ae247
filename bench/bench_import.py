"""How long does `import guardlib` take, against `import dotenv`, in the same run?

Each import runs in a fresh interpreter (python -X importtime would also work; wall time of a
fresh `-c 'import x'` minus a bare interpreter start is what a user feels). Target: <= 50 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def _median_seconds(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    bare = _median_seconds("pass")
    dotenv = _median_seconds("import dotenv") - bare
    guardlib = _median_seconds("import guardlib") - bare
    public = _median_seconds("import guardlib; guardlib.Secret; guardlib.env") - bare
    print(f"interpreter start        {bare * 1000:7.1f} ms (subtracted below)")
    print(f"import dotenv            {dotenv * 1000:7.1f} ms")
    for label, seconds in (("import guardlib", guardlib), ("guardlib.Secret + .env", public)):
        ratio = seconds / dotenv
        print(f"{label:<24} {seconds * 1000:7.1f} ms  ratio to dotenv {ratio:5.2f}")
    print(f"target: import guardlib <= 50 ms -> {'met' if guardlib <= 0.050 else 'MISSED'}")


if __name__ == "__main__":
    main()
