"""Dispatch and servers: Key Vault and Entra ID over TLS (behind the gateway), and the App
Service managed-identity endpoint over plain http on loopback (as on App Service).

``KeyVaultApp.handle`` is a pure function of the request: identity (401), then policy (403),
then the request itself. The servers only do I/O: HTTP/1.1 keep-alive, TCP_NODELAY, and TLS
handshakes in the connection's own thread.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..faults import Faults
from . import errors, protocol
from .errors import KeyVaultError
from .identity import (
    ADMIN_NAME,
    AUTHORITY_HOST,
    KEY_VAULT_RESOURCE,
    TENANT_ID,
    Principal,
    TokenError,
    TokenIssuer,
    site_of_header,
)
from .state import State, Vault

Response = tuple[int, dict[str, str], bytes]
VAULT_SUFFIX = ".vault.azure.net"
CHALLENGE = (
    f'Bearer authorization="https://{AUTHORITY_HOST}/{TENANT_ID}", resource="{KEY_VAULT_RESOURCE}"'
)
_JSON = "application/json; charset=utf-8"


class ResetConnection(Exception):
    """Fault: drop the connection without an answer."""


class KeyVaultApp:
    """The request handlers of the Azure emulator."""

    def __init__(
        self,
        state: State,
        issuer: TokenIssuer,
        faults: Faults | None,
        header_key: bytes,
        name: str = "azure",
    ) -> None:
        self.state = state
        self.issuer = issuer
        self.faults = faults
        self.header_key = header_key
        self.name = name
        self.backups = protocol.BackupCodec()

    # -- entry points ---------------------------------------------------------------------
    def handle_tls(
        self, method: str, host: str, target: str, headers: Any, body: bytes
    ) -> Response:
        try:
            self._fault()
            host = host.split(":", 1)[0].lower()
            parts = urlsplit(target)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if host == AUTHORITY_HOST:
                return self._entra(method, parts.path, headers, body)
            if host.endswith(VAULT_SUFFIX):
                return self._vault(method, host, parts.path, query, headers, body)
            return _plain(404, f"guardlib offline cloud: no emulated service at {host}.")
        except KeyVaultError as exc:
            return exc.status, {"Content-Type": _JSON, **exc.headers}, exc.body()

    def handle_identity(self, method: str, target: str, headers: Any) -> Response:
        """The App Service managed-identity endpoint (``IDENTITY_ENDPOINT``)."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method != "GET":
            return _mi_error(405, "Only GET is supported.")
        site = site_of_header(self.header_key, headers.get("X-IDENTITY-HEADER") or "")
        if site is None:
            # App Service rejects a missing or wrong X-IDENTITY-HEADER (an SSRF guard)
            return _mi_error(401, "The X-IDENTITY-HEADER header is missing or invalid.")
        if query.get("api-version") != "2019-08-01":
            return _mi_error(400, "The api-version parameter must be 2019-08-01.")
        resource = query.get("resource", "")
        if not resource:
            return _mi_error(400, "The resource parameter is required.")
        wanted = {k: query[k] for k in ("client_id", "object_id", "principal_id", "mi_res_id")
                  if query.get(k)}  # fmt: skip
        principal = self._mi_principal(site, wanted)
        if principal is None:
            return _mi_error(400, "Unable to load the proper Managed Identity.")
        token, expires_on = self.issuer.issue(principal, audience=resource.rstrip("/"))
        body = {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal.client_id,
        }
        return 200, {"Content-Type": _JSON}, json.dumps(body).encode()

    # -- helpers --------------------------------------------------------------------------
    def _fault(self) -> None:
        fault = self.faults.next(self.name) if self.faults is not None else None
        if fault is None:
            return
        if fault.kind == "latency":
            fault.sleep()
        elif fault.kind == "throttle":
            raise errors.throttled(fault.retry_after)
        elif fault.kind == "error":
            raise errors.server_error(fault.status)
        elif fault.kind == "reset":
            raise ResetConnection

    def _mi_principal(self, site: str, wanted: dict[str, str]) -> Principal | None:
        if not wanted:  # system-assigned: only the administrator's site has one
            return self.state.principals.get(ADMIN_NAME) if site == ADMIN_NAME else None
        own = self.state.principals.get(site) or Principal.named(site)
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
    def _entra(self, method: str, path: str, headers: Any, body: bytes) -> Response:
        segments = [s for s in path.split("/") if s]
        if not segments:
            return _aad_error(404, "invalid_request", "AADSTS90002: no tenant in the request.")
        tenant = segments[0].lower()
        rest = "/".join(segments[1:])
        if tenant not in (TENANT_ID, "organizations", "common"):
            return _aad_error(
                400,
                "invalid_tenant",
                f"AADSTS90002: Tenant '{tenant[:64]}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )
        base = f"https://{AUTHORITY_HOST}/{TENANT_ID}"
        if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            config = {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post", "private_key_jwt", "client_secret_basic",
                ],
                "jwks_uri": f"https://{AUTHORITY_HOST}/{TENANT_ID}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"https://{AUTHORITY_HOST}/{TENANT_ID}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }  # fmt: skip
            return 200, {"Content-Type": _JSON}, json.dumps(config).encode()
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
        return _aad_error(404, "invalid_request", f"AADSTS90002: unknown endpoint /{rest[:80]}")

    def _client_credentials(self, body: bytes) -> Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported "
                "grant type. Only client_credentials is emulated."
            )  # fmt: skip
        client_id = form.get("client_id", "")
        principal = self.state.by_client_id(client_id)
        if principal is None:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id[:64]}' was not found in "
                f"the directory '{TENANT_ID}'.",
            )
        if form.get("client_secret") != principal.client_secret:
            return _aad_error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret "
                f"added to app '{principal.client_id}'.",
            )
        scope = form.get("scope", "").split()
        resources = [s[: -len("/.default")] for s in scope if s.endswith("/.default")]
        if len(resources) != 1:
            return _aad_error(
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

    # -- Key Vault --------------------------------------------------------------------------
    def _vault(
        self, method: str, host: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> Response:
        vault_name = host[: -len(VAULT_SUFFIX)]
        vault = self.state.vault(vault_name)
        if vault is None:
            # on Azure the name would not resolve (DNS); say what to do instead
            return _plain(
                404,
                f"guardlib offline cloud: there is no vault named {vault_name!r}. Seed one, "
                "e.g. cloud.seed({'azure': {'vaults': {'" + vault_name + "': {}}}}).",
            )
        principal = self._authenticate(headers)
        if "api-version" not in query:
            raise errors.bad_parameter("The 'api-version' query parameter is missing.")
        base = f"https://{host}"
        segments = [unquote(s) for s in path.split("/")[1:]]
        if len(segments) > 2 and segments[-1] == "":
            segments.pop()  # "/secrets/name/" is the latest version
        status, payload = self._dispatch(vault, principal, method, base, segments, query, body)
        out_headers = {
            "Content-Type": _JSON,
            "Cache-Control": "no-cache",
            "x-ms-keyvault-region": "eastus",
            "x-ms-keyvault-service-version": "1.9.0.0",
            "x-ms-request-id": str(uuid.uuid4()),
        }
        if payload is None:
            return status, {"Cache-Control": "no-cache"}, b""
        return status, out_headers, json.dumps(payload).encode()

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
        if claims.get("tid") != TENANT_ID:
            raise errors.unauthorized(
                "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/"
                f"{TENANT_ID}/, found {claims.get('iss')}.",
                CHALLENGE,
            )
        oid = str(claims.get("oid", ""))
        known = self.state.by_object_id(oid)
        if known is not None:
            return known
        return Principal("unknown", oid, str(claims.get("appid", "")))

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
                items = [protocol.item(base, s, v, True) for s, v in vault.versions(name)]
                return 200, protocol.page(base, f"/secrets/{name}/versions", items, query)
            if n == 3 and method == "POST" and seg[2] == "backup":
                vault.authorize(who, "backup", name)
                secret, _ = vault.get(name)
                return 200, {"value": self.backups.dump(secret)}
            if n in (2, 3) and method == "GET":
                vault.authorize(who, "get", name)
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
        raise KeyVaultError(
            400, "BadParameter", f"The request {method} {'/'.join(seg)[:200]} is not supported."
        )


def _plain(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()


def _mi_error(status: int, message: str) -> Response:
    body = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    return status, {"Content-Type": _JSON}, json.dumps(body).encode()


def _aad_error(status: int, error: str, description: str) -> Response:
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [int(description[6:].split(":")[0]) if description[6:7].isdigit() else 0],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return status, {"Content-Type": _JSON}, json.dumps(body).encode()


# -- servers ----------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "guardlib-azure"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.server.respond(self, body)
        except ResetConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            raise
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"]
        head.append(f"Date: {self.date_time_string()}\r\n")
        for key, value in headers.items():
            head.append(f"{key}: {value}\r\n")
        head.append(f"Content-Length: {len(payload)}\r\n\r\n")
        self.wfile.write("".join(head).encode("latin-1") + payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ResetConnection:
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        respond: Callable[[_Handler, bytes], Response],
        tls: ssl.SSLContext | None,
    ) -> None:
        self.respond = respond
        self.tls = tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(request, server_side=True)
            with self._open_lock:
                self._open.add(conn)
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hangs up is not an error worth printing

    def close_all(self) -> None:
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()


class Servers:
    """The TLS server (Key Vault + Entra) and the plain-http managed-identity endpoint."""

    def __init__(self, app: KeyVaultApp, tls: ssl.SSLContext) -> None:
        self.app = app
        self.tls = _Server(self._respond_tls, tls)
        self.identity = _Server(self._respond_identity, None)
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                             name=f"guardlib-azure-{i}", daemon=True)
            for i, s in enumerate((self.tls, self.identity))
        ]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def _respond_tls(self, handler: _Handler, body: bytes) -> Response:
        host = handler.headers.get("Host") or ""
        return self.app.handle_tls(handler.command, host, handler.path, handler.headers, body)

    def _respond_identity(self, handler: _Handler, body: bytes) -> Response:
        return self.app.handle_identity(handler.command, handler.path, handler.headers)

    @property
    def tls_address(self) -> tuple[str, int]:
        host, port = self.tls.server_address[:2]
        return str(host), int(port)

    @property
    def identity_url(self) -> str:
        return f"http://127.0.0.1:{self.identity.server_address[1]}/msi/token"

    def stop(self) -> None:
        for server in (self.tls, self.identity):
            server.shutdown()
            server.close_all()
            server.server_close()
        for thread in self._threads:
            thread.join(2)
