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


# -- authorization: who may do this call, decided on the call the layer parsed ---------------
#: Secrets Manager actions that act on no particular secret, checked against resource "*"
GLOBAL_ACTIONS = frozenset(
    {"ListSecrets", "GetRandomPassword", "BatchGetSecretValue", "CreateSecret",
     "ValidateResourcePolicy"}
)  # fmt: skip
#: actions that need no permission at all (AWS: GetCallerIdentity works under any Deny)
UNAUTHENTICATED = frozenset({"sts:GetCallerIdentity"})
#: role ARNs as IAM writes them: arn:aws:iam::ACCOUNT:role/PATH/NAME, the path starting and
#: ending with "/" (botocore iam model: pathType, roleNameType ``[\w+=,.@-]+``, 1-64)
ROLE_ARN_RE = re.compile(
    r"arn:aws:iam::(?P<account>\d{12}):role(?P<path>/(?:[\x21-\x7e]*/)?)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)


class Authorizer:
    """Identity policies + resource policies of the moto store, for the layer's own calls."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def check(
        self, caller: Any, action: str, resource: str, resource_policy: str | None = None
    ) -> None:
        from . import errors

        identity = evaluate(self.state.identity_policies(caller), action, resource)
        if identity is Decision.DENY:
            raise errors.access_denied(caller.arn, action, resource, "deny-identity")
        granted = identity is Decision.ALLOW
        if resource_policy:
            res = evaluate(
                [resource_policy],
                action,
                resource,
                resource_policy=True,
                principal=caller.arn,
                role_arn=caller.role_arn,
                account=self.state.account,
            )
            if res is Decision.DENY:
                raise errors.access_denied(caller.arn, action, resource, "deny-resource")
            granted = granted or res is Decision.ALLOW
        if not granted:
            raise errors.access_denied(caller.arn, action, resource, "identity")

    # -- Secrets Manager ---------------------------------------------------------------------
    def secret_of(self, call: Any, backend: Any, region: str) -> tuple[str, Any]:
        """The resource ARN a Secrets Manager call is checked on, and the secret (or None)."""
        account = self.state.account
        if call.action in GLOBAL_ACTIONS:
            if call.action == "CreateSecret":  # the ARN it will have, suffix unknown yet
                return secret_arn(account, region, f"{call.params.get('Name')}-??????"), None
            return "*", None
        secret_id = call.params.get("SecretId")
        secret_id = secret_id if isinstance(secret_id, str) else ""
        secret = backend.secrets.get(secret_id) if secret_id else None
        if secret is not None:
            return str(secret.arn), secret
        if secret_id.startswith("arn:"):
            return secret_id, None
        return secret_arn(account, region, secret_id), None

    def filter_batch(self, caller: Any, payload: bytes, backend: Any) -> bytes:
        """Real BatchGetSecretValue also needs GetSecretValue on each secret; the ones the
        caller may not read come back under ``Errors``, never in ``SecretValues``."""
        from .errors import AwsError

        data = json.loads(payload)
        kept, denied = [], []
        for value in data.get("SecretValues", []):
            secret = backend.secrets.get(value["ARN"])
            try:
                self.check(
                    caller, "secretsmanager:GetSecretValue", value["ARN"], secret and secret.policy
                )
                kept.append(value)
            except AwsError as exc:
                denied.append(
                    {"SecretId": value["ARN"], "ErrorCode": exc.code, "Message": exc.message}
                )
        data["SecretValues"] = kept
        data["Errors"] = list(data.get("Errors") or []) + denied
        if not data.get("NextToken"):
            data.pop("NextToken", None)
        return json.dumps(data).encode()

    # -- STS, IAM ----------------------------------------------------------------------------
    def other(self, call: Any, caller: Any) -> None:
        from . import errors

        if call.iam_action in UNAUTHENTICATED:
            return
        if call.action in ("AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"):
            raise errors.AwsError(
                "InvalidIdentityToken", "This offline cloud has no identity provider to trust."
            )
        if call.iam_action == "sts:AssumeRole":
            self.assume_role(caller, str(call.params.get("RoleArn", "")))
            return
        self.check(caller, call.iam_action, "*")

    def assume_role(self, caller: Any, role_arn: str) -> None:
        """The role is the one the full ARN names: account, path and name. Same-account
        evaluation: an explicit Deny anywhere refuses; the trust policy naming the caller
        grants; a trust policy that trusts the account delegates to the caller's identity
        policies (https://docs.aws.amazon.com/IAM/latest/UserGuide/
        reference_policies_evaluation-logic.html)."""
        from . import errors

        action = "sts:AssumeRole"
        match = ROLE_ARN_RE.fullmatch(role_arn)
        if match is None:
            # what STS answers for an ARN that is not a role's (ValidationError, 400)
            raise errors.AwsError("ValidationError", "Request ARN is invalid", 400)
        role = self.state.role_by_arn(role_arn)
        if role is None:
            raise errors.access_denied(caller.arn, action, role_arn, "identity")
        identity = evaluate(self.state.identity_policies(caller), action, role_arn)
        if identity is Decision.DENY:
            raise errors.access_denied(caller.arn, action, role_arn, "deny-identity")
        trust = role.assume_role_policy_document
        trust = trust if isinstance(trust, str) else json.dumps(trust)
        named = evaluate(
            [trust], action, role_arn, resource_policy=True,
            principal=caller.arn, role_arn=caller.role_arn, account=self.state.account,
        )  # fmt: skip
        if named is Decision.DENY:
            raise errors.access_denied(caller.arn, action, role_arn, "deny-resource")
        if named is Decision.ALLOW:
            return
        if not trusts_account(trust, self.state.account) or identity is not Decision.ALLOW:
            raise errors.access_denied(caller.arn, action, role_arn, "identity")


def trusts_account(trust: str, account: str) -> bool:
    roots = (account, f"arn:aws:iam::{account}:root")
    for st in statements(trust):
        if st.get("Effect") != "Allow" or "Condition" in st:
            continue
        principal = st.get("Principal")
        entries = principal.get("AWS") if isinstance(principal, Mapping) else principal
        if any(e in roots or e == "*" for e in _as_list(entries)):
            return True
    return False


def secret_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
