"""Workload identity federation in Entra ID: federated identity credentials and the
``client_assertion`` exchange at ``login.microsoftonline.com/<tenant>/oauth2/v2.0/token``.

A federated identity credential (FIC) on an app registration or a user-assigned managed identity
says "a token from ``issuer`` with exactly ``subject`` and one of ``audiences`` is this app"
(Microsoft Graph ``federatedIdentityCredential``: name, issuer, subject, audiences; at most 20
per app; subjects are matched exactly and, since 2024-2025, case-sensitively). Azure's
``WorkloadIdentityCredential`` (azure-identity ``_credentials/workload_identity.py``) reads the
token from ``AZURE_FEDERATED_TOKEN_FILE`` and posts it as ``client_assertion`` with
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``,
``grant_type=client_credentials``, ``client_id`` and ``scope`` (``_internal/aad_client_base.py``
``_get_jwt_assertion_request``); it raises ``ClientAuthenticationError("Microsoft Entra ID error
'(<error>) <error_description>'")`` on a refusal.

Entra's refusals, as published client logs show them (the codes are Entra's, the texts copied
from those logs; trace ids, timestamps and links are Entra's format):

========================  ===================================================================
issuer of no FIC          ``invalid_client`` AADSTS700211 "No matching federated identity record
                          found for presented assertion issuer '<iss>'. ..." (Azure/azure-
                          workload-identity #1200, 2023-2024)
audience of no FIC        AADSTS700212 "... presented assertion audience '<aud>'. ..."
                          (same family; an ``invalid_client`` body quoted in a public test)
subject of no FIC         AADSTS700213 "... presented assertion subject '<sub>'. Check your
                          federated identity credential Subject, Audience and Issuer against the
                          presented assertion. https://learn.microsoft.com/entra/workload-id/
                          workload-identity-federation" (Azure/login #482, #453, dotnet/maui
                          #31978 in 2025)
app with no FIC at all    AADSTS70021 "No matching federated identity record found for presented
                          assertion. Assertion Issuer: '...'. Assertion Subject: '...'. Assertion
                          Audience: '...'." (the older, combined text: external-secrets #2783,
                          401 ``invalid_client``); which of the two Entra sends today for an app
                          without any FIC is not documented: this is our choice
expired (or not yet)      AADSTS700024 "Client assertion is not within its valid time range.
                          Current time: ..., assertion valid from ..., expiry time of assertion
                          .... Review the documentation at https://learn.microsoft.com/entra/
                          identity-platform/certificate-credentials" (AzureAD/microsoft-
                          authentication-library-for-dotnet #4951; 401 ``invalid_client`` in
                          risingwavelabs/risingwave #17123)
key the issuer does not   AADSTS7000272 "The certificate with identifier <kid> used to sign the
publish                   federated credential could not be found in the metadata of identity
                          provider <iss>. ..." (Azure/azure-workload-identity #1232)
bad signature, known key  AADSTS50013 "Assertion failed signature validation. [Reason - The
                          provided signature value did not match the expected signature
                          value. ...]" (seen for other assertions, azure-sdk-for-java #25109;
                          not found in a published federated-credential log)
not a JWT                 AADSTS50027 "JWT token is invalid or malformed."
==========================================================================================

Every refusal above is HTTP 401 ``invalid_client`` except the malformed token (400
``invalid_request``). A request that carries a client secret *and* an assertion, or a form
parameter twice, is 400 ``invalid_request`` AADSTS9002313 ("Invalid request. Request is
malformed or invalid."), Entra's generic answer to a malformed request (RFC 6749 §2.3: "The
client MUST NOT use more than one authentication method in each request").
Nothing in a message quotes the token; the claims quoted are the token's own (as Entra does).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..kit import jwt
from .identity import Principal

if TYPE_CHECKING:
    from ..oidc import OidcIssuers

#: the audience Entra recommends for federated credentials (and the one azure/login and the
#: AKS workload-identity webhook ask for)
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_FICS = 20  # "A maximum of 20 federated identity credentials can be added to an application"
_WIF_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
_CHECK = (
    "Check your federated identity credential Subject, Audience and Issuer against the presented "
    f"assertion. {_WIF_DOCS}"
)
_QUOTED = re.compile(r"[^\x20-\x7e]")


@dataclasses.dataclass(frozen=True)
class FederatedCredential:
    """One ``federatedIdentityCredential`` of an app (Microsoft Graph's fields)."""

    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)


