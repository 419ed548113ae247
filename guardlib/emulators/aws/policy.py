"""IAM policy evaluation, the parts Secrets Manager needs, done as AWS documents it.

moto's own evaluator (``moto/iam/access_control.py``) checks Secrets Manager against resource
``"*"`` only and ignores resource policies, so a policy naming a secret's ARN is denied. This
one evaluates, for one request context (principal, action, resource):

- ``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*`` and ``?`` wildcards
  (actions case-insensitively, resources case-sensitively);
- ``Principal``/``NotPrincipal`` in resource policies: ``"*"``, a user ARN, a role ARN (which
  matches every session of that role), an assumed-role session ARN, or the account
  (``"123456789012"`` / ``arn:aws:iam::123456789012:root``, which delegates to identity policies);
- the same-account logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/
  reference_policies_evaluation-logic.html): an explicit ``Deny`` anywhere wins; otherwise an
  ``Allow`` in either the identity policies or the resource policy grants.

``Condition`` blocks are not evaluated; to stay on the safe side, a conditional ``Allow`` never
grants and a conditional ``Deny`` always applies.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any


class Decision(enum.Enum):
    NEUTRAL = 0
    ALLOW = 1
    DENY = 2


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(globs: object, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches the glob, or any glob of a list."""
    if isinstance(globs, str):
        globs = [globs]
    if not isinstance(globs, (list, tuple)):
        return False
    return any(isinstance(g, str) and _pattern(g, ignore_case).match(value) for g in globs)


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def statements(document: str | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, Mapping)]


@functools.lru_cache(maxsize=1024)
def _parsed(document: str) -> tuple[Mapping[str, Any], ...]:
    return tuple(statements(document))


def principal_matches(
    spec: object, principal: str, role_arn: str | None, account: str, *, deny: bool = False
) -> bool:
    """Whether a resource policy's ``Principal`` names this caller. The account principal
    names everyone in it for a ``Deny``; for an ``Allow`` it only delegates to the identity
    policies (same account), so it grants nothing by itself."""
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    accounts = (account, f"arn:aws:iam::{account}:root")
    for entry in _as_list(spec.get("AWS")):
        if entry == "*" or entry == principal or (role_arn is not None and entry == role_arn):
            return True
        if deny and entry in accounts:
            return True
    return False


def evaluate(
    documents: Iterable[str],
    action: str,
    resource: str,
    *,
    resource_policy: bool = False,
    principal: str = "",
    role_arn: str | None = None,
    account: str = "",
) -> Decision:
    """The decision of a set of policy documents for one action on one resource."""
    decision = Decision.NEUTRAL
    for document in documents:
        for st in _parsed(document):
            if "NotAction" in st:
                if matches(st["NotAction"], action, ignore_case=True):
                    continue
            elif not matches(st.get("Action"), action, ignore_case=True):
                continue
            if "NotResource" in st:
                if matches(st["NotResource"], resource):
                    continue
            elif "Resource" in st and not matches(st["Resource"], resource):
                continue
            elif "Resource" not in st and not resource_policy:
                continue  # an identity policy statement without Resource is invalid
            effect = st.get("Effect")
            if resource_policy:
                deny = effect == "Deny"
                if "NotPrincipal" in st:
                    if principal_matches(st["NotPrincipal"], principal, role_arn, account):
                        continue
                elif not principal_matches(
                    st.get("Principal"), principal, role_arn, account, deny=deny
                ):
                    continue
            if effect == "Deny":
                return Decision.DENY
            if effect == "Allow" and "Condition" not in st:
                decision = Decision.ALLOW
    return decision
