"""The identity endpoints: App Service managed identity (``IDENTITY_ENDPOINT``, plain http on
loopback as on App Service) and Entra ID's discovery and token endpoints at
``login.microsoftonline.com`` (over TLS, behind the gateway).

Both hand out tokens signed by :class:`~.identity.TokenIssuer`; neither ever returns another
site's identity, and both answer in their own service's error format.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ..kit.server import Response
from . import federation
from .federation import JWT_BEARER
from .identity import ADMIN_NAME, AUTHORITY_HOST, TENANT_ID, Principal, TokenIssuer, site_of_header
from .state import State

if TYPE_CHECKING:
    from ..oidc import OidcIssuers

_JSON = "application/json; charset=utf-8"
MI_API_VERSION = "2019-08-01"
#: Entra's generic answer to a request it cannot read unambiguously
MALFORMED_REQUEST = "AADSTS9002313: Invalid request. Request is malformed or invalid."


def mi_error(status: int, message: str) -> Response:
    body = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    return status, {"Content-Type": _JSON}, json.dumps(body).encode()


def aad_error(status: int, error: str, description: str) -> Response:
    """Entra's error body (the fields MSAL reads: ``error``, ``error_description``, codes)."""
    code = description[6:].split(":")[0] if description.startswith("AADSTS") else ""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    body = {
        "error": error,
        "error_description": f"{description} Trace ID: {trace} Correlation ID: {correlation} "
        f"Timestamp: {stamp}",
        "error_codes": [int(code)] if code.isdigit() else [],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
    }
    if code.isdigit():
        body["error_uri"] = f"https://{AUTHORITY_HOST}/error?code={code}"
    headers = {"Content-Type": _JSON, "Cache-Control": "no-store, no-cache",
               "x-ms-request-id": trace}  # fmt: skip
    return status, headers, json.dumps(body).encode()


