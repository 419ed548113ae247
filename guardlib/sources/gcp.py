"""``gcp-sm://PROJECT/SECRET[/VERSION]``: Google Cloud Secret Manager (gRPC client).

Called with ``retry=None`` (google-api-core: no retry object, so the method's default
``Retry`` on UNAVAILABLE/RESOURCE_EXHAUSTED is not applied) and a timeout, so guardlib's retry
loop is the only one. The payload's CRC32C is verified before it is used (Google's sample).

Credentials come from ``google.auth.default()`` and are refreshed here before the call, so a
refused exchange (workload identity federation, impersonation) is google-auth's
``RefreshError``: AccessDenied, never retried. When the gRPC auth plugin refreshes instead,
grpc reports the same refusal as UNAVAILABLE ("Getting metadata from plugin failed"): that is
classified by its cause too, AccessDenied.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from guardlib.errors import (
    AccessDenied,
    ProviderCause,
    ProviderUnavailable,
    ResolveError,
    SecretNotFound,
)
from guardlib.resolver.references import Reference
from guardlib.sources import ClientCache, Fetched, Fingerprint, json_file_pointers

#: what decides who google-auth acts as (google/auth/_default.py: the credentials file, the
#: gcloud configuration, the metadata server) and the transport
_ENV = (
    "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST", "GCE_METADATA_IP",
    "GOOGLE_CLOUD_UNIVERSE_DOMAIN", "GOOGLE_API_USE_CLIENT_CERTIFICATE", "HTTPS_PROXY",
    "https_proxy", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
)  # fmt: skip
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


def _adc_file(get: Callable[[str], str | None]) -> list[str]:
    """Without GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials file
    counts (google/auth/_cloud_sdk.py)."""
    if get("GOOGLE_APPLICATION_CREDENTIALS"):
        return []
    config = get("CLOUDSDK_CONFIG") or "~/.config/gcloud"
    return [os.path.join(config, "application_default_credentials.json")]


#: who asks (see guardlib.sources): the credentials file's content and, for an
#: ``external_account`` file (workload identity federation), the subject token file it names
identity = Fingerprint(
    _ENV,
    files=("GOOGLE_APPLICATION_CREDENTIALS",),
    default_files=_adc_file,
    nested=json_file_pointers,
)


def fingerprint(ref: Reference) -> Callable[[], str]:
    return identity.fast


class _Client:
    """The Secret Manager client and the credentials it was built with: ``fetch`` refreshes
    them itself, so a refused token exchange surfaces as google-auth's own RefreshError
    instead of a gRPC UNAVAILABLE from inside the auth plugin."""

    __slots__ = ("api", "credentials", "lock")

    def __init__(self, api: Any, credentials: Any) -> None:
        self.api, self.credentials, self.lock = api, credentials, threading.Lock()

    def ready(self) -> None:
        if self.credentials is None or self.credentials.valid:
            return
        from google.auth.transport.requests import Request

        with self.lock:
            if not self.credentials.valid:
                self.credentials.refresh(Request())


def _build() -> _Client:
    import google.auth
    from google.cloud import secretmanager
    from google.oauth2 import service_account

    credentials, _ = google.auth.default(scopes=SCOPES)
    api = secretmanager.SecretManagerServiceClient(credentials=credentials)
    # a service-account key signs its own JWT for each call (the client turns on
    # always_use_jwt_access): nothing to exchange, nothing to refresh up front
    exchanged = not isinstance(credentials, service_account.Credentials)
    return _Client(api, credentials if exchanged else None)


clients = ClientCache(identity, _build)

#: how grpc reports an exception raised by an auth metadata plugin (grpc/_plugin_wrapping.py):
#: google-auth's refresh failed, so this caller holds no credential the service would accept
_PLUGIN_FAILED = "Getting metadata from plugin failed"


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    from google.api_core import exceptions as gexc
    from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError

    text = str(ref)
    if isinstance(exc, RefreshError):  # the token exchange or impersonation was refused
        cause = ProviderCause(type(exc).__name__, _refusal_status(exc))
        if getattr(exc, "retryable", False):  # google-auth marks 5xx/429 answers retryable
            return ProviderUnavailable(text, f"{text}: Google's token service is unavailable "
                                       f"({cause.code})", cause=cause)  # fmt: skip
        return AccessDenied(text, f"{text}: access denied: Google refused the credentials "
                            f"({cause.code})", cause=cause)  # fmt: skip
    if isinstance(exc, TransportError):
        return ProviderUnavailable(text, f"{text}: cannot reach Google's token service",
                                   cause=ProviderCause(type(exc).__name__))  # fmt: skip
    if isinstance(exc, gexc.ServiceUnavailable) and _PLUGIN_FAILED in str(exc):
        # the same refusal when the gRPC auth plugin refreshed: UNAVAILABLE by transport,
        # a refused credential by cause -- never retried, never answered from a stale entry
        status = _refusal_status(exc)
        found = ProviderCause(type(exc).__name__, status or "UNAVAILABLE")
        return AccessDenied(text, f"{text}: access denied: Google refused the credentials "
                            f"({status})", cause=found)  # fmt: skip
    code = getattr(getattr(exc, "grpc_status_code", None), "name", None)
    cause = ProviderCause(type(exc).__name__, code, getattr(exc, "code", None)
                          if isinstance(getattr(exc, "code", None), int) else None)  # fmt: skip
    if isinstance(exc, (gexc.NotFound, gexc.FailedPrecondition)):
        return SecretNotFound(text, f"{text}: no such secret or enabled version ({code})",
                              cause=cause)  # fmt: skip
    if isinstance(exc, (gexc.PermissionDenied, gexc.Unauthenticated, gexc.Forbidden,
                        gexc.Unauthorized)):  # fmt: skip
        return AccessDenied(text, f"{text}: access denied ({code})", cause=cause)
    if isinstance(exc, (gexc.ResourceExhausted, gexc.TooManyRequests)):
        return ProviderUnavailable(text, f"{text}: throttled ({code})", cause=cause,
                                   throttled=True)  # fmt: skip
    if isinstance(exc, (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.DeadlineExceeded,
                        gexc.RetryError)):  # fmt: skip
        return ProviderUnavailable(text, f"{text}: Secret Manager unavailable ({code})",
                                   cause=cause)  # fmt: skip
    if isinstance(exc, GoogleAuthError):
        return AccessDenied(text, f"{text}: no usable Google credentials", cause=cause)
    return ResolveError(text, f"{text}: Secret Manager refused the request ({code})", cause=cause)


def _refusal_status(exc: BaseException) -> str | None:
    """The status Google's answer names (``PERMISSION_DENIED``, ``invalid_grant`` ...), from
    the error's text (google-auth puts the response body there; it holds no token)."""
    import re

    found = re.search(r'"status": "([A-Z_]+)"|"error": "([a-z_]+)"', str(exc))
    return (found.group(1) or found.group(2)) if found else None


def fetch(ref: Reference) -> Fetched:
    import google_crc32c

    name = f"projects/{ref.container}/secrets/{ref.name}/versions/{ref.version or 'latest'}"
    try:
        client = clients.get()
        client.ready()
        response = client.api.access_secret_version(request={"name": name}, retry=None,
                                                    timeout=10)  # fmt: skip
    except Exception as exc:
        raise classify(ref, exc) from exc
    data = response.payload.data
    if response.payload.data_crc32c and google_crc32c.value(data) != response.payload.data_crc32c:
        raise ProviderUnavailable(str(ref), f"{ref}: payload checksum mismatch (corrupted)",
                                  cause=ProviderCause("DataLoss", "DATA_LOSS"))  # fmt: skip
    try:
        value: str | bytes = data.decode("utf-8")
    except UnicodeDecodeError:
        value = data
    return Fetched(value, version=response.name.rsplit("/", 1)[-1], name=response.name)
