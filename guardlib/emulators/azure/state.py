"""The in-memory model of Key Vault: vaults, secrets and their versions, deleted secrets,
and the two permission models (access policies, Azure RBAC).

Secret names are 1-127 characters of ``0-9a-zA-Z-`` (matched in full: no trailing newline)
and values go up to 25 KB, as on Azure.
Deletion is soft (recoverable for 90 days) and completes at once: the SDK's delete/recover
pollers then finish on their first poll.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Iterable

from ..kit import CredentialBook
from . import errors
from .federation import FederatedCredential
from .identity import ADMIN_NAME, RESOURCE_GROUP, SUBSCRIPTION_ID, Principal

#: always used with ``fullmatch``: ``$`` would accept a trailing newline
NAME_RE = re.compile(r"[0-9a-zA-Z-]{1,127}")
VERSION_RE = re.compile(r"[0-9a-zA-Z]{1,64}")
VAULT_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]")
MAX_VALUE_BYTES = 25 * 1024
MAX_TAGS = 15
MAX_CONTENT_TYPE = 255
RECOVERABLE_DAYS = 90
RECOVERY_LEVEL = "Recoverable+Purgeable"

#: access-policy secret permissions (what ``az keyvault set-policy --secret-permissions`` takes)
SECRET_PERMISSIONS = ("get", "list", "set", "delete", "recover", "backup", "restore", "purge")

#: Key Vault operation -> (access-policy permission, RBAC data action)
OPERATIONS: dict[str, tuple[str, str]] = {
    "get": ("get", "Microsoft.KeyVault/vaults/secrets/getSecret/action"),
    "list": ("list", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
    "set": ("set", "Microsoft.KeyVault/vaults/secrets/setSecret/action"),
    "update": ("set", "Microsoft.KeyVault/vaults/secrets/setSecret/action"),
    "delete": ("delete", "Microsoft.KeyVault/vaults/secrets/delete"),
    # REST reference: "This operation requires the secrets/list permission."
    "get_deleted": ("list", "Microsoft.KeyVault/vaults/deletedSecrets/read"),
    "list_deleted": ("list", "Microsoft.KeyVault/vaults/deletedSecrets/read"),
    "recover": ("recover", "Microsoft.KeyVault/vaults/deletedSecrets/recover/action"),
    "purge": ("purge", "Microsoft.KeyVault/vaults/deletedSecrets/delete"),
    "backup": ("backup", "Microsoft.KeyVault/vaults/secrets/backup/action"),
    "restore": ("restore", "Microsoft.KeyVault/vaults/secrets/restore/action"),
}

#: built-in roles (data actions for secrets only; ``*`` is a wildcard as in Azure)
ROLES: dict[str, tuple[str, ...]] = {
    "Key Vault Administrator": (
        "Microsoft.KeyVault/vaults/secrets/*",
        "Microsoft.KeyVault/vaults/deletedSecrets/*",
    ),
    "Key Vault Secrets Officer": (
        "Microsoft.KeyVault/vaults/secrets/*",
        "Microsoft.KeyVault/vaults/deletedSecrets/*",
    ),
    "Key Vault Secrets User": (
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ),
    "Key Vault Reader": ("Microsoft.KeyVault/vaults/secrets/readMetadata/action",),
}


def _allows(pattern: str, action: str) -> bool:
    if pattern.endswith("/*"):
        return action.startswith(pattern[:-1])
    return pattern == action


@dataclasses.dataclass
class Version:
    version: str
    value: str = dataclasses.field(repr=False)
    content_type: str | None = None
    tags: dict[str, str] | None = None
    enabled: bool = True
    not_before: int | None = None
    expires: int | None = None
    created: int = 0
    updated: int = 0


@dataclasses.dataclass
class Secret:
    name: str
    versions: dict[str, Version] = dataclasses.field(default_factory=dict)
    latest: str = ""
    deleted_date: int | None = None  # set while soft-deleted

    def current(self) -> Version:
        return self.versions[self.latest]


@dataclasses.dataclass
class RoleAssignment:
    object_id: str
    role: str
    secret: str | None = None  # None: the whole vault


@dataclasses.dataclass
class Vault:
    name: str
    #: "rbac" (Azure's default for new vaults) or "access_policy"
    permission_model: str = "rbac"
    secrets: dict[str, Secret] = dataclasses.field(default_factory=dict)
    deleted: dict[str, Secret] = dataclasses.field(default_factory=dict)
    access_policies: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    role_assignments: list[RoleAssignment] = dataclasses.field(default_factory=list)
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock, repr=False)

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers/"
            f"microsoft.keyvault/vaults/{self.name}"
        )

    # -- access control -------------------------------------------------------------------
    def authorize(self, principal: Principal, operation: str, secret: str | None) -> None:
        """Raise the real 403 unless ``principal`` may do ``operation`` (on ``secret``)."""
        permission, action = OPERATIONS[operation]
        if self.permission_model == "access_policy":
            if principal.admin or permission in self.access_policies.get(principal.object_id, ()):
                return
            raise errors.access_policy_denied(principal.caller(), permission, self.name)
        if principal.admin:
            return
        for assignment in self.role_assignments:
            if assignment.object_id != principal.object_id:
                continue
            if (
                assignment.secret is not None
                and assignment.secret.lower() != (secret or "").lower()
            ):
                continue
            if any(_allows(p, action) for p in ROLES.get(assignment.role, ())):
                return
        resource = self.resource_id + (f"/secrets/{secret}" if secret else "")
        raise errors.rbac_denied(principal.caller(), action, resource, self.name)

    def set_policy(self, object_id: str, permissions: Iterable[str]) -> None:
        perms = {p.lower() for p in permissions}
        if "all" in perms:
            perms = set(SECRET_PERMISSIONS)
        unknown = perms - set(SECRET_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown secret permission(s): {', '.join(sorted(unknown))}")
        self.access_policies.setdefault(object_id, set()).update(perms)

    def assign_role(self, object_id: str, role: str, secret: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
        self.role_assignments.append(RoleAssignment(object_id, role, secret))

    # -- secrets --------------------------------------------------------------------------
    def _key(self, name: str) -> str:
        return secret_key(name)

    def get(self, name: str, version: str = "") -> tuple[Secret, Version]:
        key = self._key(name)
        if version and not VERSION_RE.fullmatch(version):
            raise errors.bad_parameter(
                f"The request URI contains an invalid version: {version[:64]!r}"
            )
        with self.lock:
            secret = self.secrets.get(key)
            if secret is None:
                raise errors.secret_not_found(name, version)
            if not version:
                return secret, secret.current()
            found = secret.versions.get(version.lower())
            if found is None:
                raise errors.secret_not_found(name, version)
            return secret, found

    def set(
        self,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        enabled: bool = True,
        not_before: int | None = None,
        expires: int | None = None,
    ) -> tuple[Secret, Version]:
        key = self._key(name)
        if not isinstance(value, str):
            raise errors.bad_parameter("The secret value must be a string.")
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise errors.bad_parameter(
                f"The secret value exceeds the maximum allowed size of {MAX_VALUE_BYTES} bytes."
            )
        _check_metadata(content_type, tags)
        now = int(time.time())
        version = Version(
            uuid.uuid4().hex, value, content_type, dict(tags) if tags else None, enabled,
            not_before, expires, now, now,
        )  # fmt: skip
        with self.lock:
            if key in self.deleted:
                raise errors.deleted_but_recoverable(name)
            secret = self.secrets.get(key)
            if secret is None:
                secret = self.secrets[key] = Secret(name)
            secret.versions[version.version] = version
            secret.latest = version.version
            return secret, version

    def update(self, name: str, version: str, changes: dict[str, object]) -> tuple[Secret, Version]:
        _check_metadata(changes.get("content_type"), changes.get("tags"))
        with self.lock:
            secret, found = self.get(name, version)
            for field, value in changes.items():
                setattr(found, field, value)
            found.updated = int(time.time())
            return secret, found

    def list_names(self) -> list[Secret]:
        with self.lock:
            return sorted(self.secrets.values(), key=lambda s: s.name.lower())

    def versions(
        self, name: str, missing: list[tuple[Secret, Version]] | None = None
    ) -> list[tuple[Secret, Version]]:
        """Every version of ``name``, oldest first; ``missing`` (if given) when there is no
        such secret, else SecretNotFound."""
        if missing is not None:
            with self.lock:
                if self.secrets.get(self._key(name)) is None:
                    return missing
        secret, _ = self.get(name)
        with self.lock:
            return [(secret, v) for v in sorted(secret.versions.values(), key=lambda v: v.version)]

    def delete(self, name: str) -> Secret:
        key = self._key(name)
        with self.lock:
            secret = self.secrets.pop(key, None)
            if secret is None:
                raise errors.secret_not_found(name)
            secret.deleted_date = int(time.time())
            self.deleted[key] = secret
            return secret

    def get_deleted(self, name: str) -> Secret:
        key = self._key(name)
        with self.lock:
            secret = self.deleted.get(key)
            if secret is None:
                raise errors.deleted_secret_not_found(name)
            return secret

    def list_deleted(self) -> list[Secret]:
        with self.lock:
            return sorted(self.deleted.values(), key=lambda s: s.name.lower())

    def recover(self, name: str) -> Secret:
        key = self._key(name)
        with self.lock:
            secret = self.deleted.pop(key, None)
            if secret is None:
                raise errors.deleted_secret_not_found(name)
            secret.deleted_date = None
            self.secrets[key] = secret
            return secret

    def purge(self, name: str) -> None:
        key = self._key(name)
        with self.lock:
            if self.deleted.pop(key, None) is None:
                raise errors.deleted_secret_not_found(name)

    def restore(self, secret: Secret) -> Secret:
        key = self._key(secret.name)
        with self.lock:
            if key in self.secrets or key in self.deleted:
                raise errors.already_exists(secret.name)
            self.secrets[key] = secret
            return secret


def check_secret_name(name: str) -> str | None:
    """Why Key Vault cannot hold a secret called ``name`` (None: it can)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return "invalid name: Key Vault secret names are 1-127 characters of 0-9, a-z, A-Z and '-'"
    return None


