"""Seeding: one declarative form that creates identities, secrets and access rules in every
running emulator.

The short form says "dev reads dev secrets, prod reads prod secrets" in one line::

    cloud.seed({"secrets": {
        "dev-api-key":  {"value": "demo-not-a-real-key-dev",  "readers": ["dev-app"]},
        "prod-api-key": {"value": "demo-not-a-real-key-prod", "readers": ["prod-app"]},
    }})

Identities named in ``readers``/``writers`` are created implicitly; ``identities`` may list
more. A secret goes to every running cloud unless it names ``clouds``. A top-level section
named after a cloud (``"azure": {...}``) is passed to that emulator untouched, for what only
it has (extra vaults, regions, projects).

How a neutral identity name maps to each cloud (``dev-app`` as the example):

========  =================================================================================
Azure     a user-assigned managed identity; object/client ids are uuid5 of the name; the
          secret goes to vault ``guard-demo`` (``https://guard-demo.vault.azure.net``), an RBAC
          vault, with "Key Vault Secrets User" scoped to that one secret for readers and
          "Key Vault Secrets Officer" for writers (access policies are vault-wide, so they
          could not keep dev from prod; an ``azure`` section can still ask for them)
GCP       ``dev-app@guard-demo.iam.gserviceaccount.com`` in project ``guard-demo``;
          readers get ``roles/secretmanager.secretAccessor`` on the secret, writers
          ``roles/secretmanager.secretVersionManager``
AWS       IAM role ``arn:aws:iam::123456789012:role/dev-app`` in ``us-east-1``, whose
          identity policy allows ``secretsmanager:GetSecretValue`` (+ ``DescribeSecret``) on
          the secret's ARN for readers, ``PutSecretValue`` etc. for writers
Vault     KV v2 ``secret/<name>`` holding ``{"value": ...}``; an ACL policy ``dev-app``
          with ``read`` on it, and an AppRole ``dev-app`` bound to that policy
========  =================================================================================

The file form (``guardlib emulators up --seed FILE``) is the same mapping as JSON or TOML.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ADMIN = "admin"
DEFAULT_PROJECT = "guard-demo"  # GCP project id
DEFAULT_VAULT = "guard-demo"  # Azure Key Vault name
DEFAULT_REGION = "us-east-1"  # AWS region
DEFAULT_ACCOUNT = "123456789012"  # AWS account id (moto's default)
CLOUDS = ("azure", "gcp", "aws", "vault")

#: The course's standard seed: dev reads dev secrets, prod reads prod secrets, ops writes both.
#: Chapters and tests start from it (``{**DEV_PROD, "identities": [...]}`` adds identities).
DEV_PROD: dict[str, Any] = {
    "secrets": {
        "dev-api-key": {
            "value": "demo-not-a-real-key-dev",
            "readers": ["dev-app"],
            "writers": ["ops-app"],
        },
        "prod-api-key": {
            "value": "demo-not-a-real-key-prod",
            "readers": ["prod-app"],
            "writers": ["ops-app"],
        },
    },
}

#: The course's world for ``guardlib emulators up`` and chapters 11 and 12: DEV_PROD, plus
#: keyless deploys from CI (workload identity federation with the GitHub Actions issuer): a job
#: on the main branch of codehive/wallet may become ``prod-app``; a job in its ``dev``
#: environment may become ``dev-app``. A pull request matches neither. And two AWS KMS keys
#: (for SOPS files): ``alias/guard-dev``, which ``dev-app`` may decrypt with, and
#: ``alias/guard-prod``, which ``prod-app`` may; the administrator encrypts with both. The same
#: two keys in OpenBao's transit engine (``transit/keys/guard-dev``, ``guard-prod``), each
#: identity's policy allowing ``transit/decrypt`` with its own key only (vault/admin.py).
COURSE: dict[str, Any] = {
    **DEV_PROD,
    "aws": {
        "kms_keys": {
            "guard-dev": {"decrypt": ["dev-app"]},
            "guard-prod": {"decrypt": ["prod-app"]},
        },
    },
    "vault": {
        "transit_keys": {
            "guard-dev": {"decrypt": ["dev-app"]},
            "guard-prod": {"decrypt": ["prod-app"]},
        },
    },
    "trusts": [
        {"identity": "prod-app", "issuer": "github",
         "subject": "repo:codehive/wallet:ref:refs/heads/main"},
        {"identity": "dev-app", "issuer": "github",
         "subject": "repo:codehive/wallet:environment:dev"},
    ],
}  # fmt: skip

_IDENTITY_RE = re.compile(r"[a-z][a-z0-9-]{2,29}")  # fits a GCP service-account id and the rest


def is_identity_name(name: object) -> bool:
    """Whether ``name`` is a valid neutral identity name (3-30 of a-z, 0-9, '-', a letter
    first): what a cloud-specific seed section may name as an identity too."""
    return isinstance(name, str) and _IDENTITY_RE.fullmatch(name) is not None


class SeedError(ValueError):
    """A seed is malformed. The message names the field, never a secret value."""


@dataclasses.dataclass(frozen=True)
class IdentitySpec:
    name: str
    admin: bool = False


@dataclasses.dataclass(frozen=True)
class SecretSpec:
    name: str
    value: str | bytes = dataclasses.field(repr=False)
    readers: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    clouds: tuple[str, ...] | None = None  # None: every running cloud
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def for_cloud(self, cloud: str) -> bool:
        return self.clouds is None or cloud in self.clouds


@dataclasses.dataclass(frozen=True)
class TrustSpec:
    """Workload identity federation: a token from ``issuer`` whose ``sub`` matches ``subject``
    may become ``identity``. ``subject`` is exact, or ends in ``*`` to match a prefix (the one
    wildcard every cloud can express: IAM ``StringLike``, a CEL ``startsWith``, an OpenBao glob;
    Entra's federated credentials take exact subjects only, so Azure trusts exact ones only).
    ``audience`` None: each cloud's own default audience. ``clouds`` limits the trust to some
    clouds (a ``*`` subject cannot be trusted on Azure, so a pattern names the others)."""

    identity: str
    issuer: str = "github"  # "github" | "kubernetes"
    subject: str = ""
    audience: str | None = None
    clouds: tuple[str, ...] | None = None  # None: every running cloud

    def for_cloud(self, cloud: str) -> bool:
        return self.clouds is None or cloud in self.clouds

    @property
    def is_prefix(self) -> bool:
        return self.subject.endswith("*")

    def matches(self, subject: str) -> bool:
        if self.is_prefix:
            return subject.startswith(self.subject[:-1])
        return subject == self.subject


ISSUERS = ("github", "kubernetes")
#: what a trusted subject may contain: GitHub's and Kubernetes' subject characters, one
#: trailing '*' at most (no '?', no inner '*': each cloud's pattern language differs there)
_SUBJECT_RE = re.compile(r"[A-Za-z0-9_./:@-]{1,255}\*?")


#: what a GitHub subject pattern must start with: the exact owner and repository, then ':'
#: (GitHub's subjects are ``repo:OWNER/REPO:<context>``; owner and repository names are letters,
#: digits, '-', '_' and '.'). Without the ':' a pattern such as ``repo:codehive/wallet*`` would
#: also admit ``repo:codehive/wallet-evil:…``.
_GITHUB_PATTERN_HEAD = re.compile(r"repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:")
#: a Kubernetes subject pattern: the exact namespace (``system:serviceaccount:NS:…``)
_KUBERNETES_PATTERN_HEAD = re.compile(r"system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:")


def pattern_problem(issuer: str, subject: str) -> str | None:
    """Why a trusted subject pattern (one ending in ``*``) is too wide to seed, or None. A
    GitHub pattern must name an exact owner and repository before its ``*``
    (``repo:codehive/wallet:*`` is fine; ``r*``, ``repo:c*``, ``repo:codehive*``,
    ``repo:codehive/*`` and ``repo:codehive/wallet*`` would each admit other repositories,
    ``repo:codehive-evil/x`` among them); a Kubernetes pattern an exact namespace."""
    if not subject.endswith("*"):
        return None
    head = subject[:-1]
    if issuer == "kubernetes":
        if _KUBERNETES_PATTERN_HEAD.match(head):
            return None
        return (
            "a subject pattern must name at least a namespace: "
            "'system:serviceaccount:NAMESPACE:' before its '*'"
        )
    if _GITHUB_PATTERN_HEAD.match(head):
        return None
    return (
        "a subject pattern must name at least a repository: an exact owner and repository "
        "before its '*', as 'repo:OWNER/REPO:*' (e.g. 'repo:codehive/wallet:*'); "
        f"{subject[:64]!r} would also match other repositories"
    )


@dataclasses.dataclass(frozen=True)
class SeedSpec:
    identities: Mapping[str, IdentitySpec]
    secrets: tuple[SecretSpec, ...] = ()
    extra: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    trusts: tuple[TrustSpec, ...] = ()

    def only_for(self, cloud: str) -> SeedSpec:
        """This seed with only the trusts that apply to ``cloud`` (secrets say it themselves)."""
        kept = tuple(t for t in self.trusts if t.for_cloud(cloud))
        return self if kept == self.trusts else dataclasses.replace(self, trusts=kept)

    @classmethod
    def parse(cls, data: SeedSpec | Mapping[str, Any] | str | Path) -> SeedSpec:
        if isinstance(data, SeedSpec):
            return data
        if isinstance(data, (str, Path)):
            return cls.from_file(data)
        return cls.from_mapping(data)

    @classmethod
    def from_file(cls, path: str | Path) -> SeedSpec:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"cannot read seed file {path}: {exc.__class__.__name__}") from None
        try:
            if path.suffix == ".toml":
                import tomllib  # type: ignore[import-not-found,unused-ignore]

                data = tomllib.loads(text)
            else:
                data = json.loads(text)
        except ValueError as exc:
            # the parsers' messages quote positions, not values; keep only the position
            where = getattr(exc, "lineno", None)
            raise SeedError(
                f"seed file {path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}"
                + (f" (line {where})" if where else "")
            ) from None
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SeedSpec:
        if not isinstance(data, Mapping):
            raise SeedError("a seed is a mapping with 'identities' and/or 'secrets'")
        unknown = set(data) - {"identities", "secrets", "trusts", *CLOUDS}
        if unknown:
            raise SeedError(f"unknown seed section(s): {', '.join(sorted(unknown))}")
        identities: dict[str, IdentitySpec] = {}

        def add_identity(name: object, admin: bool = False, where: str = "identities") -> str:
            if not isinstance(name, str) or not _IDENTITY_RE.fullmatch(name):
                raise SeedError(
                    f"{where}: identity names are 3-30 characters of a-z, 0-9 and '-', "
                    "starting with a letter"
                )
            if name not in identities or admin:
                identities[name] = IdentitySpec(name, admin=admin or name == ADMIN)
            return name

        raw_ids = data.get("identities", [])
        if isinstance(raw_ids, Mapping):
            for name, opts in raw_ids.items():
                add_identity(name, bool((opts or {}).get("admin", False)))
        elif isinstance(raw_ids, (list, tuple)):
            for name in raw_ids:
                add_identity(name)
        else:
            raise SeedError("identities: a list of names, or a mapping of name to options")

        raw_secrets = data.get("secrets", {})
        if isinstance(raw_secrets, Mapping):
            items = [dict(v or {}, name=k) for k, v in raw_secrets.items()]
        elif isinstance(raw_secrets, (list, tuple)):
            items = [dict(v) for v in raw_secrets]
        else:
            raise SeedError("secrets: a mapping of name to options, or a list")
        secrets = []
        for item in items:
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise SeedError("secrets: every secret needs a name")
            where = f"secret {name!r}"
            unknown = set(item) - {"name", "value", "readers", "writers", "clouds", "tags"}
            if unknown:
                raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
            value = item.get("value")
            if not isinstance(value, (str, bytes)):
                raise SeedError(f"{where}: 'value' must be a string or bytes")
            readers = tuple(add_identity(r, where=where) for r in item.get("readers", ()))
            writers = tuple(add_identity(w, where=where) for w in item.get("writers", ()))
            clouds = item.get("clouds")
            if clouds is not None:
                clouds = tuple(clouds)
                bad = set(clouds) - set(CLOUDS)
                if bad:
                    raise SeedError(f"{where}: unknown cloud(s) {', '.join(sorted(bad))}")
            tags = item.get("tags", {})
            secrets.append(SecretSpec(name, value, readers, writers, clouds, dict(tags)))
        trusts = []
        raw_trusts = data.get("trusts", [])
        if not isinstance(raw_trusts, (list, tuple)):
            raise SeedError("trusts: a list of {identity, issuer, subject[, audience]}")
        for n, item in enumerate(raw_trusts):
            where = f"trusts[{n}]"
            if not isinstance(item, Mapping):
                raise SeedError(f"{where}: a mapping with identity, issuer and subject")
            unknown = set(item) - {"identity", "issuer", "subject", "audience", "clouds"}
            if unknown:
                raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
            identity = add_identity(item.get("identity"), where=where)
            if identity == ADMIN:
                raise SeedError(f"{where}: no token may become the administrator")
            issuer = item.get("issuer", "github")
            if issuer not in ISSUERS:
                raise SeedError(f"{where}: issuer is one of {', '.join(ISSUERS)}")
            subject = item.get("subject")
            if not isinstance(subject, str) or not _SUBJECT_RE.fullmatch(subject):
                raise SeedError(
                    f"{where}: subject is 1-255 characters of letters, digits and _ . / : @ -, "
                    "optionally ending in one '*'"
                )
            why = pattern_problem(issuer, subject)
            if why is not None:
                raise SeedError(f"{where}: {why}")
            audience = item.get("audience")
            if audience is not None and (
                not isinstance(audience, str)
                or not _SUBJECT_RE.fullmatch(audience)
                or audience.endswith("*")
            ):
                raise SeedError(f"{where}: audience is an exact string")
            clouds = item.get("clouds")
            if clouds is not None:
                if not isinstance(clouds, (list, tuple)) or not clouds:
                    raise SeedError(f"{where}: clouds is a non-empty list of cloud names")
                clouds = tuple(clouds)
                bad = set(clouds) - set(CLOUDS)
                if bad:
                    raise SeedError(f"{where}: unknown cloud(s) {', '.join(sorted(map(str, bad)))}")
            trusts.append(TrustSpec(identity, issuer, subject, audience, clouds))
        extra = {c: dict(data[c]) for c in CLOUDS if c in data}
        return cls(identities=identities, secrets=tuple(secrets), extra=extra, trusts=tuple(trusts))
