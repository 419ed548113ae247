"""Check for chapter 13 (Secrets in your own notebooks): clean every trace of a pasted key.

:func:`prepare_pasted_key_folder` builds Ruby's project folder the way Jupyter and IPython
leave it after she pasted a GitHub token into a cell, printed it, then "fixed" the notebook:

- ``analysis.ipynb``: the paste is gone from the source, but a cell's output still shows the
  token, and the saved widget state holds the value typed into a ``Password`` box;
- ``.ipynb_checkpoints/analysis-checkpoint.ipynb``: the checkpoint of the earlier save, with
  the paste in a cell's source and the output;
- ``.ipython/profile_default/history.sqlite``: the paste, recorded by a real IPython shell.

:func:`check_traces_cleaned` looks for the token's bytes in every file of the folder (hidden
ones too, and inside the database file's free pages, where a deleted row's bytes stay until
``VACUUM`` on SQLite builds without ``secure_delete``), and makes sure the notebook is
still a valid notebook with its code. Verdicts name files, never the value.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict
from guardlib.course.panel import show

#: the pasted token: a GitHub token's real format (scanners find it), obviously fake
PASTED_KEY = "ghp_demoNotARealTokenGuardYourSecrets013"
NOTEBOOK = "analysis.ipynb"
CHECKPOINT = ".ipynb_checkpoints/analysis-checkpoint.ipynb"
HISTORY = ".ipython/profile_default/history.sqlite"
_MARKER = ".guardlib-exercise-13"
_CODE_CELLS = 3  # the cleaned notebook keeps its three code cells


def _password_state(value: str) -> dict[str, Any]:
    from guardlib.course.hunt.generator import password_widget_state

    return password_widget_state(value, "exercise-13-password-box", "GitHub token")


def _notebook(*, pasted_source: bool, with_widget: bool) -> Any:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}  # fmt: skip
    first = (f'api_key = "{PASTED_KEY}"  # just for a minute' if pasted_source
             else "from getpass import getpass\napi_key = getpass('GitHub token: ')")  # fmt: skip
    sources = [
        first,
        'print("calling the API with", api_key)',
        "import ipywidgets as widgets\ntoken_box = widgets.Password(description='GitHub token')"
        "\ntoken_box",
    ]
    for index, source in enumerate(sources, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=index)
        cell.id = f"analysis-{index}"
        if index == 2:
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text=f"calling the API with {PASTED_KEY}\n")]  # fmt: skip
        notebook.cells.append(cell)
    if with_widget:
        notebook.metadata["widgets"] = _password_state(PASTED_KEY)
    nbformat.validate(notebook)
    return notebook


def prepare_pasted_key_folder(folder: str | os.PathLike[str]) -> Path:
    """Build (or rebuild) the exercise's folder; returns its path."""
    import shutil

    import nbformat

    from guardlib.course.hunt.ipython_history import record_sessions

    folder = Path(folder)
    if folder.exists():
        if not (folder / _MARKER).exists():
            raise FileExistsError(f"{folder} exists and is not this exercise's folder")
        shutil.rmtree(folder)
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / _MARKER).write_text("chapter 13 exercise\n", encoding="utf-8")
    nbformat.write(_notebook(pasted_source=False, with_widget=True), folder / NOTEBOOK)
    nbformat.write(_notebook(pasted_source=True, with_widget=False), folder / CHECKPOINT)
    record_sessions(folder / HISTORY, [[
        "import requests",
        f'api_key = "{PASTED_KEY}"  # just for a minute',
        "headers = {'Authorization': 'Bearer ' + api_key}",
        "del api_key, headers",
    ]])  # fmt: skip
    return folder


def traces(folder: str | os.PathLike[str], value: str = PASTED_KEY) -> list[str]:
    """The files under ``folder`` (hidden ones included) whose bytes contain ``value``."""
    root = Path(folder)
    needle = value.encode("utf-8")
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    found.append(path.relative_to(root).as_posix())
            except OSError:
                continue
    return found


def _history_rows(path: Path, value: str) -> int | None:
    """How many history rows still hold ``value`` (None: not a readable database)."""
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            (count,) = db.execute(
                "SELECT count(*) FROM history WHERE source_raw LIKE ? OR source LIKE ?",
                (f"%{value}%", f"%{value}%"),
            ).fetchone()
        return int(count)
    except sqlite3.Error:
        return None


def evaluate_traces_cleaned(folder: Any) -> Verdict:
    if folder is None or folder is Ellipsis:
        return Verdict(False, PLACEHOLDER_HINT)
    root = Path(folder)
    if not (root / _MARKER).exists():
        return Verdict(False, "that is not the exercise's folder: pass the folder that "
                       "prepare_pasted_key_folder returned.")  # fmt: skip
    notebook = root / NOTEBOOK
    if not notebook.is_file():
        return Verdict(False, f"{NOTEBOOK} is gone: clean the notebook, don't delete Ruby's "
                       "work.")  # fmt: skip
    try:
        import nbformat

        loaded = nbformat.read(notebook, as_version=4)
        nbformat.validate(loaded)
    except Exception:  # noqa: BLE001 - any reason it does not load: say so, no details
        return Verdict(False, f"{NOTEBOOK} is no longer a valid notebook: edit it with "
                       "nbformat (or nbstripout), not as text.")  # fmt: skip
    code = [c for c in loaded.cells if c.cell_type == "code" and c.source.strip()]
    if len(code) < _CODE_CELLS:
        return Verdict(False, f"{NOTEBOOK} lost code cells: clear outputs and metadata, keep "
                       "the code.")  # fmt: skip
    left = traces(root)
    if left:
        notes = []
        for name in left:
            if name == HISTORY:
                rows = _history_rows(root / HISTORY, PASTED_KEY)
                if rows == 0:
                    name += " (in the file's free pages: VACUUM the database)"
                elif rows:
                    name += f" ({rows} history row(s))"
            elif name == NOTEBOOK and "widgets" in loaded.metadata:
                name += " (outputs or metadata.widgets)"
            notes.append(name)
        return Verdict(False, "the key is still in " + "; ".join(notes) + ".")
    return Verdict(True, "no trace of the key is left in the notebook, its checkpoint, its "
                   "widget state or IPython's history. Now rotate it: it was exposed.")  # fmt: skip


HINT_TRACES_CLEANED = (
    "four places: clear the notebook's outputs and delete metadata['widgets'] (nbformat, or "
    "nbstripout), delete the checkpoint folder, and DELETE the history rows that hold the key, "
    "then VACUUM the database."
)


def check_traces_cleaned(folder: Any) -> None:
    show(evaluate_traces_cleaned(folder), HINT_TRACES_CLEANED)


def describe_traces(folder: str | os.PathLike[str]) -> str:
    """Where the key is, one file per line (for the exercise's first look)."""
    left = traces(folder)
    return "\n".join(left) if left else "(nowhere)"


__all__ = [
    "HINT_TRACES_CLEANED",
    "PASTED_KEY",
    "check_traces_cleaned",
    "describe_traces",
    "evaluate_traces_cleaned",
    "prepare_pasted_key_folder",
    "traces",
]
