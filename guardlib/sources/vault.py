"""``vault://MOUNT/PATH[?version=N][#KEY]``: HashiCorp Vault / OpenBao KV v2 through hvac.

``hvac.Client()`` reads ``VAULT_ADDR``, ``VAULT_TOKEN`` and ``VAULT_CACERT``. hvac's requests
session has no retry adapter by default, so guardlib's loop is the only retry. ``#KEY`` is
selected here (it is a key of the KV data map, dots allowed); without it the value is the
whole data map as JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guardlib.errors import (
    AccessDenied,
    ProviderCause,
    ProviderUnavailable,
    ResolveError,
    SecretNotFound,
)
from guardlib.resolver.references import Reference
from guardlib.sources import ClientCache, Fetched, Fingerprint

#: what decides who hvac acts as: hvac.Client() reads VAULT_ADDR, VAULT_TOKEN (else the file
#: ~/.vault-token, hvac/utils.py get_token_from_env), VAULT_CACERT/VAULT_CAPATH and the client
#: certificate; VAULT_AUTH_ROLE/VAULT_AUTH_PATH/VAULT_JWT_FILE are the offline cloud's names for
#: a JWT login (see guardlib/emulators/vault: no Vault client reads a variable for it)
_ENV = (
    "VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT", "VAULT_CAPATH",
    "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_AUTH_ROLE", "VAULT_AUTH_PATH", "VAULT_JWT_FILE",
    "HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE",
)  # fmt: skip


def _token_file(get: Callable[[str], str | None]) -> list[str]:
    return [] if get("VAULT_TOKEN") else ["~/.vault-token"]


#: who asks (see guardlib.sources): the token, or the JWT a login would present
identity = Fingerprint(_ENV, files=("VAULT_JWT_FILE", "VAULT_CLIENT_CERT"),
                       default_files=_token_file)  # fmt: skip


def fingerprint(ref: Reference) -> Callable[[], str]:
    return identity.fast


class LoginRefused(Exception):
    """The JWT login was refused (the role's bound claims, audience, expiry ...)."""


def _build() -> Any:
    import hvac

    client = hvac.Client()
    role, jwt_file = os.environ.get("VAULT_AUTH_ROLE"), os.environ.get("VAULT_JWT_FILE")
    if client.token or not (role and jwt_file):
        return client
    # a CI job or pod with an OIDC token and no Vault token: log in with it (JWT auth)
    try:
        jwt = Path(jwt_file).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise LoginRefused(f"cannot read the token file ({type(exc).__name__})") from None
    began = time.monotonic()
    answer = client.auth.jwt.jwt_login(role=role, jwt=jwt,
                                       path=os.environ.get("VAULT_AUTH_PATH") or "jwt")  # fmt: skip
    lease = (answer or {}).get("auth", {}).get("lease_duration") or 0
    client.guardlib_expires = began + max(0, int(lease) - 30) if lease else None
    return client


def _valid(client: Any) -> bool:
    """A token from a JWT login is used until 30 s before its lease ends, then a new login."""
    expires = getattr(client, "guardlib_expires", None)
    return expires is None or time.monotonic() < expires


clients = ClientCache(identity, _build, valid=_valid)


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    import hvac.exceptions as hx
    import requests

    text = str(ref)
    cause = ProviderCause(type(exc).__name__, None, None)
    if isinstance(exc, LoginRefused):
        return AccessDenied(text, f"{text}: access denied: the JWT login was refused ({exc})",
                            cause=ProviderCause("LoginRefused"))  # fmt: skip
    if isinstance(exc, hx.InvalidPath):
        return SecretNotFound(text, f"{text}: no such path or version", cause=cause)
    if isinstance(exc, (hx.Forbidden, hx.Unauthorized)):
        return AccessDenied(text, f"{text}: permission denied", cause=cause)
    if isinstance(exc, hx.RateLimitExceeded):
        return ProviderUnavailable(text, f"{text}: rate limited", cause=cause, throttled=True)
    if isinstance(exc, (hx.InternalServerError, hx.VaultDown, hx.BadGateway, hx.VaultNotInitialized,
                        requests.ConnectionError, requests.Timeout)):  # fmt: skip
        return ProviderUnavailable(text, f"{text}: Vault unavailable ({type(exc).__name__})",
                                   cause=cause)  # fmt: skip
    return ResolveError(text, f"{text}: Vault refused the request ({type(exc).__name__})",
                        cause=cause)  # fmt: skip


def _login_client() -> Any:
    """The client for this caller; a refused JWT login is LoginRefused (its status only: the
    server's message may quote the claims, never a secret, but keep the line short)."""
    import hvac.exceptions as hx

    try:
        return clients.get()
    except (hx.InvalidRequest, hx.Forbidden, hx.Unauthorized) as exc:
        refused = LoginRefused(type(exc).__name__)
        refused.__cause__ = exc
    raise refused


def fetch(ref: Reference) -> Fetched:
    try:
        client = _login_client()
        out = client.secrets.kv.v2.read_secret_version(
            path=ref.name, mount_point=ref.container,
            version=int(ref.version) if ref.version else None, raise_on_deleted_version=True,
        )  # fmt: skip
    except Exception as exc:
        raise classify(ref, exc) from exc
    data, meta = out["data"]["data"], out["data"]["metadata"]
    version = str(meta.get("version")) if meta.get("version") is not None else None
    if ref.field is None:
        value: Any = json.dumps(data)
    elif ref.field in data:
        value = data[ref.field]
        if not isinstance(value, (str, bytes)):
            value = json.dumps(value)
    else:
        raise SecretNotFound(str(ref), f"{ref}: the secret has no key {ref.field!r}")
    created = meta.get("created_time")
    from datetime import datetime

    try:
        when = (
            datetime.fromisoformat(created.replace("Z", "+00:00")[:26] + "+00:00")
            if created
            else None
        )
    except ValueError:
        when = None
    return Fetched(value, version=version, created=when, name=f"{ref.container}/{ref.name}")
