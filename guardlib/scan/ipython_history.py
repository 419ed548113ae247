"""IPython's history database (``~/.ipython/profile_default/history.sqlite``).

Every line typed in IPython or a Jupyter kernel is kept there, across sessions, with
``%store``-free persistence nobody asked for: a key pasted into a cell and deleted from the
notebook is still in the database. IPython's schema (``IPython/core/history.py``) is::

    history (session integer, line integer, source text, source_raw text)
    output_history (session integer, line integer, output text)   -- when output logging is on

A finding names the file, the session and the line (``%history -g`` / ``%history 3/7``
shows that entry), never the value. The database is opened read-only, so a running kernel's
database is not locked or changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def entries(path: Path) -> Iterator[tuple[int, int, str, str]]:
    """``(session, line, "input" | "output", text)`` for every entry; nothing when the
    database has no IPython ``history`` table. Raises ``sqlite3.DatabaseError`` when the
    file is not a readable database."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "history" not in tables:
            return
        columns = {row[1] for row in connection.execute("PRAGMA table_info(history)")}
        source = "source_raw" if "source_raw" in columns else "source"
        query = f"SELECT session, line, {source} FROM history ORDER BY session, line"  # noqa: S608 - a column name from the schema
        for session, line, text in connection.execute(query):
            if isinstance(text, str) and text:
                yield int(session), int(line), "input", text
        if "output_history" in tables:
            query = "SELECT session, line, output FROM output_history ORDER BY session, line"
            for session, line, text in connection.execute(query):
                if isinstance(text, str) and text:
                    yield int(session), int(line), "output", text
    finally:
        connection.close()
