"""docs/facilitator-guide.md: the agendas add up, they give every chapter at least its measured
minutes, the chapter table follows the formula it states, and the guide covers what a facilitator
meets on the day."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "facilitator-guide.md").read_text(encoding="utf-8")


def _bench_minutes():  # bench/ is not a package: load the script as a module
    spec = importlib.util.spec_from_file_location(
        "bench_chapter_minutes", ROOT / "bench" / "bench_chapter_minutes.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _section(heading: str) -> str:
    match = re.search(rf"^(#+) {re.escape(heading)}.*?$(.*?)(?=^#{{1,3}} |\Z)", GUIDE, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(2)


def _table(text: str) -> list[dict[str, str]]:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    assert len(lines) >= 3, "no table"
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(head), line
        rows.append(dict(zip(head, cells, strict=True)))
    return rows


def _number(cell: str) -> float:
    return float(cell.strip("* "))


def _chapter_table() -> list[dict[str, str]]:
    return [r for r in _table(_section("Chapter minutes, measured")) if r["Chapter"].isdigit()]


def _measured() -> dict[str, int]:
    return {r["Chapter"]: int(r["Minutes"]) for r in _chapter_table()}


AGENDAS = re.findall(r"^### (.+\((\d+) minutes\))$", GUIDE, re.M)


def test_there_are_a_3_hour_and_a_90_minute_agenda() -> None:
    lengths = sorted(int(minutes) for _, minutes in AGENDAS)
    assert lengths == [90, 180], AGENDAS


@pytest.mark.parametrize(("heading", "length"), AGENDAS, ids=[m for _, m in AGENDAS])
def test_agenda_minutes_add_up(heading: str, length: str) -> None:
    rows = _table(_section(heading))
    blocks = [r for r in rows if r["Start"]]
    (total,) = [r for r in rows if "Total" in r["Block"]]
    minutes = [int(r["Minutes"]) for r in blocks]
    assert sum(minutes) == int(_number(total["Minutes"])) == int(length)
    clock = 0
    for row, spent in zip(blocks, minutes, strict=True):
        hours, mins = row["Start"].split(":")
        assert int(hours) * 60 + int(mins) == clock, f"{row['Block']} starts at {row['Start']}"
        clock += spent


@pytest.mark.parametrize(("heading", "length"), AGENDAS, ids=[m for _, m in AGENDAS])
def test_agenda_gives_each_chapter_its_measured_minutes(heading: str, length: str) -> None:
    measured = _measured()
    for row in _table(_section(heading)):
        chapters = re.findall(r"\b\d\d\b", row["Chapters"])
        if not chapters or not row["Start"]:
            continue
        for chapter in chapters:
            assert chapter in measured, chapter
        # "06 or 07": the room picks one, so the slot fits the longest; "01, 02": all of them
        need = [measured[c] for c in chapters]
        wanted = max(need) if " or " in row["Chapters"] else sum(need)
        assert int(row["Minutes"]) >= wanted, f"{row['Block']}: {row['Minutes']} < {wanted}"


def test_chapter_table_follows_the_stated_formula() -> None:
    bench = _bench_minutes()
    rates = bench.Rates()
    for row in _chapter_table():
        counts = bench.Counts(
            row["Chapter"],
            int(row["Words"]),
            int(row["Code lines"]),
            int(row["Output lines"]),
            int(row["Cells"]),
            int(row["Exercises"]),
            float(row["Run s"]),
        )
        assert bench.minutes(counts, rates) == int(row["Minutes"]), row["Chapter"]
    # the stated rates are the script's defaults
    for text in (
        f"{rates.wpm:g} words a minute",
        f"{rates.code_lpm:g} lines a minute",
        f"{rates.output_lpm:g} lines a minute",
        f"{rates.per_cell_s:g} seconds per code cell",
        f"{rates.exercise_min:g} minutes",
    ):
        assert text in GUIDE, text
    total = [r for r in _table(_section("Chapter minutes, measured")) if "All" in r["Chapter"]]
    assert int(_number(total[0]["Minutes"])) == sum(_measured().values())


def test_chapter_table_lists_published_chapters() -> None:
    published = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(_measured()) <= published
    assert {f"{n:02d}" for n in range(10)} <= set(_measured())


def test_counts_match_a_chapter_still_to_the_nearest_five_minutes() -> None:
    """The counted part of each chapter's minutes (not its run time) from today's notebook
    stays within 5 minutes of the table: a rewritten chapter means measuring again."""
    bench = _bench_minutes()
    for row in _chapter_table():
        found = sorted((ROOT / "notebooks").glob(f"{row['Chapter']}_*.ipynb"))
        counts = bench.count(found[0])
        counts.run_s = float(row["Run s"])
        assert abs(bench.minutes(counts, bench.Rates()) - int(row["Minutes"])) <= 5, row["Chapter"]


def test_setup_email_has_the_commands() -> None:
    email = re.search(r"```text\n(Subject:.*?)```", GUIDE, re.S)
    assert email, "no setup e-mail"
    text = email.group(1)
    for needed in (
        "Python 3.11",
        "git clone",
        "python3.11 course.py",
        "python3.11 course.py doctor",
        "py -3.11",
        "brew install openbao",
        "If a step fails",
    ):
        assert needed in text, needed


def test_binder_limits_are_stated() -> None:
    binder = _section("The Binder fallback and its limits")
    for needed in ("Public", "Ephemeral", "real key", "Memory", "OpenBao", "Capacity"):
        assert needed in binder, needed


def test_failures_on_the_day_cover_the_usual_suspects() -> None:
    failures = _section("Failures on the day, and their fixes")
    for needed in (
        "CERTIFICATE_VERIFY_FAILED",
        "PIP_CERT",
        "Python 3.11",
        "py -3.11",
        "brew install openbao",
        "port",
        "course.py reset",
        "Interrupt",
        "Restart",
    ):
        assert needed in failures, needed


# bench/bench_room.py (a learner's whole tree on a real hub) and bench/bench_learners.py
# --keep-kernels (all five cloud chapters' kernels kept), as tests/test_jupyterhub_config.py has
TYPICAL_MB, WORST_MB, GUARANTEE_MB = 440, 974, 576


def test_sizing_table_rows_are_consistent() -> None:
    rows = _table(_section("Sizing table"))
    assert rows
    for row in rows:
        nodes, cpus, ram = re.match(r"(\d+) x (\d+) CPU, (\d+) GB", row["Nodes"]).groups()
        per_node = int(row["Learners per node"])
        assert int(nodes) * per_node >= int(row["Room"])
        guaranteed = float(row["Memory guaranteed per node"].split()[0])
        worst = float(row[f"Worst case per node ({WORST_MB} MB each)"].split()[0])
        typical = float(row[f"Typical use per node ({TYPICAL_MB} MB each)"].split()[0])
        assert typical == pytest.approx(per_node * TYPICAL_MB / 1000, abs=0.1)
        assert guaranteed == pytest.approx(per_node * GUARANTEE_MB / 1024, abs=0.1)
        assert worst == pytest.approx(per_node * WORST_MB / 1000, abs=0.1)
        assert worst <= int(ram) - 1.5, "the worst case must fit the node"
        assert guaranteed <= int(ram) - 1.5, "the guarantees must fit the node"
        assert float(row["Learners per CPU"]) == pytest.approx(per_node / int(cpus), abs=0.05)


def test_the_room_measurements_cover_n_1_5_10_20() -> None:
    """The guide quotes bench/bench_room.py against a real hub, not bare kernels."""
    measured = _section("What was measured")
    assert "bench/bench_room.py" in measured
    rows = _table(measured)
    assert [r["Learners at once (2 CPUs)"] for r in rows] == ["1", "5", "10", "20"]
    for row in rows:
        assert float(row["Learners per CPU"]) == pytest.approx(
            int(row["Learners at once (2 CPUs)"]) / 2
        )
    assert f"{TYPICAL_MB} MB" in measured and f"{WORST_MB} MB" in measured


def test_one_machine_section_has_the_command_the_password_and_what_to_watch() -> None:
    room = GUIDE.split("## A room on one machine", 1)[1].split("\n## ", 1)[0]
    for needed in (
        'pip install -e ".[hub]"',
        "GUARDLIB_HUB_PASSWORD",
        "GUARDLIB_HUB_API_TOKEN",
        "jupyterhub -f jupyterhub/jupyterhub_config.py",
        "--port",
        "password",
        "What to watch",
        "GUARDLIB_HUB_DATA",
        "my-work/",
    ):
        assert needed in room, needed
    config = (ROOT / "jupyterhub" / "jupyterhub_config.py").read_text(encoding="utf-8")
    for limit in re.findall(r'^MEM_(?:GUARANTEE|LIMIT) = "(\w+)"', config, re.M):
        assert limit in room, limit
