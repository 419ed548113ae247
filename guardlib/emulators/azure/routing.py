"""Key Vault dispatch, and the two servers: TLS (Key Vault + Entra ID, behind the gateway)
and the App Service managed-identity endpoint (plain http on loopback, as on App Service).

``KeyVaultApp.handle_tls`` is a pure function of the request: identity (401), then policy
(403), then the request itself. The identity endpoints live in ``identity_routing.py``. The
servers are the kit's :class:`~guardlib.emulators.kit.server.LoopbackHTTPServer` (TCP_NODELAY,
handshake and idle timeouts, strict ``Content-Length``), whose refusals are rendered here in
Key Vault's own error format.
"""

from __future__ import annotations

import json
import re
import ssl
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..faults import Faults
from ..kit import take_fault
from ..kit.server import Handler, LoopbackHTTPServer, ResetConnection, Response
from . import errors, protocol
from .errors import KeyVaultError
from .identity import (
    AUTHORITY_HOST,
    KEY_VAULT_RESOURCE,
    TENANT_ID,
    Principal,
    TokenError,
    TokenIssuer,
)
from .identity_routing import IdentityEndpoints, mi_error
from .state import State, Vault

if TYPE_CHECKING:
    from ..oidc import OidcIssuers

VAULT_SUFFIX = ".vault.azure.net"
CHALLENGE = (
    f'Bearer authorization="https://{AUTHORITY_HOST}/{TENANT_ID}", resource="{KEY_VAULT_RESOURCE}"'
)
_JSON = "application/json; charset=utf-8"
#: what the real service reports in x-ms-keyvault-service-version (its build number)
SERVICE_VERSION = "1.9.2497.1"
REGION = "eastus"
#: a client request id is echoed only if it is one short line of printable ASCII
_CLIENT_REQUEST_ID = re.compile(r"[!-~]{1,256}")
UNROUTED = "is not supported"


def _service_headers(headers: Any, client: str) -> dict[str, str]:
    """The headers every Key Vault answer carries (success or error), as the service sends."""
    out = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-keyvault-region": REGION,
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-keyvault-service-version": SERVICE_VERSION,
        "x-ms-keyvault-network-info": f"conn_type=Ipv4;addr={client};act_addr_fam=InterNetwork;",
        "X-Content-Type-Options": "nosniff",
        "Strict-Transport-Security": "max-age=31536000;includeSubDomains",
    }
    sent = headers.get("x-ms-client-request-id") if headers is not None else None
    if sent and _CLIENT_REQUEST_ID.fullmatch(sent):
        out["x-ms-client-request-id"] = sent
    return out


def render(exc: KeyVaultError, headers: Any = None, client: str = "127.0.0.1") -> Response:
    out = {"Content-Type": _JSON, **_service_headers(headers, client), **exc.headers}
    return exc.status, out, exc.body()


