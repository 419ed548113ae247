"""The issuers' state: one RSA signing key per issuer per start, made on first use.

A new start makes new keys, so a token minted before a restart no longer verifies (as a key
rotation at a real issuer does). Key ids are random, never derived from a name.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from typing import Any


@dataclasses.dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Any = dataclasses.field(repr=False)

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


def new_signing_key() -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid=secrets.token_hex(20), private_key=private)


@dataclasses.dataclass
class IssuerState:
    """One issuer: its URL, where it publishes its keys, and its signing key."""

    name: str  # "github" | "kubernetes"
    url: str  # the ``iss`` claim, e.g. https://token.actions.githubusercontent.com
    jwks_path: str  # path of the JWKS document on the issuer's host
    _key: SigningKey | None = dataclasses.field(default=None, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].split("/", 1)[0]

    @property
    def path_prefix(self) -> str:
        """The issuer URL's path ('' for GitHub, '/id/<hex>' for an EKS-style issuer)."""
        rest = self.url.split("://", 1)[1]
        return rest[len(self.host) :]

    @property
    def jwks_uri(self) -> str:
        return f"https://{self.host}{self.jwks_path}"

    @property
    def key(self) -> SigningKey:
        with self._lock:
            if self._key is None:
                self._key = new_signing_key()
            return self._key

    def public_keys(self) -> dict[str, Any]:
        """kid -> RSA public key: what a relying party reads from the JWKS."""
        key = self.key
        return {key.kid: key.public_key}
