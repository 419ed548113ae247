"""The offline cloud: local emulators that unmodified cloud SDK code can talk to.

    from guardlib import emulators
    cloud = emulators.start(only=["azure"])   # idempotent inside one process / Jupyter kernel
    cloud.apply_env()                          # point the SDKs at it (os.environ)
    cloud.seed({"secrets": {"api-key": {"value": "demo-not-a-real-key", "readers": ["dev-app"]}}})
    ...
    emulators.stop()                           # also runs at interpreter exit

or as a context manager: ``with emulators.offline_cloud(only=["gcp"]) as cloud: ...``.
Nothing here imports a cloud SDK until an emulator is started.
"""

from __future__ import annotations

import atexit
import importlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import (
    CloudContext,
    Emulator,
    EmulatorNotRunning,
    EmulatorUnavailable,
    FederatedEmulator,
)

if TYPE_CHECKING:
    from .ca import LocalCA
from .faults import Faults
from .seed import ADMIN, SeedError, SeedSpec, TrustSpec

#: emulator name -> "module:Class", imported only when started
REGISTRY: dict[str, str] = {
    "azure": "guardlib.emulators.azure:AzureEmulator",
    "gcp": "guardlib.emulators.gcp:GcpEmulator",
    "aws": "guardlib.emulators.aws:AwsEmulator",
    "vault": "guardlib.emulators.vault:VaultEmulator",
}

#: Variables that would send an SDK to a real cloud, or to a real credential; removed by
#: ``apply_env`` before the emulator environment is applied.
REAL_CLOUD_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_KMS",  # sops (AWS SDK for Go v2) and boto3 read it before AWS_ENDPOINT_URL
    "AWS_ENDPOINT_URL_IAM",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_GHA_CREDS_PATH",
    "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_CACERT",
    "VAULT_NAMESPACE",
    "BAO_ADDR",
    "BAO_TOKEN",
    # a CI job's token endpoint (a developer may run this inside a GitHub Actions job)
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)


def available() -> dict[str, str | None]:
    """Each emulator name -> None if it can start here, else the reason it cannot."""
    out: dict[str, str | None] = {}
    for name in REGISTRY:
        try:
            _load(name)
            out[name] = None
        except EmulatorUnavailable as exc:
            out[name] = str(exc)
    return out


def _load(name: str) -> type:
    try:
        spec = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown emulator {name!r}; choose from {', '.join(REGISTRY)}") from None
    module_name, _, cls_name = spec.partition(":")
    # ERROR is gRPC's documented default verbosity, but grpcio 1.6x+ prints INFO lines (such as
    # "fork_posix.cc ... skipping fork() handlers" when a subprocess starts beside the GCP
    # emulator's threads) to stderr unless it is set explicitly before grpc is imported.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "guardlib":
            raise  # our own bug, not a missing extra
        raise EmulatorUnavailable(
            f"the {name} emulator needs packages that are not installed ({exc.name}): "
            f"pip install 'guardlib[{name}]'"
        ) from None
    cls: type = getattr(module, cls_name)
    return cls


def _trust_in_loaded_aiohttp(ca_path: Path) -> None:
    """aiohttp builds its default TLS context when ``aiohttp.connector`` is imported, from
    ``SSL_CERT_FILE`` as it was then (aiohttp/connector.py, ``_SSL_CONTEXT_VERIFIED``). If a
    kernel imported it before the emulator setup, add the local CA to that context so async
    SDK clients (azure ``.aio``) trust the emulators too. It only adds trust in our CA."""
    import sys

    connector = sys.modules.get("aiohttp.connector")
    context = getattr(connector, "_SSL_CONTEXT_VERIFIED", None)
    if context is not None:
        context.load_verify_locations(cafile=str(ca_path))


