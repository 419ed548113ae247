"""``aws-sm://NAME_OR_ARN[?stage=|?version=]``: AWS Secrets Manager through boto3.

The client is built with botocore's retries off (``total_max_attempts=1``; botocore
``retryhandler``/``retries/standard.py``), so one ``fetch`` is one HTTP request and
guardlib's own retry loop (``guardlib.resolver.retry``) is the only one. Configuration comes
from the environment as for any boto3 client (``AWS_ENDPOINT_URL``, region, credentials).
"""

from __future__ import annotations

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
from guardlib.sources import ClientCache, Fetched, Fingerprint

#: what decides who botocore acts as and where it sends the request: its credential chain
#: (botocore/credentials.py: EnvProvider, AssumeRoleWithWebIdentityProvider, the shared files,
#: ContainerProvider, and IMDS unless disabled), the endpoint and region, and the transport
_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_STS",
    "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CA_BUNDLE", "HTTPS_PROXY", "https_proxy",
)  # fmt: skip


def _shared_files(get: Callable[[str], str | None]) -> list[str]:
    """The shared credentials and config files count when no key is in the environment
    (a profile, ``aws sso login``, ``credential_process``)."""
    if get("AWS_ACCESS_KEY_ID"):
        return []
    return [get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials",
            get("AWS_CONFIG_FILE") or "~/.aws/config"]  # fmt: skip


#: who asks (see guardlib.sources): keys the secret cache and the client cache
_chain = Fingerprint(
    _ENV,
    files=("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
    default_files=_shared_files,
)
#: botocore's chain starts with EnvProvider: with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
#: both set, they (and the session token) ARE the identity, whatever else is set; only the
#: endpoint and the region (from the environment or the profile) still decide where it goes.
#: Nine look-ups instead of the whole chain's 23 on a cache hit (bench/bench_cache.py);
#: the region is botocore's AWS_DEFAULT_REGION (configprovider.py; AWS_REGION only tunes its
#: smart defaults), else the profile's.
identity = Fingerprint(
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
     "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_DEFAULT_REGION", "AWS_PROFILE",
     "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE"),
    required=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    otherwise=_chain.fast,
)  # fmt: skip


def fingerprint(ref: Reference) -> Callable[[], str]:
    return identity.fast


NOT_FOUND = {"ResourceNotFoundException"}
DENIED = {
    "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
    "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken", "InvalidSignatureException",
    "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken",
    "DecryptionFailure", "KMSAccessDeniedException", "401", "403",
    # STS AssumeRoleWithWebIdentity refusing the caller's token (botocore raises them while
    # loading credentials, before Secrets Manager is asked)
    "InvalidIdentityToken", "IDPRejectedClaim", "RegionDisabledException",
}  # fmt: skip
#: botocore's own "this caller has no usable credentials" errors (botocore/exceptions.py):
#: a refusal by cause, never retried, never answered from a stale entry
NO_CREDENTIALS = {
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
    "UnauthorizedSSOTokenError", "SSOTokenLoadError", "TokenRetrievalError",
    "InvalidConfigError", "ProfileNotFound", "NoAuthTokenError",
}  # fmt: skip
THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException",
             "RequestLimitExceeded", "429"}  # fmt: skip


def _build(region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                    read_timeout=10)  # fmt: skip
    return boto3.session.Session().client("secretsmanager", region_name=region, config=config)


#: clients also differ by transport (CA bundle, proxy): keyed by the whole chain's variables
clients = ClientCache(Fingerprint(_ENV, files=_chain.files, default_files=_shared_files), _build)


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
    if isinstance(exc, BotoCoreError) and type(exc).__name__ in NO_CREDENTIALS:
        return AccessDenied(text, f"{text}: access denied: no usable AWS credentials "
                            f"({type(exc).__name__})",
                            cause=ProviderCause(type(exc).__name__))  # fmt: skip
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
