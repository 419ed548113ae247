"""``gcp-sm://PROJECT/SECRET[/VERSION]``: Google Cloud Secret Manager (gRPC client).

Called with ``retry=None`` (google-api-core: no retry object, so the method's default
``Retry`` on UNAVAILABLE/RESOURCE_EXHAUSTED is not applied) and a timeout, so guardlib's retry
loop is the only one. The payload's CRC32C is verified before it is used (Google's sample).
"""

from __future__ import annotations

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

_ENV = ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "HTTPS_PROXY", "https_proxy")


def _build() -> Any:
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()


clients = ClientCache(_ENV, _build)


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    from google.api_core import exceptions as gexc

    text = str(ref)
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
    from google.auth.exceptions import GoogleAuthError

    if isinstance(exc, GoogleAuthError):
        return AccessDenied(text, f"{text}: no usable Google credentials", cause=cause)
    return ResolveError(text, f"{text}: Secret Manager refused the request ({code})", cause=cause)


def fetch(ref: Reference) -> Fetched:
    import google_crc32c

    client = clients.get()
    name = f"projects/{ref.container}/secrets/{ref.name}/versions/{ref.version or 'latest'}"
    try:
        response = client.access_secret_version(request={"name": name}, retry=None, timeout=10)
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
