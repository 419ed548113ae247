"""Every notebook cell tagged `snippet` runs on its own, outside the notebook, in a fresh
process whose only configuration is its environment: the offline cloud's (as identity
dev-app, seeded with DEV_PROD) plus the application's own API_KEY_SECRET. That is what a
reader who copies it into a project gets; it must never print a secret value.

Chapter 11's snippets run in a CI job instead: the environment of `guardlib emulators up
--oidc-subject repo:codehive/wallet:ref:refs/heads/main` (the course seed and its trusts: a
token file and the variables to exchange it, no static credential), reading prod-api-key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardlib.emulators.seed import DEV_PROD
from guardlib.emulators.up import in_subprocess

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
#: chapters whose snippets run as the deploy job on main (workload identity federation)
FEDERATED_CHAPTERS = ("11_",)
CI_SUBJECT = "repo:codehive/wallet:ref:refs/heads/main"


@pytest.fixture(scope="module")
def emulators_up_federation_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """What a CI job on main gets: only what `guardlib emulators up --oidc-subject ...` writes,
    plus PATH and a HOME of its own (the emulators run in that separate CLI process)."""
    folder = tmp_path_factory.mktemp("offline-ci")
    with in_subprocess(["--oidc-subject", CI_SUBJECT], folder) as env:
        yield env


def test_cloud_chapters_offer_snippets() -> None:
    chapters = {name.split("-")[0] for name, _ in SNIPPETS}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if path.name[:2] >= "06":  # the provider chapters: 06 Azure … 09 Vault
            assert path.stem in chapters, f"{path.name} has no cell tagged snippet"


@pytest.mark.parametrize(("name", "source"), SNIPPETS, ids=[n for n, _ in SNIPPETS])
def test_snippet_runs_alone_and_prints_no_secret(
    request: pytest.FixtureRequest, name: str, source: str
) -> None:
    assert "import " in source, f"{name}: a snippet brings its own imports"
    if name.startswith(FEDERATED_CHAPTERS):
        env = request.getfixturevalue("emulators_up_federation_env")
        env = env | {"API_KEY_SECRET": "prod-api-key"}
    else:
        env = request.getfixturevalue("emulators_up_env") | {"API_KEY_SECRET": "dev-api-key"}
    result = subprocess.run(
        [sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for value in DEMO_VALUES:
        assert value not in result.stdout + result.stderr, f"{name} printed a secret"
