"""``azure-kv://VAULT/NAME[/VERSION]``: Azure Key Vault through azure-keyvault-secrets.

``VAULT`` becomes ``https://VAULT.vault.azure.net``; the credential is
``DefaultAzureCredential`` (configure it with the usual ``AZURE_*``/``IDENTITY_*`` variables).
The client is built with ``retry_total=0`` (azure-core ``RetryPolicy`` keyword), so
guardlib's retry loop is the only one and a 401/403 is never retried.
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

#: what decides who DefaultAzureCredential acts as (azure/identity/_credentials: environment,
#: workload identity, managed identity; _constants.EnvironmentVariables) and the transport
_ENV = (
    "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
    "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_TOKEN_CREDENTIALS", "AZURE_REGIONAL_AUTHORITY_NAME",
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
    "MSI_ENDPOINT", "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "HTTPS_PROXY",
    "https_proxy", "REQUESTS_CA_BUNDLE",
)  # fmt: skip

#: who asks (see guardlib.sources): keys the secret cache and the client cache
identity = Fingerprint(_ENV, files=("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH"))


def fingerprint(ref: Reference) -> Callable[[], str]:
    return identity.fast


def _build(vault: str) -> Any:
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    return SecretClient(f"https://{vault}.vault.azure.net", DefaultAzureCredential(),
                        retry_total=0)  # fmt: skip


clients = ClientCache(identity, _build)


def classify(ref: Reference, exc: BaseException) -> ResolveError:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    text = str(ref)
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None) or (getattr(exc, "error", None) and exc.error.code)  # type: ignore[attr-defined]
    cause = ProviderCause(type(exc).__name__, code, status)
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return SecretNotFound(text, f"{text}: Key Vault has no such secret or version ({code})",
                              cause=cause)  # fmt: skip
    if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
        return AccessDenied(text, f"{text}: access denied ({code or status})", cause=cause)
    if (
        isinstance(exc, HttpResponseError)
        and status is not None
        and (status == 429 or status >= 500)
    ):
        response = getattr(exc, "response", None)
        after = response.headers.get("Retry-After") if response is not None else None
        try:
            retry_after = float(after) if after is not None else None
        except ValueError:
            retry_after = None
        return ProviderUnavailable(text, f"{text}: Key Vault unavailable ({status})", cause=cause,
                                   throttled=status == 429, retry_after=retry_after)  # fmt: skip
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return ProviderUnavailable(text, f"{text}: cannot reach Key Vault ({type(exc).__name__})",
                                   cause=cause)  # fmt: skip
    if isinstance(exc, AzureError):
        return ResolveError(text, f"{text}: Key Vault refused the request ({code or status})",
                            cause=cause)  # fmt: skip
    return ResolveError(text, f"{text}: unexpected {type(exc).__name__}", cause=cause)


def fetch(ref: Reference) -> Fetched:
    client = clients.get(ref.container)
    try:
        secret = client.get_secret(ref.name, ref.version)
    except Exception as exc:
        raise classify(ref, exc) from exc
    props = secret.properties
    return Fetched(secret.value or "", version=props.version, created=props.created_on,
                   name=secret.id)  # fmt: skip
