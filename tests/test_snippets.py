"""Every notebook cell tagged `snippet` runs on its own, outside the notebook, in a fresh
process whose only configuration is its environment: the offline cloud's (as identity
dev-app, seeded with DEV_PROD) plus the application's own API_KEY_SECRET. That is what a
reader who copies it into a project gets; it must never print a secret value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guardlib.emulators.seed import DEV_PROD

ROOT = Path(__file__).resolve().parents[1]
DEMO_VALUES = [spec["value"] for spec in DEV_PROD["secrets"].values()]


def _snippets() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells, start=1):
            if "snippet" in cell.get("metadata", {}).get("tags", []):
                found.append((f"{path.stem}-cell{index}", "".join(cell["source"])))
    return found


SNIPPETS = _snippets()


def test_cloud_chapters_offer_snippets() -> None:
    chapters = {name.split("-")[0] for name, _ in SNIPPETS}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if path.name[:2] >= "06":  # the provider chapters: 06 Azure … 09 Vault
            assert path.stem in chapters, f"{path.name} has no cell tagged snippet"


@pytest.mark.parametrize(("name", "source"), SNIPPETS, ids=[n for n, _ in SNIPPETS])
def test_snippet_runs_alone_and_prints_no_secret(
    emulators_up_env: dict[str, str], name: str, source: str
) -> None:
    assert "import " in source, f"{name}: a snippet brings its own imports"
    env = emulators_up_env | {"API_KEY_SECRET": "dev-api-key"}
    result = subprocess.run(
        [sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for value in DEMO_VALUES:
        assert value not in result.stdout + result.stderr, f"{name} printed a secret"
