"""Azure runtimes: AKS workload identity, App Service (and Functions), a VM's IMDS.

Each gives azure-identity's ``DefaultAzureCredential``/``ManagedIdentityCredential`` exactly one
thing to find (azure/identity/_credentials/managed_identity.py picks by variable:
``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER`` is App Service, ``AZURE_FEDERATED_TOKEN_FILE`` with
client and tenant ids is workload identity, nothing is IMDS). Tokens come from the Azure
emulator's Entra (``TokenIssuer``), so Key Vault's RBAC there decides what may be read.

``VAULT_URL`` is application configuration in every one (an app setting, a pod's ``env:``): no
Azure platform names the vault for you. ``AZURE_CLIENT_ID`` is the platform's own on AKS (the
webhook copies it from the service account's annotation) and an app setting elsewhere (which
user-assigned identity to use).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..kit.server import Handler, LoopbackHTTPServer, Response
from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
#: the AKS webhook's projected token lives an hour (azure-workload-identity,
#: serviceAccountTokenExpiration) and the kubelet rewrites the file before it expires; offline
#: nothing rewrites it while ``emulators up`` runs, so it lives a day (a workshop's length)
POD_TOKEN_LIFETIME = 86400
_LOCK = threading.Lock()


def _vault_url() -> str:
    from ..seed import DEFAULT_VAULT

    return f"https://{DEFAULT_VAULT}.vault.azure.net"


def aks_workload_identity(job: Job) -> dict[str, str]:
    """What the Microsoft Entra Workload ID webhook injects into a pod whose service account
    is annotated with the app's client id (Azure/azure-workload-identity, pkg/webhook: the
    variables ``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID``, ``AZURE_FEDERATED_TOKEN_FILE`` at
    /var/run/secrets/azure/tokens/azure-identity-token (here a private temporary file) and
    ``AZURE_AUTHORITY_HOST``); the token's audience is ``api://AzureADTokenExchange``."""
    from ..azure import TENANT_ID

    assert job.identity is not None and job.subject is not None
    azure = job.emulator("azure")
    token = job.cloud.oidc.mint(
        job.subject, job.audience or TOKEN_EXCHANGE_AUDIENCE, issuer="kubernetes",
        lifetime=POD_TOKEN_LIFETIME,
    )  # fmt: skip
    path = job.cloud.oidc.write_token(token, f"aks-{job.identity}-{secrets.token_hex(4)}")
    return {
        **wiring(job),
        "AZURE_CLIENT_ID": azure.principal(job.identity).client_id,
        "AZURE_TENANT_ID": TENANT_ID,
        "AZURE_FEDERATED_TOKEN_FILE": str(path),
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
        "VAULT_URL": _vault_url(),  # application configuration
    }


def app_service(job: Job) -> dict[str, str]:
    """An app with ``identity`` as its managed identity (docs: "How to use managed identities
    for App Service and Azure Functions", REST endpoint reference): ``IDENTITY_ENDPOINT`` (a
    local endpoint, plain http) and ``IDENTITY_HEADER`` (sent back as ``X-IDENTITY-HEADER``),
    the Azure emulator's own (``identity_routing.py``); ``WEBSITE_SITE_NAME`` and
    ``WEBSITE_HOSTNAME`` (docs: "Environment variables and app settings in Azure App
    Service"). The offline site of a seeded identity holds it as a user-assigned identity, so the
    app setting ``AZURE_CLIENT_ID`` names it (the administrator's site is system-assigned)."""
    assert job.identity is not None
    azure = job.emulator("azure")
    own = azure.env(None if job.identity == "admin" else job.identity)
    site = f"{job.identity}-site"
    env = {
        **wiring(job),
        "IDENTITY_ENDPOINT": own["IDENTITY_ENDPOINT"],
        "IDENTITY_HEADER": own["IDENTITY_HEADER"],
        "WEBSITE_SITE_NAME": site,
        "WEBSITE_HOSTNAME": f"{site}.azurewebsites.net",
        "VAULT_URL": _vault_url(),  # application configuration (an app setting)
    }
    if "AZURE_CLIENT_ID" in own:
        env["AZURE_CLIENT_ID"] = own["AZURE_CLIENT_ID"]  # app setting: the user-assigned identity
    return env


