"""A real OpenBao server (the open, API-compatible fork of HashiCorp Vault), in dev mode.

No emulator: ``bao server -dev`` itself, started on a free loopback port, plain http (see
``server.py``), set up with KV v2 at ``secret/`` and the AppRole auth method (``admin.py``).

Every credential is random per start and reachable only through :meth:`VaultEmulator.env`
(and so ``cloud.env(identity)`` and the file ``guardlib emulators up`` writes):

- ``env(None)``: ``VAULT_ADDR`` and ``VAULT_TOKEN`` = the dev server's root token, minted at
  random for this start (``kit.token``).
- ``env("dev-app")``: ``VAULT_ADDR`` and ``VAULT_TOKEN`` = a token from an AppRole login as
  ``dev-app`` (what hvac and the ``bao``/``vault`` CLI pick up unchanged), plus
  ``VAULT_ROLE_ID``/``VAULT_SECRET_ID`` (random per start; not read by any client by itself:
  they let a chapter show the AppRole login an application does at start-up). For an identity
  no seed named yet, ``VAULT_TOKEN`` is a random token the server never issued (403
  permission denied), and the role/secret ids log in only once a seed names it.
- ``reset()`` wipes KV data, ACL policies and AppRoles through the API: no restart. Within one
  start, ``env(identity)`` returns the same values before and after a reset, and an
  environment applied before a reset works again once the identity is seeded again (its
  token carries the policy *name*; the re-seeded AppRole gets the same role and secret id).

Keyless deploys (workload identity federation): each seeded ``trusts`` entry becomes a role of
OpenBao's own JWT auth method, at one mount per issuer (``auth/jwt`` for GitHub Actions,
``auth/jwt-kubernetes`` for the cluster), configured with that issuer's public key
(``jwt_validation_pubkeys``, so OpenBao never needs to reach the issuer) and ``bound_issuer``.
The role is named after the identity: ``role_type=jwt``, ``user_claim=sub``, ``bound_audiences``,
``bound_claims`` on ``sub`` (``glob`` for a ``*`` pattern), the identity's policy, a 10-minute
token. OpenBao itself checks signature, issuer, audience, expiry and claims; its refusals are
its own (hvac raises ``InvalidRequest``). ``federation_env`` gives no token, only:

====================  ===========================================================================
``VAULT_ADDR``        the server (read by hvac and the CLI)
``VAULT_AUTH_ROLE``   the JWT role to log in at (our name: hvac reads no variable for it)
``VAULT_AUTH_PATH``   the mount of the token's issuer, ``jwt`` or ``jwt-kubernetes`` (ours too)
``VAULT_JWT_FILE``    the file holding the CI job's or pod's token (ours too)
====================  ===========================================================================

so a deploy step logs in with ``client.auth.jwt.jwt_login(role=os.environ["VAULT_AUTH_ROLE"],
jwt=Path(os.environ["VAULT_JWT_FILE"]).read_text(), path=os.environ["VAULT_AUTH_PATH"])``.

The server's log lives in a private folder inside the cloud's work folder (or, started
without a context, in a private temporary folder of its own), removed at ``stop()``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..kit import CredentialBook, require_running, token
from ..kit import jwt as _jwt
from .admin import (
    JWT_MOUNTS,
    Admin,
    VaultApiError,
    VaultInputError,
    check_secret_name,
    default_audience,
)
from .binary import locate
from .server import DevServer

if TYPE_CHECKING:
    from ..base import CloudContext
    from ..oidc import OidcIssuers
    from ..seed import SeedSpec

locate()  # fail at import with the install command, so `available()` reports it


class VaultEmulator:
    name = "vault"
    hosts: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._server: DevServer | None = None
        self._admin: Admin | None = None
        self._book = CredentialBook()
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._workdir: Path | None = None
        self._own_workdir: object | None = None  # a WorkDir, when started without a context
        self._oidc: OidcIssuers | None = None

    def start(self, ctx: CloudContext | None) -> None:
        if self._server is not None:
            return
        import tempfile

        if ctx is not None:
            base = Path(ctx.workdir)
        else:  # a private folder that goes with this process however it ends (workdir.py)
            from ..workdir import WorkDir

            own = WorkDir()
            self._own_workdir, base = own, own.path
        workdir = Path(tempfile.mkdtemp(prefix="openbao-", dir=base))
        self._book.clear()  # a new start: new credentials
        root = token(18, prefix="demo-root-")  # OpenBao refuses custom ids with a "."
        server = DevServer(locate(), root, workdir)
        try:
            server.start()
            admin = Admin(server.addr, root, self._book)
            admin.setup()
        except BaseException:
            server.stop()
            self._remove_workdir(workdir)
            raise
        self._server, self._admin, self._workdir = server, admin, workdir
        self._oidc = getattr(ctx, "oidc", None)  # tests start it with a bare context

    def stop(self) -> None:
        server, self._server, self._admin = self._server, None, None
        with self._lock:
            self._tokens.clear()
        self._book.clear()
        if server is not None:
            server.stop()
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            self._remove_workdir(workdir)

    def _remove_workdir(self, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        own, self._own_workdir = self._own_workdir, None
        if own is not None:
            own.remove()  # type: ignore[attr-defined]

    @property
    def admin(self) -> Admin:
        return require_running(self.name, self._admin)

    @property
    def addr(self) -> str:
        return self.admin.addr

    @property
    def workdir(self) -> Path:
        """The folder of this start: the server's log (storage is in memory)."""
        return require_running(self.name, self._workdir)

    def backend(self) -> tuple[str, int]:
        return "127.0.0.1", require_running(self.name, self._server).port

    def env(self, identity: str | None = None) -> dict[str, str]:
        admin = self.admin
        env = {"VAULT_ADDR": admin.addr}
        if identity is None:
            env["VAULT_TOKEN"] = admin.token
            return env
        role_id, secret_id = admin.approle(identity)  # checks the name
        with self._lock:
            issued = self._tokens.get(identity)
            if issued is None and identity in admin.grants:
                issued = self._tokens[identity] = admin.login(identity)
        if issued is None:  # never seeded: a token the server never issued (403)
            issued = self._book.get("absent-token", identity, lambda: token(18, prefix="demo-"))
        env.update(VAULT_TOKEN=issued, VAULT_ROLE_ID=role_id, VAULT_SECRET_ID=secret_id)
        return env

    def reset(self) -> None:
        # Issued AppRole tokens stay (as the fixed AWS role credentials do): they carry only
        # the policy *name*, which grants nothing until a seed names the identity again.
        self.admin.reset()

    def apply_seed(self, spec: SeedSpec) -> None:
        issuers = {}
        if spec.trusts and self._oidc is not None:
            for name in {t.issuer for t in spec.trusts}:
                issuers[name] = (self._oidc.issuer(name).url, self._oidc.public_key_pem(name))
        self.admin.apply_seed(spec, issuers)

    # -- workload identity federation (base.FederatedEmulator) ------------------------------
    def federation_audience(self, identity: str) -> str:
        """The audience of ``identity``'s JWT role: the seeded trust's, or by default the one
        its issuer puts in a token unasked (``https://github.com/OWNER`` for GitHub Actions,
        see ``admin.default_audience``); ``vault`` for an identity no trust names."""
        roles = self.admin.jwt_roles
        for mount in JWT_MOUNTS.values():
            role = roles.get((mount, identity))
            if role is not None:
                return role.audience
        return default_audience("kubernetes", "")

    def federation_env(self, identity: str, token_file: Path) -> dict[str, str]:
        """``VAULT_ADDR``, ``VAULT_AUTH_ROLE``, ``VAULT_AUTH_PATH`` and ``VAULT_JWT_FILE`` (see
        the module docstring): no ``VAULT_TOKEN``; the mount is that of the token's issuer."""
        admin = self.admin
        mount = JWT_MOUNTS["github"]
        try:
            iss = _jwt.unverified_claims(Path(token_file).read_text(encoding="ascii")).get("iss")
        except (OSError, ValueError):
            iss = None
        if self._oidc is not None and isinstance(iss, str):
            for name, path in JWT_MOUNTS.items():
                if self._oidc.issuer(name).url == iss:
                    mount = path
        return {
            "VAULT_ADDR": admin.addr,
            "VAULT_AUTH_ROLE": identity,
            "VAULT_AUTH_PATH": mount,
            "VAULT_JWT_FILE": str(token_file),
        }


__all__ = [
    "Admin",
    "VaultApiError",
    "VaultEmulator",
    "VaultInputError",
    "check_secret_name",
]