class Refusal(Exception):
    """An Entra refusal: (status, error, description) for :func:`~.identity_routing.aad_error`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _shown(value: object) -> str:
    """A claim as Entra quotes it: a string (a list's items joined), control characters
    escaped so a quoted value cannot forge lines in a log, at most 256 characters."""
    if isinstance(value, list):
        value = ",".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    return _QUOTED.sub(lambda m: f"\\x{ord(m.group()):02x}", value)[:256]


def _stamp(epoch: float | None) -> str:
    """Entra's time format in AADSTS700024: 2024-06-04T10:20:46.0000000Z."""
    if epoch is None:
        return "0001-01-01T00:00:00.0000000Z"
    whole = int(epoch)
    fraction = int((epoch - whole) * 10_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{fraction:07d}Z"


def _unauthorized(description: str) -> Refusal:
    return Refusal(401, "invalid_client", description)


def exchange(
    assertion: str,
    principal: Principal,
    credentials: Iterable[FederatedCredential],
    oidc: OidcIssuers | None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Return if ``assertion`` matches one of ``principal``'s federated ``credentials`` and is a
    valid token of its issuer; else raise :class:`Refusal` with Entra's answer."""
    fics = list(credentials)
    try:
        claims = jwt.unverified_claims(assertion)
    except jwt.TokenError:
        raise Refusal(
            400, "invalid_request", "AADSTS50027: JWT token is invalid or malformed."
        ) from None
    iss, sub, aud = claims.get("iss"), claims.get("sub"), claims.get("aud")
    if not fics:
        raise _unauthorized(
            "AADSTS70021: No matching federated identity record found for presented assertion. "
            f"Assertion Issuer: '{_shown(iss)}'. Assertion Subject: '{_shown(sub)}'. "
            f"Assertion Audience: '{_shown(aud)}'. {_WIF_DOCS}"
        )
    # 1. the issuer names the FICs to consider (and so the keys to fetch); exact match: a
    # trailing '/' is another issuer (MicrosoftDocs/azure-docs #105462)
    by_issuer = [f for f in fics if isinstance(iss, str) and f.issuer == iss]
    if not by_issuer or oidc is None:
        raise _unauthorized(
            "AADSTS700211: No matching federated identity record found for presented assertion "
            f"issuer '{_shown(iss)}'. {_CHECK}"
        )
    # 2. signature and lifetime, with the issuer's published keys
    now = clock()
    try:
        oidc.verify(assertion, audiences=None, now=now)
    except jwt.TokenError as exc:
        raise _token_refusal(exc, assertion, claims, now) from None
    # 3. audience, then subject (exact, case-sensitive)
    got = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    by_audience = [
        f for f in by_issuer if set(f.audiences) & {a for a in got if isinstance(a, str)}
    ]
    if not by_audience:
        raise _unauthorized(
            "AADSTS700212: No matching federated identity record found for presented assertion "
            f"audience '{_shown(aud)}'. {_CHECK}"
        )
    if not any(isinstance(sub, str) and f.subject == sub for f in by_audience):
        raise _unauthorized(
            "AADSTS700213: No matching federated identity record found for presented assertion "
            f"subject '{_shown(sub)}'. {_CHECK}"
        )


def _token_refusal(
    exc: jwt.TokenError, assertion: str, claims: dict[str, Any], now: float
) -> Refusal:
    if exc.reason in ("expired", "not_yet_valid"):
        start = claims.get("nbf", claims.get("iat"))
        exp = claims.get("exp")
        return _unauthorized(
            "AADSTS700024: Client assertion is not within its valid time range. Current time: "
            f"{_stamp(now)}, assertion valid from "
            f"{_stamp(start if isinstance(start, int) else None)}, expiry time of assertion "
            f"{_stamp(exp if isinstance(exp, int) else None)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
        )
    if exc.reason == "key":
        try:
            import base64
            import json

            head = assertion.split(".", 1)[0]
            kid = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("kid")
        except ValueError:
            kid = None
        return _unauthorized(
            f"AADSTS7000272: The certificate with identifier {_shown(kid)[:64]} used to sign the "
            "federated credential could not be found in the metadata of identity provider "
            f"{_shown(claims.get('iss'))}. Please validate that your Identity Provider's metadata "
            "exposes the key used to sign the incoming token."
        )
    if exc.reason in ("signature", "algorithm"):
        return _unauthorized(
            "AADSTS50013: Assertion failed signature validation. [Reason - The provided "
            "signature value did not match the expected signature value.]"
        )
    if exc.reason == "issuer":  # cannot happen after step 1, but never let a token through
        return _unauthorized(
            "AADSTS700211: No matching federated identity record found for presented assertion "
            f"issuer '{_shown(claims.get('iss'))}'. {_CHECK}"
        )
    return Refusal(400, "invalid_request", "AADSTS50027: JWT token is invalid or malformed.")
