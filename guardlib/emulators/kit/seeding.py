"""Seed application through four hooks, the same order in every cloud.

An emulator implements :class:`SeedHooks` and calls :func:`apply_seed`. Every secret name is
checked by the cloud's own rule *before* anything reaches a store, so a name the cloud cannot
hold (a ``?`` or ``#`` that would address another secret, a ``*`` that would widen an ACL, a
trailing newline) fails the whole seed with a :class:`~guardlib.emulators.seed.SeedError` and
changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..seed import SeedError

if TYPE_CHECKING:
    from ..seed import IdentitySpec, SecretSpec, SeedSpec


class SeedHooks(Protocol):
    #: the cloud's name in seeds: "azure", "gcp", "aws", "vault"
    name: str

    def check_secret_name(self, name: str) -> str | None:
        """Why this cloud cannot hold a secret called ``name`` (None: it can). Full match."""

    def add_identity(self, identity: IdentitySpec) -> None: ...

    def put_secret(self, secret: SecretSpec) -> None: ...

    def grant_read(self, secret: SecretSpec, identity: str) -> None: ...

    def grant_write(self, secret: SecretSpec, identity: str) -> None: ...


def apply_seed(hooks: SeedHooks, spec: SeedSpec) -> None:
    secrets = [s for s in spec.secrets if s.for_cloud(hooks.name)]
    for secret in secrets:  # validate everything first: a bad seed changes nothing
        why = hooks.check_secret_name(secret.name)
        if why is not None:
            raise SeedError(f"{hooks.name}: secret name {secret.name!r} is not valid: {why}")
    for identity in spec.identities.values():
        hooks.add_identity(identity)
    for secret in secrets:
        hooks.put_secret(secret)
        for reader in secret.readers:
            hooks.grant_read(secret, reader)
        for writer in secret.writers:
            hooks.grant_write(secret, writer)
