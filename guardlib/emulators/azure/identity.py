"""Identities and tokens: the emulated Microsoft Entra ID (AAD) side of Azure.

- every identity is a service principal with an object id, a client id and a user-assigned
  managed-identity resource id (uuid5 of its name: stable across runs);
- tokens are real RS256 JWTs signed with a key made at start, shaped like Entra's v1 access
  tokens for Key Vault (``aud`` https://vault.azure.net, ``iss`` https://sts.windows.net/<tid>/);
- two ways to get one, as on Azure: the App Service managed-identity endpoint
  (``IDENTITY_ENDPOINT`` + ``X-IDENTITY-HEADER``, api-version 2019-08-01) and the
  client-credentials flow at ``login.microsoftonline.com/<tenant>/oauth2/v2.0/token`` (MSAL).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_NS = uuid.UUID("5f0c1d2e-8a4b-4c6d-9e7f-0a1b2c3d4e5f")  # guardlib's own uuid5 namespace
#: the emulated Entra tenant (a uuid5, so it cannot be a real tenant's id by accident)
TENANT_ID = str(uuid.uuid5(_NS, "tenant:guard-demo"))
SUBSCRIPTION_ID = str(uuid.uuid5(_NS, "subscription:guard-demo"))
RESOURCE_GROUP = "guard-demo"
KEY_VAULT_RESOURCE = "https://vault.azure.net"
AUTHORITY_HOST = "login.microsoftonline.com"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
ADMIN_NAME = "admin"


@dataclasses.dataclass(frozen=True)
class Principal:
    """A service principal: a managed identity that may also use a client secret."""

    name: str
    object_id: str
    client_id: str
    admin: bool = False

    @classmethod
    def named(cls, name: str, admin: bool = False) -> Principal:
        """The principal of a neutral identity name; its ids are uuid5 of the name."""
        return cls(
            name,
            str(uuid.uuid5(_NS, f"object:{name}")),
            str(uuid.uuid5(_NS, f"client:{name}")),
            admin or name == ADMIN_NAME,
        )

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
        )

    @property
    def client_secret(self) -> str:
        # obviously fake, deterministic so an env file stays valid across restarts
        return f"demo-not-a-real-client-secret-{self.name}"

    def caller(self) -> str:
        """How Key Vault names the caller in a 403 message."""
        return f"appid={self.client_id};oid={self.object_id};iss={ISSUER}"


class TokenError(Exception):
    """A bearer token Key Vault must reject with 401."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Signs and verifies the emulated Entra access tokens."""

    def __init__(self) -> None:
        # RSA key generation takes 10-200 ms (a random prime search): do it off the start-up
        # path; the first token issued or checked waits for it
        self._key_ready = threading.Event()
        self._key_thread = threading.Thread(
            target=self._make_key, name="guardlib-azure-keygen", daemon=True
        )
        self._key_thread.start()
        self.kid = _b64(hashlib.sha1(secrets.token_bytes(16)).digest())  # noqa: S324 - a key id
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _make_key(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_key = self._private.public_key()
        self._key_ready.set()

    @property
    def _key(self) -> rsa.RSAPrivateKey:
        self._key_ready.wait()
        return self._private

    @property
    def _public(self) -> rsa.RSAPublicKey:
        self._key_ready.wait()
        return self._public_key

    def issue(
        self,
        principal: Principal,
        *,
        audience: str = KEY_VAULT_RESOURCE,
        lifetime: int = 3600,
        tenant: str = TENANT_ID,
        now: float | None = None,
    ) -> tuple[str, int]:
        """(JWT, expires_on epoch seconds) for ``principal``."""
        now = int(time.time() if now is None else now)
        exp = now + lifetime
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid}
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": exp,
            "appid": principal.client_id,
            "appidacr": "2",
            "idp": f"https://sts.windows.net/{tenant}/",
            "idtyp": "app",
            "oid": principal.object_id,
            "sub": principal.object_id,
            "tid": tenant,
            "ver": "1.0",
            "xms_mirid": principal.resource_id,
        }
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature), exp

    def verify(self, token: str, *, audience: str = KEY_VAULT_RESOURCE) -> dict[str, Any]:
        """The claims of a token this issuer signed, for ``audience``, unexpired; else
        ``TokenError`` with a reason that never quotes the token."""
        claims = self._verified.get(token)
        if claims is None:
            try:
                head_b64, body_b64, sig_b64 = token.split(".")
                header = json.loads(_unb64(head_b64))
                claims = json.loads(_unb64(body_b64))
                signature = _unb64(sig_b64)
            except (ValueError, TypeError) as exc:
                raise TokenError("the token is malformed") from exc
            if not isinstance(header, dict) or header.get("alg") != "RS256":
                raise TokenError("the token's signing algorithm is not RS256")
            try:
                self._public.verify(
                    signature,
                    f"{head_b64}.{body_b64}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except InvalidSignature:
                raise TokenError("the token's signature is invalid") from None
            if not isinstance(claims, dict):
                raise TokenError("the token is malformed")
            with self._lock:
                if len(self._verified) > 4096:
                    self._verified.clear()
                self._verified[token] = claims
        aud = str(claims.get("aud", "")).rstrip("/")
        if aud != audience:
            # the real service's AKV10022
            raise TokenError(f"AKV10022: Invalid audience. Expected {audience}, found: {aud}.")
        now = time.time()
        if float(claims.get("exp", 0)) <= now:
            raise TokenError("Error validating token: the token is expired.")
        if float(claims.get("nbf", 0)) > now + 300:
            raise TokenError("Error validating token: the token is not yet valid.")
        return claims


def identity_header(key: bytes, site: str) -> str:
    """The ``IDENTITY_HEADER`` of an emulated App Service site: one site per identity, so
    the header also says which identities the caller may request (its own, or for the
    administrator's site, the system-assigned identity and every user-assigned one)."""
    mac = hmac.new(key, site.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{site}.{mac}"


def site_of_header(key: bytes, header: str) -> str | None:
    """The site a ``X-IDENTITY-HEADER`` value belongs to, or None if it is not genuine."""
    site, _, _ = header.rpartition(".")
    if site and hmac.compare_digest(identity_header(key, site), header):
        return site
    return None
