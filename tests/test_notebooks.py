"""Whole-course checks of the notebooks (strict nbval itself runs them cell by cell)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guardlib.scan import load_allowlist, scan_path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_credentials_in_committed_notebooks(path: Path) -> None:
    """Sources and outputs hold no credential but the allow-listed, obviously fake demo values."""
    findings = scan_path(path, allow=load_allowlist(ROOT / ".secrets-allowlist"))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_run_in_order(path: Path) -> None:
    """Strict nbval skips cells without an execution count; counts must be 1, 2, 3, …"""
    cells = [c for c in _load(path)["cells"] if c["cell_type"] == "code" and c["source"]]
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), counts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_warnings_or_unexpected_errors_in_outputs(path: Path) -> None:
    for index, cell in enumerate(_load(path)["cells"], start=1):
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                assert "Warning" not in "".join(output["text"]), f"cell {index} warns"
            if output.get("output_type") == "error":
                assert "raises-exception" in tags, f"cell {index} raised without the tag"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_follows_the_skeleton(path: Path) -> None:
    markdown = "\n".join(
        "".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "markdown"
    )
    for heading in ("Overview", "Prerequisites", "Summary", "Resources"):
        assert re.search(rf"^#+ .*{heading}", markdown, re.M), f"{path.name}: no {heading}"
    assert "Time to learn" in markdown
    if not path.name.startswith("00_"):
        assert re.search(r"^#+ .*Exercise", markdown, re.M), f"{path.name}: no exercise"
        assert "<details>" in markdown and "Solution" in markdown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_course_map_lists_every_chapter(path: Path) -> None:
    assert f"(notebooks/{path.name})" in README


def test_course_map_lists_no_missing_chapter() -> None:
    for link in re.findall(r"\(notebooks/([^)]+\.ipynb)\)", README):
        assert (ROOT / "notebooks" / link).exists(), link


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_shell_magics(path: Path) -> None:
    """Shell commands go through subprocess with an argument list (Windows has no bash)."""
    for cell in _load(path)["cells"]:
        if cell["cell_type"] == "code":
            for line in "".join(cell["source"]).splitlines():
                assert not line.lstrip().startswith(("!", "%%bash", "%%sh")), line


def test_no_credentials_anywhere_in_the_repository() -> None:
    """Every secret in every tracked file is an allow-listed, obviously fake demo value."""
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    files = [ROOT / f for f in tracked if f and (ROOT / f).is_file()]
    assert len(files) > 50
    from guardlib.scan import scan_paths

    findings = scan_paths(files, allow=load_allowlist(ROOT / ".secrets-allowlist"))
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_links_between_chapters_resolve(path: Path) -> None:
    markdown = "\n".join(
        "".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "markdown"
    )
    for target in re.findall(r"\]\(((?:\.\./)?[\w./-]+\.(?:ipynb|md))(?:#[\w-]+)?\)", markdown):
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
