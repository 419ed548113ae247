"""Azure Key Vault (secrets), with Entra ID tokens and managed identities, offline.

Unmodified ``azure-identity`` + ``azure-keyvault-secrets`` code (sync and ``aio``) reaches it
through the gateway at the real URL shape ``https://<vault>.vault.azure.net``; only
environment variables differ:

==========================  ===================================================================
``VAULT_URL``               ``https://guard-demo.vault.azure.net`` (the name the SDK samples use)
``IDENTITY_ENDPOINT``       the App Service managed-identity endpoint (plain http on loopback)
``IDENTITY_HEADER``         this "site"'s header: one per identity, so it fixes who you are
``AZURE_CLIENT_ID``         the user-assigned identity's client id (not for the administrator,
                            who is the site's system-assigned identity)
``AZURE_TOKEN_CREDENTIALS`` ``prod``: DefaultAzureCredential tries only environment, workload
                            and managed identity, never the Azure CLI or a browser
==========================  ===================================================================

Seeded secrets go to vault ``guard-demo``, which uses the Azure RBAC permission model (the
default for new vaults): readers get *Key Vault Secrets User* and writers *Key Vault Secrets
Officer*, each scoped to that one secret, so "dev reads dev secrets" holds inside one vault.
Access policies (vault-wide, as on Azure) are available for vaults made with
``permission_model="access_policy"``; see ``apply_seed``.

Keyless deploys (workload identity federation): each seeded ``trusts`` entry becomes a federated
identity credential on the identity's app (issuer URL, exact subject, audience
``api://AzureADTokenExchange``); ``federation_env`` gives ``AZURE_CLIENT_ID``,
``AZURE_TENANT_ID``, ``AZURE_FEDERATED_TOKEN_FILE`` and ``AZURE_AUTHORITY_HOST`` (what the AKS
webhook injects), with which ``DefaultAzureCredential`` posts the token as a ``client_assertion``
to Entra's token endpoint (``federation.py``: the checks and Entra's AADSTS refusals).

Object ids, client ids, client secrets and the ``IDENTITY_HEADER`` key are random, made once
per start (the kit's ``CredentialBook``): they are reachable only through ``cloud.env(identity)``
and ``service_principal(identity)``, and stay the same across ``reset()`` and a re-seed.

Layout (as a moto service): ``state.py`` the model, ``protocol.py`` the wire format,
``errors.py`` the error codes, ``identity.py`` principals and tokens, ``identity_routing.py``
the managed-identity and Entra endpoints, ``federation.py`` federated identity credentials,
``routing.py`` Key Vault dispatch and the servers.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..kit import CredentialBook, SeedHooks, apply_seed, require_running
from ..seed import DEFAULT_VAULT, SeedError, SeedSpec
from .federation import MAX_FICS, TOKEN_EXCHANGE_AUDIENCE, FederatedCredential
from .identity import (
    ADMIN_NAME,
    AUTHORITY_HOST,
    TENANT_ID,
    Principal,
    TokenIssuer,
    identity_header,
)
from .routing import KeyVaultApp, Servers
from .state import ROLES, SECRET_PERMISSIONS, State, Vault, check_secret_name

if TYPE_CHECKING:
    from ..base import CloudContext
    from ..oidc import OidcIssuers
    from ..seed import IdentitySpec, SecretSpec

__all__ = ["AzureEmulator", "TENANT_ID", "SECRET_PERMISSIONS"]


class AzureEmulator:
    """The ``azure`` emulator: Key Vault secrets + Entra ID + App Service managed identity."""

    name = "azure"
    hosts = ("*.vault.azure.net:443", "login.microsoftonline.com:443")

    def __init__(self) -> None:
        self.credentials = CredentialBook()
        self.state = State(DEFAULT_VAULT, self.credentials)
        self.issuer: TokenIssuer | None = None
        self.app: KeyVaultApp | None = None
        self._servers: Servers | None = None
        self._header_key = _secrets.token_bytes(32)
        self._started = False
        self._oidc: OidcIssuers | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, ctx: CloudContext) -> None:
        if self._servers is not None:
            return
        if self._started:  # a new start: new credentials, as for a new emulator
            self.credentials.clear()
            self._header_key = _secrets.token_bytes(32)
            self.state.reset()
        self._started = True
        self.issuer = TokenIssuer()
        self._oidc = getattr(ctx, "oidc", None)  # a bare context (tests) has no issuers
        self.app = KeyVaultApp(
            self.state, self.issuer, ctx.faults, self._header_key, self.name, oidc=self._oidc
        )
        tls = ctx.ca.server_context("*.vault.azure.net", "login.microsoftonline.com")
        self._servers = Servers(self.app, tls)

    def stop(self) -> None:
        servers, self._servers = self._servers, None
        if servers is not None:
            servers.stop()

    def backend(self) -> tuple[str, int]:
        return require_running(self.name, self._servers).tls_address

    # -- identities -----------------------------------------------------------------------
    def principal(self, identity: str | None = None) -> Principal:
        """The Entra principal of ``identity`` (None: the administrator), created if new."""
        return self.state.add_principal(identity or ADMIN_NAME)

    def env(self, identity: str | None = None) -> dict[str, str]:
        servers = require_running(self.name, self._servers)
        site = identity or ADMIN_NAME
        env = {
            "VAULT_URL": f"https://{DEFAULT_VAULT}.vault.azure.net",
            "IDENTITY_ENDPOINT": servers.identity_url,
            "IDENTITY_HEADER": identity_header(self._header_key, site),
            # DefaultAzureCredential: production credentials only (environment, workload
            # identity, managed identity): deterministic, and no slow developer-tool probes
            "AZURE_TOKEN_CREDENTIALS": "prod",
        }
        if site != ADMIN_NAME:
            env["AZURE_CLIENT_ID"] = self.principal(site).client_id
        return env

    def service_principal(self, identity: str | None = None) -> dict[str, str]:
        """``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET`` of ``identity`` for
        the client-secret flow (``ClientSecretCredential``, or ``EnvironmentCredential``
        inside ``DefaultAzureCredential``). The secret is random, made for this start."""
        require_running(self.name, self._servers)
        principal = self.principal(identity)
        return {
            "AZURE_TENANT_ID": TENANT_ID,
            "AZURE_CLIENT_ID": principal.client_id,
            "AZURE_CLIENT_SECRET": principal.client_secret,
        }

    # -- workload identity federation (base.FederatedEmulator) -----------------------------
    def federation_audience(self, identity: str) -> str:
        """``api://AzureADTokenExchange``: the audience Entra recommends for every federated
        credential, and the one azure/login and the AKS webhook request."""
        return TOKEN_EXCHANGE_AUDIENCE

    def federation_env(self, identity: str, token_file: Path) -> dict[str, str]:
        """What the AKS workload-identity webhook injects into a pod (and azure/login sets up):
        the app's client id, the tenant, the token file and the authority host. No client secret
        and no managed-identity endpoint: ``DefaultAzureCredential`` finds no
        ``EnvironmentCredential`` configuration (that needs ``AZURE_CLIENT_SECRET`` or a
        certificate, ``_credentials/environment.py``) and takes ``WorkloadIdentityCredential``,
        which it tries before ``ManagedIdentityCredential`` (``_credentials/default.py``); a
        refusal there is a ``ClientAuthenticationError`` that ends the chain."""
        require_running(self.name, self._servers)
        if identity in (None, ADMIN_NAME):
            raise ValueError("no workload may become the administrator")
        return {
            "VAULT_URL": f"https://{DEFAULT_VAULT}.vault.azure.net",
            "AZURE_CLIENT_ID": self.principal(identity).client_id,
            "AZURE_TENANT_ID": TENANT_ID,
            "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
            "AZURE_AUTHORITY_HOST": f"https://{AUTHORITY_HOST}",
            # as in env(): production credentials only, never a developer tool's login
            "AZURE_TOKEN_CREDENTIALS": "prod",
        }

    def federated_credentials(self, identity: str) -> list[FederatedCredential]:
        """The federated identity credentials on ``identity``'s app (what ``az identity
        federated-credential list`` shows)."""
        return self.state.federated_of(self.principal(identity))

    def issue_token(
        self,
        identity: str | None = None,
        *,
        audience: str = "https://vault.azure.net",
        lifetime: int = 3600,
        tenant: str = TENANT_ID,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """A token as Entra would issue it, signed with this start's key (for tests of
        expired, wrong-audience or odd tokens: ``claims``/``header`` override fields)."""
        issuer = require_running(self.name, self.issuer if self._servers else None)
        token, _ = issuer.issue(
            self.principal(identity), audience=audience, lifetime=lifetime, tenant=tenant,
            claims=claims, header=header,
        )  # fmt: skip
        return token

    # -- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        self.state.reset()

    def apply_seed(self, spec: SeedSpec) -> None:
        """Identities, secrets and access rules of ``spec``, plus its ``azure`` section::

        {"azure": {
            "vaults": {"legacy-kv": {"permission_model": "access_policy"}},
            "access_policies": [{"vault": "legacy-kv", "identity": "dev-app",
                                 "secrets": ["get", "list"]}],
            "role_assignments": [{"identity": "ops", "role": "Key Vault Secrets Officer",
                                  "vault": "guard-demo", "secret": None}],
            "secrets": [{"vault": "legacy-kv", "name": "db-password",
                         "value": "demo-not-a-real-password", "content_type": "text/plain"}],
        }}

        The whole seed is checked first (names, roles, permissions): a bad one changes nothing.
        """
        extra: dict[str, Any] = dict(spec.extra.get("azure", {}))
        _check_extra(extra)
        fics = self._federated_credentials(spec)  # checked before anything is stored
        apply_seed(_Hooks(self.state), spec)
        for identity, fic in fics:
            self.state.add_federated(identity, fic)
        state = self.state
        for name, opts in dict(extra.get("vaults", {})).items():
            state.add_vault(name, str((opts or {}).get("permission_model", "rbac")))
        for item in extra.get("access_policies", []):
            vault = self._vault(item.get("vault"))
            principal = state.add_principal(item["identity"])
            vault.set_policy(principal.object_id, item.get("secrets", ()))
        for item in extra.get("role_assignments", []):
            vault = self._vault(item.get("vault"))
            principal = state.add_principal(item["identity"])
            vault.assign_role(principal.object_id, item["role"], item.get("secret"))
        for item in extra.get("secrets", []):
            vault = self._vault(item.get("vault"))
            vault.set(
                item["name"], item["value"], content_type=item.get("content_type"),
                tags=item.get("tags"), enabled=bool(item.get("enabled", True)),
            )  # fmt: skip

    def _federated_credentials(self, spec: SeedSpec) -> list[tuple[str, FederatedCredential]]:
        """Each ``spec.trusts`` entry as a federated identity credential on the identity's app
        (a user-assigned managed identity here; Entra puts FICs on either): issuer URL, the
        exact subject, and the trust's audience or ``api://AzureADTokenExchange``."""
        out: list[tuple[str, FederatedCredential]] = []
        counts: dict[str, int] = {}
        for n, trust in enumerate(spec.trusts):
            where = f"azure: trusts[{n}]"
            if trust.is_prefix:
                # Entra matches a FIC's subject exactly (Microsoft Graph federatedIdentity
                # Credential: "subject ... must match the sub claim"); the newer "flexible"
                # FICs with claimsMatchingExpression are a preview for some issuers only
                raise SeedError(
                    f"{where}: Entra federated identity credentials match the subject exactly, so "
                    f"the pattern {trust.subject!r} cannot be trusted on Azure: list each subject "
                    "(one trust per branch or environment), or seed this trust with 'clouds' "
                    "that support patterns"
                )
            if self._oidc is None:
                raise SeedError(f"{where}: the offline OIDC issuers are not running")
            issuer = self._oidc.issuer(trust.issuer).url
            audience = trust.audience or TOKEN_EXCHANGE_AUDIENCE
            counts[trust.identity] = counts.get(trust.identity, 0) + 1
            fic = FederatedCredential(
                f"{trust.issuer}-{counts[trust.identity]}", issuer, trust.subject, (audience,)
            )
            out.append((trust.identity, fic))
        for identity in counts:
            total = len({(f.issuer, f.subject, f.audiences) for i, f in out if i == identity} | {
                (f.issuer, f.subject, f.audiences) for f in self.state.federated.get(identity, ())
            })  # fmt: skip
            if total > MAX_FICS:
                raise SeedError(
                    f"azure: identity {identity!r} would have {total} federated identity "
                    f"credentials; an app may have at most {MAX_FICS}"
                )
        return out

    def _vault(self, name: str | None) -> Vault:
        vault = self.state.vault(name or DEFAULT_VAULT)
        if vault is None:
            vault = self.state.add_vault(name or DEFAULT_VAULT)
        return vault


