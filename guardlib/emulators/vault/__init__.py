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

The server's log lives in a private folder inside the cloud's work folder (or, started
without a context, in a private temporary folder of its own), removed at ``stop()``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..kit import CredentialBook, require_running, token
from .admin import Admin, VaultApiError, VaultInputError, check_secret_name
from .binary import locate
from .server import DevServer

if TYPE_CHECKING:
    from ..base import CloudContext
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
        self.admin.apply_seed(spec)


__all__ = [
    "Admin",
    "VaultApiError",
    "VaultEmulator",
    "VaultInputError",
    "check_secret_name",
]
