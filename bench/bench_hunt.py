"""The leak hunt's generator and a full solve, timed (chapter 14's target: the world in under
10 s, offline). No peer tool builds such a world; OWASP WrongSecrets needs a container
runtime, which is the point of comparison the chapter makes, not a number we can measure here.

- generate: ``generate(root, seed, key)`` (git history and a force-push to a bare remote,
  notebooks, IPython history through a real InteractiveShell, the OCI tarball), median of RUNS;
- worker: start and stop the process that holds the planted key in its environment;
- scan: ``guardlib scan .`` over the world in a subprocess, as a learner runs it.

Run: ``python bench/bench_hunt.py`` (from the repository, with guardlib[course] installed).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5


def main() -> None:
    from guardlib.course.hunt import flags
    from guardlib.course.hunt.generator import generate, running_worker

    key = flags.learner_key(b"demo-not-a-real-bench-room-secret", "bench")
    generated, workers, scans = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-hunt-") as folder:
        for run in range(RUNS):
            started = time.perf_counter()
            world = generate(Path(folder) / f"w{run}", seed=run, key=key)
            generated.append(time.perf_counter() - started)
            started = time.perf_counter()
            with running_worker(world):
                pass
            workers.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "guardlib", "scan", "."], cwd=world.root,
                           capture_output=True, check=False)  # fmt: skip
            scans.append(time.perf_counter() - started)
    for label, times in (("generate", generated), ("worker", workers), ("scan", scans)):
        print(f"{label:<9} median {statistics.median(times):6.2f} s   max {max(times):6.2f} s")
    print(f"target: generate under 10 s -> {'met' if max(generated) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