def _check_extra(extra: dict[str, Any]) -> None:
    """The ``azure`` section, checked before anything is stored."""
    from .state import VAULT_NAME_RE

    def fail(why: str) -> None:
        raise SeedError(f"azure: {why}")

    for name, opts in dict(extra.get("vaults", {})).items():
        if not isinstance(name, str) or not VAULT_NAME_RE.fullmatch(name):
            fail(f"vault name {name!r} is not valid: 3-24 letters, digits and '-'")
        model = (opts or {}).get("permission_model", "rbac")
        if model not in ("rbac", "access_policy"):
            fail("permission_model is 'rbac' or 'access_policy'")
    for item in extra.get("secrets", []):
        why = check_secret_name(item.get("name"))
        if why is not None:
            fail(f"secret name {item.get('name')!r} is not valid: {why}")
        if not isinstance(item.get("value"), str):
            fail(f"secret {item.get('name')!r}: 'value' must be a string")
    for item in extra.get("role_assignments", []):
        if item.get("role") not in ROLES:
            fail(f"unknown role {item.get('role')!r}; choose from {', '.join(ROLES)}")
    for item in extra.get("access_policies", []):
        perms = {str(p).lower() for p in item.get("secrets", ())} - {"all"}
        unknown = perms - set(SECRET_PERMISSIONS)
        if unknown:
            fail(f"unknown secret permission(s): {', '.join(sorted(unknown))}")


