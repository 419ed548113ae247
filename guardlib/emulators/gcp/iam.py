"""Secret Manager's IAM roles and permissions, and how a policy decides.

Role contents follow https://cloud.google.com/secret-manager/docs/access-control (the
predefined roles); only the ``secretmanager.*`` permissions are modelled. A binding may sit on
the project or on a secret; a secret's effective policy is the union of both (IAM inheritance).
Conditional bindings are kept and returned but grant nothing here (no CEL evaluation).
"""

from __future__ import annotations

import dataclasses
import re

SECRETS = ("create", "delete", "get", "getIamPolicy", "list", "setIamPolicy", "update")
VERSIONS = ("access", "add", "destroy", "disable", "enable", "get", "list")
LOCATIONS = ("get", "list")
ALL_PERMISSIONS: frozenset[str] = frozenset(
    [f"secretmanager.secrets.{p}" for p in SECRETS]
    + [f"secretmanager.versions.{p}" for p in VERSIONS]
    + [f"secretmanager.locations.{p}" for p in LOCATIONS]
)

_VIEWER = frozenset(
    {
        "secretmanager.locations.get",
        "secretmanager.locations.list",
        "secretmanager.secrets.get",
        "secretmanager.secrets.getIamPolicy",
        "secretmanager.secrets.list",
        "secretmanager.versions.get",
        "secretmanager.versions.list",
    }
)

ROLES: dict[str, frozenset[str]] = {
    "roles/secretmanager.admin": ALL_PERMISSIONS,
    "roles/secretmanager.secretAccessor": frozenset({"secretmanager.versions.access"}),
    "roles/secretmanager.viewer": _VIEWER,
    "roles/secretmanager.secretVersionAdder": frozenset({"secretmanager.versions.add"}),
    "roles/secretmanager.secretVersionManager": frozenset(
        {f"secretmanager.versions.{p}" for p in ("add", "destroy", "disable", "enable", "get")}
        | {"secretmanager.versions.list"}
    ),
    # basic roles, as far as Secret Manager is concerned
    "roles/owner": ALL_PERMISSIONS,
    "roles/editor": ALL_PERMISSIONS - {"secretmanager.secrets.setIamPolicy"},
    "roles/viewer": _VIEWER - {"secretmanager.secrets.getIamPolicy"},
}

_MEMBER_RE = re.compile(
    r"^(allUsers|allAuthenticatedUsers|"
    r"(user|serviceAccount|group|domain|deleted:serviceAccount|deleted:user|deleted:group)"
    r":[^\s]+|principal(Set)?://[^\s]+)$"
)


def member_for(email: str) -> str:
    """The IAM member of a caller: a service account's email, or a workload identity pool
    principal (``principal://…``, a federated token's caller) as it is."""
    if email.startswith("principal://"):
        return email
    return f"serviceAccount:{email}"


def valid_member(member: str) -> bool:
    return bool(_MEMBER_RE.match(member))


@dataclasses.dataclass
class Binding:
    role: str
    members: set[str]
    condition: bytes = b""  # a serialized google.type.Expr; non-empty: grants nothing here


@dataclasses.dataclass
class Policy:
    bindings: list[Binding] = dataclasses.field(default_factory=list)
    version: int = 1
    etag: bytes = b"ACAB"  # base64 of 0x00 0x00 0x00..., the etag of an empty policy

    def grant(self, role: str, member: str) -> None:
        for binding in self.bindings:
            if binding.role == role and not binding.condition:
                binding.members.add(member)
                return
        self.bindings.append(Binding(role, {member}))

    def permissions_of(self, member: str) -> set[str]:
        out: set[str] = set()
        for binding in self.bindings:
            if binding.condition:
                continue
            if (
                member in binding.members
                or "allUsers" in binding.members
                or ("allAuthenticatedUsers" in binding.members)
            ):
                out |= ROLES.get(binding.role, frozenset())
        return out
