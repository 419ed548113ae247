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

- ``Condition`` blocks (:func:`conditions_hold`), against a :class:`ConditionContext` of the
  keys this emulator models; a key or operator it does not model fails closed (an ``Allow``
  does not grant, a ``Deny`` applies), so what it cannot judge never widens access.
"""

from __future__ import annotations

import dataclasses
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
    # \Z, not $: "$" also matches before a trailing newline ("main\n" is not "main")
    return re.compile(f"^{regex}\\Z", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


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


# -- Condition blocks --------------------------------------------------------------------------
# As the IAM User Guide documents them (reference_policies_elements_condition_operators.html,
# reference_policies_condition-single-vs-multi-valued-context-keys.html and
# reference_policies_evaluation-logic.html): the operators of a block, and the keys under one
# operator, are ANDed; the values listed for one key are ORed; a key absent from the request
# does not match, except under a negated operator (StringNotEquals, StringNotLike: true), an
# ``…IfExists`` operator (true), ``ForAllValues:`` (true) and ``Null``. Key names are
# case-insensitive, values case-sensitive (``…IgnoreCase`` aside); ``*`` and ``?`` are the only
# wildcards (``…Like``). Three-valued: what this emulator cannot judge (an operator it does not
# know, a key it does not model, a malformed block) is UNKNOWN, which an ``Allow`` treats as
# "does not hold" and a ``Deny`` as "holds": fail closed.
class _Unknown(enum.Enum):
    UNKNOWN = "unknown"


UNKNOWN = _Unknown.UNKNOWN
Truth = bool | _Unknown

_STRING_OPERATORS: dict[str, tuple[str, bool]] = {
    # operator -> (how values compare: "equals" | "like" | "equals-ic", negated)
    "StringEquals": ("equals", False),
    "StringNotEquals": ("equals", True),
    "StringEqualsIgnoreCase": ("equals-ic", False),
    "StringNotEqualsIgnoreCase": ("equals-ic", True),
    "StringLike": ("like", False),
    "StringNotLike": ("like", True),
    "ArnEquals": ("like", False),  # ArnEquals and ArnLike behave alike (wildcards allowed)
    "ArnLike": ("like", False),
    "ArnNotEquals": ("like", True),
    "ArnNotLike": ("like", True),
    "Bool": ("equals-ic", False),
}


class ConditionContext:
    """The request context a condition is evaluated against: key -> value(s). A key mapped to
    None is modeled here but absent from this request; a key under one of ``prefixes`` (such
    as ``aws:PrincipalTag/``) is modeled too, absent unless given. Any other key is not
    modeled: a condition on it is UNKNOWN."""

    def __init__(
        self,
        values: Mapping[str, str | Iterable[str] | None] | None = None,
        prefixes: Iterable[str] = (),
    ) -> None:
        self._values: dict[str, tuple[str, ...] | None] = {}
        for key, value in (values or {}).items():
            if value is None:
                self._values[key.lower()] = None
            elif isinstance(value, str):
                self._values[key.lower()] = (value,)
            else:
                self._values[key.lower()] = tuple(value)
        self._prefixes = tuple(p.lower() for p in prefixes)

    def extended(
        self,
        values: Mapping[str, str | Iterable[str] | None],
        prefixes: Iterable[str] = (),
    ) -> ConditionContext:
        """A new context: these keys too (replacing any of the same name), these prefixes too."""
        out = ConditionContext(values, [*self._prefixes, *prefixes])
        out._values = {**self._values, **out._values}
        return out

    def lookup(self, key: str) -> tuple[str, ...] | None | _Unknown:
        lowered = key.lower()
        if lowered in self._values:
            return self._values[lowered]
        if any(lowered.startswith(p) and len(lowered) > len(p) for p in self._prefixes):
            return None
        return UNKNOWN


EMPTY_CONTEXT = ConditionContext()


def _policy_values(raw: object) -> tuple[str, ...] | None:
    """A condition's values as strings (IAM reads JSON booleans and numbers as their text),
    or None if they are not strings, numbers or booleans."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int)) and not isinstance(item, bool):
            out.append(str(item))
        else:
            return None
    return tuple(out)


