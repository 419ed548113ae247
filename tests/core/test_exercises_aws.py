"""Chapter 07's check: an identity policy that lets dev-app read exactly one secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises.aws import check_read_only_policy, evaluate_read_only_policy
from guardlib.course.progress import output_text

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_aws_secrets_manager.ipynb"
DEV_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-dVQKPc"


def policy(action: Any, resource: Any, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": effect, "Action": action, "Resource": resource}],
    }


def test_placeholders_get_the_hint() -> None:
    verdict = evaluate_read_only_policy(policy(..., ...), DEV_ARN)
    assert not verdict.ok
    assert verdict.message == PLACEHOLDER_HINT
    assert evaluate_read_only_policy(policy("secretsmanager:GetSecretValue", ...), DEV_ARN).message
    assert not evaluate_read_only_policy(policy(["...", "x"], DEV_ARN), DEV_ARN).ok


@pytest.mark.parametrize(
    "answer",
    [
        policy("secretsmanager:GetSecretValue", DEV_ARN),
        policy(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [DEV_ARN]),
        policy(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-??????",
        ),
        json.dumps(policy("secretsmanager:getsecretvalue", DEV_ARN)),  # actions ignore case
    ],
)
def test_right_answers_pass(answer: Any) -> None:
    verdict = evaluate_read_only_policy(answer, DEV_ARN)
    assert verdict.ok, verdict.message
    assert str(verdict).startswith("✅ Correct!")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (policy("secretsmanager:GetSecretValue", "*"), "prod-api-key"),
        (
            policy(
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-*",
            ),
            "dev-api-key-??????",
        ),
        (
            policy(
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key*",
            ),
            "dev-api-key-old",
        ),
        (policy("secretsmanager:*", DEV_ARN), "PutSecretValue"),
        (policy("*", DEV_ARN), "PutSecretValue"),
        (policy("secretsmanager:GetSecretValue", DEV_ARN, effect="Deny"), "does not allow"),
        (policy("secretsmanager:DescribeSecret", DEV_ARN), "does not allow"),
        (policy("secretsmanager:GetSecretValue", DEV_ARN.replace("dVQKPc", "AAAAAA")), "not allow"),
        ({"Statement": []}, "Version"),
        ({"Version": "2012-10-17", "Statement": "all"}, "list of statements"),
        ("{not json", "not valid JSON"),
        (["not", "a", "policy"], "a policy is a dict"),
    ],
)
def test_wrong_answers_fail_with_a_reason(answer: Any, expected: str) -> None:
    verdict = evaluate_read_only_policy(answer, DEV_ARN)
    assert not verdict.ok
    assert expected in verdict.message
    assert str(verdict).startswith("❌ Not yet:")


def test_a_deny_statement_wins() -> None:
    answer = policy("secretsmanager:GetSecretValue", DEV_ARN)
    answer["Statement"].append(
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    )
    assert not evaluate_read_only_policy(answer, DEV_ARN).ok


def test_the_secret_arn_must_be_a_full_arn() -> None:
    good = policy("secretsmanager:GetSecretValue", DEV_ARN)
    assert "full ARN" in evaluate_read_only_policy(good, "dev-api-key").message


def test_published_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = solution_blocks(NOTEBOOK)
    assert blocks
    for block in blocks:
        namespace = {"dev_arn": DEV_ARN, "check_read_only_policy": check_read_only_policy}
        exec(compile(block, "07:solution", "exec"), namespace)  # noqa: S102
        assert capsys.readouterr().out.startswith("✅ Correct!")


def test_committed_notebook_shows_the_unanswered_verdict() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    (cell,) = [
        c
        for c in cells
        if c["cell_type"] == "code"
        and "check_read_only_policy(dev_only_policy" in "".join(c["source"])
    ]
    text = "".join(output_text(o) for o in cell["outputs"])
    assert text.startswith("❌ Not yet: replace the ... placeholders")


def test_the_wildcard_verdict_is_two_sentences_each_with_its_capital() -> None:
    wildcard = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dev-api-key-*"
    message = evaluate_read_only_policy(
        policy("secretsmanager:GetSecretValue", wildcard), DEV_ARN
    ).message
    assert "dev-api-key-old. End the ARN with dev-api-key-??????" in message
    for sentence in message.split(". ")[1:]:
        assert sentence[:1].isupper(), message
