"""The in-memory model: moto's own backends (IAM, STS, Secrets Manager), plus what moto lacks.

moto stays the store, so IAM and STS calls made by user code (``create_role``,
``assume_role``, ...) and the seeded identities live in one place. This module adds:

- the administrator (IAM user ``admin``) and the seeded roles' sessions, whose credentials are
  minted at random once per emulator start (the kit's :class:`CredentialBook`), never derived
  from a name or a constant: reachable only through ``cloud.env(identity)``, and stable across
  ``reset()`` + re-seed within one start;
- caller lookup by access key id (user keys, or role sessions with their session token), the
  session's role resolved by its full ARN (path and account included);
- the version-stage invariants moto breaks (one ``AWSCURRENT``, ``get_secret_value`` follows it);
- determinism of *names*: moto's random generator is reseeded at every reset, so the same
  sequence of calls yields the same ARN suffixes and version ids (notebooks can print them).
  Nothing secret comes from that generator: keys the layer hands out are the book's, and the
  secret of an access key made through ``iam:CreateAccessKey`` is replaced by a random one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..kit import CredentialBook, apply_seed, aws_access_key_id, aws_secret_access_key, token
from ..seed import ADMIN, DEFAULT_ACCOUNT, DEFAULT_REGION, SeedError
from . import errors, protocol
from .protocol import NAME_RE

if TYPE_CHECKING:
    from ..seed import IdentitySpec, SecretSpec, SeedSpec

PARTITION = "aws"
RANDOM_SEED = 20240917
ADMIN_USER = ADMIN
SESSION_NAME = "guardlib"
SESSION_SECONDS = 12 * 3600  # the longest a role session may last
SEED_POLICY = "guardlib-seed"

ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)

#: what a seeded reader / writer may do on the secret's ARN (seed.py docstring)
READER_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
WRITER_ACTIONS = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:ListSecretVersionIds",
]


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who signed a request."""

    arn: str  # user ARN, or assumed-role session ARN
    secret_key: str
    user: str | None = None
    role_arn: str | None = None  # the full ARN (path included) of a session's role