class KeyVaultApp:
    """The request handlers of the Azure emulator."""

    def __init__(
        self,
        state: State,
        issuer: TokenIssuer,
        faults: Faults | None,
        header_key: bytes,
        name: str = "azure",
        oidc: OidcIssuers | None = None,
    ) -> None:
        self.state = state
        self.issuer = issuer
        self.faults = faults
        self.name = name
        self.identity = IdentityEndpoints(state, issuer, header_key, oidc)
        self.backups = protocol.BackupCodec()

    # -- entry points ---------------------------------------------------------------------
    def handle_tls(
        self,
        method: str,
        host: str,
        target: str,
        headers: Any,
        body: bytes,
        client: str = "127.0.0.1",
    ) -> Response:
        host = host.split(":", 1)[0].lower()
        try:
            fault = take_fault(self.faults, self.name)
            if fault is not None:
                if fault.kind == "throttle":
                    raise errors.throttled(fault.retry_after)
                if fault.kind == "error":
                    raise errors.server_error(fault.status)
                raise ResetConnection
            parts = urlsplit(target)
            if host == AUTHORITY_HOST:
                return self.identity.entra(method, parts.path, body)
            if host.endswith(VAULT_SUFFIX):
                return self._vault(method, host, parts.path, parts.query, headers, body, client)
            return _plain(404, f"guardlib offline cloud: no emulated service at {host[:200]}.")
        except KeyVaultError as exc:
            return render(exc, headers, client)
        except ResetConnection:
            raise
        except Exception:  # noqa: BLE001 - a bug must still answer, never drop or leak
            return render(errors.server_error(500), headers, client)

    def handle_identity(self, method: str, target: str, headers: Any) -> Response:
        """The App Service managed-identity endpoint (``IDENTITY_ENDPOINT``)."""
        try:
            return self.identity.managed_identity(method, target, headers)
        except Exception:  # noqa: BLE001 - a bug must still answer
            return mi_error(500, "An unexpected error occurred.")

    # -- Key Vault --------------------------------------------------------------------------
    def _vault(
        self,
        method: str,
        host: str,
        path: str,
        raw_query: str,
        headers: Any,
        body: bytes,
        client: str,
    ) -> Response:
        vault_name = host[: -len(VAULT_SUFFIX)]
        vault = self.state.vault(vault_name)
        if vault is None:
            # on Azure the name would not resolve (DNS); say what to do instead
            return _plain(
                404,
                f"guardlib offline cloud: there is no vault named {vault_name[:64]!r}. Seed "
                "one, e.g. cloud.seed({'azure': {'vaults': {'<name>': {}}}}).",
            )
        principal = self._authenticate(headers)
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        protocol.check_api_version(query)
        segments = _segments(path)
        base = f"https://{host}"
        status, payload = self._dispatch(vault, principal, method, base, segments, query, body)
        out = _service_headers(headers, client)
        if payload is None:
            return status, out, b""
        out["Content-Type"] = _JSON
        return status, out, json.dumps(payload).encode()

    def _authenticate(self, headers: Any) -> Principal:
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized(
                "AKV10000: Request is missing a Bearer or PoP token.", CHALLENGE
            )
        try:
            claims = self.issuer.verify(token.strip())
        except TokenError as exc:
            raise errors.unauthorized(str(exc), CHALLENGE) from None
        oid = claims["oid"]
        known = self.state.by_object_id(oid)
        if known is not None:
            return known
        return Principal("unknown", oid, claims["appid"])

    def _dispatch(
        self,
        vault: Vault,
        who: Principal,
        method: str,
        base: str,
        seg: list[str],
        query: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any]:
        n = len(seg)
        if n >= 1 and seg[0] in ("secrets", "deletedsecrets") and (
            n == 1 or (n == 2 and seg[1] == "")
        ) and method != "GET":  # fmt: skip
            # the collection itself takes GET only: ``set_secret("", value)`` PUTs to
            # /secrets/, which the service answers 405 MethodNotAllowed (not an invalid name)
            raise errors.method_not_allowed(method)
        if n >= 1 and seg[0] == "secrets":
            if n == 1 and method == "GET":
                vault.authorize(who, "list", None)
                items = [protocol.item(base, s, s.current()) for s in vault.list_names()]
                return 200, protocol.page(base, "/secrets", items, query)
            if n == 2 and method == "POST" and seg[1] == "restore":
                vault.authorize(who, "restore", None)
                secret = self.backups.load(protocol.parse_json(body).get("value"))
                vault.restore(secret)
                return 200, protocol.bundle(base, secret, secret.current(), with_value=False)
            name = seg[1] if n >= 2 else ""
            vault._key(name)  # 400 for a bad name, before the permission check
            if n == 2 and method == "PUT":
                vault.authorize(who, "set", name)
                data = protocol.parse_json(body)
                if not isinstance(data.get("value"), str):
                    raise errors.bad_parameter("The request body must contain a string 'value'.")
                attrs = protocol.parse_attributes(data)
                secret, version = vault.set(
                    name, data["value"], content_type=data.get("contentType"),
                    tags=data.get("tags"), **attrs,
                )  # fmt: skip
                return 200, protocol.bundle(base, secret, version)
            if n == 2 and method == "DELETE":
                vault.authorize(who, "delete", name)
                return 200, protocol.deleted(base, vault.delete(name))
            if n == 3 and method == "GET" and seg[2] == "versions":
                vault.authorize(who, "list", name)
                # an unknown name has no versions: an empty page, not SecretNotFound (the
                # service pages over what exists; GetSecretVersions has no 404 of its own)
                items = [protocol.item(base, s, v, True) for s, v in vault.versions(name, [])]
                return 200, protocol.page(base, f"/secrets/{name}/versions", items, query)
            if n == 3 and method == "POST" and seg[2] == "backup":
                vault.authorize(who, "backup", name)
                secret, _ = vault.get(name)
                return 200, {"value": self.backups.dump(secret)}
            if n in (2, 3) and method == "GET":
                vault.authorize(who, "get", name)
                out_type = query.get("outContentType")
                if out_type is not None and out_type not in protocol.OUT_CONTENT_TYPES:
                    raise errors.bad_parameter(
                        f"The value of outContentType is not valid: {out_type[:64]!r}"
                    )
                secret, version = vault.get(name, seg[2] if n == 3 else "")
                if not version.enabled:
                    raise errors.disabled("get")
                return 200, protocol.bundle(base, secret, version)
            if n in (2, 3) and method == "PATCH":
                vault.authorize(who, "update", name)
                data = protocol.parse_json(body)
                changes: dict[str, Any] = protocol.parse_attributes(data)
                if "contentType" in data:
                    changes["content_type"] = data["contentType"]
                if "tags" in data:
                    changes["tags"] = data["tags"]
                secret, version = vault.update(name, seg[2] if n == 3 else "", changes)
                return 200, protocol.bundle(base, secret, version, with_value=False)
        elif n >= 1 and seg[0] == "deletedsecrets":
            if n == 1 and method == "GET":
                vault.authorize(who, "list_deleted", None)
                items = [protocol.deleted(base, s, as_item=True) for s in vault.list_deleted()]
                return 200, protocol.page(base, "/deletedsecrets", items, query)
            name = seg[1] if n >= 2 else ""
            vault._key(name)
            if n == 2 and method == "GET":
                vault.authorize(who, "get_deleted", name)
                return 200, protocol.deleted(base, vault.get_deleted(name))
            if n == 2 and method == "DELETE":
                vault.authorize(who, "purge", name)
                vault.purge(name)
                return 204, None
            if n == 3 and method == "POST" and seg[2] == "recover":
                vault.authorize(who, "recover", name)
                secret = vault.recover(name)
                return 200, protocol.bundle(base, secret, secret.current(), with_value=False)
        shown = "/".join(seg)[:200].encode("ascii", "backslashreplace").decode()
        raise KeyVaultError(400, "BadParameter", f"The request {method} /{shown} {UNROUTED}.")


