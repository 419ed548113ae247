"""``aws-sm://NAME_OR_ARN[?stage=|?version=]``: AWS Secrets Manager through boto3.

The client is built with botocore's retries off (``total_max_attempts=1``; botocore
``retryhandler``/``retries/standard.py``), so one ``fetch`` is one HTTP request and
guardlib's own retry loop (``guardlib.resolver.retry``) is the only one. Configuration comes
from the environment as for any boto3 client (``AWS_ENDPOINT_URL``, region, credentials).
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

_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
    "AWS_REGION", "AWS_CA_BUNDLE", "HTTPS_PROXY",
)  # fmt: skip

NOT_FOUND = {"ResourceNotFoundException"}
DENIED = {
    "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
    "InvalidClientTokenId", "ExpiredTokenException", "InvalidSignatureException",
    "SignatureDoesNotMatch", "DecryptionFailure", "401", "403",
}  # fmt: skip
THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException",
             "RequestLimitExceeded", "429"}  # fmt: skip


def _build(region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                    read_timeout=10)  # fmt: skip
    return boto3.session.Session().client("secretsmanager", region_name=region, config=config)


clients = ClientCache(_ENV, _build)


def _region(ref: Reference) -> str | None:
    if ref.name.startswith("arn:"):
        return ref.name.split(":")[3]
    return None


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    """Map a botocore exception to guardlib's hierarchy (without the value: there is none)."""
    from botocore.exceptions import BotoCoreError, ClientError

    text = str(ref)
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(err.get("Code", ""))
        status = meta.get("HTTPStatusCode")
        cause = ProviderCause(type(exc).__name__, code, status)
        if code in NOT_FOUND:
            return SecretNotFound(text, f"{text}: Secrets Manager has no such secret, version "
                                  f"or stage ({code})", cause=cause)  # fmt: skip
        if code in DENIED or status in (401, 403):
            return AccessDenied(text, f"{text}: access denied ({code})", cause=cause)
        throttled = code in THROTTLED or status == 429
        if throttled or (isinstance(status, int) and status >= 500):
            after = meta.get("HTTPHeaders", {}).get("retry-after")
            return ProviderUnavailable(text, f"{text}: Secrets Manager unavailable ({code})",
                                       cause=cause, throttled=throttled,
                                       retry_after=_float(after))  # fmt: skip
        return ResolveError(text, f"{text}: Secrets Manager refused the request ({code})",
                            cause=cause)  # fmt: skip
    if isinstance(exc, BotoCoreError):
        # EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ...
        return ProviderUnavailable(text, f"{text}: cannot reach Secrets Manager "
                                   f"({type(exc).__name__})",
                                   cause=ProviderCause(type(exc).__name__))  # fmt: skip
    return ResolveError(text, f"{text}: unexpected {type(exc).__name__}",
                        cause=ProviderCause(type(exc).__name__))  # fmt: skip


def _float(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def fetch(ref: Reference) -> Fetched:
    client = clients.get(_region(ref))
    kwargs: dict[str, str] = {"SecretId": ref.name}
    if ref.stage is not None:
        kwargs["VersionStage"] = ref.stage
    if ref.version is not None:
        kwargs["VersionId"] = ref.version
    try:
        out = client.get_secret_value(**kwargs)
    except Exception as exc:
        raise classify(ref, exc) from exc
    # boto3 has already base64-decoded SecretBinary into bytes: do not decode it again
    value = out["SecretString"] if "SecretString" in out else out["SecretBinary"]
    return Fetched(value, version=out.get("VersionId"), stages=tuple(out.get("VersionStages", ())),
                   created=out.get("CreatedDate"), name=out.get("ARN"))  # fmt: skip
