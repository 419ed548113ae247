"""A real OpenBao server (the open, API-compatible fork of HashiCorp Vault), in dev mode.

No emulator: ``bao server -dev`` itself, started on a free loopback port, plain http (see
``server.py``), set up with KV v2 at ``secret/`` and the AppRole auth method (``admin.py``).

- ``env(None)``: ``VAULT_ADDR`` and ``VAULT_TOKEN`` = the dev server's root token.
- ``env("dev-app")``: ``VAULT_ADDR`` and ``VAULT_TOKEN`` = a token from an AppRole login as
  ``dev-app`` (what hvac and the ``bao``/``vault`` CLI pick up unchanged), plus
  ``VAULT_ROLE_ID``/``VAULT_SECRET_ID`` (not read by any client by itself: they let a chapter
  show the AppRole login an application does at start-up).
- ``reset()`` wipes KV data, ACL policies and AppRoles through the API: no restart. An
  environment applied before a reset works again once the identity is seeded again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .admin import Admin
from .binary import locate
from .server import DevServer

if TYPE_CHECKING:
    from ..base import CloudContext
    from ..seed import SeedSpec

ROOT_TOKEN = "demo-not-a-real-root-token"

locate()  # fail at import with the install command, so `available()` reports it


class VaultEmulator:
    name = "vault"
    hosts: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._server: DevServer | None = None
        self._admin: Admin | None = None
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def start(self, ctx: CloudContext | None) -> None:
        if self._server is not None:
            return
        import tempfile

        workdir = Path(ctx.workdir) / "openbao" if ctx is not None else Path(tempfile.mkdtemp())
        server = DevServer(locate(), ROOT_TOKEN, workdir)
        server.start()
        try:
            admin = Admin(server.addr, ROOT_TOKEN)
            admin.setup()
        except Exception:
            server.stop()
            raise
        self._server, self._admin = server, admin

    def stop(self) -> None:
        server, self._server, self._admin = self._server, None, None
        self._tokens.clear()
        if server is not None:
            server.stop()

    @property
    def admin(self) -> Admin:
        if self._admin is None:
            raise RuntimeError("the vault emulator is not running")
        return self._admin

    @property
    def addr(self) -> str:
        return self.admin.addr

    def backend(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the vault emulator is not running")
        return "127.0.0.1", self._server.port

    def env(self, identity: str | None = None) -> dict[str, str]:
        admin = self.admin
        env = {"VAULT_ADDR": admin.addr}
        if identity is None:
            env["VAULT_TOKEN"] = ROOT_TOKEN
            return env
        role_id, secret_id = admin.approle(identity)
        with self._lock:
            token = self._tokens.get(identity)
            if token is None and identity in admin.grants:
                token = self._tokens[identity] = admin.login(identity)
        if token is None:  # never seeded: a token of nothing, answered 403 permission denied
            token = f"demo-not-a-real-token-{identity}"
        env.update(VAULT_TOKEN=token, VAULT_ROLE_ID=role_id, VAULT_SECRET_ID=secret_id)
        return env

    def reset(self) -> None:
        # Issued AppRole tokens stay (as the fixed AWS role credentials do): they carry only
        # the policy *name*, which grants nothing until a seed names the identity again.
        self.admin.reset()

    def apply_seed(self, spec: SeedSpec) -> None:
        self.admin.apply_seed(spec)


__all__ = ["ROOT_TOKEN", "VaultEmulator"]
