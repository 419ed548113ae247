"""Checks for chapter 07 (AWS Secrets Manager).

The exercise: write the identity policy that lets the ``dev-app`` role read exactly one secret,
``dev-api-key``, and nothing else. The check evaluates the policy with the same IAM logic the
offline AWS emulator enforces (``guardlib.emulators.aws.policy``: Allow/Deny, wildcards,
``NotAction``/``NotResource``), imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder
from guardlib.course.panel import show

_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"secret:(?P<name>[A-Za-z0-9/_+=.@!-]+)-(?P<suffix>[A-Za-z0-9]{6})$"
)

#: actions the dev app must *not* get on its own secret (least privilege)
_WRITE_ACTIONS = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:RotateSecret",
)


def _sibling(match: re.Match[str], name: str, suffix: str) -> str:
    prefix = f"arn:{match['partition']}:secretsmanager:{match['region']}:{match['account']}"
    return f"{prefix}:secret:{name}-{suffix}"


def evaluate_read_only_policy(policy: Any, secret_arn: str) -> Verdict:
    """``policy`` (a dict or its JSON text) must allow ``secretsmanager:GetSecretValue`` on
    ``secret_arn`` and nothing on any other secret, nor any write on this one."""
    if _has_placeholder(policy):
        return Verdict(False, PLACEHOLDER_HINT)
    match = _ARN_RE.match(secret_arn) if isinstance(secret_arn, str) else None
    if match is None:
        return Verdict(False, "pass the secret's full ARN (describe_secret gives it).")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return Verdict(False, "the policy text is not valid JSON.")
    if not isinstance(policy, Mapping):
        return Verdict(False, "a policy is a dict with 'Version' and 'Statement'.")
    if policy.get("Version") != "2012-10-17":
        return Verdict(False, 'start with "Version": "2012-10-17" (the current policy language).')
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, Mapping) for s in statements):
        return Verdict(False, "'Statement' is a list of statements (dicts).")

    from guardlib.emulators.aws.policy import Decision, evaluate  # lazily: imports moto

    document = json.dumps(policy)
    name = match["name"]

    def allows(action: str, resource: str) -> bool:
        return evaluate([document], action, resource) is Decision.ALLOW

    if not allows("secretsmanager:GetSecretValue", secret_arn):
        return Verdict(
            False,
            f"the policy does not allow secretsmanager:GetSecretValue on {name}'s ARN "
            "(check Effect, Action and Resource).",
        )
    for action in _WRITE_ACTIONS:
        if allows(action, secret_arn):
            return Verdict(False, f"it also allows {action}: the app only needs to read.")
    others = {
        "prod-api-key": _sibling(match, "prod-api-key", "xIqCrK"),
        f"{name}-old": _sibling(match, f"{name}-old", "Qw3rTy"),
        f"{name}2": _sibling(match, f"{name}2", "Zx9Yw8"),
    }
    for other, arn in others.items():
        if allows("secretsmanager:GetSecretValue", arn):
            hint = (
                f" End the ARN with {name}-?????? (exactly six characters), not {name}-*."
                if other.startswith(name)
                else ""
            )
            return Verdict(False, f"it also lets the app read a secret named {other}.{hint}")
    return Verdict(True, f"dev-app may read {name} and nothing else.")


HINT_READ_ONLY_POLICY = (
    "one Allow statement with the action secretsmanager:GetSecretValue and the Resource set "
    'to this secret\'s ARN, not "*".'
)


def check_read_only_policy(policy: Any, secret_arn: str) -> None:
    show(evaluate_read_only_policy(policy, secret_arn), HINT_READ_ONLY_POLICY)
