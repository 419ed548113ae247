"""Workload identity federation, offline: STS token exchange and service-account impersonation.

A CI job holds an OIDC token from the offline GitHub issuer. google-auth, given an
``external_account`` credentials file (``GcpEmulator.federation_env``), does what it does
against Google (``google/auth/external_account.py``, ``identity_pool.py``,
``impersonated_credentials.py``, ``google/oauth2/sts.py``):

1. ``POST https://sts.googleapis.com/v1/token`` (form-encoded, RFC 8693) with
   ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, ``audience=//iam.googleapis.com/
   projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER``,
   ``subject_token_type=urn:ietf:params:oauth:token-type:jwt``, ``requested_token_type=…:
   access_token``, ``scope`` and ``subject_token``. The provider checks the token (issuer,
   signature, audience, expiry), maps its claims to attributes and evaluates its attribute
   condition; the answer is a *federated* access token for the principal
   ``principal://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/
   subject/SUB`` (``expires_in`` = min(exp - now, 3600), as measured against Google).
2. ``POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:
   generateAccessToken`` with that token as bearer and ``{"scope": [...], "lifetime": "3600s"}``.
   IAM on the service account decides: the principal (or a principal set it belongs to) needs
   ``roles/iam.workloadIdentityUser``. The answer ``{"accessToken", "expireTime"}`` is an
   ordinary access token of the service account, which Secret Manager accepts (``auth.py``).

Refusals carry the real services' answers: STS ``{"error": …, "error_description": …}`` with
HTTP 400, IAM Credentials Google's JSON error (``{"error": {"code", "message", "status",
"details"}}``). Texts were matched against published client logs (see the tests).

How the seed's trusts become GCP objects (``Federation.apply``):

- one pool ``guard-<issuer>`` per issuer with one OIDC provider ``<issuer>`` (issuer URI = the
  offline issuer's URL; allowed audiences empty, so the provider's own name is accepted with or
  without ``https:``, unless a trust names an ``audience``); mapping ``google.subject=
  assertion.sub`` (+ ``attribute.repository``/``attribute.repository_owner`` for GitHub); for
  GitHub an attribute condition restricting ``assertion.repository_owner`` to the owners the
  trusts name (Google requires a condition for GitHub providers);
- an exact trust: ``roles/iam.workloadIdentityUser`` on the identity's service account for
  ``principal://…/workloadIdentityPools/guard-github/subject/<subject>``;
- a ``*`` trust ``repo:OWNER/REPO:*``: ``principalSet://…/guard-github/attribute.repository/
  OWNER/REPO`` (GitHub subjects always start with ``repo:<repository>:``, so this is the
  same set); any other ``*`` trust: a pool of its own, ``guard-<issuer>-<n>``, whose provider's
  condition adds ``assertion.sub.startsWith('<prefix>')``, and the binding is that pool's
  ``principalSet://…/workloadIdentityPools/guard-<issuer>-<n>/*`` (IAM has no prefix match on
  subjects; a condition does).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..kit import jwt
from . import cel
from .principals import IAM, FederatedToken, Principal, principal_member

if TYPE_CHECKING:
    from ..kit.server import Handler, Response
    from ..oidc import OidcIssuers
    from ..seed import TrustSpec
    from .auth import Authenticator

STS_HOST = "sts.googleapis.com"
IAMCREDENTIALS_HOST = "iamcredentials.googleapis.com"
HOSTS = (STS_HOST, IAMCREDENTIALS_HOST)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = (
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
)
SUBJECT_TOKEN_TYPE = SUBJECT_TOKEN_TYPES[0]  # what google-github-actions/auth writes
MAX_FEDERATED_LIFETIME = 3600
#: the longest a subject token may live (exp - iat) for Google STS to accept it: 48 hours
#: (issue 16, checked against Google's STS reference); a token without ``iat`` is refused too
MAX_SUBJECT_TOKEN_LIFETIME = 48 * 3600
MAX_SA_TOKEN_LIFETIME = 3600  # without the org policy constraint that allows 12 h

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
GET_ACCESS_TOKEN = "iam.serviceAccounts.getAccessToken"
#: service-account roles as far as impersonation is concerned
SA_ROLES: dict[str, frozenset[str]] = {
    WORKLOAD_IDENTITY_USER: frozenset(
        {GET_ACCESS_TOKEN, "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.get",
         "iam.serviceAccounts.list"}
    ),
    "roles/iam.serviceAccountTokenCreator": frozenset(
        {GET_ACCESS_TOKEN, "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.signBlob",
         "iam.serviceAccounts.signJwt", "iam.serviceAccounts.implicitDelegation"}
    ),
}  # fmt: skip

_ID = re.compile(r"[a-z0-9-]{4,32}")  # pool and provider ids
_AUDIENCE = re.compile(
    r"//iam\.googleapis\.com/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/providers/(?P<provider>[^/]+)"
)
_GENERATE = re.compile(r"/v1/projects/(?P<project>[^/]+)/serviceAccounts/(?P<account>[^/:]+)"
                       r":generateAccessToken")  # fmt: skip
_DURATION = re.compile(r"(?P<seconds>\d{1,12})(?:\.(?P<nanos>\d{1,9}))?s")
_GITHUB_REPO_PREFIX = re.compile(r"repo:(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+):\*")
_GITHUB_OWNER = re.compile(r"repo:(?P<owner>[A-Za-z0-9_.-]+)/")

# -- the services' texts ---------------------------------------------------------------------
#: STS, verified in published client logs (google-github-actions/auth issues #60, #211, #334;
#: terraform-example-foundation #1362, #1404) and a published measurement of Google STS
#: (missing/odd claims, wrong key, expiry):
BAD_AUDIENCE_PARAM = (
    'Invalid value for "audience". This value should be the full resource name of the Identity '
    "Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the "
    "list of possible formats."
)
NO_PROVIDER = (
    'The target service indicated by the "audience" parameters is invalid. This might either be '
    "because the pool or provider is disabled or deleted or because it doesn't exist."
)
CONDITION_REJECTED = "The given credential is rejected by the attribute condition."
BAD_SIGNATURE = "Unable to verify the ID Token signature."
UNKNOWN_KEY = "Error connecting to the given credential's issuer."
#: IAM Credentials, verified in published client logs (google-github-actions/auth #340, #455;
#: terraform-google-workload-identity-federation #4) and the same measurement (lifetimes):
GET_ACCESS_TOKEN_DENIED = (
    "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
)
LIFETIME_ZERO = "Lifetime of access token must be larger then zero."
LIFETIME_TOO_LONG = (
    "can not have lifetimes of more than 1 hour. Use the Org Policy Constraint "
    "constraints/iam.allowServiceAccountCredentialLifetimeExtension to allow up to 12 hours."
)
BAD_SCOPE = "Invalid OAuth scope or ID token audience provided."


class ExchangeError(Exception):
    """An STS refusal: HTTP 400 ``{"error": code, "error_description": description}``."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.description, self.status = code, description, status


