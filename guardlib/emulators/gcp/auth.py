"""Who is calling: service-account keys, self-signed JWTs and metadata-server access tokens.

With a service-account key JSON, google-auth (``service_account.Credentials`` with
``always_use_jwt_access``, which the generated transports switch on) never calls ``token_uri``:
``google/auth/transport/grpc.py`` calls ``_create_self_signed_jwt("https://<default host>/")``
and sends ``authorization: Bearer <JWT>`` where the JWT is RS256, ``kid`` = ``private_key_id``,
``iss`` = ``sub`` = ``client_email``, ``aud`` = ``https://secretmanager.googleapis.com/`` and a
one-hour lifetime. If the user asked for explicit scopes the JWT has no ``aud`` but a ``scope``
claim instead (AIP-4111). We verify exactly that: known key id of a known account, signature,
issuer, expiry, and audience or scope.

Metadata-server credentials send an opaque access token that we issued (``metadata.py``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import secrets
import threading
import time
from typing import Any

from . import errors

AUDIENCES = ("https://secretmanager.googleapis.com/", "https://secretmanager.googleapis.com")
SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-platform.read-only",
)
CLOCK_SKEW = 60  # seconds, in both directions
MAX_LIFETIME = 3600  # a self-signed JWT may live at most one hour


@dataclasses.dataclass(frozen=True)
class KeyRecord:
    """One service-account key pair (process-wide, so key files stay valid across resets)."""

    name: str
    key_id: str
    private_pem: str = dataclasses.field(repr=False)
    public_key: Any = dataclasses.field(repr=False)


_keys: dict[str, KeyRecord] = {}
_by_kid: dict[str, KeyRecord] = {}
_keys_lock = threading.Lock()
_name_locks: dict[str, threading.Lock] = {}


def key_for(name: str) -> KeyRecord:
    """The RSA key of identity ``name``, made on first use (~50 ms) and cached per process."""
    record = _keys.get(name)
    if record is not None:
        return record
    with _keys_lock:
        lock = _name_locks.setdefault(name, threading.Lock())
    with lock:
        record = _keys.get(name)
        if record is None:
            record = _generate(name)
            with _keys_lock:
                _keys[name] = record
                _by_kid[record.key_id] = record
    return record


def _generate(name: str) -> KeyRecord:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_id = hashlib.sha1(der, usedforsecurity=False).hexdigest()  # 40 hex, like real key ids
    return KeyRecord(name, key_id, pem, public)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class Authenticator:
    """Maps an ``authorization`` header to the email of a known service account."""

    def __init__(self) -> None:
        self._accounts: dict[str, str] = {}  # identity name -> email
        self._tokens: dict[str, tuple[str, float]] = {}  # opaque access token -> (email, exp)
        self._verified: dict[str, tuple[str, str, float]] = {}  # jwt -> (name, email, exp)
        self._lock = threading.Lock()

    # -- accounts ----------------------------------------------------------------------------
    def register(self, name: str, email: str) -> None:
        with self._lock:
            self._accounts[name] = email

    def known(self, email: str) -> bool:
        return email in self._accounts.values()

    def reset(self) -> None:
        """Forget the accounts. Issued tokens and verified JWTs stay cached: they are checked
        against the accounts on every request, so they work again once the account is seeded
        again (as a long-lived client in a notebook expects) and not before."""
        with self._lock:
            self._accounts.clear()

    def issue_token(self, email: str, lifetime: int = 3599) -> str:
        token = "ya29.guardlib-offline-" + secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            if len(self._tokens) > 4096:
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (email, now + lifetime)
        return token

    # -- requests ----------------------------------------------------------------------------
    def identify(self, authorization: str | None) -> str:
        """The caller's email, or raise UNAUTHENTICATED with the real service's message."""
        if not authorization:
            raise errors.unauthenticated(invalid=False)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.unauthenticated()
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None:
            name, email, exp = hit
            if now <= exp + CLOCK_SKEW and self._accounts.get(name) == email:
                return email
            raise errors.unauthenticated()
        opaque = self._tokens.get(token)
        if opaque is not None:
            email, exp = opaque
            if now <= exp and self.known(email):
                return email
            raise errors.unauthenticated()
        if token.count(".") != 2:
            raise errors.unauthenticated()
        name, email, exp = self._verify_jwt(token, now)
        with self._lock:
            if len(self._verified) > 4096:
                self._verified.clear()
            self._verified[token] = (name, email, exp)
        return email

    def _verify_jwt(self, token: str, now: float) -> tuple[str, str, float]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        head_b64, body_b64, sig_b64 = token.split(".")
        try:
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
            signature = _b64(sig_b64)
        except (ValueError, binascii.Error):
            raise errors.unauthenticated() from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise errors.unauthenticated()
        if header.get("alg") != "RS256":
            raise errors.unauthenticated()
        record = _by_kid.get(str(header.get("kid")))
        if record is None:
            raise errors.unauthenticated()
        email = self._accounts.get(record.name)
        if email is None or claims.get("iss") != email or claims.get("sub", email) != email:
            raise errors.unauthenticated()
        try:
            record.public_key.verify(
                signature,
                f"{head_b64}.{body_b64}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            raise errors.unauthenticated() from None
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
            raise errors.unauthenticated()
        if now > exp + CLOCK_SKEW or iat > now + CLOCK_SKEW or exp - iat > MAX_LIFETIME:
            raise errors.unauthenticated()
        audience = claims.get("aud")
        if audience is not None:
            if not _audience_ok(audience):
                raise errors.unauthenticated()
        else:
            scopes = str(claims.get("scope", "")).split()
            if not any(scope in SCOPES for scope in scopes):
                raise errors.unauthenticated()
        return record.name, email, float(exp)


def _audience_ok(audience: object) -> bool:
    values = audience if isinstance(audience, list) else [audience]
    for value in values:
        if not isinstance(value, str):
            continue
        if value in AUDIENCES:
            return True
        # regional endpoints: https://secretmanager.<location>.rep.googleapis.com/
        host = value.removeprefix("https://").rstrip("/")
        if host.startswith("secretmanager.") and host.endswith(".rep.googleapis.com"):
            return True
    return False
