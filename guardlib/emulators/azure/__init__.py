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
"""

from __future__ import annotations

import secrets as _secrets
from typing import TYPE_CHECKING, Any

from ..seed import DEFAULT_VAULT, SeedSpec
from .identity import ADMIN_NAME, TENANT_ID, Principal, TokenIssuer, identity_header
from .routing import KeyVaultApp, Servers
from .state import SECRET_PERMISSIONS, State

if TYPE_CHECKING:
    from ..base import CloudContext

__all__ = ["AzureEmulator", "TENANT_ID", "SECRET_PERMISSIONS"]


class AzureEmulator:
    """The ``azure`` emulator: Key Vault secrets + Entra ID + App Service managed identity."""

    name = "azure"
    hosts = ("*.vault.azure.net:443", "login.microsoftonline.com:443")

    def __init__(self) -> None:
        self.state = State(DEFAULT_VAULT)
        self.issuer: TokenIssuer | None = None
        self.app: KeyVaultApp | None = None
        self._servers: Servers | None = None
        self._header_key = _secrets.token_bytes(32)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, ctx: CloudContext) -> None:
        if self._servers is not None:
            return
        self.issuer = TokenIssuer()
        self.app = KeyVaultApp(self.state, self.issuer, ctx.faults, self._header_key, self.name)
        tls = ctx.ca.server_context("*.vault.azure.net", "login.microsoftonline.com")
        self._servers = Servers(self.app, tls)

    def stop(self) -> None:
        servers, self._servers = self._servers, None
        if servers is not None:
            servers.stop()

    def backend(self) -> tuple[str, int]:
        if self._servers is None:
            raise RuntimeError("the azure emulator is not running")
        return self._servers.tls_address

    # -- identities -----------------------------------------------------------------------
    def principal(self, identity: str | None = None) -> Principal:
        """The Entra principal of ``identity`` (None: the administrator), created if new."""
        return self.state.add_principal(identity or ADMIN_NAME)

    def env(self, identity: str | None = None) -> dict[str, str]:
        if self._servers is None:
            raise RuntimeError("the azure emulator is not running")
        site = identity or ADMIN_NAME
        env = {
            "VAULT_URL": f"https://{DEFAULT_VAULT}.vault.azure.net",
            "IDENTITY_ENDPOINT": self._servers.identity_url,
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
        inside ``DefaultAzureCredential``). The secret is an obviously fake demo value."""
        principal = self.principal(identity)
        return {
            "AZURE_TENANT_ID": TENANT_ID,
            "AZURE_CLIENT_ID": principal.client_id,
            "AZURE_CLIENT_SECRET": principal.client_secret,
        }

    def issue_token(
        self,
        identity: str | None = None,
        *,
        audience: str = "https://vault.azure.net",
        lifetime: int = 3600,
        tenant: str = TENANT_ID,
    ) -> str:
        """A token as Entra would issue it (for tests of expired or wrong-audience tokens)."""
        if self.issuer is None:
            raise RuntimeError("the azure emulator is not running")
        token, _ = self.issuer.issue(
            self.principal(identity), audience=audience, lifetime=lifetime, tenant=tenant
        )
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
        """
        state = self.state
        for ident in spec.identities.values():
            principal = state.add_principal(ident.name, admin=ident.admin)
            if ident.admin:
                vault = state.vault(DEFAULT_VAULT) or state.add_vault(DEFAULT_VAULT)
                vault.assign_role(principal.object_id, "Key Vault Secrets Officer")
        extra: dict[str, Any] = dict(spec.extra.get("azure", {}))
        for name, opts in dict(extra.get("vaults", {})).items():
            state.add_vault(name, str((opts or {}).get("permission_model", "rbac")))
        default = state.vault(DEFAULT_VAULT) or state.add_vault(DEFAULT_VAULT)
        for secret in spec.secrets:
            if not secret.for_cloud(self.name):
                continue
            value = secret.value
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            default.set(secret.name, value, tags=dict(secret.tags) or None)
            for reader in secret.readers:
                p = state.add_principal(reader)
                self._grant(default, p, "Key Vault Secrets User", ("get", "list"), secret.name)
            for writer in secret.writers:
                p = state.add_principal(writer)
                self._grant(
                    default, p, "Key Vault Secrets Officer", SECRET_PERMISSIONS, secret.name
                )
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

    def _vault(self, name: str | None) -> Any:
        vault = self.state.vault(name or DEFAULT_VAULT)
        if vault is None:
            vault = self.state.add_vault(name or DEFAULT_VAULT)
        return vault

    @staticmethod
    def _grant(vault: Any, principal: Principal, role: str, perms: Any, secret: str) -> None:
        if vault.permission_model == "access_policy":
            vault.set_policy(principal.object_id, perms)
        else:
            vault.assign_role(principal.object_id, role, secret)
