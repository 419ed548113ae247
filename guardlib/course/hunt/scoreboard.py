"""The learner's scoreboard (a widget with a plain-text form) and the room's leaderboard.

The leaderboard is a folder shared by the room (``GUARDLIB_HUNT_BOARD``, e.g. a shared
folder on the workshop's JupyterHub): each learner's kernel writes one JSON file for that
learner, atomically (a temporary file in the same folder, then ``os.replace``), with counts
only: score, finds, false positives, hints. Never a value, never a flag. The facilitator
reads the folder: ``python -m guardlib.course.hunt leaderboard FOLDER``.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guardlib.emulators.kit.files import write_atomic

BOARD_VARIABLE = "GUARDLIB_HUNT_BOARD"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def progress_text(learner: str, summary: Mapping[str, Any]) -> str:
    """One line: level, finds, score, false positives, hints (the widget also shows who;
    the text leaves the learner id out, so a saved notebook's output is the same for all)."""
    return (
        f"Leak hunt · level {summary['level']}: {summary['found']}/"
        f"{summary['total']} found · score {summary['score']} · "
        f"{summary['false_positives']} false positive(s) · {summary['hints']} hint(s)"
    )


def scoreboard(learner: str, summary: Mapping[str, Any]) -> Any:
    """A widget showing progress and score, whose ``text/plain`` form is :func:`progress_text`
    (what nbconvert, nbval and a terminal show). Call :func:`update` to refresh it."""
    import ipywidgets as widgets

    class Scoreboard(widgets.VBox):  # type: ignore[misc]
        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, tuple):
                data, metadata = bundle
                return {**data, "text/plain": self.guardlib_text}, metadata
            if isinstance(bundle, dict):
                return {**bundle, "text/plain": self.guardlib_text}
            return bundle

    bar = widgets.IntProgress(value=0, min=0, max=max(1, int(summary["total"])),
                              description="Found", bar_style="success")  # fmt: skip
    label = widgets.HTML()
    board = Scoreboard([bar, label])
    board.add_class("guardlib-hunt-scoreboard")
    update(board, learner, summary)
    return board


def update(board: Any, learner: str, summary: Mapping[str, Any]) -> None:
    bar, label = board.children
    bar.max = max(1, int(summary["total"]))
    bar.value = int(summary["found"])
    label.value = (
        f"<b>{html.escape(learner)}</b> · level {html.escape(str(summary['level']))} · "
        f"<b>{summary['found']}/{summary['total']}</b> found · score <b>{summary['score']}</b>"
        f" · {summary['false_positives']} false positive(s) · {summary['hints']} hint(s)"
    )
    board.guardlib_text = progress_text(learner, summary)


# -- the room's leaderboard -------------------------------------------------------------------
def entry_name(learner: str) -> str:
    """A file name for ``learner`` that stays inside the board folder (no ``/``, ``..``),
    and stays distinct for ids that differ only in unsafe characters."""
    safe = _SAFE.sub("_", learner).strip("._")[:40] or "learner"
    digest = hashlib.sha256(learner.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{digest}.json"


def publish(board: str | os.PathLike[str], learner: str, summary: Mapping[str, Any]) -> Path:
    """Write this learner's row to the board folder atomically; return its path."""
    folder = Path(board)
    folder.mkdir(parents=True, exist_ok=True)
    row = {
        "learner": learner,
        "level": summary["level"],
        "score": int(summary["score"]),
        "found": int(summary["found"]),
        "total": int(summary["total"]),
        "false_positives": int(summary["false_positives"]),
        "hints": int(summary["hints"]),
        "updated": int(time.time()),
    }
    target = folder / entry_name(learner)
    # the facilitator (another user on a hub) reads it: 0644
    return write_atomic(target, json.dumps(row, sort_keys=True), mode=0o644)


def leaderboard(board: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows in the board folder, best first (score, then finds, then fewest false
    positives, then name). Unreadable or malformed files are skipped."""
    rows = []
    for path in sorted(Path(board).glob("*.json")):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
            row = {
                "learner": str(row["learner"]),
                "level": str(row["level"]),
                "score": int(row["score"]),
                "found": int(row["found"]),
                "total": int(row["total"]),
                "false_positives": int(row["false_positives"]),
                "hints": int(row["hints"]),
            }
        except (OSError, ValueError, KeyError, TypeError):
            continue
        rows.append(row)
    rows.sort(key=lambda r: (-r["score"], -r["found"], r["false_positives"], r["learner"]))
    return rows


def leaderboard_text(board: str | os.PathLike[str]) -> str:
    rows = leaderboard(board)
    if not rows:
        return "no learner has published a score yet"
    width = max(7, *(len(r["learner"]) for r in rows))
    lines = [f"{'#':>2}  {'learner':<{width}}  {'level':<6}  {'score':>5}  found  FP  hints"]
    for rank, row in enumerate(rows, start=1):
        lines.append(
            f"{rank:>2}  {row['learner']:<{width}}  {row['level']:<6}  {row['score']:>5}  "
            f"{row['found']:>2}/{row['total']:<2}  {row['false_positives']:>2}  {row['hints']:>5}"
        )
    return "\n".join(lines)