def _one_matches(kind: str, value: str, wanted: tuple[str, ...]) -> bool:
    if kind == "equals":
        return value in wanted
    if kind == "equals-ic":
        return any(value.casefold() == w.casefold() for w in wanted)
    return matches(list(wanted), value)  # "like": case-sensitive globs


def _key_holds(operator: str, present: tuple[str, ...] | None, wanted: tuple[str, ...]) -> Truth:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if qualifier or if_exists or not set(wanted) <= {"true", "false"} or len(wanted) != 1:
            return UNKNOWN
        return (present is None) == (wanted[0] == "true")
    if base not in _STRING_OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return UNKNOWN
    kind, negated = _STRING_OPERATORS[base]
    if present is None or not present:
        if qualifier == "ForAllValues" or if_exists:
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated
    if negated:
        results = [not _one_matches(kind, v, wanted) for v in present]
    else:
        results = [_one_matches(kind, v, wanted) for v in present]
    if qualifier == "ForAllValues":
        return all(results)
    if qualifier == "ForAnyValue" or not negated:
        return any(results)
    return all(results)  # a negated operator: no request value may match any listed value


def conditions_hold(block: object, context: ConditionContext) -> Truth:
    """Whether a statement's ``Condition`` block holds in ``context`` (see above)."""
    if not isinstance(block, Mapping):
        return UNKNOWN
    verdict: Truth = True
    for operator, keys in block.items():
        if not isinstance(operator, str) or not isinstance(keys, Mapping) or not keys:
            return UNKNOWN
        for key, raw in keys.items():
            wanted = _policy_values(raw)
            if not isinstance(key, str) or wanted is None or not wanted:
                return UNKNOWN
            if _key_holds(operator, ("",), wanted) is UNKNOWN:
                return UNKNOWN  # an operator this module does not know: the block fails closed
            present = context.lookup(key)
            held = UNKNOWN if present is UNKNOWN else _key_holds(operator, present, wanted)
            if held is False:
                verdict = False
            elif held is UNKNOWN and verdict is True:
                verdict = UNKNOWN
    return verdict


def statement_matches(st: Mapping[str, Any], action: str, resource: str) -> bool:
    """Whether one statement's ``Action``/``NotAction`` covers ``action`` (case-insensitive, as
    IAM compares actions) and its ``Resource``/``NotResource`` covers ``resource`` (a statement
    with neither covers every resource: a resource policy's own)."""
    if "NotAction" in st:
        if matches(st["NotAction"], action, ignore_case=True):
            return False
    elif not matches(st.get("Action"), action, ignore_case=True):
        return False
    if "NotResource" in st:
        return not matches(st["NotResource"], resource)
    return "Resource" not in st or matches(st["Resource"], resource)


def _statement_applies(st: Mapping[str, Any], context: ConditionContext, deny: bool) -> bool:
    if "Condition" not in st:
        return True
    held = conditions_hold(st["Condition"], context)
    return held is True or (deny and held is UNKNOWN)


