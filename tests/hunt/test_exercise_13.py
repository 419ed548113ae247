"""Chapter 13's check: every trace of the pasted key, and only the key, must go."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest

from guardlib.course.exercises import solution_blocks
from guardlib.course.exercises.notebooks import (
    PASTED_KEY,
    evaluate_traces_cleaned,
    prepare_pasted_key_folder,
    traces,
)

CHAPTER = Path(__file__).resolve().parents[2] / "notebooks" / "13_notebook_secrets.ipynb"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return prepare_pasted_key_folder(tmp_path / "exercise")


def test_the_prepared_folder_has_four_traces(folder: Path) -> None:
    assert traces(folder) == [
        ".ipynb_checkpoints/analysis-checkpoint.ipynb",
        ".ipython/profile_default/history.sqlite",
        "analysis.ipynb",
    ]
    notebook = nbformat.read(folder / "analysis.ipynb", as_version=4)
    assert "widgets" in notebook.metadata  # the fourth trace: widget state, in the notebook
    verdict = evaluate_traces_cleaned(folder)
    assert not verdict.ok and PASTED_KEY not in verdict.message


def test_placeholders_and_wrong_folders(tmp_path: Path) -> None:
    assert "replace the ..." in evaluate_traces_cleaned(...).message
    assert "not the exercise's folder" in evaluate_traces_cleaned(tmp_path).message
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        prepare_pasted_key_folder(tmp_path / "mine")


def test_deleting_rows_without_vacuum_is_not_enough(folder: Path) -> None:
    shutil.rmtree(folder / ".ipynb_checkpoints")
    notebook = nbformat.read(folder / "analysis.ipynb", as_version=4)
    for cell in notebook.cells:
        cell.outputs = [] if cell.cell_type == "code" else None
    notebook.metadata.pop("widgets")
    nbformat.write(notebook, folder / "analysis.ipynb")
    database = sqlite3.connect(folder / ".ipython/profile_default/history.sqlite")
    database.execute("PRAGMA secure_delete = OFF")  # as on SQLite builds without it
    with database:
        database.execute("DELETE FROM history WHERE source_raw LIKE ?", ("%ghp_%",))
    database.close()
    verdict = evaluate_traces_cleaned(folder)
    assert not verdict.ok and "VACUUM" in verdict.message


def test_deleting_the_notebook_is_not_cleaning(folder: Path) -> None:
    shutil.rmtree(folder / ".ipynb_checkpoints")
    (folder / "analysis.ipynb").unlink()
    assert "is gone" in evaluate_traces_cleaned(folder).message
    (folder / "analysis.ipynb").write_text("{not a notebook")
    assert "no longer a valid notebook" in evaluate_traces_cleaned(folder).message


def test_the_chapter_solution_passes(folder: Path) -> None:
    (solution,) = solution_blocks(CHAPTER)
    namespace = {"nbformat": nbformat, "shutil": shutil, "sqlite3": sqlite3, "Path": Path,
                 "exercise": folder, "check_traces_cleaned": lambda f: None}  # fmt: skip
    exec(solution, namespace)
    verdict = evaluate_traces_cleaned(folder)
    assert verdict.ok, verdict.message
    history = sqlite3.connect(folder / ".ipython/profile_default/history.sqlite")
    assert history.execute("SELECT count(*) FROM history").fetchone()[0] == 3  # the rest stays
    history.close()
