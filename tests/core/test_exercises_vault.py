"""Chapter 09's exercise check, against the real OpenBao dev server (skipped without a binary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardlib import emulators
from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import vault as ex
from guardlib.course.progress import output_text
from guardlib.emulators.seed import DEV_PROD, SeedSpec

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "09_vault_openbao.ipynb"
GOOD = 'path "secret/data/billing-api-key" {\n  capabilities = ["read"]\n}\n'


@pytest.fixture(scope="module")
def bao() -> Any:
    try:
        cloud = emulators.start(only=["vault"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    return cloud["vault"]


def _state(bao: Any) -> tuple[list[str], list[str], list[str]]:
    admin = bao.admin
    policies = admin.request("LIST", "sys/policies/acl").get("data", {}).get("keys", [])
    roles = admin.request("LIST", "auth/approle/role").get("data", {}).get("keys", [])
    keys = admin.request("LIST", "secret/metadata/").get("data", {}).get("keys", [])
    return policies, roles, keys


@pytest.mark.parametrize("answer", [..., "...", 'path "..." {}', "", None, 42])
def test_placeholders_and_non_answers(answer: Any) -> None:
    assert ex.evaluate_billing_policy(answer).message == PLACEHOLDER_HINT


def test_the_right_policy_passes_and_leaves_nothing_behind(bao: Any) -> None:
    before = _state(bao)
    verdict = ex.evaluate_billing_policy(GOOD)
    assert verdict.ok, verdict.message
    assert _state(bao) == before


def test_reading_metadata_of_its_own_secret_is_fine(bao: Any) -> None:
    policy = GOOD + 'path "secret/metadata/billing-api-key" {\n  capabilities = ["read"]\n}\n'
    assert ex.evaluate_billing_policy(policy).ok


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ('path "secret/billing-api-key" { capabilities = ["read"] }', "secret/data/billing"),
        ('path "secret/data/payroll-api-key" { capabilities = ["read"] }', "cannot read"),
        ('path "secret/data/*" { capabilities = ["read"] }', "too broad"),
        ('path "secret/*" { capabilities = ["read", "list"] }', "too broad"),
        ('path "secret/data/billing-api-key*" { capabilities = ["read"] }', "too broad"),
        ('path "secret/data/+" { capabilities = ["read"] }', "too broad"),
        (GOOD.replace('["read"]', '["read", "update"]'), "may also update"),
        (GOOD + 'path "sys/*" { capabilities = ["read"] }', "too broad"),
        ('path "secret/data/billing-api-key" { capabilities = ["read"] ', "rejected the policy"),
        ('path "secret/data/billing-api-key" { capabilities = ["reed"] }', "invalid capability"),
        ('path "secret/data/billing-api-key" { capabilities = ["deny"] }', "cannot read"),
    ],
)
def test_wrong_policies_fail_with_a_reason(bao: Any, policy: str, expected: str) -> None:
    before = _state(bao)
    verdict = ex.evaluate_billing_policy(policy)
    assert not verdict.ok
    assert expected in verdict.message, verdict.message
    assert "demo-not-a-real" not in verdict.message
    assert _state(bao) == before


def test_the_check_acts_as_admin_whatever_identity_the_process_has(bao: Any) -> None:
    """The chapter's kernel runs as dev-app; the check still writes the policy as the admin."""
    cloud = emulators.current()
    assert cloud is not None
    bao.apply_seed(SeedSpec.parse(DEV_PROD))
    before = _state(bao)
    with cloud.as_identity("dev-app"):
        verdict = ex.evaluate_billing_policy(GOOD)
    assert verdict.ok, verdict.message
    assert _state(bao) == before


def test_without_a_running_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulators, "current", lambda: None)
    verdict = ex.evaluate_billing_policy(GOOD)
    assert not verdict.ok and "setup cell" in verdict.message


def test_check_prints_the_verdict(bao: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ex.check_billing_policy("...")
    assert capsys.readouterr().out.startswith("❌ Not yet: replace the ... placeholders")


def _published_solutions() -> list[str]:
    return solution_blocks(NOTEBOOK)


def test_the_published_solution_passes(bao: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _published_solutions()
    assert blocks, "chapter 09: no solution found"
    for block in blocks:
        namespace = {"check_billing_policy": ex.check_billing_policy}
        exec(compile(block, "09:solution", "exec"), namespace)  # noqa: S102
        out = capsys.readouterr().out
        assert out.startswith("✅ Correct!"), out


def test_the_committed_exercise_cell_is_unanswered() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    exercise = [c for c in cells if "check_billing_policy(" in "".join(c["source"])]
    assert len(exercise) == 1
    text = "".join(output_text(o) for o in exercise[0]["outputs"])
    assert text.startswith("❌ Not yet: replace the ... placeholders")
