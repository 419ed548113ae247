"""Each chapter's "Time to learn", derived from what can be measured in the notebook, not guessed.

    python bench/bench_chapter_minutes.py            # count, run each chapter once, print the table
    python bench/bench_chapter_minutes.py --no-run   # counts only (run time taken as 0)
    python bench/bench_chapter_minutes.py --markdown # the table as Markdown (for the guide)

A learner's minutes for one chapter, self-paced, are the sum of:

- **prose**: words of Markdown outside code fences and outside ``<details>`` (the solutions),
  read at ``--wpm`` words per minute (default 180: technical prose, often in a second language;
  adults read ordinary non-fiction at about 240);
- **code**: non-blank lines of the code cells plus code fences in the prose, read and understood
  at ``--code-lpm`` lines per minute (default 15, four seconds a line);
- **output**: lines of the committed outputs, skimmed at ``--output-lpm`` lines a minute
  (default 40);
- **running**: ``--per-cell`` seconds per code cell to run it and look at the result
  (default 15), plus the chapter's measured run time: every cell executed once in a fresh
  kernel by nbclient (as strict nbval does in CI), on this machine, with nothing else running
  in the kernel;
- **exercises**: ``--exercise`` minutes per "Exercise" heading (default 5): read the task,
  write a few lines, run the check, perhaps open the solution.

The total is rounded up to the next 5 minutes. The rates are flags, so a facilitator can put in
their own room's pace; the counts and the run time are what the notebook holds.
Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"```.*?```", re.S)
DETAILS = re.compile(r"<details>.*?</details>", re.S)


@dataclass
class Counts:
    chapter: str
    words: int
    code_lines: int
    output_lines: int
    cells: int
    exercises: int
    run_s: float


@dataclass
class Rates:
    wpm: float = 180
    code_lpm: float = 15
    output_lpm: float = 40
    per_cell_s: float = 15
    exercise_min: float = 5


def count(path: Path) -> Counts:
    nb = json.loads(path.read_text(encoding="utf-8"))
    words = code_lines = output_lines = cells = exercises = 0
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            exercises += len(re.findall(r"^#+ .*Exercise", source, re.M))
            shown = DETAILS.sub("", source)
            for fence in FENCE.findall(shown):
                code_lines += sum(1 for line in fence.splitlines()[1:-1] if line.strip())
            words += len(FENCE.sub("", shown).split())
        elif cell["cell_type"] == "code" and source.strip():
            cells += 1
            code_lines += sum(1 for line in source.splitlines() if line.strip())
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain") or ""
                output_lines += len("".join(text).splitlines())
    return Counts(path.name[:2], words, code_lines, output_lines, cells, exercises, 0.0)


def run_seconds(path: Path, timeout: int) -> float:
    """Wall time to execute every cell once in a fresh kernel (kernel start included)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    began = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return time.perf_counter() - began


def parts(c: Counts, r: Rates) -> dict[str, float]:
    return {
        "prose": c.words / r.wpm,
        "code": c.code_lines / r.code_lpm,
        "output": c.output_lines / r.output_lpm,
        "running": (c.cells * r.per_cell_s + c.run_s) / 60,
        "exercises": c.exercises * r.exercise_min,
    }


def minutes(c: Counts, r: Rates) -> int:
    """The chapter's minutes: the parts' sum, rounded up to the next 5."""
    return int(5 * math.ceil(round(sum(parts(c, r).values()), 6) / 5))


def table(rows: list[Counts], r: Rates, markdown: bool) -> str:
    head = [
        "Chapter",
        "Words",
        "Code lines",
        "Output lines",
        "Cells",
        "Exercises",
        "Run s",
        "Prose min",
        "Code min",
        "Output min",
        "Running min",
        "Exercise min",
        "Minutes",
    ]
    lines = []
    for c in rows:
        p = parts(c, r)
        lines.append(
            [
                c.chapter,
                str(c.words),
                str(c.code_lines),
                str(c.output_lines),
                str(c.cells),
                str(c.exercises),
                f"{c.run_s:.1f}",
                f"{p['prose']:.1f}",
                f"{p['code']:.1f}",
                f"{p['output']:.1f}",
                f"{p['running']:.1f}",
                f"{p['exercises']:.0f}",
                str(minutes(c, r)),
            ]
        )
    total = sum(minutes(c, r) for c in rows)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(row) + " |" for row in lines]
        out.append("| **All** |" + " |" * (len(head) - 2) + f" **{total}** |")
        return "\n".join(out)
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    out = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    out += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in lines]
    out.append(f"all chapters: {total} minutes")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-run", action="store_true", help="do not execute the chapters")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--timeout", type=int, default=300, help="per cell, seconds")
    parser.add_argument("--chapters", nargs="*", help="numbers, e.g. 05 09 (default: all)")
    defaults = Rates()
    parser.add_argument("--wpm", type=float, default=defaults.wpm)
    parser.add_argument("--code-lpm", type=float, default=defaults.code_lpm)
    parser.add_argument("--output-lpm", type=float, default=defaults.output_lpm)
    parser.add_argument("--per-cell", type=float, default=defaults.per_cell_s)
    parser.add_argument("--exercise", type=float, default=defaults.exercise_min)
    args = parser.parse_args(argv)
    rates = Rates(args.wpm, args.code_lpm, args.output_lpm, args.per_cell, args.exercise)

    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if p.name[:2] in {n.zfill(2) for n in args.chapters}]
    rows = []
    for path in paths:
        counts = count(path)
        if not args.no_run:
            counts.run_s = run_seconds(path, args.timeout)
            print(f"[minutes] ran {path.name} in {counts.run_s:.1f} s", file=sys.stderr)
        rows.append(counts)
    print(
        f"rates: prose {rates.wpm:g} words/min, code {rates.code_lpm:g} lines/min, output "
        f"{rates.output_lpm:g} lines/min, {rates.per_cell_s:g} s per cell + measured run time, "
        f"{rates.exercise_min:g} min per exercise; rounded up to 5 minutes"
        + ("; run time NOT measured (--no-run)" if args.no_run else "")
    )
    print(table(rows, rates, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