class OfflineCloud:
    """The running gateway and emulators of this process."""

    def __init__(self) -> None:
        from .gateway import Gateway
        from .oidc import OidcIssuers

        self.workdir, self.ca = _process_ca()
        self.faults = Faults()
        self.gateway = Gateway()
        self.gateway.start()
        self.oidc = OidcIssuers(self.ca, self.gateway, self.workdir)  # starts on first use
        self.emulators: dict[str, Emulator] = {}
        self.identity: str | None = None
        self.trusts: list[TrustSpec] = []  # every trust seeded so far, in seed order
        self.identities: set[str] = set()  # every identity seeded so far (and "admin")
        #: endpoint servers of the platforms (``platforms/``: IMDS, container credentials ...),
        #: by key; each has ``stop()``, called when the cloud stops
        self.platform_servers: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def context(self) -> CloudContext:
        return CloudContext(
            ca=self.ca,
            faults=self.faults,
            workdir=self.workdir,
            gateway_url=self.gateway.url,
            oidc=self.oidc,
            gateway=self.gateway,
        )

    def add(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                if name in self.emulators:
                    continue
                emulator: Emulator = _load(name)()
                emulator.start(self.context)
                for pattern in emulator.hosts:
                    self.gateway.route(pattern, emulator.backend)
                self.emulators[name] = emulator

    def __getitem__(self, name: str) -> Emulator:
        return self.emulators[name]

    # -- environment ----------------------------------------------------------------------
    def env(self, identity: str | None = None) -> dict[str, str]:
        """The variables that point unmodified SDK code at the running emulators, acting as
        ``identity``: a seeded identity, ``"admin"`` (full access), or None for the cloud's
        current identity (the one ``apply_env``/``start(identity=…)`` chose; admin by default)."""
        identity = identity if identity is not None else self.identity
        env = self._shared_env()
        for emulator in self.emulators.values():
            env.update(emulator.env(None if identity in (None, ADMIN) else identity))
        return env

    def _shared_env(self) -> dict[str, str]:
        """Proxy and CA variables every process that talks to the offline cloud needs."""
        ca = str(self.ca.cert_path)
        return {
            "HTTPS_PROXY": self.gateway.url,
            "https_proxy": self.gateway.url,
            "HTTP_PROXY": self.gateway.url,
            "http_proxy": self.gateway.url,
            "NO_PROXY": "localhost,127.0.0.1,::1",
            "no_proxy": "localhost,127.0.0.1,::1",
            # this machine (and many CI images) preset these to the system bundle: be explicit
            "REQUESTS_CA_BUNDLE": ca,
            "CURL_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "AWS_CA_BUNDLE": ca,
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": ca,
            "GRPC_VERBOSITY": "ERROR",  # see _load
        }

    def federation_env(
        self,
        subject: str,
        *,
        identity: str | None = None,
        audience: str | None = None,
        issuer: str = "github",
        lifetime: int = 3600,
    ) -> dict[str, str]:
        """The environment of a CI job or pod whose OIDC token has ``sub`` = ``subject``: for
        each cloud that supports federation, a fresh token (with that cloud's default audience,
        or ``audience``) in a file, and the variables with which its SDK exchanges the token for
        ``identity``'s credentials. No static credential is in it. ``identity`` defaults to
        the first identity the seeded trusts name; whether the exchange succeeds is up to the
        cloud's trust rule, as in the real thing."""
        self.oidc.check_subject(subject, issuer)  # a subject no issuer would sign: say so first
        if identity is None:
            if not self.trusts:
                raise ValueError(
                    "no trust is seeded: add a 'trusts' section (guardlib.emulators.seed.COURSE "
                    "has one) or name the identity to request"
                )
            identity = self.trusts[0].identity
        if identity == ADMIN:
            raise ValueError("no workload may become the administrator")
        env = self._shared_env()
        for name, emulator in self.emulators.items():
            if not isinstance(emulator, FederatedEmulator):
                continue  # this cloud does not trust the offline issuers (yet)
            aud = audience if audience is not None else emulator.federation_audience(identity)
            token = self.oidc.mint(subject, aud, issuer=issuer, lifetime=lifetime)
            path = self.oidc.write_token(token, f"{name}-{issuer}-token")
            env.update(emulator.federation_env(identity, path))
        return env

    def platform_env(
        self,
        spec: str,
        *,
        identity: str | None = None,
        subject: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """The environment of a process on platform ``spec`` (``"ec2"``, ``"app-service"``,
        ``"github-actions+configure-aws-credentials"`` ...): the offline wiring plus exactly what
        that platform gives a process. See :func:`guardlib.emulators.platforms.environment`."""
        from .platforms import environment

        return environment(self, spec, identity=identity, subject=subject, audience=audience)

    @contextmanager
    def as_workload(
        self,
        subject: str,
        *,
        identity: str | None = None,
        audience: str | None = None,
        issuer: str = "github",
    ) -> Iterator[dict[str, str]]:
        """Like :meth:`as_identity`, for a CI job or pod with OIDC subject ``subject``: inside
        the block ``os.environ`` has only the federation environment (no static credential)."""
        env = self.federation_env(subject, identity=identity, audience=audience, issuer=issuer)
        keys = set(REAL_CLOUD_VARIABLES) | set(env) | set(self.env())
        saved = {key: os.environ.get(key) for key in keys}
        try:
            for key in keys:
                os.environ.pop(key, None)
            os.environ.update(env)
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def apply_env(
        self, identity: str | None = None, environ: MutableMapping[str, str] | None = None
    ) -> dict[str, str]:
        """Remove real-cloud variables from ``environ`` (default ``os.environ``) and set ours."""
        environ = os.environ if environ is None else environ
        if identity is not None:
            self.identity = identity
        for key in REAL_CLOUD_VARIABLES:
            environ.pop(key, None)
        env = self.env()
        environ.update(env)
        if environ is os.environ:
            _trust_in_loaded_aiohttp(self.ca.cert_path)
        return env

    @contextmanager
    def as_identity(self, identity: str) -> Iterator[dict[str, str]]:
        """Act as ``identity`` (a seeded identity, or ``"admin"``) inside a ``with`` block.

        ``os.environ`` gets that identity's environment, exactly as ``apply_env`` writes it,
        and the previous values (and the cloud's current identity) come back when the block
        ends, also on an exception. SDK clients read their credentials when they are created,
        so create them inside the block::

            with cloud.as_identity("admin"):
                admin = boto3.session.Session().client("secretsmanager")
            admin.put_secret_value(...)          # still the admin's client

        The environment is process-wide: do not use this from several threads at once.
        """
        keys = set(REAL_CLOUD_VARIABLES) | set(self.env(identity))
        saved = {key: os.environ.get(key) for key in keys}
        saved_identity = self.identity
        try:
            yield self.apply_env(identity)
        finally:
            self.identity = saved_identity
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    # -- state ----------------------------------------------------------------------------
    def seed(self, spec: SeedSpec | Mapping[str, Any] | str | Path) -> SeedSpec:
        parsed = SeedSpec.parse(spec)
        if parsed.trusts:
            self.oidc.ensure_started()  # the clouds read the issuers' keys while seeding
        for name, emulator in self.emulators.items():
            try:
                emulator.apply_seed(parsed.only_for(name))
            except SeedError:
                raise
            except Exception as exc:  # a service's own error (a name it cannot hold …)
                raise SeedError(f"{name}: {exc}") from exc
        self.trusts += [t for t in parsed.trusts if t not in self.trusts]
        self.identities |= set(parsed.identities)
        return parsed

    def reset(self) -> None:
        self.faults.clear()
        self.trusts.clear()
        self.identities.clear()
        for emulator in self.emulators.values():
            emulator.reset()

    def stop(self) -> None:
        for emulator in reversed(list(self.emulators.values())):
            try:
                emulator.stop()
            except Exception:  # noqa: BLE001, S112 - stop the others regardless
                continue
        self.emulators.clear()
        servers, self.platform_servers = list(self.platform_servers.values()), {}
        for server in servers:
            server.stop()
        self.oidc.stop()
        self.gateway.stop()

    def __enter__(self) -> OfflineCloud:
        return self

    def __exit__(self, *exc: object) -> None:
        stop()


_current: OfflineCloud | None = None
_ca: tuple[Path, LocalCA] | None = None
_ca_lock = threading.Lock()


def _process_ca() -> tuple[Path, LocalCA]:
    """One CA (and work directory) per process, kept across stop/start: gRPC reads
    ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` only once per process, so the CA file must not change.
    The folder goes with the process, however it ends (``workdir.py``)."""
    global _ca
    from .ca import LocalCA
    from .workdir import WorkDir

    with _ca_lock:
        if _ca is None:
            workdir = WorkDir().path
            _ca = (workdir, LocalCA(workdir))
        return _ca


_current_lock = threading.Lock()


def start(
    only: Iterable[str] | str | None = None,
    *,
    identity: str | None = None,
    seed: SeedSpec | Mapping[str, Any] | str | Path | None = None,
    apply_env: bool = False,
) -> OfflineCloud:
    """Start (or return the already running) offline cloud with the emulators in ``only``
    (default: every one that can start here). Idempotent: a second call adds what is missing."""
    global _current
    if isinstance(only, str):
        only = [n.strip() for n in only.split(",") if n.strip()]
    names = list(only) if only is not None else [n for n, why in available().items() if why is None]
    for name in names:
        _load(name)  # fail fast, with the install hint, before starting anything
    with _current_lock:
        if _current is None:
            _current = OfflineCloud()
            atexit.register(stop)
        cloud = _current
    cloud.add(names)
    if identity is not None:
        cloud.identity = identity
    if seed is not None:
        cloud.seed(seed)
    if apply_env:
        cloud.apply_env()
    return cloud


def current() -> OfflineCloud | None:
    return _current


def stop() -> None:
    """Stop the offline cloud of this process, if one runs. Safe to call twice."""
    global _current
    with _current_lock:
        cloud, _current = _current, None
    if cloud is not None:
        cloud.stop()


@contextmanager
def offline_cloud(
    only: Iterable[str] | str | None = None,
    *,
    identity: str | None = None,
    seed: SeedSpec | Mapping[str, Any] | str | Path | None = None,
) -> Iterator[OfflineCloud]:
    """Start the emulators, apply their environment, and restore everything on exit."""
    saved = dict(os.environ)
    cloud = start(only, identity=identity, seed=seed, apply_env=True)
    try:
        yield cloud
    finally:
        stop()
        os.environ.clear()
        os.environ.update(saved)


__all__ = [
    "REGISTRY",
    "EmulatorNotRunning",
    "EmulatorUnavailable",
    "OfflineCloud",
    "available",
    "current",
    "offline_cloud",
    "start",
    "stop",
]
