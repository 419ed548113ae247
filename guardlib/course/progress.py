"""Which exercises are solved, read from the saved chapters in a folder.

An exercise is a code cell that calls a ``check_…`` function of
:mod:`guardlib.course.exercises`; it is solved when its saved output shows the ✅ verdict.
Nothing is recorded anywhere else: the notebooks a learner saves (JupyterLab saves every two
minutes, and on Ctrl+S) are the record, so progress survives a restarted kernel
and moves with the files.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

_CHECK_CALL = re.compile(r"^(?!\s*def\b).*\bcheck_\w+\(", re.M)
_CHAPTER = re.compile(r"(\d\d)_.+\.ipynb")
SOLVED_MARK = "✅"


@dataclass(frozen=True)
class ChapterProgress:
    chapter: str  # file name, e.g. "07_aws_secrets_manager.ipynb"
    exercises: int
    solved: int
    readable: bool = True  # False: the file is not a notebook we can read (being saved?)

    @property
    def title(self) -> str:
        stem = self.chapter.removesuffix(".ipynb")
        number, _, words = stem.partition("_")
        return f"{number} {words.replace('_', ' ')}"


def output_text(output: dict[str, object]) -> str:
    """The text of one saved output: a stream's text, or a display's ``text/plain``."""
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        data = output.get("data")
        text = data.get("text/plain", "") if isinstance(data, dict) else ""
    return "".join(text) if isinstance(text, list) else str(text)


def chapter_progress(path: str | os.PathLike[str]) -> ChapterProgress:
    """Exercises and solved exercises in one saved notebook."""
    name = Path(path).name
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return ChapterProgress(name, 0, 0, readable=False)
    exercises = solved = 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if not _CHECK_CALL.search(source):
            continue
        exercises += 1
        outputs = cell.get("outputs") or []
        if any(SOLVED_MARK in output_text(o) for o in outputs if isinstance(o, dict)):
            solved += 1
    return ChapterProgress(name, exercises, solved)


def folder_progress(folder: str | os.PathLike[str] | None = None) -> list[ChapterProgress]:
    """Progress of every chapter (``NN_name.ipynb``) in ``folder`` (default: the current one)."""
    base = Path(folder) if folder is not None else Path.cwd()
    chapters = sorted(p for p in base.glob("*.ipynb") if _CHAPTER.fullmatch(p.name))
    return [chapter_progress(p) for p in chapters]


def progress_table(rows: list[ChapterProgress]) -> str:
    """A plain-text table, one chapter a line, and a total."""
    lines = []
    for row in rows:
        if not row.readable:
            status = "could not read it (is it being saved?)"
        elif row.exercises == 0:
            status = "no exercise"
        else:
            ticks = SOLVED_MARK * row.solved + "·" * (row.exercises - row.solved)
            status = f"{ticks}  {row.solved} of {row.exercises} solved"
        lines.append(f"{row.title:<36} {status}")
    total = sum(r.exercises for r in rows)
    done = sum(r.solved for r in rows)
    lines.append(f"{'all chapters':<36} {done} of {total} exercises solved")
    return "\n".join(lines)


def show_progress(folder: str | os.PathLike[str] | None = None) -> None:
    """Print the progress table for ``folder`` (default: the folder of the running notebook)."""
    print(progress_table(folder_progress(folder)))
