"""Chapter 12's exercise check: ``.sops.yaml`` rules for three environments, judged by the real
sops against the offline cloud's KMS keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

from guardlib import emulators
from guardlib.course.exercises import solution_blocks
from guardlib.course.exercises.sops import check_sops_rules, evaluate_sops_rules
from guardlib.emulators.seed import COURSE

ROOT = Path(__file__).resolve().parents[2]
DEV = "arn:aws:kms:us-east-1:123456789012:alias/guard-dev"
PROD = "arn:aws:kms:us-east-1:123456789012:alias/guard-prod"
TEAM, STAGING = (str(pyrage.x25519.Identity.generate().to_public()) for _ in range(2))
KEYS = {"team": TEAM, "staging": STAGING, "dev_kms": DEV, "prod_kms": PROD}

GOOD = f"""creation_rules:
  - path_regex: ^config/dev/
    age: {TEAM}
    kms: {DEV}
  - path_regex: ^config/staging/
    age: {STAGING}
  - path_regex: ^config/prod/
    kms: {PROD}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    try:
        cloud = emulators.start(only=["aws"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    if "kms_keys" not in str(COURSE.get("aws", {})):
        pytest.skip("the course seed has no KMS keys yet")
    cloud["aws"].reset()
    cloud.seed(COURSE)
    yield cloud


def test_the_right_rules_pass(cloud: emulators.OfflineCloud) -> None:
    verdict = evaluate_sops_rules(GOOD, KEYS)
    assert verdict.ok, verdict.message


def test_key_groups_form_passes_too(cloud: emulators.OfflineCloud) -> None:
    groups = GOOD.replace(
        f"    age: {TEAM}\n    kms: {DEV}\n",
        f"    key_groups:\n      - age: ['{TEAM}']\n        kms: [{{arn: '{DEV}'}}]\n",
    )
    assert "key_groups" in groups
    assert evaluate_sops_rules(groups, KEYS).ok


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (GOOD.replace("^config/prod/", "prod"), "notes/prod/app.yaml"),
        (GOOD.replace("^config/prod/", "^config/prod"), "config/prod-old/"),
        (GOOD + f"  - age: {TEAM}\n", "app.yaml) was encrypted to the team's age key"),
        (
            GOOD.replace(f"    kms: {PROD}", f"    kms: {PROD}\n    age: {TEAM}"),
            "a prod file (config/prod/app.yaml) went to the prod KMS key, the team's age key",
        ),
        (
            GOOD.replace(f"    age: {TEAM}\n    kms: {DEV}", f"    age: {TEAM}"),
            "a dev file (config/dev/app.yaml) went to the team's age key, not",
        ),
        (
            GOOD.replace("^config/staging/", "^config/stage/"),
            "a staging file (config/staging/app.yaml): no rule matched",
        ),
        (
            GOOD.replace(f"kms: {PROD}", "kms: arn:aws:kms:us-east-1:123456789012:alias/nobody"),
            "sops failed",
        ),
    ],
)
def test_wrong_rules_are_named(cloud: emulators.OfflineCloud, rules: str, expected: str) -> None:
    verdict = evaluate_sops_rules(rules, KEYS)
    assert not verdict.ok and expected in verdict.message, verdict.message
    assert "demo-not-a-real" not in verdict.message


def test_placeholders_and_bad_input(cloud: emulators.OfflineCloud) -> None:
    assert "placeholders" in evaluate_sops_rules(..., KEYS).message
    assert "placeholders" in evaluate_sops_rules("creation_rules: ...", KEYS).message
    assert "a str" in evaluate_sops_rules(42, KEYS).message
    assert "cannot read" in evaluate_sops_rules("creation_rules: [unclosed", KEYS).message
    assert "missing" in evaluate_sops_rules(GOOD, {"team": TEAM}).message


def test_check_prints_a_verdict(
    cloud: emulators.OfflineCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    check_sops_rules(GOOD, KEYS)
    assert capsys.readouterr().out.startswith("✅ Correct!")


def test_the_chapters_solution_passes(cloud: emulators.OfflineCloud) -> None:
    chapter = next((ROOT / "notebooks").glob("12_*.ipynb"), None)
    if chapter is None:
        pytest.skip("chapter 12 is not written yet")
    (block,) = [b for b in solution_blocks(chapter) if "check_sops_rules" in b]
    scope = {
        "TEAM_AGE": TEAM,
        "STAGING_AGE": STAGING,
        "DEV_KMS": DEV,
        "PROD_KMS": PROD,
        "KEYS": KEYS,
    }
    exec(
        block.replace("check_sops_rules(", "verdict = evaluate_sops_rules("),  # noqa: S102
        {**scope, "evaluate_sops_rules": evaluate_sops_rules},
        scope,
    )
    assert scope["verdict"].ok, scope["verdict"].message


def test_importing_the_check_loads_no_cloud_sdk() -> None:
    code = (
        "import sys, guardlib.course.exercises.sops\n"
        "bad = [m for m in ('boto3', 'botocore', 'hvac', 'azure', 'google.cloud', 'yaml', 'pyrage')"
        " if m in sys.modules]\nprint(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
