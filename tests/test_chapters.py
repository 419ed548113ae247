"""guardlib/course/chapters.py is the one list of chapters and their minutes: the README's course
map, the facilitator guide's table, chapter 00's course map and every chapter's "Time to learn"
follow it, and it has exactly one row per notebook in notebooks/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guardlib.course import chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "facilitator-guide.md").read_text(encoding="utf-8")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_one_row_per_notebook_and_no_row_without_one() -> None:
    files = [c.file for c in chapters.CHAPTERS]
    assert files == sorted(files), "rows in chapter order"
    assert len(set(files)) == len(files)
    assert [c.number for c in chapters.CHAPTERS] == [f[:2] for f in files]
    assert set(files) == {p.name for p in NOTEBOOKS}, (
        "a notebook without a row in guardlib/course/chapters.py, or a row without a notebook"
    )
    assert chapters.present(ROOT / "notebooks") == chapters.CHAPTERS


def test_minutes_are_measured_multiples_of_five() -> None:
    for chapter in chapters.CHAPTERS:
        assert chapter.minutes > 0 and chapter.minutes % 5 == 0, chapter


def test_helpers() -> None:
    assert chapters.by_number("5").file == "05_identities_access.ipynb"
    with pytest.raises(KeyError):
        chapters.by_number("99")
    assert chapters.hours_and_minutes(385) == "6 hours 25 minutes"
    assert chapters.hours_and_minutes(60) == "1 hour"
    assert chapters.hours_and_minutes(45) == "45 minutes"
    text = chapters.course_map()
    assert text.count("\n") == len(chapters.CHAPTERS)
    assert f"{chapters.total_minutes()} min" in text


def _readme_rows() -> dict[str, tuple[str, str, int]]:
    section = README.split("## Course map", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| \[(\d\d) (.+?)\]\(notebooks/([^)]+)\) \| .* \| (\d+) \|$", line)
        if match:
            number, title, file, minutes = match.groups()
            rows[number] = (title, file, int(minutes))
    return rows


def test_readme_course_map_follows_the_list() -> None:
    rows = _readme_rows()
    assert list(rows) == [c.number for c in chapters.CHAPTERS]
    for chapter in chapters.CHAPTERS:
        assert rows[chapter.number] == (chapter.title, chapter.file, chapter.minutes), chapter
    total = chapters.hours_and_minutes(chapters.total_minutes())
    assert re.search(rf"\({total}\s+in\s+all\)", README), f"the README's total is not {total}"


def test_guide_chapter_table_follows_the_list() -> None:
    section = GUIDE.split("## Chapter minutes, measured", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"\d\d", cells[0]):
            rows[cells[0]] = int(cells[-1])
    assert rows == {c.number: c.minutes for c in chapters.CHAPTERS}
    assert f"**{chapters.total_minutes()}**" in section
    total = chapters.hours_and_minutes(chapters.total_minutes())
    assert f"**{total}**" in re.sub(r"\s+", " ", section)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_time_to_learn_is_the_measured_minutes(path: Path) -> None:
    markdown = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    found = re.findall(r"Time to learn\W*(\d+) minutes", markdown)
    assert found == [str(chapters.by_number(path.name[:2]).minutes)], path.name


def test_chapter_00_shows_the_course_map_from_the_list() -> None:
    path = ROOT / "notebooks" / chapters.CHAPTERS[0].file
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    shown = [c for c in code if "chapters.course_map()" in _source(c)]
    assert len(shown) == 1, "chapter 00 prints chapters.course_map() once"
    # its committed output is today's list (strict nbval checks a fresh run gives the same)
    output = "".join("".join(o.get("text", "")) for o in shown[0]["outputs"])
    assert output.strip() == chapters.course_map().strip()
    markdown = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    assert not re.search(r"\d+\s*[–-]\s*\d+ minutes", markdown), "a hand-written range of minutes"
