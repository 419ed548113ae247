"""guardlib.scan where notebook secrets really land: outputs on one long line, notebook and
cell metadata, saved ipywidgets state (made by ipywidgets itself), papermill parameters,
``.ipynb_checkpoints/`` copies, IPython's history database (made with IPython's own schema),
and a merge-conflicted notebook that must not stop the scan. Every value is built at run
time, so this file scans clean; no finding ever shows a value."""

from __future__ import annotations

import json
import random
import sqlite3
import string
from pathlib import Path

import pytest

from guardlib import scan

RNG = random.Random(16)


def token(prefix: str, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return prefix + "".join(RNG.choice(alphabet) for _ in range(length))


GITHUB = token("gh" + "p_", 36)
STRIPE = token("sk" + "_live_", 24)
PASSWORD = token("Pw7-", 16)


def notebook(cells: list[dict] | None = None, metadata: dict | None = None) -> str:
    cells = cells or [{"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                       "source": "x = 1", "outputs": []}]  # fmt: skip
    return json.dumps({"cells": cells, "metadata": metadata or {}, "nbformat": 4,
                       "nbformat_minor": 5})  # fmt: skip


def assert_no_value(findings: list[scan.Finding], *values: str) -> None:
    shown = "\n".join(map(str, findings)) + repr(findings)
    for value in values:
        assert value not in shown


def test_a_long_output_line_is_scanned(tmp_path: Path) -> None:
    """print(dict(os.environ)) prints one line of thousands of characters."""
    environ = {f"VAR_{i}": "x" * 40 for i in range(120)} | {"GITHUB_TOKEN": GITHUB}
    line = str(environ)
    assert len(line) > 2000
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
            "source": "print(dict(os.environ))",
            "outputs": [{"output_type": "stream", "name": "stdout",
                         "text": [line + "\n"]}]}  # fmt: skip
    path = tmp_path / "env.ipynb"
    path.write_text(notebook([cell]))
    findings = scan.scan_path(path)
    assert [(f.kind, f.where) for f in findings] == [("GitHub Token", "cell 1 output")]
    assert_no_value(findings, GITHUB)


def test_a_one_line_json_config(tmp_path: Path) -> None:
    config = {f"setting_{i}": i for i in range(400)} | {"stripe": STRIPE}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert len(path.read_text()) > 2000
    findings = scan.scan_path(path)
    assert [(f.line, f.kind) for f in findings] == [(1, "Stripe Access Key")]
    assert_no_value(findings, STRIPE)


def test_saved_password_widget_state_is_reported(tmp_path: Path) -> None:
    """ "Save Widget State" writes each widget's model into the notebook's metadata."""
    widgets = pytest.importorskip("ipywidgets")
    secret = widgets.Password(description="Database", value=PASSWORD)
    label = widgets.Text(description="Name", value="Ruby")
    state = widgets.Widget.get_manager_state(widgets=[secret, label])
    metadata = {"widgets": {"application/vnd.jupyter.widget-state+json": state}}
    path = tmp_path / "form.ipynb"
    path.write_text(notebook(metadata=metadata))
    findings = scan.scan_path(path)
    assert [(f.kind, f.where) for f in findings] == [("Password widget value", "widget state")]
    assert findings[0].fingerprint == scan.findings.fingerprint(PASSWORD)
    assert_no_value(findings, PASSWORD)
    assert scan.scan_path(path, allow=[PASSWORD]) == []


def test_a_text_widget_holding_a_token_is_scanned_under_its_label(tmp_path: Path) -> None:
    widgets = pytest.importorskip("ipywidgets")
    box = widgets.Text(description="API key", value=PASSWORD)
    state = widgets.Widget.get_manager_state(widgets=[box])
    metadata = {"widgets": {"application/vnd.jupyter.widget-state+json": state}}
    path = tmp_path / "form.ipynb"
    path.write_text(notebook(metadata=metadata))
    findings = scan.scan_path(path)
    assert [(f.kind, f.where) for f in findings] == [("Secret Keyword", "widget state")]


def test_papermill_parameters_are_scanned(tmp_path: Path) -> None:
    """papermill records the parameters it injected in metadata.papermill.parameters."""
    metadata = {"papermill": {"parameters": {"db_password": PASSWORD, "rows": 10},
                              "environment_variables": {}, "version": "2.6.0"}}  # fmt: skip
    path = tmp_path / "report.ipynb"
    path.write_text(notebook(metadata=metadata))
    findings = scan.scan_path(path)
    assert [(f.kind, f.where) for f in findings] == [("Secret Keyword", "papermill parameters")]
    assert_no_value(findings, PASSWORD)


def test_notebook_and_cell_metadata_are_scanned(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "source": "x = 1",
            "metadata": {"tags": ["setup"], "env": {"GITHUB_TOKEN": GITHUB}},
            "outputs": []}  # fmt: skip
    path = tmp_path / "meta.ipynb"
    path.write_text(notebook([cell], metadata={"kernelspec": {"env": {"STRIPE": STRIPE}}}))
    where = sorted((f.where, f.kind) for f in scan.scan_path(path))
    assert where == [
        ("cell 1 metadata", "GitHub Token"),
        ("notebook metadata", "Stripe Access Key"),
    ]


def test_checkpoints_and_hidden_folders_are_walked(tmp_path: Path) -> None:
    checkpoints = tmp_path / "nb" / ".ipynb_checkpoints"
    checkpoints.mkdir(parents=True)
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
            "source": f"token = '{GITHUB}'", "outputs": []}  # fmt: skip
    (checkpoints / "analysis-checkpoint.ipynb").write_text(notebook([cell]))
    (tmp_path / "nb" / "analysis.ipynb").write_text(notebook())
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(f"env:\n  STRIPE_KEY: {STRIPE}\n")
    for skipped in (".git", "__pycache__", "node_modules", "venv"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x.txt").write_text(f"{GITHUB}\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "env" / "conda-meta").mkdir(parents=True)
    (tmp_path / "env" / "x.txt").write_text(f"{GITHUB}\n")
    found = {
        (Path(f.path).relative_to(tmp_path).as_posix(), f.kind) for f in scan.scan_paths([tmp_path])
    }
    assert found == {
        ("nb/.ipynb_checkpoints/analysis-checkpoint.ipynb", "GitHub Token"),
        (".github/workflows/ci.yml", "Stripe Access Key"),
    }
    # a skipped folder named explicitly is scanned
    assert [f.kind for f in scan.scan_paths([tmp_path / "venv"])] == ["GitHub Token"]


def ipython_history(path: Path, entries: list[tuple[int, int, str]], outputs=()) -> None:
    """A history database with the schema IPython itself creates."""
    from IPython.core.history import HistoryAccessor

    HistoryAccessor(hist_file=str(path))  # creates sessions, history, output_history
    with sqlite3.connect(path) as db:
        for session in {s for s, _, _ in entries}:
            db.execute("INSERT INTO sessions (session, num_cmds) VALUES (?, ?)", (session, 1))
        db.executemany(
            "INSERT INTO history (session, line, source, source_raw) VALUES (?, ?, ?, ?)",
            [(s, n, text, text) for s, n, text in entries],
        )
        db.executemany("INSERT INTO output_history VALUES (?, ?, ?)", list(outputs))
    assert path.read_bytes().startswith(b"SQLite format 3\0")


def test_ipython_history_is_reported_by_session_and_line(tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    db = tmp_path / ".ipython" / "profile_default" / "history.sqlite"
    db.parent.mkdir(parents=True)
    ipython_history(
        db,
        [(1, 1, "import os"), (1, 2, f"client = Github('{GITHUB}')"),
         (3, 7, "x = 1\n" f"stripe.api_key = '{STRIPE}'")],
        outputs=[(3, 8, f"'{GITHUB}'")],
    )  # fmt: skip
    findings = scan.scan_paths([tmp_path])
    got = [(Path(f.path).name, f.line, f.where, f.kind) for f in findings]
    assert got == [
        ("history.sqlite", 2, "session 1 input", "GitHub Token"),
        ("history.sqlite", 7, "session 3 input", "Stripe Access Key"),
        ("history.sqlite", 8, "session 3 output", "GitHub Token"),
    ]
    assert str(findings[0]).startswith(f"{db}:2 (session 1 input): GitHub Token [sha1 ")
    assert_no_value(findings, GITHUB, STRIPE)


def test_other_sqlite_and_binary_files_are_not_findings(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE t (v text)")
        db.execute("INSERT INTO t VALUES (?)", (GITHUB,))
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" + GITHUB.encode())
    assert scan.scan_paths([tmp_path]) == []


def test_a_corrupt_history_database_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"SQLite format 3\0" + b"\xff" * 200)
    findings = scan.scan_path(path)
    assert [(f.kind, f.fingerprint) for f in findings] == [(scan.KIND_UNREADABLE, "")]


def test_a_merge_conflicted_notebook_is_unreadable_and_the_scan_goes_on(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
            "source": f"token = '{GITHUB}'", "outputs": []}  # fmt: skip
    ours = notebook([cell]).replace(",", ",\n")
    conflicted = ours.replace('"execution_count": 1', '<<<<<<< HEAD\n"execution_count": 1\n'
                              '=======\n"execution_count": 2\n>>>>>>> theirs', 1)  # fmt: skip
    (tmp_path / "a_conflict.ipynb").write_text(conflicted)
    (tmp_path / "b_settings.py").write_text(f"STRIPE = '{STRIPE}'\n")
    findings = scan.scan_paths([tmp_path])
    got = [(Path(f.path).name, f.kind) for f in findings]
    assert got == [
        ("a_conflict.ipynb", scan.KIND_UNREADABLE),
        ("a_conflict.ipynb", "GitHub Token"),  # its text is still scanned
        ("b_settings.py", "Stripe Access Key"),
    ]
    assert "merge-conflict" in str(findings[0])
    assert_no_value(findings, GITHUB, STRIPE)


@pytest.mark.parametrize(
    "text",
    ["{oops", "[1, 2]", '{"cells": {"a": 1}}', '{"cells": [1]}', "\ufeff{}", "", "[" * 100000],
    ids=["bad-json", "list", "cells-object", "cell-not-object", "bom", "empty", "deep"],
)
def test_hostile_notebooks_never_raise(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.ipynb"
    path.write_text(text)
    findings = scan.scan_path(path)
    assert all(f.kind == scan.KIND_UNREADABLE for f in findings)


def test_a_file_over_the_size_limit_is_unreadable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scan.files, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "dump.sql"
    path.write_text("x" * 2048)
    findings = scan.scan_path(path)
    assert [(f.kind, f.advice.split(";")[0]) for f in findings] == [
        (scan.KIND_UNREADABLE, "larger than 0 MB")
    ]