class ApiError(Exception):
    """An IAM Credentials refusal in Google's JSON error format."""

    STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
              404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 411: "INVALID_ARGUMENT",
              413: "INVALID_ARGUMENT"}  # fmt: skip

    def __init__(self, code: int, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.STATUS.get(self.code, "UNKNOWN"),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _denied() -> ApiError:
    return ApiError(403, GET_ACCESS_TOKEN_DENIED, [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "iam.googleapis.com",
        "metadata": {"permission": GET_ACCESS_TOKEN},
    }])  # fmt: skip


# -- the model -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Provider:
    """A workload identity pool OIDC provider (and, here, its pool: one provider per pool)."""

    project_number: str
    pool_id: str
    provider_id: str
    issuer_uri: str
    allowed_audiences: tuple[str, ...]
    mapping: Mapping[str, cel.Path]  # "google.subject" / "attribute.NAME" -> source
    condition: cel.Condition | None

    @property
    def pool_name(self) -> str:
        return (
            f"projects/{self.project_number}/locations/global/workloadIdentityPools/{self.pool_id}"
        )

    @property
    def name(self) -> str:
        return f"{self.pool_name}/providers/{self.provider_id}"

    @property
    def sts_audience(self) -> str:
        """The ``audience`` of the token exchange (and of the credentials file)."""
        return f"//{IAM}/{self.name}"

    @property
    def token_audience(self) -> str:
        """The ``aud`` google-github-actions/auth asks GitHub for: the name with ``https:``."""
        return f"https://{IAM}/{self.name}"

    def accepted_audiences(self) -> tuple[str, ...]:
        # "If this list is empty, the OIDC token audience must be equal to the full canonical
        # resource name of the WorkloadIdentityPoolProvider, with or without the HTTPS prefix."
        return self.allowed_audiences or (self.sts_audience, self.token_audience)


