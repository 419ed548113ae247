"""The contract every emulator folder implements, and the context the lifecycle hands it.

Each cloud lives in its own folder, laid out like a moto service:

- ``state.py``     the in-memory model (vaults, secrets, versions, identities, policies);
- ``protocol.py``  the wire format: parse requests, render responses;
- ``routing.py``   which URL / RPC goes to which handler, and the server itself;
- ``errors.py``    the service's real error codes and how they are rendered;
- ``__init__.py``  the ``Emulator`` class below, wiring the four together.

Everything binds to 127.0.0.1 only and keeps its state in memory; files that an SDK must
read (CA bundle, service-account key JSON) go to ``CloudContext.workdir``, a temporary
directory that is removed at stop, never into the repository.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .ca import LocalCA
    from .faults import Faults
    from .gateway import Gateway
    from .oidc import OidcIssuers
    from .seed import SeedSpec


class EmulatorUnavailable(RuntimeError):
    """An emulator cannot start here (a missing extra, or no server binary). Says how to fix."""


class EmulatorNotRunning(RuntimeError):
    """An emulator was asked for something (its address, an environment) before ``start``."""


@dataclasses.dataclass
class CloudContext:
    """What the lifecycle gives each emulator at start."""

    ca: LocalCA
    faults: Faults
    workdir: Path
    gateway_url: str  # "http://127.0.0.1:PORT", the HTTPS_PROXY value
    #: the offline OIDC issuers (``oidc.OidcIssuers``): what a cloud calls to verify a
    #: workload's token (``ctx.oidc.verify(token, audiences=...)``) and to read their keys
    oidc: OidcIssuers | None = None
    #: the gateway itself, for an emulator that serves some of its hosts from a second server
    #: (``gateway.route(pattern, backend)``; unroute them at stop)
    gateway: Gateway | None = None


class Emulator(Protocol):
    """One emulated cloud service."""

    #: short name used by ``--only`` and in seeds: "azure", "gcp", "aws", "vault"
    name: str
    #: fnmatch patterns of the real hosts (``host:port``) the gateway tunnels to this emulator,
    #: e.g. ``("*.vault.azure.net:443", "login.microsoftonline.com:443")``. Empty if the SDK is
    #: pointed at the emulator directly (an endpoint variable) rather than through the gateway.
    hosts: tuple[str, ...]

    def start(self, ctx: CloudContext) -> None:
        """Bind to 127.0.0.1 on a free port and return once ready to serve."""

    def stop(self) -> None:
        """Stop serving and release every resource. Safe to call twice."""

    def backend(self) -> tuple[str, int]:
        """The (host, port) the gateway tunnels ``hosts`` to. TLS is served there."""

    def env(self, identity: str | None = None) -> dict[str, str]:
        """Environment variables that point unmodified SDK code at this emulator, acting as
        ``identity`` (None: the administrator, who may do everything). Shared variables (proxy,
        CA bundles) are added by the lifecycle, not here."""

    def reset(self) -> None:
        """Forget all state (secrets, identities, policies, faults are separate)."""

    def apply_seed(self, spec: SeedSpec) -> None:
        """Create the identities, secrets and access rules of ``spec`` that concern this cloud.
        ``spec.trusts`` (workload identity federation) is applied by emulators that support it."""


@runtime_checkable
class FederatedEmulator(Emulator, Protocol):
    """An emulator that trusts the offline OIDC issuers (workload identity federation).

    ``apply_seed`` turns each ``spec.trusts`` entry into the cloud's own trust object (an IAM
    OIDC provider and role trust policy, a federated identity credential, a workload identity
    pool provider and ``roles/iam.workloadIdentityUser`` binding, an OpenBao JWT role)."""

    def federation_audience(self, identity: str) -> str:
        """The audience this cloud expects in a token for ``identity`` by default."""

    def federation_env(self, identity: str, token_file: Path) -> dict[str, str]:
        """The variables with which the cloud's SDK exchanges the token in ``token_file`` for
        ``identity``'s credentials (and no other credential)."""