class AwsState:
    name = "aws"  # the kit's SeedHooks

    def __init__(self, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
        self.account = account
        self.region = region
        #: the credentials of this start (``new_start`` forgets them)
        self.book = CredentialBook()
        #: serialises every Secrets Manager call: moto's model is not thread-safe
        self.lock = threading.RLock()
        #: identity -> {"read": set(arn), "write": set(arn)} from seeds
        self.grants: dict[str, dict[str, set[str]]] = {}
        self.admins: set[str] = set()

    # -- moto's backends ---------------------------------------------------------------------
    @property
    def iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account][PARTITION]

    @property
    def sts(self) -> Any:
        from moto.sts.models import sts_backends

        return sts_backends[self.account][PARTITION]

    def secrets(self, region: str | None = None) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account][region or self.region]

    def reset(self) -> None:
        from moto.iam.models import iam_backends
        from moto.moto_api._internal import mock_random
        from moto.secretsmanager.models import secretsmanager_backends
        from moto.sts.models import sts_backends

        with self.lock:
            for backends in (iam_backends, sts_backends, secretsmanager_backends):
                if self.account in backends:
                    backends[self.account].reset()
            mock_random.seed(RANDOM_SEED)
            self.grants.clear()
            self.admins.clear()
            self._create_admin()

    def new_start(self) -> None:
        """Forget every credential: a new start hands out new ones."""
        self.book.clear()

    def admin_credentials(self) -> tuple[str, str]:
        key_id = self.book.get("admin-key", ADMIN_USER, lambda: aws_access_key_id("AKIA"))
        secret = self.book.get("admin-secret", ADMIN_USER, aws_secret_access_key)
        return key_id, secret

    def _create_admin(self) -> None:
        from moto.iam.models import AccessKey

        iam = self.iam
        iam.create_user(self.region, ADMIN_USER)
        iam.put_user_policy(ADMIN_USER, "AdministratorAccess", ADMIN_POLICY)
        key = AccessKey(ADMIN_USER, prefix="AKIA", account_id=self.account)  # type: ignore[abstract]
        key.access_key_id, key.secret_access_key = self.admin_credentials()
        iam.get_user(ADMIN_USER).access_keys.append(key)
        iam.access_keys[key.physical_resource_id] = key

    # -- callers -----------------------------------------------------------------------------
    def caller(self, access_key_id: str, session_token: str | None) -> Caller:
        """The identity behind an access key id (raises UnrecognizedClientException)."""
        for session in self.sts.assumed_roles:
            if session.access_key_id == access_key_id:
                if session_token != session.session_token:
                    raise errors.unrecognized_client()
                expires = session.expiration
                if expires.tzinfo is None:
                    expires = expires.replace(tzinfo=datetime.timezone.utc)
                if expires < datetime.datetime.now(datetime.timezone.utc):
                    raise errors.expired_token()
                return Caller(
                    arn=session.arn,
                    secret_key=session.secret_access_key,
                    role_arn=session.role_arn,
                )
        if session_token:
            raise errors.unrecognized_client()
        for user in self.iam.users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key_id and key.status == "Active":
                    return Caller(arn=user.arn, secret_key=key.secret_access_key, user=user.name)
        raise errors.unrecognized_client()

    def identity_policies(self, caller: Caller) -> list[str]:
        iam = self.iam
        docs: list[str] = []
        if caller.user is not None:
            user = iam.users.get(caller.user)
            if user is None:
                return docs
            docs.extend(user.policies.values())
            docs.extend(_managed(p) for p in user.managed_policies.values())
            for group in iam.groups.values():
                if user in group.users:
                    docs.extend(group.policies.values())
                    docs.extend(_managed(p) for p in group.managed_policies.values())
        elif caller.role_arn is not None:
            role = self.role_by_arn(caller.role_arn)
            if role is None:
                return docs
            docs.extend(role.policies.values())
            docs.extend(_managed(p) for p in role.managed_policies.values())
        return docs

    # -- identities --------------------------------------------------------------------------
    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{name}"

    def role_by_arn(self, arn: str) -> Any:
        """The role whose full ARN (account, path, name) is ``arn``, or None."""
        return next((r for r in self.iam.roles.values() if r.arn == arn), None)

    def ensure_role(self, name: str) -> None:
        iam = self.iam
        if any(r.name == name for r in iam.roles.values()):
            return
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(
            role_name=name,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description="seeded by guardlib",
            tags=[],
            max_session_duration=str(SESSION_SECONDS),
        )

    def role_credentials(self, name: str) -> tuple[str, str, str]:
        """(access key id, secret, token) of the seeded role ``name``'s session in this start,
        minted at random the first time. For a role that does not exist (yet) these are
        credentials of nothing: AWS answers UnrecognizedClientException, until a seed creates
        the role, when the very same credentials start to work."""
        key_id = self.book.get("session-key", name, aws_access_key_id)
        secret = self.book.get("session-secret", name, aws_secret_access_key)
        session_token = self.book.get("session-token", name, lambda: token(96))
        for session in self.sts.assumed_roles:
            if session.access_key_id == key_id:
                return key_id, secret, session_token
        if self.role_by_arn(self.role_arn(name)) is None:
            return key_id, secret, session_token
        session = self.sts.assume_role(
            region_name=self.region,
            role_session_name=SESSION_NAME,
            role_arn=self.role_arn(name),
            policy=None,
            duration=SESSION_SECONDS,
            external_id=None,
        )
        session.access_key_id = session.access_key.access_key_id = key_id
        session.secret_access_key = session.access_key.secret_access_key = secret
        session.session_token = session_token
        return key_id, secret, session_token

    def randomise_access_key(self, key_id: str) -> str | None:
        """Give the IAM access key ``key_id`` a random secret (moto draws it from its seeded
        generator, so it could be computed). Returns the new secret, or None."""
        for user in self.iam.users.values():
            for key in user.access_keys:
                if key.access_key_id == key_id:
                    key.secret_access_key = aws_secret_access_key()
                    secret: str = key.secret_access_key
                    return secret
        return None

    # -- seeding (the kit's SeedHooks) ------------------------------------------------------
    def check_secret_name(self, name: str) -> str | None:
        if NAME_RE.fullmatch(name):
            return None
        return errors.MSG_BAD_NAME

    def add_identity(self, identity: IdentitySpec) -> None:
        if identity.name == ADMIN:
            return
        self.ensure_role(identity.name)
        self.grants.setdefault(identity.name, {"read": set(), "write": set()})
        if identity.admin:
            self.admins.add(identity.name)

    def put_secret(self, secret: SecretSpec) -> None:
        self._seed_secret(self.secrets(), secret.name, secret.value, secret.tags)

    def grant_read(self, secret: SecretSpec, identity: str) -> None:
        if identity != ADMIN:
            self.grants[identity]["read"].add(self.secrets().secrets[secret.name].arn)

    def grant_write(self, secret: SecretSpec, identity: str) -> None:
        if identity != ADMIN:
            self.grants[identity]["write"].add(self.secrets().secrets[secret.name].arn)

    def apply_seed(self, spec: SeedSpec) -> None:
        extra = dict(spec.extra.get("aws", {}))
        unknown = set(extra) - {"resource_policies"}
        if unknown:
            raise SeedError(f"aws: unknown seed field(s) {', '.join(sorted(unknown))}")
        policies = {}
        for name, document in dict(extra.get("resource_policies", {})).items():
            text = document if isinstance(document, str) else json.dumps(document)
            try:
                protocol.check_policy_document(text)
            except errors.AwsError as exc:
                raise SeedError(f"aws: resource policy of {name!r}: {exc.message}") from None
            policies[name] = text
        with self.lock:
            apply_seed(self, spec)
            backend = self.secrets()
            for name, text in policies.items():
                backend.put_resource_policy(name, text)
            for name in self.grants:
                self._write_seed_policy(name)
                self.role_credentials(name)  # open the role's session

    def _seed_secret(self, backend: Any, name: str, value: str | bytes, tags: Any) -> str:
        string = value if isinstance(value, str) else None
        binary = None
        if isinstance(value, bytes):
            import base64

            binary = base64.b64encode(value).decode()
        existing = backend.secrets.get(name)
        if existing is None:
            backend.create_secret(
                name=name,
                secret_string=string,
                secret_binary=binary,
                description="",
                tags=[{"Key": k, "Value": v} for k, v in dict(tags).items()],
                kms_key_id=None,
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        else:
            current = existing.versions.get(existing.default_version_id or "", {})
            if current.get("secret_string") != string or current.get("secret_binary") != binary:
                backend.put_secret_value(name, string, binary, None, ["AWSCURRENT"])
        arn: str = backend.secrets[name].arn
        return arn

    def _write_seed_policy(self, name: str) -> None:
        grant = self.grants[name]
        statements: list[dict[str, Any]] = []
        if name in self.admins:
            statements.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        if grant["read"]:
            statements.append(
                {
                    "Sid": "ReadSeededSecrets",
                    "Effect": "Allow",
                    "Action": READER_ACTIONS,
                    "Resource": sorted(grant["read"]),
                }
            )
        if grant["write"]:
            statements.append(
                {
                    "Sid": "WriteSeededSecrets",
                    "Effect": "Allow",
                    "Action": WRITER_ACTIONS,
                    "Resource": sorted(grant["write"]),
                }
            )
        if statements:
            document = json.dumps({"Version": "2012-10-17", "Statement": statements})
            self.iam.put_role_policy(name, SEED_POLICY, document)

    # -- version stages ----------------------------------------------------------------------
    def normalise(self, secret_ids: Iterable[str], region: str | None = None) -> None:
        """Restore AWS's invariants after moto changed stages: each label on at most one
        version, and the version moto serves by default is the one labelled AWSCURRENT."""
        backend = self.secrets(region)
        for secret_id in secret_ids:
            secret = backend.secrets.get(secret_id) if secret_id else None
            if secret is None or not hasattr(secret, "set_default_version_id"):
                continue
            current = [
                vid for vid, v in secret.versions.items() if "AWSCURRENT" in v["version_stages"]
            ]
            if len(current) > 1:  # keep the newest holder of the label
                keep = max(current, key=lambda vid: secret.versions[vid]["createdate"])
                keep = secret.default_version_id if secret.default_version_id in current else keep
                for vid in current:
                    if vid != keep:
                        secret.versions[vid]["version_stages"].remove("AWSCURRENT")
                current = [keep]
            if current:
                secret.set_default_version_id(current[0])


def _managed(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            document: str = version.document
            return document
    return "{}"
