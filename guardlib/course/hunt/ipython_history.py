"""Write an IPython history database the way IPython does: a real ``InteractiveShell`` in a
fresh process, with its ``HistoryManager`` pointed at a file of our choice.

Used by the leak hunt's generator and by chapter 13's exercise folder. The shell runs in a
child process so the caller's own IPython (a notebook kernel) is untouched, and
``IPYTHONDIR`` points inside ``hist_file``'s folder so nothing is written to the user's
``~/.ipython``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_RUNNER = r"""
import json, sys
from traitlets.config import Config
from IPython.core.interactiveshell import InteractiveShell

hist_file, sessions = sys.argv[1], json.loads(sys.stdin.read())
config = Config()
config.HistoryManager.hist_file = hist_file
shell = InteractiveShell.instance(config=config)
history = shell.history_manager
for number, cells in enumerate(sessions):
    if number:
        history.reset(new_session=True)  # what a restarted kernel does
        shell.execution_count = 1
    for cell in cells:
        shell.run_cell(cell, store_history=True, silent=False)
history.end_session()
history.writeout_cache()
history.close()
"""


def record_sessions(hist_file: str | os.PathLike[str], sessions: Sequence[Sequence[str]]) -> Path:
    """Run each session's cells in a real IPython shell that records them in ``hist_file``.

    The cells are executed (keep them harmless and offline). Returns ``hist_file``."""
    path = Path(hist_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    ipython_dir = path.parent / ".ipython-dir"
    environ = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "SYSTEMROOT", "TEMP", "TMP", "LANG", "LC_ALL", "PYTHONPATH")
    }
    environ.update(IPYTHONDIR=str(ipython_dir), HOME=str(path.parent), USERPROFILE=str(path.parent),
                   PYTHONIOENCODING="utf-8")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path)],
        input=json.dumps([list(cells) for cells in sessions]),
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or not path.is_file():
        raise RuntimeError(f"IPython could not record the history (exit {result.returncode})")
    _remove_tree(ipython_dir)
    return path


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
