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
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..kit import CredentialBook, apply_seed, aws_access_key_id, aws_secret_access_key, token
from ..seed import ADMIN, DEFAULT_ACCOUNT, DEFAULT_REGION, IdentitySpec, SeedError, is_identity_name
from . import errors, protocol
from .protocol import NAME_RE

if TYPE_CHECKING:
    from ..seed import SecretSpec, SeedSpec, TrustSpec

PARTITION = "aws"
RANDOM_SEED = 20240917
ADMIN_USER = ADMIN
SESSION_NAME = "guardlib"
SESSION_SECONDS = 12 * 3600  # the longest a role session may last
SEED_POLICY = "guardlib-seed"
#: the audience aws-actions/configure-aws-credentials asks GitHub for, and the client id
#: IAM's OIDC provider for GitHub is created with (GitHub's "Configuring OpenID Connect in
#: Amazon Web Services")
WEB_IDENTITY_AUDIENCE = "sts.amazonaws.com"

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
    #: the session policy passed to AssumeRole* (the session may do only what it allows too)
    session_policy: str | None = None


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
        #: the offline OIDC issuers (``oidc.OidcIssuers``) whose tokens STS verifies, and the
        #: local CA (for the providers' thumbprints); set by the emulator at start
        self.oidc: Any = None
        self.ca: Any = None
        #: the clock web identity tokens are checked against (tests move it forward)
        self.clock: Callable[[], float] = time.time

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

    def serves_region(self, service: str, region: str) -> bool:
        """Whether ``region`` is one of the service's Regions (moto's backends list the ones
        botocore's endpoints name)."""
        if service == "kms":
            from moto.kms.models import kms_backends

            return region in kms_backends[self.account]
        from moto.secretsmanager.models import secretsmanager_backends

        return region in secretsmanager_backends[self.account]

    def reset(self) -> None:
        from moto.iam.models import iam_backends
        from moto.moto_api._internal import mock_random
        from moto.secretsmanager.models import secretsmanager_backends
        from moto.sts.models import sts_backends

        with self.lock:
            stores: list[Any] = [iam_backends, sts_backends, secretsmanager_backends]
            if "moto.kms.models" in sys.modules:  # imported at the first KMS call or key seed
                stores.append(sys.modules["moto.kms.models"].kms_backends)
            for backends in stores:
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
                    session_policy=session.policy or None,
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

    def principal_tags(self, caller: Caller) -> dict[str, str]:
        """The tags of the caller's user or role (``aws:PrincipalTag/<key>``)."""
        if caller.user is not None:
            user = self.iam.users.get(caller.user)
            return _tags(getattr(user, "tags", None))
        if caller.role_arn is not None:
            return _tags(getattr(self.role_by_arn(caller.role_arn), "tags", None))
        return {}

    # -- identities --------------------------------------------------------------------------
    def role_arn(self, name: str) -> str:
        role = next((r for r in self.iam.roles.values() if r.name == name), None)
        return str(role.arn) if role is not None else f"arn:aws:iam::{self.account}:role/{name}"

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

    def open_session(
        self, role_arn: str, session_name: str, seconds: int, policy: str | None
    ) -> Any:
        """A new session of the role ``role_arn`` (moto's record, so the layer resolves the
        caller and moto's own STS knows it), with credentials of our own: random, never from
        moto's seeded generator."""
        session = self.sts.assume_role(
            region_name=self.region,
            role_session_name=session_name,
            role_arn=role_arn,
            policy=policy,
            duration=seconds,
            external_id=None,
        )
        session.access_key_id = session.access_key.access_key_id = aws_access_key_id("ASIA")
        session.secret_access_key = session.access_key.secret_access_key = aws_secret_access_key()
        session.session_token = token(96)
        return session

    # -- workload identity federation ----------------------------------------------------------
    def provider_for_issuer(self, issuer: str) -> Any:
        """The IAM OIDC provider whose URL is ``issuer`` (``https://`` and the provider's
        host+path), or None."""
        if not isinstance(issuer, str) or not issuer.startswith("https://"):
            return None
        url = issuer[len("https://") :]
        return next((p for p in self.iam.open_id_providers.values() if p.url == url), None)

    def add_trust(self, trust: TrustSpec) -> None:
        """An IAM OIDC provider for the trust's issuer (once; its client ids take the trust's
        audience) and a statement in the identity's role trust policy that lets a token with
        that subject and audience assume the role. Other statements are kept."""
        if self.oidc is None:
            raise SeedError("trusts: the offline OIDC issuers are not running")
        issuer = self.oidc.issuer(trust.issuer)
        audience = trust.audience or WEB_IDENTITY_AUDIENCE
        provider = self.provider_for_issuer(issuer.url)
        if provider is None:
            provider = self.iam.create_open_id_connect_provider(
                issuer.url, [self._thumbprint()], [audience], []
            )
        elif audience not in provider.client_id_list:
            provider.client_id_list.append(audience)
        self.ensure_role(trust.identity)
        role = self.role_by_arn(self.role_arn(trust.identity))
        document = json.loads(role.assume_role_policy_document)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        operator = "StringLike" if trust.is_prefix else "StringEquals"
        statement = {
            "Effect": "Allow",
            "Principal": {"Federated": provider.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                operator: {
                    f"{provider.url}:aud": audience,
                    f"{provider.url}:sub": trust.subject,
                }
            },
        }
        if statement not in statements:
            document["Statement"] = [*statements, statement]
            self.iam.update_assume_role_policy(role.name, json.dumps(document))

    def _thumbprint(self) -> str:
        """The SHA-1 of the issuers' CA certificate, as IAM lists OIDC provider thumbprints
        (40 hex digits)."""
        import hashlib

        if self.ca is None:
            return "0" * 40
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(self.ca.cert_path.read_bytes())
        from cryptography.hazmat.primitives.serialization import Encoding

        return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest()  # noqa: S324

    def randomise_session(self, key_id: str) -> tuple[str, str, str] | None:
        """Give the newest STS session whose access key is ``key_id`` a random access key id,
        secret and session token (moto's AssumeRole draws them from a generator anyone may
        seed). Returns the three, or None."""
        for session in reversed(self.sts.assumed_roles):
            if session.access_key_id == key_id:
                new_id, secret = aws_access_key_id("ASIA"), aws_secret_access_key()
                session_token = token(96)
                session.access_key_id, session.secret_access_key = new_id, secret
                access_key = getattr(session, "access_key", None)
                if access_key is not None:
                    access_key.access_key_id, access_key.secret_access_key = new_id, secret
                session.session_token = session_token
                return new_id, secret, session_token
        return None

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
        unknown = set(extra) - {"resource_policies", "kms_keys"}
        if unknown:
            raise SeedError(f"aws: unknown seed field(s) {', '.join(sorted(unknown))}")
        keys = _kms_key_specs(extra.get("kms_keys", {}), spec)
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
            for uses in keys.values():  # key users are identities too, as readers are
                for name in (*uses["decrypt"], *uses["encrypt"]):
                    if name not in self.grants:
                        self.add_identity(IdentitySpec(name))
            backend = self.secrets()
            for name, text in policies.items():
                backend.put_resource_policy(name, text)
            for name in self.grants:
                self._write_seed_policy(name)
                self.role_credentials(name)  # open the role's session
            for trust in spec.trusts:
                self.add_trust(trust)
            for alias, users in keys.items():
                self._seed_key(alias, users)

    # -- KMS keys ------------------------------------------------------------------------------
    def _seed_key(self, alias: str, users: Mapping[str, tuple[str, ...]]) -> None:
        """A symmetric KMS key with ``alias`` and a key policy in AWS's usual shape: the
        account (which enables IAM policies, so the administrator may do anything), then the
        roles that may decrypt and those that may encrypt, by ARN (KMS Developer Guide,
        key-policy-default.html). Its id is derived from the account, region and alias (stable
        across starts, so a ``.sops.yaml`` may name the key's ARN); its material is random per
        start. Seeding it draws nothing from moto's generator, so the ARN suffixes of secrets
        created later stay what they were."""
        from moto.moto_api._internal import mock_random

        from .kms import backend, new_symmetric_key

        store = backend(self.account, self.region)
        policy = json.dumps(self._key_policy(users))
        existing = next((k for k in store.keys.values() if alias in k.aliases), None)
        if existing is not None:
            existing.policy = policy
            return
        key_id = str(uuid.uuid5(_KMS_NAMESPACE, f"{self.account}/{self.region}/{alias}"))
        if key_id in store.keys:
            store.keys[key_id].policy = policy
            store.create_alias(key_id, alias)
            return
        drawn = mock_random.getstate()
        key = new_symmetric_key(store, f"guardlib seed: {alias}", policy)
        mock_random.setstate(drawn)
        del store.keys[key.id]
        key.id = key_id
        key.arn = f"arn:{PARTITION}:kms:{self.region}:{self.account}:key/{key_id}"
        store.keys[key_id] = key
        store.create_alias(key_id, alias)

    def _key_policy(self, users: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
        statements: list[dict[str, Any]] = [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{self.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        for use, sid in (("decrypt", "AllowDecrypt"), ("encrypt", "AllowEncrypt")):
            if users.get(use):
                statements.append(
                    {
                        "Sid": sid,
                        "Effect": "Allow",
                        "Principal": {"AWS": [self.role_arn(n) for n in users[use]]},
                        "Action": KMS_ACTIONS[use],
                        "Resource": "*",
                    }
                )
        return {"Version": "2012-10-17", "Id": "guardlib-seed", "Statement": statements}

    def key_arn(self, alias: str) -> str | None:
        """The ARN of the KMS key ``alias`` names in the default region, or None."""
        name = alias if alias.startswith("alias/") else f"alias/{alias}"
        if "moto.kms.models" not in sys.modules:
            return None
        from .kms import backend

        store = backend(self.account, self.region)
        key = next((k for k in store.keys.values() if name in k.aliases), None)
        return None if key is None else str(key.arn)

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


#: what the seed's ``kms_keys`` uses grant in a key policy (KMS Developer Guide,
#: key-policy-default.html, "Allows key users to use the KMS key")
KMS_ACTIONS = {
    "decrypt": ["kms:Decrypt", "kms:DescribeKey"],
    "encrypt": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
}
_KMS_NAMESPACE = uuid.UUID("6a1c6c39-8f1e-4a53-9b1e-5eed0c0ffee0")
_KMS_ALIAS_RE = re.compile(r"[A-Za-z0-9/_-]{1,250}")


def _kms_key_specs(raw: object, spec: SeedSpec) -> dict[str, dict[str, tuple[str, ...]]]:
    """The seed's ``aws.kms_keys``: ``{"guard-dev": {"decrypt": ["dev-app"], "encrypt": [...]}}``
    (the alias without or with ``alias/``), checked before anything is created."""
    if not isinstance(raw, Mapping):
        raise SeedError("aws: kms_keys is a mapping of alias to {decrypt, encrypt}")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, options in raw.items():
        alias = str(name).removeprefix("alias/")
        where = f"aws: kms_keys[{str(name)[:64]!r}]"
        if not _KMS_ALIAS_RE.fullmatch(alias) or alias.startswith("aws/"):
            raise SeedError(f"{where}: an alias is 1-250 of letters, digits, / _ - (not aws/...)")
        options = {} if options is None else options
        if not isinstance(options, Mapping) or set(options) - {"decrypt", "encrypt"}:
            raise SeedError(f"{where}: options are 'decrypt' and 'encrypt', lists of identities")
        uses: dict[str, tuple[str, ...]] = {}
        for use in ("decrypt", "encrypt"):
            names = options.get(use, [])
            if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
                raise SeedError(f"{where}: {use} is a list of identity names")
            for n in names:
                if not is_identity_name(n) or n == ADMIN:
                    raise SeedError(
                        f"{where}: {use} names {n[:64]!r}: identity names are 3-30 characters "
                        "of a-z, 0-9 and '-', starting with a letter (the administrator needs "
                        "no grant)"
                    )
            uses[use] = tuple(names)
        out[f"alias/{alias}"] = uses
    return out


def _tags(raw: Any) -> dict[str, str]:
    """moto keeps tags as {key: {"Key", "Value"}} or as a list of {"Key", "Value"}."""
    items = raw.values() if isinstance(raw, dict) else raw or []
    out = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            out[item["Key"]] = str(item.get("Value", ""))
    return out


def _managed(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            document: str = version.document
            return document
    return "{}"
