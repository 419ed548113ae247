"""``guardlib scan`` reports a token typed into IPython by history file, session and line,
never the value: the history is written by a real IPython shell."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from guardlib.course.hunt.ipython_history import record_sessions

from .conftest import guardlib_scan

TOKEN = "ghp_" + "DEMOtypedIntoIPython" + "0" * 16  # built here: the repo scan stays clean


def test_scan_names_file_session_and_line(tmp_path: Path) -> None:
    history = tmp_path / "profile_default" / "history.sqlite"
    record_sessions(history, [["x = 1"], ["import os", f'token = "{TOKEN}"', "del token"]])
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT session, line FROM history WHERE source_raw LIKE ?",
                          ("%ghp_%",)).fetchall()  # fmt: skip
    assert rows == [(2, 2)]
    result = guardlib_scan(".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "history.sqlite" in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("profile_default/history.sqlite:2 (session 2 input): GitHub Token")


def test_history_turned_off_leaves_nothing_to_find(tmp_path: Path) -> None:
    """The same session with ``HistoryManager.enabled = False`` writes no database."""
    import os
    import subprocess
    import sys

    code = (
        "from traitlets.config import Config\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "c = Config(); c.HistoryManager.enabled = False\n"
        f"c.HistoryManager.hist_file = {str(tmp_path / 'history.sqlite')!r}\n"
        "shell = InteractiveShell.instance(config=c)\n"
        f"shell.run_cell({'token = ' + repr(TOKEN)!r}, store_history=True)\n"
        "shell.history_manager.end_session()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                   env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")})  # fmt: skip
    assert not (tmp_path / "history.sqlite").exists()
    result = guardlib_scan(".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
