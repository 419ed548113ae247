"""GCP Secret Manager, offline: the real gRPC service over TLS at ``secretmanager.googleapis.com``.

The gateway tunnels ``secretmanager.googleapis.com:443`` (and the regional
``secretmanager.<location>.rep.googleapis.com:443``) here; gRPC honours ``https_proxy`` and
trusts the local CA through ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``. Unmodified code::

    from google.cloud import secretmanager
    client = secretmanager.SecretManagerServiceClient()
    name = "projects/guard-demo/secrets/api-key/versions/latest"
    client.access_secret_version(request={"name": name}).payload.data

Identity: ``env(identity)`` writes a service-account key JSON for
``<identity>@guard-demo.iam.gserviceaccount.com`` into the work directory and points
``GOOGLE_APPLICATION_CREDENTIALS`` at it (``admin`` for ``env(None)``, which holds
``roles/secretmanager.admin`` on project ``guard-demo``). The client signs its own JWT with that
key and the emulator verifies it. That is the default because it is the seed article's story,
it works for any number of identities in one process, and it needs no process restart:
google-auth reads ``GCE_METADATA_HOST`` once, at import. For the "runs on GCP with an attached
service account" story use ``metadata_env(identity)``, which starts a metadata-server emulator
for that identity (use it in a fresh process, without ``GOOGLE_APPLICATION_CREDENTIALS``).

Keyless deploys (workload identity federation, ``federation.py``): the seed's ``trusts`` become
workload identity pools, OIDC providers and ``roles/iam.workloadIdentityUser`` bindings;
``federation_env(identity, token_file)`` writes an ``external_account`` credentials file, and
google-auth exchanges the token at ``sts.googleapis.com`` and impersonates the service account
through ``iamcredentials.googleapis.com``, both served here (an HTTPS server beside the gRPC
one, routed by the gateway).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..kit import apply_seed as _apply_seed
from ..kit import require_running
from . import auth as _auth
from . import cel as _cel
from . import federation as _federation
from . import iam
from . import protocol as _protocol
from .errors import RpcError
from .routing import Server
from .state import PROJECT_ID, PROJECT_NUMBER, Store

if TYPE_CHECKING:
    from ..base import CloudContext
    from ..gateway import Gateway
    from ..kit.server import LoopbackHTTPServer
    from ..seed import IdentitySpec, SecretSpec, SeedSpec
    from .metadata import MetadataServer

ADMIN = "admin"
_IDENTITY_RE = re.compile(r"[a-z][a-z0-9-]{2,29}")  # a service-account id (as seed.py)
#: regional endpoints get a leaf name each (a wildcard covers one label only)
LOCATIONS = _protocol.KNOWN_LOCATIONS
HOSTS = ("secretmanager.googleapis.com",) + tuple(
    f"secretmanager.{loc}.rep.googleapis.com" for loc in LOCATIONS
)


def email_of(identity: str) -> str:
    return f"{identity}@{PROJECT_ID}.iam.gserviceaccount.com"


class GcpEmulator:
    name = "gcp"
    hosts = ("secretmanager.googleapis.com:443", "secretmanager.*.rep.googleapis.com:443")

    def __init__(self) -> None:
        self.store = Store()
        self.auth = _auth.Authenticator()
        self._server: Server | None = None
        self._workdir: Path | None = None
        self._metadata: dict[str, MetadataServer] = {}
        self._written: set[str] = set()  # key files written in this start
        self._tag = ""
        self._lock = threading.Lock()
        self.federation = _federation.Federation(self.auth, PROJECT_NUMBER)
        self._http: LoopbackHTTPServer | None = None  # STS and IAM Credentials
        self._gateway: Gateway | None = None
        self._http_backend = self._federation_backend  # one object, for gateway.unroute

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, ctx: CloudContext) -> None:
        self._workdir = Path(ctx.workdir)
        # every start mints new keys: files and tokens of an earlier start stop working
        self.auth.forget_keys()
        self._written.clear()
        self._tag = secrets.token_hex(4)  # key files of this start: gcp-<identity>-<tag>.json
        # the admin's RSA key takes ~50 ms: make it in the background, off the start path
        threading.Thread(target=self.auth.key_for, args=(ADMIN,), daemon=True).start()
        self._register_admin()
        chain, key = ctx.ca.leaf_pem(*HOSTS)
        self._server = Server(self.store, self.auth, ctx.faults)
        self._server.start(chain, key)
        self._start_federation(ctx)

    def _start_federation(self, ctx: CloudContext) -> None:
        from ..kit.server import LoopbackHTTPServer

        self.federation.oidc = ctx.oidc
        tls = ctx.ca.server_context(*_federation.HOSTS)
        self._http = LoopbackHTTPServer(
            _federation.responder(self.federation),
            tls,
            reject=_federation.reject,
            max_body=64 * 1024,
            name="guardlib-gcp-federation",
        ).start()
        self._gateway = ctx.gateway
        if self._gateway is not None:
            for host in _federation.HOSTS:
                self._gateway.route(f"{host}:443", self._http_backend)

    def _federation_backend(self) -> tuple[str, int]:
        return require_running(self.name, self._http).address

    def stop(self) -> None:
        if self._gateway is not None:
            self._gateway.unroute(self._http_backend)
            self._gateway = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        for server in self._metadata.values():
            server.stop()
        self._metadata.clear()

    def backend(self) -> tuple[str, int]:
        return "127.0.0.1", require_running(self.name, self._server).port

    def reset(self) -> None:
        self.store.reset()
        self.auth.reset()
        self.federation.reset()
        self._register_admin()

    # -- identities --------------------------------------------------------------------------
    def _register_admin(self) -> None:
        self.add_identity(ADMIN, admin=True)

    def add_identity(self, identity: str, admin: bool = False) -> str:
        """Create service account ``<identity>@guard-demo.iam.gserviceaccount.com``."""
        email = email_of(identity)
        self.auth.register(identity, email)
        if admin:
            self.store.grant_project(PROJECT_ID, "roles/secretmanager.admin", iam.member_for(email))
        return email

    def grant_project_role(self, identity: str, role: str) -> None:
        if role not in iam.ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(sorted(iam.ROLES))}")
        self.store.grant_project(PROJECT_ID, role, iam.member_for(email_of(identity)))

    def key_file(self, identity: str) -> Path:
        """Write (once) the service-account key JSON of ``identity``; return its path."""
        workdir = require_running(self.name, self._workdir if self._server else None)
        if not _IDENTITY_RE.fullmatch(identity):
            raise ValueError(
                "identity names are 3-30 characters of a-z, 0-9 and '-', starting with a letter"
            )
        path = workdir / f"gcp-{identity}-{self._tag}.json"
        with self._lock:
            if identity not in self._written or not path.exists():
                record = self.auth.key_for(identity)
                email = email_of(identity)
                info = {
                    "type": "service_account",
                    "project_id": PROJECT_ID,
                    "private_key_id": record.key_id,
                    "private_key": record.private_pem,
                    "client_email": email,
                    "client_id": record.client_id,
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                    + email.replace("@", "%40"),
                    "universe_domain": "googleapis.com",
                }
                tmp = path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(info, fh, indent=2)
                os.replace(tmp, path)
                self._written.add(identity)
        return path

    def env(self, identity: str | None = None) -> dict[str, str]:
        return {
            "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self.key_file(identity or ADMIN)),
        }

    def metadata_env(self, identity: str | None = None) -> dict[str, str]:
        """Variables for the metadata-server story. Drop GOOGLE_APPLICATION_CREDENTIALS from
        the environment when using these, and use them in a fresh process (see module doc)."""
        from .metadata import MetadataServer

        identity = identity or ADMIN
        require_running(self.name, self._server)
        if not _IDENTITY_RE.fullmatch(identity):
            raise ValueError(
                "identity names are 3-30 characters of a-z, 0-9 and '-', starting with a letter"
            )
        with self._lock:
            server = self._metadata.get(identity)
            if server is None:
                server = MetadataServer(email_of(identity), PROJECT_ID, PROJECT_NUMBER, self.auth)
                self._metadata[identity] = server
        return {
            "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
            "GCE_METADATA_HOST": server.host,
            "GCE_METADATA_IP": server.host,
            "NO_GCE_CHECK": "False",
        }

    # -- workload identity federation (base.FederatedEmulator) ------------------------------------
    def _provider(self, identity: str) -> tuple[str, str]:
        """(STS audience, token audience) of the provider ``identity``'s trusts use."""
        provider = self.federation.provider_for(identity)
        if provider is not None:
            return provider.sts_audience, provider.token_audience
        # no trust at all: the GitHub provider's name (STS answers that it does not exist)
        name = (
            f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/guard-github/"
            "providers/github"
        )
        return f"//{_federation.IAM}/{name}", f"https://{_federation.IAM}/{name}"

    def federation_audience(self, identity: str) -> str:
        """The ``aud`` a token for ``identity`` carries by default: the provider's full name
        with ``https:``, as google-github-actions/auth asks GitHub for it."""
        return self._provider(identity)[1]

    def federation_env(self, identity: str, token_file: Path) -> dict[str, str]:
        """An ``external_account`` credentials file (as google-github-actions/auth writes one)
        that exchanges the token in ``token_file`` and impersonates ``identity``'s service
        account; no key file, no metadata server."""
        workdir = require_running(self.name, self._workdir if self._server else None)
        if not _IDENTITY_RE.fullmatch(identity):
            raise ValueError(
                "identity names are 3-30 characters of a-z, 0-9 and '-', starting with a letter"
            )
        email = email_of(identity)
        info = {
            "type": "external_account",
            "audience": self._provider(identity)[0],
            "subject_token_type": _federation.SUBJECT_TOKEN_TYPE,
            "token_url": f"https://{_federation.STS_HOST}/v1/token",
            "service_account_impersonation_url": (
                f"https://{_federation.IAMCREDENTIALS_HOST}/v1/projects/-/serviceAccounts/"
                f"{email}:generateAccessToken"
            ),
            "credential_source": {"file": str(token_file)},
            "universe_domain": "googleapis.com",
        }
        path = workdir / f"gcp-federated-{identity}-{self._tag}.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2)
        os.replace(tmp, path)
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(path), "GOOGLE_CLOUD_PROJECT": PROJECT_ID}

    # -- seeding (kit.SeedHooks) ----------------------------------------------------------------
    def check_secret_name(self, name: str) -> str | None:
        if not _protocol.SECRET_ID_RE.fullmatch(name):
            return "Secret Manager secret ids are 1-255 characters of a-z, A-Z, 0-9, '_' and '-'"
        return None

    def put_secret(self, secret: SecretSpec) -> None:
        value = secret.value.encode() if isinstance(secret.value, str) else secret.value
        labels = {k.lower(): str(v).lower() for k, v in secret.tags.items()}
        self.store.seed_secret(email_of(ADMIN), secret.name, value, labels)

    def grant_read(self, secret: SecretSpec, identity: str) -> None:
        self.store.grant_secret(
            secret.name, "roles/secretmanager.secretAccessor", iam.member_for(email_of(identity))
        )

    def grant_write(self, secret: SecretSpec, identity: str) -> None:
        self.store.grant_secret(
            secret.name,
            "roles/secretmanager.secretVersionManager",
            iam.member_for(email_of(identity)),
        )

    def apply_seed(self, spec: SeedSpec) -> None:
        from ..seed import SeedError

        extra = spec.extra.get(self.name, {})
        project_roles = dict(extra.get("project_roles", {}))
        for identity, roles in project_roles.items():  # validate before anything is stored
            if not isinstance(identity, str) or not _IDENTITY_RE.fullmatch(identity):
                raise SeedError(f"gcp: project_roles: identity {identity!r} is not valid")
            for role in [roles] if isinstance(roles, str) else roles:
                if role not in iam.ROLES:
                    raise SeedError(
                        f"gcp: project_roles: unknown role {role!r}; "
                        f"known: {', '.join(sorted(iam.ROLES))}"
                    )
        conditions = extra.get("attribute_conditions", {})
        if not isinstance(conditions, dict) or not all(
            isinstance(v, str) for v in conditions.values()
        ):
            raise SeedError("gcp: attribute_conditions: a mapping of issuer to a CEL condition")
        for issuer, text in conditions.items():  # refuse a bad condition before storing anything
            try:
                _cel.parse_condition(text)
            except _cel.CelError as exc:
                raise SeedError(f"gcp: attribute_conditions[{issuer}]: {exc}") from None
        try:
            _apply_seed(_SeedHooks(self), spec)
        except RpcError as exc:
            raise SeedError(f"gcp: {exc.message}") from None
        try:
            self.federation.apply(spec.trusts, email_of, conditions)
        except ValueError as exc:
            raise SeedError(f"gcp: {exc}") from None
        for identity, roles in project_roles.items():
            self.add_identity(identity)
            for role in [roles] if isinstance(roles, str) else roles:
                self.grant_project_role(identity, role)


class _SeedHooks:
    """``kit.SeedHooks`` for the GCP emulator (its own ``add_identity`` returns the email)."""

    name = "gcp"

    def __init__(self, emulator: GcpEmulator) -> None:
        self.emulator = emulator
        self.check_secret_name = emulator.check_secret_name
        self.put_secret = emulator.put_secret
        self.grant_read = emulator.grant_read
        self.grant_write = emulator.grant_write

    def add_identity(self, identity: IdentitySpec) -> None:
        self.emulator.add_identity(identity.name, admin=identity.admin)