def principal_matches(
    spec: object,
    principal: str,
    role_arn: str | None,
    account: str,
    *,
    deny: bool = False,
    federated: str | None = None,
) -> bool:
    """Whether a resource policy's ``Principal`` names this caller. The account principal
    names everyone in it for a ``Deny``; for an ``Allow`` it only delegates to the identity
    policies (same account), so it grants nothing by itself. A web identity caller
    (``federated``: the IAM OIDC provider's ARN) is named by ``{"Federated": that ARN}``
    only, never by an ``AWS`` principal."""
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    if federated is not None:
        return any(entry == federated for entry in _as_list(spec.get("Federated")))
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
    context: ConditionContext = EMPTY_CONTEXT,
    federated: str | None = None,
) -> Decision:
    """The decision of a set of policy documents for one action on one resource, in the
    request ``context`` (default: no key modeled, so a conditional ``Allow`` never grants and a
    conditional ``Deny`` always applies)."""
    decision = Decision.NEUTRAL
    for document in documents:
        for st in _parsed(document):
            if not statement_matches(st, action, resource):
                continue
            if "Resource" not in st and "NotResource" not in st and not resource_policy:
                continue  # an identity policy statement without Resource is invalid
            effect = st.get("Effect")
            deny = effect == "Deny"
            if resource_policy:
                if "NotPrincipal" in st:
                    if principal_matches(
                        st["NotPrincipal"], principal, role_arn, account, federated=federated
                    ):
                        continue
                elif not principal_matches(
                    st.get("Principal"), principal, role_arn, account, deny=deny,
                    federated=federated,
                ):  # fmt: skip
                    continue
            if not _statement_applies(st, context, deny):
                continue
            if deny:
                return Decision.DENY
            if effect == "Allow":
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

    def context(
        self,
        caller: Any,
        *,
        region: str | None = None,
        resource_tags: Mapping[str, str] | None = None,
        extra: Mapping[str, str | None] | None = None,
    ) -> ConditionContext:
        """The condition keys this emulator models for a call by ``caller``: the principal's
        (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``,
        ``aws:username``, ``aws:PrincipalTag/*``), ``aws:SecureTransport`` (true: the real
        endpoints are HTTPS only; the loopback hop here is not what a policy is about),
        ``aws:RequestedRegion``, and with ``resource_tags`` a secret's
        ``secretsmanager:ResourceTag/*`` and ``aws:ResourceTag/*``. Every other key is not
        modeled (a condition on it fails closed)."""
        values: dict[str, str | None] = {
            "aws:PrincipalArn": caller.role_arn or caller.arn,
            "aws:PrincipalAccount": self.state.account,
            "aws:PrincipalType": "AssumedRole" if caller.role_arn else "User",
            "aws:username": caller.user,
            "aws:SecureTransport": "true",
        }
        if region is not None:
            values["aws:RequestedRegion"] = region
        prefixes = ["aws:PrincipalTag/"]
        for key, value in self.state.principal_tags(caller).items():
            values[f"aws:PrincipalTag/{key}"] = value
        if resource_tags is not None:
            prefixes += ["secretsmanager:ResourceTag/", "aws:ResourceTag/"]
            for key, value in resource_tags.items():
                values[f"secretsmanager:ResourceTag/{key}"] = value
                values[f"aws:ResourceTag/{key}"] = value
        values.update(extra or {})
        return ConditionContext(values, prefixes)

    def check(
        self,
        caller: Any,
        action: str,
        resource: str,
        resource_policy: str | None = None,
        *,
        context: ConditionContext | None = None,
    ) -> None:
        from . import errors

        context = context if context is not None else self.context(caller)
        identity = evaluate(self.state.identity_policies(caller), action, resource, context=context)
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
                context=context,
            )
            if res is Decision.DENY:
                raise errors.access_denied(caller.arn, action, resource, "deny-resource")
            granted = granted or res is Decision.ALLOW
        if not granted:
            raise errors.access_denied(caller.arn, action, resource, "identity")
        if caller.session_policy:
            # a session's permissions are the intersection of its role's policies and the
            # session policy (IAM User Guide, access_policies.html#policies_session)
            session = evaluate([caller.session_policy], action, resource, context=context)
            if session is Decision.DENY:
                raise errors.access_denied(caller.arn, action, resource, "deny-session")
            if session is not Decision.ALLOW:
                raise errors.access_denied(caller.arn, action, resource, "session")

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
        secret = find_secret(backend, secret_id, region, account) if secret_id else None
        if secret is not None:
            return str(secret.arn), secret
        if secret_id.startswith("arn:"):
            return secret_id, None
        return secret_arn(account, region, secret_id), None

    def filter_batch(
        self, caller: Any, payload: bytes, backend: Any, kms: Any = None, region: str = ""
    ) -> bytes:
        """Real BatchGetSecretValue also needs GetSecretValue on each secret (and kms:Decrypt
        on a customer managed key); the ones the caller may not read come back under
        ``Errors``, never in ``SecretValues``."""
        from .errors import AwsError

        data = json.loads(payload)
        kept, denied = [], []
        for value in data.get("SecretValues", []):
            secret = backend.secrets.get(value["ARN"])
            try:
                self.check(
                    caller,
                    "secretsmanager:GetSecretValue",
                    value["ARN"],
                    secret and secret.policy,
                    context=self.context(caller, resource_tags=secret_tags(secret)),
                )
                if kms is not None and secret is not None:
                    kms.via_secrets_manager(
                        caller, "kms:Decrypt", kms_key_of(secret), region, str(secret.arn)
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
        if call.action == "AssumeRoleWithSAML":
            raise errors.AwsError(
                "InvalidIdentityToken", "This offline cloud has no SAML identity provider."
            )
        if call.iam_action == "sts:AssumeRole":
            self.assume_role(
                caller,
                str(call.params.get("RoleArn", "")),
                {
                    "sts:RoleSessionName": call.params.get("RoleSessionName"),
                    "sts:ExternalId": call.params.get("ExternalId"),
                },
            )
            return
        self.check(caller, call.iam_action, "*")

    def assume_role(
        self, caller: Any, role_arn: str, keys: Mapping[str, str | None] | None = None
    ) -> None:
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
        context = self.context(caller, extra=keys)
        identity = evaluate(self.state.identity_policies(caller), action, role_arn, context=context)
        if identity is Decision.DENY:
            raise errors.access_denied(caller.arn, action, role_arn, "deny-identity")
        trust = role.assume_role_policy_document
        trust = trust if isinstance(trust, str) else json.dumps(trust)
        named = evaluate(
            [trust], action, role_arn, resource_policy=True,
            principal=caller.arn, role_arn=caller.role_arn, account=self.state.account,
            context=context,
        )  # fmt: skip
        if named is Decision.DENY:
            raise errors.access_denied(caller.arn, action, role_arn, "deny-resource")
        if named is Decision.ALLOW:
            return
        if not trusts_account(trust, self.state.account, context) or identity is not Decision.ALLOW:
            raise errors.access_denied(caller.arn, action, role_arn, "identity")

    # -- STS AssumeRoleWithWebIdentity ---------------------------------------------------------
    def web_identity(self, call: Any) -> WebIdentityGrant:
        """Decide an AssumeRoleWithWebIdentity call, as STS does: the parameters against the
        model; the token against the IAM OIDC provider registered for its issuer (signature,
        issuer, one of the provider's client ids as audience, expiry: ``OidcIssuers.verify``);
        then the role's trust policy, with a ``{"Federated": <provider ARN>}`` principal and
        the token's claims as the condition keys ``<provider url>:sub`` and ``…:aud``; an
        explicit Deny wins; only an Allow grants. Refusals carry STS's codes: ValidationError,
        InvalidIdentityToken, ExpiredTokenException, AccessDenied."""
        from ..kit.jwt import TokenError, unverified_claims
        from . import errors, protocol

        params = call.params
        seconds = protocol.validate_web_identity(params)
        role_arn = params["RoleArn"]
        if ROLE_ARN_RE.fullmatch(role_arn) is None:
            raise errors.sts_validation("Request ARN is invalid")
        policy = params.get("Policy")
        if policy is not None:
            try:
                statements(policy)
            except (ValueError, AttributeError, TypeError):
                raise errors.AwsError(
                    "MalformedPolicyDocument", "The policy is not valid JSON.", verbatim=True
                ) from None
        token = params["WebIdentityToken"]
        try:
            issuer = unverified_claims(token).get("iss")
        except TokenError:
            raise errors.invalid_identity_token() from None
        if not isinstance(issuer, str):
            raise errors.invalid_identity_token("Missing a required claim: iss")
        provider = self.state.provider_for_issuer(issuer)
        if provider is None:
            raise errors.no_provider(issuer[:256])
        if self.state.oidc is None:
            raise errors.invalid_identity_token(errors.MSG_TOKEN_KEY)
        now = self.state.clock()
        try:
            _state, claims = self.state.oidc.verify(
                token, audiences=list(provider.client_id_list), now=now
            )
        except TokenError as exc:
            if exc.reason == "expired":
                raise errors.expired_identity_token(
                    int(now), int(unverified_claims(token)["exp"])
                ) from None
            if exc.reason == "audience":
                raise errors.invalid_identity_token(errors.MSG_TOKEN_AUDIENCE) from None
            if exc.reason in ("key", "issuer"):
                raise errors.invalid_identity_token(errors.MSG_TOKEN_KEY) from None
            raise errors.invalid_identity_token() from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise errors.invalid_identity_token("Missing a required claim: sub")
        aud = claims["aud"]
        audience = next(a for a in ([aud] if isinstance(aud, str) else aud)
                        if a in provider.client_id_list)  # fmt: skip
        role = self.state.role_by_arn(role_arn)
        if role is None:
            raise errors.web_identity_denied()
        context = ConditionContext(
            {
                f"{provider.url}:sub": subject,
                f"{provider.url}:aud": audience,
                "aws:FederatedProvider": provider.arn,
                "sts:RoleSessionName": params["RoleSessionName"],
                "aws:SecureTransport": "true",
            }
        )
        trust = role.assume_role_policy_document
        trust = trust if isinstance(trust, str) else json.dumps(trust)
        decision = evaluate(
            [trust], "sts:AssumeRoleWithWebIdentity", role_arn, resource_policy=True,
            account=self.state.account, context=context, federated=provider.arn,
        )  # fmt: skip
        if decision is not Decision.ALLOW:
            raise errors.web_identity_denied()
        longest = int(role.max_session_duration or 3600)
        if seconds > longest:
            raise errors.sts_validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        return WebIdentityGrant(
            role_arn=role_arn,
            session_name=params["RoleSessionName"],
            seconds=seconds,
            policy=policy,
            subject=subject,
            audience=audience,
            issuer=issuer,
        )


@dataclasses.dataclass(frozen=True)
class WebIdentityGrant:
    """What a granted AssumeRoleWithWebIdentity call opens a session with."""

    role_arn: str
    session_name: str
    seconds: int
    policy: str | None
    subject: str
    audience: str
    issuer: str


def kms_key_of(secret: Any) -> str | None:
    """The KMS key a secret (or a replica, whose key is its Region's own) is encrypted with."""
    if secret is None:
        return None
    config = getattr(secret, "config", None)
    if isinstance(config, dict) and "KmsKeyId" in config and not hasattr(secret, "kms_key_id"):
        return str(config["KmsKeyId"])
    key = getattr(secret, "kms_key_id", None)
    return None if key is None else str(key)


def secret_tags(secret: Any) -> dict[str, str]:
    """A Secrets Manager secret's tags as a mapping (moto keeps a list of Key/Value)."""
    out: dict[str, str] = {}
    for tag in getattr(secret, "tags", None) or []:
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str):
            out[tag["Key"]] = str(tag.get("Value", ""))
    return out