class _Hooks(SeedHooks):
    """The kit's seed hooks for Key Vault: seeded secrets go to vault ``guard-demo``."""

    name = "azure"

    def __init__(self, state: State) -> None:
        self.state = state

    def check_secret_name(self, name: str) -> str | None:
        return check_secret_name(name)

    def _default(self) -> Vault:
        return self.state.vault(DEFAULT_VAULT) or self.state.add_vault(DEFAULT_VAULT)

    def add_identity(self, identity: IdentitySpec) -> None:
        principal = self.state.add_principal(identity.name, admin=identity.admin)
        if identity.admin:
            self._default().assign_role(principal.object_id, "Key Vault Secrets Officer")

    def put_secret(self, secret: SecretSpec) -> None:
        value = secret.value
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        self._default().set(secret.name, value, tags=dict(secret.tags) or None)

    def grant_read(self, secret: SecretSpec, identity: str) -> None:
        self._grant(secret.name, identity, "Key Vault Secrets User", ("get", "list"))

    def grant_write(self, secret: SecretSpec, identity: str) -> None:
        self._grant(secret.name, identity, "Key Vault Secrets Officer", SECRET_PERMISSIONS)

    def _grant(self, secret: str, identity: str, role: str, perms: Iterable[str]) -> None:
        vault = self._default()
        principal = self.state.add_principal(identity)
        if vault.permission_model == "access_policy":
            vault.set_policy(principal.object_id, perms)
        else:
            vault.assign_role(principal.object_id, role, secret)
