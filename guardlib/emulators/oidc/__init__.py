"""The offline OIDC issuers: GitHub Actions and a Kubernetes (EKS-style) cluster.

CI systems and kubelets hand workloads short-lived OpenID Connect tokens; clouds trust an
issuer and exchange its tokens for credentials when a trust rule matches the claims (workload
identity federation). Here both issuers run locally, behind the gateway, at real-looking URLs:

- ``https://token.actions.githubusercontent.com`` (discovery at
  ``/.well-known/openid-configuration``, keys at ``/.well-known/jwks``, as GitHub serves them);
- ``https://oidc.eks.us-east-1.amazonaws.com/id/<random>`` (keys at ``…/keys``, as EKS);
- the runner's token endpoint of each GitHub Actions job (:meth:`OidcIssuers.runner_job`):
  ``GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=<aud>`` with
  ``Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}`` answers ``{"value": "<JWT>"}``
  with that job's claims (``runner.py``).

Tokens are RS256, signed with a key made at random on first use in each start
(``state.py``), with GitHub's claim set or a projected service-account token's
(``protocol.py``). :meth:`OidcIssuers.write_token` writes one to a file as a runner or kubelet
does; :meth:`OidcIssuers.verify` is what the emulated clouds call to check one (signature,
issuer, audience, times: ``kit/jwt.py``). Nothing starts until a token or document is needed.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..kit import jwt
from ..kit.files import write_private
from ..kit.server import LoopbackHTTPServer
from . import protocol, routing
from .protocol import GITHUB_ISSUER, SubjectError
from .runner import RUNNER_HOST, RunnerJob, RunnerJobs
from .state import IssuerState

if TYPE_CHECKING:
    from ..ca import LocalCA
    from ..gateway import Gateway

#: GitHub Actions' default audience is the owner's URL; clouds ask for their own.
DEFAULT_LIFETIME = 3600
EKS_REGION = "us-east-1"


class Issuers:
    """Both issuers' keys and claims, signing and verifying in memory (no server, no files):
    what an exercise check needs when no offline cloud runs. :class:`OidcIssuers` serves them."""

    def __init__(self) -> None:
        cluster = secrets.token_hex(16).upper()
        eks_host = f"oidc.eks.{EKS_REGION}.amazonaws.com"
        self.github = IssuerState("github", GITHUB_ISSUER, "/.well-known/jwks")
        self.kubernetes = IssuerState(
            "kubernetes", f"https://{eks_host}/id/{cluster}", f"/id/{cluster}/keys"
        )

    @property
    def issuers(self) -> tuple[IssuerState, IssuerState]:
        return self.github, self.kubernetes

    def issuer(self, name: str) -> IssuerState:
        for issuer in self.issuers:
            if name in (issuer.name, issuer.url):
                return issuer
        raise ValueError(f"unknown issuer {name!r}: expected 'github' or 'kubernetes'")

    def check_subject(self, subject: str, issuer: str = "github") -> None:
        """Raise :class:`SubjectError` unless ``issuer`` could put ``subject`` in a token."""
        build = protocol.github_claims if self.issuer(issuer) is self.github else None
        (build or protocol.kubernetes_claims)(subject, "check")

    def mint(
        self,
        subject: str,
        audience: str,
        *,
        issuer: str = "github",
        lifetime: int = DEFAULT_LIFETIME,
        issued_at: int | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed token for ``subject`` and ``audience``. ``issued_at`` in the past (with a
        short ``lifetime``) makes an already expired token; ``claims`` adds or overrides claims."""
        state = self.issuer(issuer)
        if state is self.github:
            body = protocol.github_claims(subject, audience)
        else:
            body = protocol.kubernetes_claims(subject, audience)
        now = int(time.time()) if issued_at is None else int(issued_at)
        body.update(iss=state.url, iat=now, nbf=now, exp=now + int(lifetime))
        if claims:
            body.update(claims)
        key = state.key
        return jwt.sign(body, key.private_key, key.kid)

    def verify(
        self, token: str, *, audiences: Iterable[str] | None, now: float | None = None
    ) -> tuple[IssuerState, dict[str, Any]]:
        """The issuer and claims of ``token`` if one of these issuers signed it and it is valid
        for one of ``audiences``; else :class:`~guardlib.emulators.kit.jwt.TokenError`."""
        iss = jwt.unverified_claims(token).get("iss")
        state = next((i for i in self.issuers if i.url == iss), None)
        if state is None:
            raise jwt.TokenError("issuer", "the token's issuer is not a trusted one")
        claims = jwt.verify(
            token, state.public_keys(), issuer=state.url, audiences=audiences, now=now
        )
        return state, claims

    def public_key_pem(self, issuer: str = "github") -> str:
        """The issuer's public key as PEM (for a relying party configured with keys, such as
        OpenBao's ``jwt_validation_pubkeys``)."""
        from cryptography.hazmat.primitives import serialization

        key = self.issuer(issuer).key.public_key
        pem: bytes = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode("ascii")


class OidcIssuers(Issuers):
    """Both issuers of one offline cloud, served behind the gateway. Thread-safe; the server
    and the token folder start on first use."""

    def __init__(self, ca: LocalCA, gateway: Gateway, workdir: Path) -> None:
        super().__init__()
        self._ca, self._gateway, self._workdir = ca, gateway, workdir
        self._server: LoopbackHTTPServer | None = None
        self._folder: Path | None = None
        self._lock = threading.Lock()
        #: the GitHub Actions jobs whose runner token endpoint is served (``runner.py``)
        self.jobs = RunnerJobs(self.mint)

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            hosts = [issuer.host for issuer in self.issuers] + [RUNNER_HOST]
            tls = self._ca.server_context(*hosts)
            server = LoopbackHTTPServer(
                routing.responder(self.issuers, self.jobs),
                tls,
                reject=routing.reject,
                name="guardlib-oidc",
            ).start()
            for host in hosts:
                self._gateway.route(f"{host}:443", lambda: server.address)
            self._folder = Path(tempfile.mkdtemp(prefix="oidc-", dir=self._workdir))
            self._server = server

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            folder, self._folder = self._folder, None
        self.jobs.clear()
        if server is not None:
            server.stop()
        if folder is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)

    @property
    def folder(self) -> Path:
        self.ensure_started()
        assert self._folder is not None
        return self._folder

    # -- tokens ------------------------------------------------------------------------------
    def mint(self, subject: str, audience: str, **options: Any) -> str:
        """:meth:`Issuers.mint`, with the issuers' discovery and keys served (tokens are only
        minted where a relying party could also fetch the keys)."""
        self.ensure_started()
        return super().mint(subject, audience, **options)

    def runner_job(self, subject: str) -> RunnerJob:
        """A new GitHub Actions job whose token requests carry ``sub`` = ``subject``: its
        ``ACTIONS_ID_TOKEN_REQUEST_URL`` (with ``?api-version=2.0`` already, as the runner's) and
        ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``. Each job has its own URL and request token."""
        self.ensure_started()
        return self.jobs.new(subject)

    def write_token(self, token: str, name: str) -> Path:
        """Write ``token`` to ``<folder>/<name>`` (owner-only), replacing it atomically, as a
        kubelet refreshes a projected token. Returns the path."""
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError("a token file name is a plain file name")
        path = write_private(self.folder / name, token)
        return path


__all__ = [
    "GITHUB_ISSUER",
    "RUNNER_HOST",
    "Issuers",
    "OidcIssuers",
    "RunnerJob",
    "SubjectError",
]
