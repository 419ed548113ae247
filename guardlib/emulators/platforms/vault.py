"""OpenBao/Vault: a real Vault Agent (``bao agent``) that logs in with AppRole for the app.

The application never sees a role id or secret id, nor logs in itself: the agent's auto-auth
(method ``approle``, its ids in files only the agent reads) keeps a token fresh in a file sink,
and the app reads the token from the file (OpenBao docs, "Vault Agent: Auto-Auth", "Sinks";
HashiCorp's "Vault Agent with AppRole" tutorial). The operator's agent configuration writes the
sink to the app user's ``~/.vault-token``, where hvac (``utils.get_token_from_env``) and the
``bao``/``vault`` CLI look by default; ``VAULT_ADDR`` is the app's configuration.

The agent is the OpenBao binary the emulator runs (``vault/binary.py``), started once per
identity and stopped with the offline cloud.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..kit.files import write_private
from .model import PlatformError
from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job

#: how long the agent may take to log in and write its sink
READY_SECONDS = 15.0
_LOCK = threading.Lock()


class VaultAgent:
    def __init__(self, job: Job, identity: str) -> None:
        from ..vault.binary import locate

        vault = job.emulator("vault")
        if identity not in vault.admin.grants:  # no AppRole: the agent would retry forever
            raise PlatformError(
                f"vault-agent: the agent did not log in as {identity!r}: the seed gives it no "
                "AppRole"
            )
        self.folder = Path(tempfile.mkdtemp(prefix="vault-agent-", dir=job.cloud.workdir))
        self.home = self.folder / "home"
        self.home.mkdir(mode=0o700)
        role_id, secret_id = vault.admin.approle(identity)
        role_file = write_private(self.folder / "role-id", role_id)
        secret_file = write_private(self.folder / "secret-id", secret_id)
        self.sink = self.home / ".vault-token"
        config = f"""
vault {{
  address = "{vault.addr}"
}}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{role_file}"
      secret_id_file_path = "{secret_file}"
      remove_secret_id_file_after_reading = false
    }}
  }}
  sink "file" {{
    config = {{
      path = "{self.sink}"
      mode = 0600
    }}
  }}
}}
"""
        config_file = write_private(self.folder / "agent.hcl", config)
        self._log = open(self.folder / "agent.log", "wb")  # noqa: SIM115 - closed at stop
        self._process = subprocess.Popen(
            [locate(), "agent", f"-config={config_file}"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.folder)},
        )
        deadline = time.monotonic() + READY_SECONDS
        while not (self.sink.exists() and self.sink.stat().st_size):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PlatformError(
                    f"vault-agent: the agent did not log in as {identity!r} (is it seeded?)"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


def vault_agent(job: Job) -> dict[str, str]:
    """An app beside a Vault Agent that logs in as ``identity`` with AppRole: ``HOME`` (whose
    ``.vault-token`` is the agent's sink) and ``VAULT_ADDR``; no token, no AppRole ids."""
    assert job.identity is not None
    identity = job.identity
    key = f"vault-agent-{identity}"
    with _LOCK:
        agent = job.cloud.platform_servers.get(key)
        if agent is None:
            agent = job.cloud.platform_servers[key] = VaultAgent(job, identity)
    return {**wiring(job), "HOME": str(agent.home), "VAULT_ADDR": job.emulator("vault").addr}