def principal_set(pool_name: str, rest: str) -> str:
    return f"principalSet://{IAM}/{pool_name}/{rest}"


class Federation:
    """Pools, providers and service-account IAM policies of one GCP emulator; the STS and IAM
    Credentials handlers. Thread-safe."""

    def __init__(self, auth: Authenticator, project_number: str) -> None:
        self.auth = auth
        self.project_number = project_number
        self.providers: dict[str, Provider] = {}  # full name -> provider
        self.policies: dict[str, dict[str, set[str]]] = {}  # SA email -> role -> members
        self.trusts: list[TrustSpec] = []
        self.home: dict[str, str] = {}  # identity -> the provider its first trust uses
        self.conditions: dict[str, cel.Condition] = {}  # issuer -> seeded override
        self.oidc: OidcIssuers | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.providers, self.policies, self.trusts, self.home = {}, {}, [], {}
            self.conditions = {}

    # -- seeding ---------------------------------------------------------------------------
    def apply(
        self,
        trusts: Iterable[TrustSpec],
        email_of: Callable[[str], str],
        conditions: Mapping[str, str] | None = None,
    ) -> None:
        """Rebuild the pools, providers and bindings from every trust seeded so far plus
        ``trusts``. Raises ValueError (the caller's SeedError) before changing anything."""
        new = [t for t in trusts if t not in self.trusts]
        parsed = dict(self.conditions)
        for issuer, text in (conditions or {}).items():
            if issuer not in ("github", "kubernetes"):
                raise ValueError(f"attribute_conditions: unknown issuer {issuer!r}")
            try:
                parsed[issuer] = cel.parse_condition(text)
            except cel.CelError as exc:
                raise ValueError(f"attribute_conditions[{issuer}]: {exc}") from None
        if not new and not conditions:
            return
        if self.oidc is None:
            raise ValueError("trusts need the offline OIDC issuers, which are not running")
        providers, policies, home = self._build([*self.trusts, *new], email_of, parsed)
        with self._lock:
            self.trusts += new
            self.conditions = parsed
            self.providers, self.policies, self.home = providers, policies, home

    def _build(
        self,
        trusts: list[TrustSpec],
        email_of: Callable[[str], str],
        conditions: Mapping[str, cel.Condition],
    ) -> tuple[dict[str, Provider], dict[str, dict[str, set[str]]], dict[str, str]]:
        assert self.oidc is not None
        number = self.project_number
        main: dict[str, list[TrustSpec]] = {}  # issuer -> trusts in its main pool
        own: list[TrustSpec] = []  # prefix trusts that need a pool of their own
        for trust in trusts:
            if trust.is_prefix and not (
                trust.issuer == "github" and _GITHUB_REPO_PREFIX.fullmatch(trust.subject)
            ):
                own.append(trust)
            else:
                main.setdefault(trust.issuer, []).append(trust)
        # every issuer with a trust gets its main pool, even if only prefix trusts use it
        for trust in own:
            main.setdefault(trust.issuer, [])

        def base_condition(issuer: str, its: list[TrustSpec]) -> cel.Condition | None:
            if issuer in conditions:
                return conditions[issuer]
            if issuer != "github":
                return None
            owners = sorted({m["owner"] for t in its if (m := _GITHUB_OWNER.match(t.subject))})
            if not owners:
                return None
            if len(owners) == 1:
                text = f"assertion.repository_owner == {cel.quote(owners[0])}"
            else:
                text = f"assertion.repository_owner in [{', '.join(map(cel.quote, owners))}]"
            return cel.parse_condition(text)

        def mapping(issuer: str) -> dict[str, cel.Path]:
            out = {"google.subject": cel.parse_mapping("assertion.sub")}
            if issuer == "github":
                out["attribute.repository"] = cel.parse_mapping("assertion.repository")
                out["attribute.repository_owner"] = cel.parse_mapping("assertion.repository_owner")
            return out

        def audiences(issuer_trusts: list[TrustSpec], default: str) -> tuple[str, ...]:
            explicit = sorted({t.audience for t in issuer_trusts if t.audience})
            if not explicit:
                return ()
            if any(t.audience is None for t in issuer_trusts):
                explicit.append(default)  # the default stays accepted beside the named ones
            return tuple(explicit)

        providers: dict[str, Provider] = {}
        policies: dict[str, dict[str, set[str]]] = {}
        home: dict[str, str] = {}
        by_issuer_all: dict[str, list[TrustSpec]] = {}
        for trust in trusts:
            by_issuer_all.setdefault(trust.issuer, []).append(trust)

        def grant(trust: TrustSpec, member: str, provider: Provider, main_pool: bool) -> None:
            email = email_of(trust.identity)
            policies.setdefault(email, {}).setdefault(WORKLOAD_IDENTITY_USER, set()).add(member)
            if main_pool or trust.identity not in home:
                home.setdefault(trust.identity, provider.name)

        main_providers: dict[str, Provider] = {}
        for issuer in main:
            url = self.oidc.issuer(issuer).url
            pool_id = f"guard-{issuer}"
            name = f"projects/{number}/locations/global/workloadIdentityPools/{pool_id}"
            default_aud = f"https://{IAM}/{name}/providers/{issuer}"
            provider = Provider(number, pool_id, issuer, url,
                                audiences(by_issuer_all[issuer], default_aud), mapping(issuer),
                                base_condition(issuer, by_issuer_all[issuer]))  # fmt: skip
            providers[provider.name] = main_providers[issuer] = provider
        for trust in trusts:
            if trust in own:
                continue
            provider = main_providers[trust.issuer]
            if trust.is_prefix:
                repo = _GITHUB_REPO_PREFIX.fullmatch(trust.subject)
                assert repo is not None
                member = principal_set(provider.pool_name, f"attribute.repository/{repo['repo']}")
            else:
                member = principal_member(provider.pool_name, trust.subject)
            grant(trust, member, provider, main_pool=True)
        counters: dict[str, int] = {}
        for trust in own:
            counters[trust.issuer] = counters.get(trust.issuer, 0) + 1
            base = main_providers[trust.issuer]
            pool_id = f"guard-{trust.issuer}-{counters[trust.issuer]}"
            prefix = f"assertion.sub.startsWith({cel.quote(trust.subject[:-1])})"
            text = f"({base.condition.source}) && {prefix}" if base.condition else prefix
            default_aud = (
                f"https://{IAM}/projects/{number}/locations/global/workloadIdentityPools/"
                f"{pool_id}/providers/{trust.issuer}"
            )
            provider = Provider(number, pool_id, trust.issuer, base.issuer_uri,
                                audiences([trust], default_aud), base.mapping,
                                cel.parse_condition(text))  # fmt: skip
            providers[provider.name] = provider
            grant(trust, principal_set(provider.pool_name, "*"), provider, main_pool=False)
        for provider in providers.values():
            assert _ID.fullmatch(provider.pool_id) and _ID.fullmatch(provider.provider_id)
        return providers, policies, home

    def provider_for(self, identity: str) -> Provider | None:
        with self._lock:
            name = self.home.get(identity)
            if name is None:  # no trust names it: the GitHub provider, if there is one
                name = next((n for n, p in self.providers.items() if p.pool_id == "guard-github"),
                            None)  # fmt: skip
            return self.providers.get(name) if name else None

    def grant(self, email: str, role: str, member: str) -> None:
        if role not in SA_ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._lock:
            self.policies.setdefault(email, {}).setdefault(role, set()).add(member)

    # -- tokens ----------------------------------------------------------------------------
    def exchange(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The STS answer to a token exchange, or :class:`ExchangeError`."""
        if params.get("grant_type") != GRANT_TYPE:
            raise ExchangeError("unsupported_grant_type", 'Invalid value for "grant_type".')
        audience = params.get("audience", "")
        found = _AUDIENCE.fullmatch(audience)
        if found is None:
            raise ExchangeError("invalid_request", BAD_AUDIENCE_PARAM)
        if params.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            raise ExchangeError("invalid_request", 'Invalid value for "requested_token_type".')
        if params.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            raise ExchangeError("invalid_request", 'Invalid value for "subject_token_type".')
        subject_token = params.get("subject_token", "")
        if not subject_token:
            raise ExchangeError("invalid_request", 'Invalid value for "subject_token".')
        for scope in params.get("scope", "").split():
            if not scope.startswith("https://www.googleapis.com/auth/"):
                raise ExchangeError("invalid_scope", BAD_SCOPE)
        name = audience[len(f"//{IAM}/") :]
        with self._lock:
            provider = self.providers.get(name)
        if provider is None or found["location"] != "global":
            raise ExchangeError("invalid_target", NO_PROVIDER)
        principal, exp = self._verify(provider, subject_token)
        now = self.auth.clock()
        lifetime = max(1, min(int(exp - now), MAX_FEDERATED_LIFETIME))
        token = self.auth.issue_federated(FederatedToken(principal, now + lifetime))
        return {
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": lifetime,
        }

    def _verify(self, provider: Provider, token: str) -> tuple[Principal, int]:
        assert self.oidc is not None
        try:
            claims = jwt.unverified_claims(token)
        except jwt.TokenError:
            raise ExchangeError("invalid_grant", "Unable to parse the ID Token.") from None
        iss = claims.get("iss")
        if iss != provider.issuer_uri:
            shown = iss if isinstance(iss, str) else "null"
            raise ExchangeError(
                "invalid_grant",
                f"The issuer in ID Token {shown} does not match the expected one in config: "
                f"{provider.issuer_uri}",
            )
        iat = claims.get("iat")
        issued = str(iat) if type(iat) is int else "null"
        try:
            _state, claims = self.oidc.verify(
                token, audiences=provider.accepted_audiences(), now=self.auth.clock()
            )
        except jwt.TokenError as exc:
            if exc.reason in ("signature", "algorithm"):
                raise ExchangeError("invalid_grant", BAD_SIGNATURE) from None
            if exc.reason == "key":
                raise ExchangeError("invalid_grant", UNKNOWN_KEY) from None
            if exc.reason == "audience":
                aud = claims.get("aud")
                auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
                shown = ", ".join(str(a) for a in auds)
                raise ExchangeError(
                    "invalid_grant",
                    f"The audience in ID Token [{shown}] does not match the expected audience.",
                ) from None
            if exc.reason in ("expired", "not_yet_valid", "claims"):
                raise ExchangeError(
                    "invalid_grant", f"ID Token issued at {issued} is stale to sign-in."
                ) from None
            raise ExchangeError("invalid_grant", "Unable to parse the ID Token.") from None
        # the kit's verify takes iat as optional (an integer NumericDate when present); Google
        # STS requires it, and refuses a token that claims to live longer than 48 hours. The
        # missing-iat text is the one Google sends for an unusable iat ("issued at null"); the
        # lifetime text is this emulator's own, under Google's error code.
        iat = claims.get("iat")
        if not isinstance(iat, int) or isinstance(iat, bool):
            raise ExchangeError("invalid_grant", "ID Token issued at null is stale to sign-in.")
        if claims["exp"] - iat > MAX_SUBJECT_TOKEN_LIFETIME:
            raise ExchangeError(
                "invalid_grant",
                f"ID Token issued at {iat} expires at {claims['exp']}: its lifetime is longer "
                f"than the maximum of {MAX_SUBJECT_TOKEN_LIFETIME // 3600} hours.",
            )
        context: dict[str, Any] = {"assertion": claims}
        attributes: dict[str, str] = {}
        subject: str | None = None
        for target, source in provider.mapping.items():
            try:
                value = cel.resolve(source, context)
            except cel.CelError:
                continue  # a claim the token lacks maps to no attribute
            if target == "google.subject":
                subject = value
            else:
                attributes[target[len("attribute.") :]] = value
        if not subject or len(subject.encode()) > 127:
            raise ExchangeError("unauthorized_client", CONDITION_REJECTED)
        context["attribute"] = attributes
        context["google"] = {"subject": subject}
        if provider.condition is not None:
            try:
                allowed = provider.condition.evaluate(context)
            except cel.CelError:
                allowed = False  # an evaluation error rejects, as a false condition does
            if not allowed:
                raise ExchangeError("unauthorized_client", CONDITION_REJECTED)
        exp = claims["exp"]
        return Principal(provider.pool_name, subject, tuple(sorted(attributes.items()))), exp

    def generate_access_token(
        self, authorization: list[str], account: str, project: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """IAM Credentials ``generateAccessToken``: authenticate the bearer, authorize it on the
        service account, then check the request."""
        members = self._caller(authorization)
        unknown = set(body) - {"delegates", "scope", "lifetime"}
        if unknown:
            name = sorted(unknown)[0]
            raise ApiError(400, f'Invalid JSON payload received. Unknown name "{name}": '
                                "Cannot find field.")  # fmt: skip
        delegates = body.get("delegates")
        if delegates not in (None, []):
            if not isinstance(delegates, list) or not all(isinstance(d, str) for d in delegates):
                raise ApiError(
                    400,
                    "Invalid value at 'delegates' (type.googleapis.com/"
                    "google.iam.credentials.v1.GenerateAccessTokenRequest).",
                )
            raise _denied()  # nobody here holds Token Creator on a delegate
        if project != "-" or not self.auth.known(account) or not self._allowed(account, members):
            raise _denied()
        scopes = body.get("scope")
        if (
            not isinstance(scopes, list)
            or not scopes
            or not all(isinstance(s, str) for s in scopes)
        ):
            raise ApiError(400, BAD_SCOPE)
        for scope in scopes:
            if scope and not scope.startswith("https://www.googleapis.com/auth/"):
                raise ApiError(400, BAD_SCOPE)
        lifetime = _lifetime(body.get("lifetime", "3600s"))
        token = self.auth.issue_token(account, lifetime)
        expires = datetime.datetime.fromtimestamp(
            int(self.auth.clock()) + lifetime, datetime.timezone.utc
        )
        return {"accessToken": token, "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def _caller(self, authorization: list[str]) -> list[str]:
        """The IAM members the bearer token stands for, or 401."""
        from .errors import INVALID_CREDENTIAL, MISSING_CREDENTIAL

        if not authorization:
            raise ApiError(401, MISSING_CREDENTIAL)
        scheme, _, token = authorization[0].partition(" ")
        if len(authorization) != 1 or scheme.lower() != "bearer" or not token:
            raise ApiError(401, INVALID_CREDENTIAL)
        federated = self.auth.federated(token)
        if federated is not None:
            return [federated.principal.member, *(
                principal_set(federated.principal.pool_name, f"attribute.{k}/{v}")
                for k, v in federated.principal.attributes
            ), principal_set(federated.principal.pool_name, "*")]  # fmt: skip
        email = self.auth.token_email(token)
        if email is not None:
            return [f"serviceAccount:{email}"]
        raise ApiError(401, INVALID_CREDENTIAL)

    def _allowed(self, account: str, members: list[str]) -> bool:
        with self._lock:
            policy = {role: set(m) for role, m in self.policies.get(account, {}).items()}
        for role, granted in policy.items():
            if GET_ACCESS_TOKEN in SA_ROLES.get(role, frozenset()) and granted & set(members):
                return True
        return False


def _lifetime(value: object) -> int:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise ApiError(
            400,
            "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), "
            + json.dumps(value if isinstance(value, (str, int, float)) else str(type(value))),
        )
    found = _DURATION.fullmatch(value)
    assert found is not None
    seconds = int(found["seconds"]) + (1 if found["nanos"] and int(found["nanos"]) else 0)
    if seconds <= 0:
        raise ApiError(400, LIFETIME_ZERO)
    if seconds > MAX_SA_TOKEN_LIFETIME:
        raise ApiError(400, LIFETIME_TOO_LONG)
    return seconds


# -- HTTP ------------------------------------------------------------------------------------
_JSON_TYPE = "application/json; charset=UTF-8"


def _json(status: int, document: object) -> Response:
    headers = {"Content-Type": _JSON_TYPE, "Cache-Control": "no-store"}
    return status, headers, json.dumps(document).encode()


def reject(status: int, message: str) -> Response:
    """A refusal by the HTTP layer (bad Content-Length …), in Google's JSON error format."""
    return _json(status, ApiError(status, message).body())


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f'duplicate field "{key}"')
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_body(body: bytes) -> dict[str, Any]:
    value = json.loads(
        body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
    )
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