def trusts_account(trust: str, account: str, context: ConditionContext = EMPTY_CONTEXT) -> bool:
    roots = (account, f"arn:aws:iam::{account}:root")
    for st in statements(trust):
        if st.get("Effect") != "Allow" or not _statement_applies(st, context, deny=False):
            continue
        principal = st.get("Principal")
        entries = principal.get("AWS") if isinstance(principal, Mapping) else principal
        if any(e in roots or e == "*" for e in _as_list(entries)):
            return True
    return False


#: a Secrets Manager ARN: arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX]
_SECRET_ARN_RE = re.compile(
    r"arn:aws:secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:(?P<rest>.+)",
    re.ASCII | re.DOTALL,
)
#: the six characters Secrets Manager appends to a name in its ARN, after a hyphen
_SUFFIX_RE = re.compile(r"-[A-Za-z0-9]{6}\Z")


def find_secret(backend: Any, secret_id: str, region: str, account: str) -> Any:
    """The secret a ``SecretId`` names, as Secrets Manager resolves it, or None: a name; a
    full ARN (exactly a secret's ARN); or a partial ARN (the ARN without the suffix) in this
    account and region. An ARN whose last part ends in a hyphen and six characters is taken as
    a full ARN, so a secret named ``db-abcdef`` is not found by the partial ARN ending in
    ``db-abcdef`` (Secrets Manager User Guide, troubleshoot.html, "ARN ... ends with a hyphen
    followed by six characters"; botocore model, SecretIdType: "If you specify an ARN, we
    recommend that you specify a complete ARN"). moto's own lookup takes the last part after
    any colon as a name, whatever account and region the ARN names."""
    secrets = list(dict.values(backend.secrets))
    if not secret_id.startswith("arn:"):
        return next((s for s in secrets if s.name == secret_id and s.arn.startswith(
            f"arn:aws:secretsmanager:{region}:{account}:")), None)  # fmt: skip
    match = _SECRET_ARN_RE.fullmatch(secret_id)
    if match is None or match["region"] != region or match["account"] != account:
        return None
    exact = next((s for s in secrets if s.arn == secret_id), None)
    if exact is not None or _SUFFIX_RE.search(match["rest"]):
        return exact
    return next((s for s in secrets if s.name == match["rest"]), None)


def secret_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