class IdentityEndpoints:
    """Managed identity + Entra ID, over one :class:`State` and one :class:`TokenIssuer`."""

    def __init__(
        self,
        state: State,
        issuer: TokenIssuer,
        header_key: bytes,
        oidc: OidcIssuers | None = None,
    ) -> None:
        self.state = state
        self.issuer = issuer
        self.header_key = header_key
        #: the offline OIDC issuers whose tokens federated credentials may trust
        self.oidc = oidc
        #: the time Entra checks assertions against (tests move it to replay a token later)
        self.clock: Callable[[], float] = time.time

    # -- App Service managed identity ----------------------------------------------------
    def managed_identity(self, method: str, target: str, headers: Any) -> Response:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method != "GET":
            return mi_error(405, "Only GET is supported.")
        site = site_of_header(self.header_key, headers.get("X-IDENTITY-HEADER") or "")
        if site is None:
            # App Service rejects a missing or wrong X-IDENTITY-HEADER (an SSRF guard)
            return mi_error(401, "The X-IDENTITY-HEADER header is missing or invalid.")
        if query.get("api-version") != MI_API_VERSION:
            return mi_error(400, f"The api-version parameter must be {MI_API_VERSION}.")
        resource = query.get("resource", "")
        if not resource:
            return mi_error(400, "The resource parameter is required.")
        wanted = {k: query[k] for k in ("client_id", "object_id", "principal_id", "mi_res_id")
                  if query.get(k)}  # fmt: skip
        principal = self._mi_principal(site, wanted)
        if principal is None:
            return mi_error(400, "Unable to load the proper Managed Identity.")
        token, expires_on = self.issuer.issue(principal, audience=resource.rstrip("/"))
        body = {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal.client_id,
        }
        return 200, {"Content-Type": _JSON}, json.dumps(body).encode()

    def _mi_principal(self, site: str, wanted: dict[str, str]) -> Principal | None:
        if not wanted:  # system-assigned: only the administrator's site has one
            return self.state.principals.get(ADMIN_NAME) if site == ADMIN_NAME else None
        own = self.state.add_principal(site)  # a genuine header: the site exists
        candidates = list(self.state.principals.values()) if site == ADMIN_NAME else [own]
        for principal in candidates:
            if (
                wanted.get("client_id", "").lower() == principal.client_id
                or wanted.get("object_id", "").lower() == principal.object_id
                or wanted.get("principal_id", "").lower() == principal.object_id
                or wanted.get("mi_res_id", "").lower() == principal.resource_id.lower()
            ):
                return principal
        return None

    # -- Entra ID (login.microsoftonline.com) ---------------------------------------------
    def entra(self, method: str, path: str, body: bytes) -> Response:
        segments = [s for s in path.split("/") if s]
        if not segments:
            return aad_error(404, "invalid_request", "AADSTS90002: no tenant in the request.")
        tenant = segments[0].lower()
        rest = "/".join(segments[1:])
        if tenant not in (TENANT_ID, "organizations", "common"):
            return aad_error(
                400,
                "invalid_tenant",
                f"AADSTS90002: Tenant '{tenant[:64]}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return 200, {"Content-Type": _JSON}, json.dumps(_openid_configuration()).encode()
        if method == "GET" and rest == "discovery/instance":
            # MSAL asks this after some failures (e.g. invalid_client) to refresh its aliases
            discovery = {
                "tenant_discovery_endpoint": f"https://{AUTHORITY_HOST}/{{tenant}}/v2.0/"
                ".well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{
                    "preferred_network": AUTHORITY_HOST,
                    "preferred_cache": "login.windows.net",
                    "aliases": [AUTHORITY_HOST, "login.windows.net", "login.microsoft.com",
                                "sts.windows.net"],
                }],
            }  # fmt: skip
            return 200, {"Content-Type": _JSON}, json.dumps(discovery).encode()
        if method == "POST" and rest == "oauth2/v2.0/token":
            return self._client_credentials(body)
        return aad_error(404, "invalid_request", f"AADSTS90002: unknown endpoint /{rest[:80]}")

    def _client_credentials(self, body: bytes) -> Response:
        try:
            pairs = parse_qsl(body.decode("utf-8"), strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            return aad_error(
                400, "invalid_request", "AADSTS900144: The request body must contain the "
                "following parameter: 'grant_type'."
            )  # fmt: skip
        form = dict(pairs)
        if len(form) != len(pairs):
            # a parameter sent twice: which one would count? (a second client_id, scope or
            # client_assertion must never pick another app or token)
            return aad_error(400, "invalid_request", MALFORMED_REQUEST)
        if form.get("grant_type") != "client_credentials":
            return aad_error(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported "
                "grant type. Only client_credentials is emulated."
            )  # fmt: skip
        assertion = "client_assertion" in form or "client_assertion_type" in form
        if assertion and "client_secret" in form:
            # RFC 6749 §2.3.1: "The client MUST NOT use more than one authentication method"
            return aad_error(400, "invalid_request", MALFORMED_REQUEST)
        client_id = form.get("client_id", "")
        principal = self.state.by_client_id(client_id)
        if principal is None:
            return aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id[:64]}' was not found in "
                f"the directory '{TENANT_ID}'.",
            )
        if assertion:
            refused = self._federated(form, principal)
            if refused is not None:
                return refused
        elif "client_secret" not in form:
            return aad_error(
                401, "invalid_client", "AADSTS7000218: The request body must contain the "
                "following parameter: 'client_assertion' or 'client_secret'."
            )  # fmt: skip
        elif not hmac.compare_digest(
            form["client_secret"].encode(), principal.client_secret.encode()
        ):
            return aad_error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret "
                f"added to app '{principal.client_id}'.",
            )
        scope = form.get("scope", "").split()
        resources = [s[: -len("/.default")] for s in scope if s.endswith("/.default")]
        if len(resources) != 1:
            return aad_error(
                400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI)."
            )  # fmt: skip
        token, expires_on = self.issuer.issue(principal, audience=resources[0].rstrip("/"))
        expires_in = expires_on - int(time.time())
        answer = {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
        return (
            200,
            {"Content-Type": _JSON, "Cache-Control": "no-store"},
            json.dumps(answer).encode(),
        )

    def _federated(self, form: dict[str, str], principal: Principal) -> Response | None:
        """None if ``client_assertion`` is a token one of ``principal``'s federated identity
        credentials accepts (``federation.py``), else Entra's refusal."""
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            return aad_error(400, "invalid_request", MALFORMED_REQUEST)
        try:
            federation.exchange(
                form["client_assertion"],
                principal,
                self.state.federated_of(principal),
                self.oidc,
                self.clock,
            )
        except federation.Refusal as exc:
            return aad_error(exc.status, exc.error, exc.description)
        return None


def _openid_configuration() -> dict[str, Any]:
    base = f"https://{AUTHORITY_HOST}/{TENANT_ID}"
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post", "private_key_jwt", "client_secret_basic",
        ],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/v2.0",
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
    }  # fmt: skip