def _segments(path: str) -> list[str]:
    """The path's segments, each percent-decoded once. A dot segment, or a decoded one that
    holds ``/``, ``\\`` or a control character, is refused (the service does not normalize
    paths, so ``..`` or ``%2F`` can never reach another object)."""
    raw = path.split("/")[1:] if path.startswith("/") else [path]
    if len(raw) > 2 and raw[-1] == "":
        raw.pop()  # "/secrets/name/" is the latest version
    try:
        segments = [unquote(s, errors="strict") if "%" in s else s for s in raw]
    except UnicodeDecodeError:
        raise errors.bad_parameter("The request URI contains an invalid name.") from None
    for segment in segments:
        if segment in (".", "..") or any(c in segment for c in "/\\") or not segment.isprintable():
            shown = segment[:200].encode("ascii", "backslashreplace").decode()
            raise errors.bad_parameter(f"The request URI contains an invalid name: {shown}")
    return segments


def _plain(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()


# -- servers ----------------------------------------------------------------------------------
def _reject_kv(status: int, message: str) -> Response:
    """The kit server's refusals (a bad Content-Length, a body too large...) as Key Vault
    errors: the request never reached a handler, so it is a BadParameter."""
    return render(KeyVaultError(status, "BadParameter", message))


def _reject_mi(status: int, message: str) -> Response:
    return mi_error(status, message)


class Servers:
    """The TLS server (Key Vault + Entra) and the plain-http managed-identity endpoint."""

    def __init__(self, app: KeyVaultApp, tls: ssl.SSLContext) -> None:
        self.app = app
        self.tls = LoopbackHTTPServer(
            self._respond_tls, tls, reject=_reject_kv, name="guardlib-azure-tls"
        )
        self.identity = LoopbackHTTPServer(
            self._respond_identity, None, reject=_reject_mi, name="guardlib-azure-identity"
        )
        self.tls.start()
        self.identity.start()

    def _respond_tls(self, handler: Handler, body: bytes) -> Response:
        host = handler.headers.get("Host") or ""
        return self.app.handle_tls(
            handler.command, host, handler.path, handler.headers, body, handler.client_address[0]
        )

    def _respond_identity(self, handler: Handler, body: bytes) -> Response:
        return self.app.handle_identity(handler.command, handler.path, handler.headers)

    @property
    def tls_address(self) -> tuple[str, int]:
        return self.tls.address

    @property
    def identity_url(self) -> str:
        return f"http://127.0.0.1:{self.identity.address[1]}/msi/token"

    def stop(self) -> None:
        for server in (self.tls, self.identity):
            server.stop()
