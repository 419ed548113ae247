"""Set up and wipe the dev server through its HTTP API, as the root token.

Layout (seed.py docstring): KV v2 ``secret/<name>`` holding ``{"value": ...}``; an ACL policy per
identity (``read`` on what it reads; ``create``/``update``/``read`` on what it writes); an AppRole
per identity, bound to that policy, with a fixed role id and secret id so an applied
environment stays valid across reset + re-seed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from ..seed import ADMIN, SeedError, SeedSpec

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
BUILTIN_POLICIES = {"root", "default"}


class VaultApiError(RuntimeError):
    def __init__(self, status: int, path: str, errors: list[str]) -> None:
        super().__init__(f"OpenBao {status} on {path}: {'; '.join(errors) or 'no detail'}")
        self.status = status


def fixed_uuid(kind: str, name: str) -> str:
    h = hashlib.sha256(f"guardlib-vault-{kind}-{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class Admin:
    def __init__(self, addr: str, token: str) -> None:
        self.addr = addr
        self.token = token
        #: identity -> {"read": set(name), "write": set(name)}
        self.grants: dict[str, dict[str, set[str]]] = {}

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.addr}/v1/{path}", data=data, method=method)  # noqa: S310
        req.add_header("X-Vault-Token", token or self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if method == "LIST" and exc.code == 404:
                return {}
            try:
                errs = json.loads(exc.read() or b"{}").get("errors", [])
            except ValueError:
                errs = []
            raise VaultApiError(exc.code, path, errs) from None
        result: dict[str, Any] = json.loads(raw) if raw else {}
        return result

    def setup(self) -> None:
        mounts = self.request("GET", "sys/auth").get("data", {})
        if "approle/" not in mounts:
            self.request("POST", "sys/auth/approle", {"type": "approle"})

    # -- seeding -----------------------------------------------------------------------------
    def apply_seed(self, spec: SeedSpec) -> None:
        extra = dict(spec.extra.get("vault", {}))
        if extra:
            raise SeedError(f"vault: unknown seed field(s) {', '.join(sorted(extra))}")
        for ident in spec.identities.values():
            if ident.name != ADMIN:
                self.grants.setdefault(ident.name, {"read": set(), "write": set(), "admin": set()})
                if ident.admin:
                    self.grants[ident.name]["admin"].add("*")
        for secret in spec.secrets:
            if not secret.for_cloud("vault"):
                continue
            value = secret.value
            if isinstance(value, bytes):  # KV holds JSON: bytes go in as base64 text
                value = base64.b64encode(value).decode()
            self.request("POST", f"secret/data/{secret.name}", {"data": {"value": value}})
            for reader in secret.readers:
                if reader != ADMIN:
                    self.grants[reader]["read"].add(secret.name)
            for writer in secret.writers:
                if writer != ADMIN:
                    self.grants[writer]["write"].add(secret.name)
        for name in self.grants:
            self._write_identity(name)

    def _write_identity(self, name: str) -> None:
        grant = self.grants[name]
        rules = []
        if grant["admin"]:
            rules.append('path "*" {\n  capabilities = ["create", "read", "update", "delete", '
                         '"list", "sudo"]\n}')  # fmt: skip
        for secret in sorted(grant["read"] - grant["write"]):
            rules.append(f'path "secret/data/{secret}" {{\n  capabilities = ["read"]\n}}')
        for secret in sorted(grant["write"]):
            rules.append(
                f'path "secret/data/{secret}" {{\n  capabilities = ["create", "update", "read"]\n}}'
            )
        for secret in sorted(grant["read"] | grant["write"]):
            rules.append(f'path "secret/metadata/{secret}" {{\n  capabilities = ["read"]\n}}')
        policy = "\n".join(rules) or "# no access yet\n"
        self.request("PUT", f"sys/policies/acl/{name}", {"policy": policy})
        self.request("POST", f"auth/approle/role/{name}", {"token_policies": [name]})
        self.request(
            "POST", f"auth/approle/role/{name}/role-id", {"role_id": fixed_uuid("role", name)}
        )
        secret_id = fixed_uuid("secret", name)
        listed = self.request("LIST", f"auth/approle/role/{name}/secret-id")
        if not listed.get("data", {}).get("keys"):
            self.request(
                "POST", f"auth/approle/role/{name}/custom-secret-id", {"secret_id": secret_id}
            )

    def approle(self, name: str) -> tuple[str, str]:
        """(role id, secret id) of an identity; for one never seeded, an AppRole login with
        them fails (400 invalid role or secret ID), as it would against a real server."""
        return fixed_uuid("role", name), fixed_uuid("secret", name)

    def login(self, name: str) -> str:
        role_id, secret_id = self.approle(name)
        out = self.request(
            "POST", "auth/approle/login", {"role_id": role_id, "secret_id": secret_id}
        )
        token: str = out["auth"]["client_token"]
        return token

    # -- reset -------------------------------------------------------------------------------
    def reset(self) -> None:
        self._wipe_kv("")
        for role in self.request("LIST", "auth/approle/role").get("data", {}).get("keys", []):
            self.request("DELETE", f"auth/approle/role/{role}")
        for policy in self.request("LIST", "sys/policies/acl").get("data", {}).get("keys", []):
            if policy not in BUILTIN_POLICIES:
                self.request("DELETE", f"sys/policies/acl/{policy}")
        self.grants.clear()

    def _wipe_kv(self, prefix: str) -> None:
        keys = self.request("LIST", f"secret/metadata/{prefix}").get("data", {}).get("keys", [])
        for key in keys:
            if key.endswith("/"):
                self._wipe_kv(prefix + key)
            else:
                self.request("DELETE", f"secret/metadata/{prefix}{key}")