def secret_key(name: str) -> str:
    """The store key of a valid secret name, else the real 400."""
    if check_secret_name(name) is not None:
        raise errors.invalid_name(name)
    return name.lower()  # Key Vault object names are case-insensitive


def _check_metadata(content_type: object, tags: object) -> None:
    if content_type is not None and not isinstance(content_type, str):
        raise errors.bad_parameter("The content type must be a string.")
    if content_type is not None and len(content_type) > MAX_CONTENT_TYPE:
        raise errors.bad_parameter(
            f"Content type exceeds the maximum length of {MAX_CONTENT_TYPE} characters."
        )
    if tags is not None:
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise errors.bad_parameter("Tags must be a map of strings to strings.")
        if any(len(k) > 512 or len(v) > 256 for k, v in tags.items()):
            raise errors.bad_parameter(
                "Tag names are at most 512 characters and tag values at most 256."
            )
        if len(tags) > MAX_TAGS:
            raise errors.bad_parameter(f"The number of tags exceeds the maximum of {MAX_TAGS}.")


class State:
    """Every vault and identity of the emulated subscription/tenant."""

    def __init__(self, default_vault: str, credentials: CredentialBook | None = None) -> None:
        self.default_vault = default_vault
        #: the ids and client secrets of this start (kept across ``reset``)
        self.credentials = credentials if credentials is not None else CredentialBook()
        self.lock = threading.Lock()
        self.vaults: dict[str, Vault] = {}
        self.principals: dict[str, Principal] = {}
        #: principal name -> its federated identity credentials (``federation.py``)
        self.federated: dict[str, list[FederatedCredential]] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.vaults = {self.default_vault: Vault(self.default_vault)}
            admin = Principal.minted(self.credentials, ADMIN_NAME, admin=True)
            self.principals = {admin.name: admin}
            self.federated = {}

    def vault(self, name: str) -> Vault | None:
        return self.vaults.get(name.lower())

    def add_vault(self, name: str, permission_model: str = "rbac") -> Vault:
        if not isinstance(name, str) or not VAULT_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid vault name {name!r}: 3-24 letters, digits and '-'")
        if permission_model not in ("rbac", "access_policy"):
            raise ValueError("permission_model is 'rbac' or 'access_policy'")
        with self.lock:
            vault = self.vaults.get(name.lower())
            if vault is None:
                vault = self.vaults[name.lower()] = Vault(name.lower(), permission_model)
            else:
                vault.permission_model = permission_model
            return vault

    def add_principal(self, name: str, admin: bool = False) -> Principal:
        with self.lock:
            principal = self.principals.get(name)
            if principal is None or (admin and not principal.admin):
                principal = Principal.minted(self.credentials, name, admin=admin)
                self.principals[name] = principal
            return principal

    def add_federated(self, name: str, credential: FederatedCredential) -> None:
        """Add a federated identity credential to principal ``name`` (once)."""
        with self.lock:
            known = self.federated.setdefault(name, [])
            if credential not in known:
                known.append(credential)

    def federated_of(self, principal: Principal) -> list[FederatedCredential]:
        with self.lock:
            return list(self.federated.get(principal.name, ()))

    def by_object_id(self, object_id: str) -> Principal | None:
        for principal in list(self.principals.values()):
            if principal.object_id == object_id:
                return principal
        return None

    def by_client_id(self, client_id: str) -> Principal | None:
        wanted = client_id.lower()
        for principal in list(self.principals.values()):
            if principal.client_id == wanted:
                return principal
        return None
