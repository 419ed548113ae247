"""``vault://MOUNT/PATH[?version=N][#KEY]``: HashiCorp Vault / OpenBao KV v2 through hvac.

``hvac.Client()`` reads ``VAULT_ADDR``, ``VAULT_TOKEN`` and ``VAULT_CACERT``. hvac's requests
session has no retry adapter by default, so guardlib's loop is the only retry. ``#KEY`` is
selected here (it is a key of the KV data map, dots allowed); without it the value is the
whole data map as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from guardlib.errors import (
    AccessDenied,
    ProviderCause,
    ProviderUnavailable,
    ResolveError,
    SecretNotFound,
)
from guardlib.resolver.references import Reference
from guardlib.sources import ClientCache, Fetched

_ENV = ("VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "VAULT_NAMESPACE")


def _build() -> Any:
    import hvac

    return hvac.Client()


clients = ClientCache(_ENV, _build)


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    import hvac.exceptions as hx
    import requests

    text = str(ref)
    cause = ProviderCause(type(exc).__name__, None, None)
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


def fetch(ref: Reference) -> Fetched:
    client = clients.get()
    try:
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