def functions(job: Job) -> dict[str, str]:
    """A Python function app: App Service's identity endpoint (Functions runs on it) and the
    runtime's settings ``FUNCTIONS_WORKER_RUNTIME=python`` and ``FUNCTIONS_EXTENSION_VERSION=~4``
    (docs: "App settings reference for Azure Functions")."""
    env = app_service(job)
    site = f"{job.identity}-func"
    env.update(
        WEBSITE_SITE_NAME=site,
        WEBSITE_HOSTNAME=f"{site}.azurewebsites.net",
        FUNCTIONS_WORKER_RUNTIME="python",
        FUNCTIONS_EXTENSION_VERSION="~4",
    )
    return env


class InstanceMetadata:
    """Azure IMDS's managed-identity token endpoint for one VM whose system-assigned identity
    is ``identity`` (docs: "How to use managed identities for Azure resources on an Azure VM to
    acquire an access token"): ``GET /metadata/identity/oauth2/token?api-version=2018-02-01&
    resource=...`` with ``Metadata: true``. Without the header a 400 ``invalid_request``
    "Required metadata header not specified"; with ``X-Forwarded-For`` a 400 too (IMDS refuses
    forwarded requests); a ``client_id``/``object_id``/``msi_res_id`` of an identity the VM
    does not have is a 400 ``invalid_request`` "Identity not found"."""

    def __init__(self, job: Job, identity: str) -> None:
        self._job = job
        self.identity = identity
        self._httpd = LoopbackHTTPServer(
            self._respond,
            reject=lambda status, message: _error(status, "invalid_request", message),
            max_body=0,
            name="guardlib-azure-imds",
        ).start()

    @property
    def authority(self) -> str:
        return f"http://127.0.0.1:{self._httpd.address[1]}"

    def _respond(self, handler: Handler, body: bytes) -> Response:
        if handler.headers.get_all("X-Forwarded-For"):
            return _error(400, "invalid_request", "Bad request. X-Forwarded-For header present.")
        parts = urlsplit(handler.path)
        if parts.path != "/metadata/identity/oauth2/token":
            return _error(404, "not_found", "Not found.")
        if handler.command != "GET":
            return _error(405, "invalid_request", "Method not allowed.")
        if (handler.headers.get("Metadata") or "").lower() != "true":
            return _error(400, "invalid_request", "Required metadata header not specified")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if query.get("api-version") not in ("2018-02-01", "2019-08-01"):
            return _error(400, "invalid_request", "Missing or invalid api-version parameter.")
        resource = query.get("resource", "")
        if not resource:
            return _error(400, "invalid_request", "Required audience parameter not specified")
        azure = self._job.emulator("azure")
        principal = azure.principal(self.identity)
        for name, mine in (("client_id", principal.client_id), ("object_id", principal.object_id),
                           ("msi_res_id", principal.resource_id)):  # fmt: skip
            asked = query.get(name)
            if asked and asked.lower() != mine.lower():
                return _error(400, "invalid_request", "Identity not found")
        token, expires_on = azure.issuer.issue(principal, audience=resource.rstrip("/"))
        now = int(time.time())
        document = {
            "access_token": token,
            "client_id": principal.client_id,
            "expires_in": str(expires_on - now),
            "expires_on": str(expires_on),
            "ext_expires_in": str(expires_on - now),
            "not_before": str(now),
            "resource": resource,
            "token_type": "Bearer",
        }
        return (
            200,
            {"Content-Type": "application/json; charset=utf-8"},
            json.dumps(document).encode(),
        )

    def stop(self) -> None:
        self._httpd.stop()


def _error(status: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


def azure_vm(job: Job) -> dict[str, str]:
    """A VM with ``identity`` as its system-assigned managed identity. Azure sets no variable
    on a VM; the wiring points azure-identity and msal at this VM's IMDS with
    ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (read by azure/identity/_credentials/imds.py and
    msal/managed_identity.py in place of http://169.254.169.254; it also skips the one-second
    availability probe, which the real IMDS would pass)."""
    assert job.identity is not None
    identity = job.identity
    key = f"azure-imds-{identity}"
    with _LOCK:
        server = job.cloud.platform_servers.get(key)
        if server is None:
            server = job.cloud.platform_servers[key] = InstanceMetadata(job, identity)
    return {
        **wiring(job),
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": server.authority,
        "VAULT_URL": _vault_url(),  # application configuration
    }
