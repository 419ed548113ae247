"""The room's leaderboard: one file per learner, written atomically, counts only."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from guardlib.course.hunt.scoreboard import (
    entry_name,
    leaderboard,
    leaderboard_text,
    progress_text,
    publish,
)


def summary(score: int, found: int, fp: int = 0) -> dict[str, object]:
    return {"level": "normal", "found": found, "total": 9, "score": score,
            "false_positives": fp, "hints": 0}  # fmt: skip


def test_rows_sorted_best_first(tmp_path: Path) -> None:
    publish(tmp_path, "ruby", summary(700, 4))
    publish(tmp_path, "brad", summary(700, 4, fp=1))
    publish(tmp_path, "mo", summary(900, 5))
    publish(tmp_path, "ruby", summary(1100, 6))  # an update replaces the row
    rows = leaderboard(tmp_path)
    assert [r["learner"] for r in rows] == ["ruby", "mo", "brad"]
    assert rows[0]["score"] == 1100
    text = leaderboard_text(tmp_path)
    assert text.splitlines()[1].split()[:2] == ["1", "ruby"]


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    errors = []

    def writer(name: str) -> None:
        try:
            for score in range(50):
                publish(tmp_path, name, summary(score, 1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        for _ in range(200):
            for path in tmp_path.glob("*.json"):
                try:
                    json.loads(path.read_text())  # never a half-written file
                except FileNotFoundError:
                    pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("ruby", "mo")]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [entry_name("ruby"), entry_name("mo")]
    )
    assert {r["score"] for r in leaderboard(tmp_path)} == {49}


def test_hostile_learner_ids_stay_inside_the_folder(tmp_path: Path) -> None:
    board = tmp_path / "board"
    for learner in ("../../etc/passwd", "..", "a/b", "C:\\x", "", "ruby\0"):
        path = publish(board, learner, summary(1, 1))
        assert path.parent == board
    assert entry_name("a/b") != entry_name("a_b")
    assert not (tmp_path / "etc").exists()


def test_malformed_rows_are_skipped(tmp_path: Path) -> None:
    publish(tmp_path, "ruby", summary(100, 1))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "odd.json").write_text(json.dumps({"learner": "x", "score": "lots"}))
    assert [r["learner"] for r in leaderboard(tmp_path)] == ["ruby"]


def test_the_facilitator_command(tmp_path: Path) -> None:
    publish(tmp_path, "ruby", summary(300, 2))
    command = [sys.executable, "-m", "guardlib.course.hunt", "leaderboard", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "ruby" in result.stdout and "300" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "guardlib.course.hunt"], capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_scoreboard_widget_has_a_text_form() -> None:
    from guardlib.course.hunt.scoreboard import scoreboard, update

    board = scoreboard("ruby", summary(0, 0))
    data = board._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert data["text/plain"] == progress_text("ruby", summary(0, 0))
    update(board, "ruby", summary(200, 1))
    assert board.children[0].value == 1
    assert "score 200" in board.guardlib_text


def test_an_unwritable_board_does_not_stop_the_hunt(tmp_path: Path, capsys) -> None:
    from guardlib.course.hunt import Hunt

    blocker = tmp_path / "board"
    blocker.write_text("a file where the board folder should be")
    environ = {"GUARDLIB_HUNT_ROOM_SECRET": "demo-not-a-real-room-secret-0001"}
    hunt = Hunt(learner="ruby", root=tmp_path / "w", board=blocker, environ=environ)
    try:
        assert hunt.check(hunt.world.values["ci-log"]).status == "accepted"
        assert hunt.check("nothing-here-at-all").status == "false-positive"
        out = capsys.readouterr().out
        assert out.count("could not be written") == 1
    finally:
        hunt.close()