#: the JSON form of the STS request (proto3 JSON: lowerCamelCase or the field's own name)
_STS_FIELDS = ("grant_type", "audience", "scope", "requested_token_type", "subject_token",
               "subject_token_type", "options")  # fmt: skip


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _media_type(handler: Handler) -> str:
    values = handler.headers.get_all("Content-Type") or []
    if len(values) != 1:
        return ""
    return values[0].split(";", 1)[0].strip().lower()


def sts_params(handler: Handler, body: bytes) -> dict[str, str]:
    """The exchange's parameters from a form (what google-auth sends) or JSON body (what
    google-github-actions/auth sends); duplicates and malformed bodies are refused."""
    media = _media_type(handler)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ExchangeError("invalid_request", "The request body is not valid UTF-8.") from None
    if media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise ExchangeError("invalid_request", "The request body is malformed.") from None
        params: dict[str, str] = {}
        for key, value in pairs:
            if key in params:
                raise ExchangeError("invalid_request", f'Duplicate parameter "{key}".')
            params[key] = value
        return params
    if media == "application/json":
        try:
            document = _json_body(body)
        except (ValueError, RecursionError) as exc:
            message = str(exc) if str(exc).startswith("duplicate") else "malformed JSON"
            raise ExchangeError(
                "invalid_request", f"Invalid JSON payload received: {message}."
            ) from None
        params = {}
        for field in _STS_FIELDS:
            names = [n for n in {field, _camel(field)} if n in document]
            if len(names) > 1:
                raise ExchangeError("invalid_request", f'Duplicate parameter "{field}".')
            if names:
                value = document[names[0]]
                if field == "options" and isinstance(value, dict):
                    continue
                if not isinstance(value, str):
                    raise ExchangeError("invalid_request", f'Invalid value for "{field}".')
                params[field] = value
        return params
    raise ExchangeError(
        "invalid_request",
        "The Content-Type must be application/x-www-form-urlencoded or application/json.",
    )


