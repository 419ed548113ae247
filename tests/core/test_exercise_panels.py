"""Exercise verdicts as ipywidgets panels with a plain-text fallback, and the progress view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guardlib.course.exercises import Verdict
from guardlib.course.panel import HINT_LABEL, panel, plain_text, show
from guardlib.course.progress import chapter_progress, folder_progress, progress_table

ROOT = Path(__file__).resolve().parents[2]
WRONG = Verdict(False, "the policy still allows secretsmanager:*")
RIGHT = Verdict(True, "dev-app reads dev-api-key and nothing else")


def test_plain_text_shows_the_hint_only_while_the_answer_is_wrong() -> None:
    assert plain_text(WRONG, "name one action") == f"{WRONG}\nHint: name one action"
    assert plain_text(RIGHT, "name one action") == str(RIGHT)
    assert plain_text(WRONG) == str(WRONG)


def test_outside_a_kernel_the_verdict_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    show(WRONG, "name one action")
    assert capsys.readouterr().out == f"{WRONG}\nHint: name one action\n"


def test_the_panel_renders_as_a_widget_and_as_the_verdict_text() -> None:
    box = panel(WRONG, "name one action")
    bundle = box._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["text/plain"] == plain_text(WRONG, "name one action")
    assert "application/vnd.jupyter.widget-view+json" in data
    message, button, shown = box.children
    assert "Not yet" in message.value and button.description == HINT_LABEL
    assert shown.value == ""
    button.click()  # what a learner's click does
    assert "name one action" in shown.value and button.disabled


def test_a_right_answer_has_no_hint_button() -> None:
    box = panel(RIGHT, "name one action")
    assert len(box.children) == 1 and "Correct" in box.children[0].value


def test_in_a_kernel_the_check_displays_a_panel_whose_text_is_the_verdict() -> None:
    """A real kernel (what JupyterLab and nbval run): one display_data with both forms."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        code = (
            "from guardlib.course.exercises import Verdict\n"
            "from guardlib.course.panel import show\n"
            "show(Verdict(False, 'not yet right'), 'look at the Resource')"
        )
        kc.execute(code)
        outputs = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] in ("display_data", "stream", "error"):
                outputs.append(msg)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert [m["msg_type"] for m in outputs] == ["display_data"], outputs
    data = outputs[0]["content"]["data"]
    assert data["text/plain"] == "❌ Not yet: not yet right\nHint: look at the Resource"
    assert "application/vnd.jupyter.widget-view+json" in data


def _notebook(path: Path, cells: list[dict[str, object]]) -> None:
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))  # fmt: skip


def _check_cell(text: str | None, *, widget: bool = False) -> dict[str, object]:
    outputs: list[dict[str, object]] = []
    if text is not None and widget:
        outputs = [{"output_type": "display_data", "data": {"text/plain": text}, "metadata": {}}]
    elif text is not None:
        outputs = [{"output_type": "stream", "name": "stdout", "text": [text + "\n"]}]
    return {"cell_type": "code", "source": ["policy = ...\n", "check_policy(policy)"],
            "outputs": outputs, "metadata": {}, "execution_count": None}  # fmt: skip


def test_progress_counts_check_cells_and_their_saved_verdicts(tmp_path: Path) -> None:
    _notebook(tmp_path / "07_aws.ipynb", [
        {"cell_type": "code", "source": "def check_mine(x):\n    pass", "outputs": []},
        _check_cell(str(RIGHT), widget=True),
        _check_cell(str(WRONG)),
        _check_cell(None),
        {"cell_type": "markdown", "source": "check_policy(policy) in prose"},
    ])  # fmt: skip
    _notebook(tmp_path / "01_intro.ipynb", [_check_cell(str(RIGHT))])
    (tmp_path / "02_broken.ipynb").write_text("{ half saved")
    (tmp_path / "notes.ipynb").write_text("{}")  # not a chapter
    rows = folder_progress(tmp_path)
    assert [(r.chapter, r.exercises, r.solved, r.readable) for r in rows] == [
        ("01_intro.ipynb", 1, 1, True),
        ("02_broken.ipynb", 0, 0, False),
        ("07_aws.ipynb", 3, 1, True),
    ]
    table = progress_table(rows)
    assert "07 aws" in table and "1 of 3 solved" in table
    assert "could not read it" in table
    assert table.splitlines()[-1].endswith("2 of 4 exercises solved")


def test_every_published_chapter_has_its_exercises_unsolved() -> None:
    """The published notebooks keep their ... placeholders: no exercise shows ✅."""
    rows = folder_progress(ROOT / "notebooks")
    assert rows and all(r.readable for r in rows)
    assert sum(r.exercises for r in rows) >= len(rows) - 1  # chapters have exercises
    assert [r.chapter for r in rows if r.solved] == []


def test_progress_of_one_chapter(tmp_path: Path) -> None:
    path = tmp_path / "03_dotenv.ipynb"
    _notebook(path, [_check_cell(str(WRONG)), _check_cell(str(RIGHT))])
    assert chapter_progress(path).solved == 1


def test_importing_the_exercise_checks_loads_no_widget_library() -> None:
    code = (
        "import sys, guardlib.course.exercises, guardlib.course.panel, guardlib.course.progress\n"
        "print('ipywidgets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
