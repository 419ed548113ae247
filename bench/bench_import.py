"""How long does `import guardlib` take, against `import dotenv`, in the same run?

Each import runs in a fresh interpreter with ``-X importtime``; the figure is the cumulative
time CPython reports for the top-level module (what a user's ``import`` costs, without the
interpreter's own start-up noise). Medians of RUNS runs. Target: guardlib <= 50 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 21


def _top_level_us(statement: str) -> float:
    """Sum of the cumulative times of the top-level imports ``statement`` triggers, after
    the interpreter's own start-up (everything up to and including ``site``)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    total, after_site = 0.0, False
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if name.startswith("  "):  # nested: already counted in its parent's cumulative
            continue
        if after_site:
            total += float(parts[1])
        after_site = after_site or name.strip() == "site"
    return total


def median_ms(statement: str) -> float:
    return statistics.median(_top_level_us(statement) for _ in range(RUNS)) / 1000


def main() -> None:
    dotenv = median_ms("import dotenv")
    print(f"median of {RUNS} fresh interpreters, -X importtime, after interpreter start-up")
    print(f"{'import dotenv':<34} {dotenv:6.1f} ms")
    guardlib = median_ms("import guardlib")
    for label, statement in (
        ("import guardlib", "import guardlib"),
        ("from guardlib import Secret, env", "from guardlib import Secret, env"),
    ):
        ms = guardlib if statement == "import guardlib" else median_ms(statement)
        print(f"{label:<34} {ms:6.1f} ms  ratio to dotenv {ms / dotenv:5.2f}")
    print(f"target: import guardlib <= 50 ms: {'met' if guardlib <= 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