def responder(federation: Federation) -> Callable[[Handler, bytes], Response]:
    def respond(handler: Handler, body: bytes) -> Response:
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        parts = urlsplit(handler.path)
        if host == STS_HOST:
            if parts.path != "/v1/token":
                return _json(404, ApiError(404, "Method not found.").body())
            if handler.command != "POST":
                return _json(405, ApiError(405, "Method not allowed.").body())
            try:
                if parts.query:
                    raise ExchangeError("invalid_request", "Parameters go in the request body.")
                return _json(200, federation.exchange(sts_params(handler, body)))
            except ExchangeError as exc:
                return _json(exc.status, {"error": exc.code, "error_description": exc.description})
        if host == IAMCREDENTIALS_HOST:
            found = _GENERATE.fullmatch(parts.path)
            try:
                if found is None or parts.query:
                    raise ApiError(404, "Method not found.")
                if handler.command != "POST":
                    raise ApiError(404, "Method not found.")
                authorization = handler.headers.get_all("Authorization") or []
                federation._caller(authorization)  # 401 before anything else
                if _media_type(handler) != "application/json":
                    raise ApiError(400, "Invalid JSON payload received. The Content-Type must "
                                        "be application/json.")  # fmt: skip
                try:
                    document = _json_body(body)
                except (ValueError, RecursionError, UnicodeDecodeError) as exc:
                    detail = str(exc) if str(exc).startswith("duplicate") else "malformed JSON"
                    raise ApiError(400, f"Invalid JSON payload received. {detail}.") from None
                account = unquote(found["account"])
                answer = federation.generate_access_token(
                    authorization, account, unquote(found["project"]), document
                )
                return _json(200, answer)
            except ApiError as exc:
                return _json(exc.code, exc.body())
        return _json(404, ApiError(404, "Unknown host.").body())

    return respond
