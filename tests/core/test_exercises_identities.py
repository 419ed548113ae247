"""Chapter 05's exercise check: the staging seed, verified against a fresh OpenBao server."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import identities as ex
from guardlib.course.exercises.identities import HINT_STAGING_SEED
from guardlib.course.progress import output_text
from guardlib.emulators import available

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_identities_access.ipynb"
HAS_OPENBAO = available().get("vault") is None
live = pytest.mark.skipif(not HAS_OPENBAO, reason="no bao/vault binary here")

GOOD: dict[str, Any] = {
    "secrets": {
        "staging-api-key": {
            "value": "demo-not-a-real-key-staging",
            "readers": ["staging-app"],
            "writers": ["ops-app"],
        },
    },
}


def _with(readers: list[str], writers: list[str]) -> dict[str, Any]:
    seed = copy.deepcopy(GOOD)
    seed["secrets"]["staging-api-key"].update(readers=readers, writers=writers)
    return seed


def _published_solution() -> str:
    (block,) = solution_blocks(NOTEBOOK)
    return block


@live
def test_published_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"check_staging_seed": ex.check_staging_seed}
    exec(compile(_published_solution(), "05:solution", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert out.startswith("✅ Correct!"), out
    assert "OpenBao, asked as each identity, agrees" in out
    assert "demo-not-a-real" not in out


def test_committed_notebook_shows_the_placeholder_verdict() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    outputs = [
        output_text(o)
        for c in nb["cells"]
        if c["cell_type"] == "code" and "check_staging_seed(" in "".join(c["source"])
        for o in c["outputs"]
    ]
    assert outputs == [f"❌ Not yet: {PLACEHOLDER_HINT}\nHint: {HINT_STAGING_SEED}"]


@pytest.mark.parametrize(
    "live_run", [pytest.param(True, marks=live), False], ids=["live", "static"]
)
@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (_with(["staging-app", "dev-app"], ["ops-app"]), "dev-app can read staging-api-key"),
        (_with(["staging-app", "prod-app"], ["ops-app"]), "prod-app can read staging-api-key"),
        (_with(["staging-app"], ["staging-app"]), "staging-app can write staging-api-key"),
        (_with(["staging-app"], []), "ops-app cannot write staging-api-key"),
        (_with([], ["ops-app"]), "staging-app cannot read staging-api-key"),
    ],
    ids=["dev-reads", "prod-reads", "app-writes", "nobody-writes", "nobody-reads"],
)
def test_wrong_rules_are_named(seed: dict[str, Any], expected: str, live_run: bool) -> None:
    verdict = ex.evaluate_staging_seed(seed, live=live_run)
    assert not verdict.ok
    assert expected in verdict.message


def test_static_check_accepts_the_solution() -> None:
    verdict = ex.evaluate_staging_seed(GOOD, live=False)
    assert verdict.ok, verdict.message
    assert "the seed says so" in verdict.message


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (_with([...], [...]), PLACEHOLDER_HINT),  # type: ignore[list-item]
        (_with(["..."], ["ops-app"]), PLACEHOLDER_HINT),
        (None, PLACEHOLDER_HINT),
        ({"secrets": {}}, "add a secret named 'staging-api-key'"),
        (
            {"secrets": {**GOOD["secrets"], "prod-api-key": {"value": "demo-not-a-real-x"}}},
            "add only 'staging-api-key'",
        ),
        (_with(["Staging App"], ["ops-app"]), "SeedSpec rejects it"),
    ],
    ids=["ellipsis", "dots", "none", "missing", "extra-secret", "bad-identity"],
)
def test_malformed_answers_fail_before_any_server(seed: Any, expected: str) -> None:
    verdict = ex.evaluate_staging_seed(seed)
    assert not verdict.ok
    assert expected in verdict.message


def test_a_real_looking_value_is_refused_without_echoing_it() -> None:
    seed = copy.deepcopy(GOOD)
    seed["secrets"]["staging-api-key"]["value"] = "sk-live-1234567890"
    verdict = ex.evaluate_staging_seed(seed)
    assert not verdict.ok
    assert "obviously fake" in verdict.message
    assert "sk-live" not in verdict.message
