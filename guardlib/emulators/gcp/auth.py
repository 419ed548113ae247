"""Who is calling: service-account keys, self-signed JWTs and metadata-server access tokens.

With a service-account key JSON, google-auth (``service_account.Credentials`` with
``always_use_jwt_access``, which the generated transports switch on) never calls ``token_uri``:
``google/auth/transport/grpc.py`` calls ``_create_self_signed_jwt("https://<default host>/")``
and sends ``authorization: Bearer <JWT>`` where the JWT is RS256, ``kid`` = ``private_key_id``,
``iss`` = ``sub`` = ``client_email``, ``aud`` = ``https://secretmanager.googleapis.com/`` and a
one-hour lifetime. If the user asked for explicit scopes the JWT has no ``aud`` but a ``scope``
claim instead (AIP-4111). We verify exactly that: known key id of a known account, signature,
issuer, expiry, and audience or scope.

Metadata-server credentials send an opaque access token that we issued (``metadata.py``); so
do IAM Credentials' ``generateAccessToken`` answers (``federation.py``). A *federated* token
from STS stands for a workload identity pool principal, not a service account: Secret Manager
sees the caller ``principal://…`` (so only a binding for that principal grants it anything).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from ..kit import CredentialBook
from . import errors

if TYPE_CHECKING:
    from .principals import FederatedToken

AUDIENCES = ("https://secretmanager.googleapis.com/", "https://secretmanager.googleapis.com")
SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/cloud-platform.read-only",
)
CLOCK_SKEW = 60  # seconds, in both directions
MAX_LIFETIME = 3600  # a self-signed JWT may live at most one hour


@dataclasses.dataclass(frozen=True)
class KeyRecord:
    """One service-account key pair, minted at random per emulator start."""

    name: str
    key_id: str
    private_pem: str = dataclasses.field(repr=False)
    public_key: Any = dataclasses.field(repr=False)
    client_id: str = ""


#: A real self-signed JWT from google-auth is ~800 characters; 8 KiB leaves room for any
#: claim set a client sends and refuses padding meant to make us parse or hash megabytes.
MAX_TOKEN = 8192


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
    # a 21-digit numeric id, as real client_ids; random, not derived from the key id
    client_id = str(10**20 + secrets.randbelow(9 * 10**20))
    return KeyRecord(name, key_id, pem, public, client_id)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class Authenticator:
    """Maps an ``authorization`` header to the email of a known service account."""

    def __init__(self) -> None:
        self._keys = CredentialBook()  # identity -> KeyRecord, for this start only
        self._by_kid: dict[str, KeyRecord] = {}
        self._accounts: dict[str, str] = {}  # identity name -> email
        self._tokens: dict[str, tuple[str, float]] = {}  # opaque access token -> (email, exp)
        self._verified: dict[str, tuple[str, str, float]] = {}  # jwt -> (name, email, exp)
        self._federated: dict[str, FederatedToken] = {}  # STS access token -> its principal
        self._lock = threading.Lock()
        #: the emulator's clock (tests move it forward to expire tokens)
        self.clock = time.time

    # -- keys --------------------------------------------------------------------------------
    def key_for(self, name: str) -> KeyRecord:
        """The RSA key of identity ``name`` in this start, made on first use (~50 ms)."""
        record: KeyRecord = self._keys.get("gcp-sa-key", name, lambda: _generate(name))
        with self._lock:
            self._by_kid.setdefault(record.key_id, record)
        return record

    def forget_keys(self) -> None:
        """A new start: every key, verified JWT and access token becomes worthless."""
        self._keys.clear()
        with self._lock:
            self._by_kid.clear()
            self._verified.clear()
            self._tokens.clear()
            self._federated.clear()

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
        now = self.clock()
        with self._lock:
            if len(self._tokens) > 4096:
                self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (email, now + lifetime)
        return token

    def token_email(self, token: str) -> str | None:
        """The account of an unexpired access token we issued to a known account, else None."""
        hit = self._tokens.get(token)
        if hit is None:
            return None
        email, exp = hit
        return email if self.clock() <= exp and self.known(email) else None

    def issue_federated(self, record: FederatedToken) -> str:
        """An STS access token for a workload identity pool principal (opaque, like Google's
        ``ya29.d.`` federated tokens)."""
        token = "ya29.d.guardlib-offline-" + secrets.token_urlsafe(40)
        now = self.clock()
        with self._lock:
            if len(self._federated) > 4096:
                self._federated = {k: v for k, v in self._federated.items() if v.expires > now}
            self._federated[token] = record
        return token

    def federated(self, token: str) -> FederatedToken | None:
        """The principal of an unexpired federated token, else None."""
        record = self._federated.get(token)
        if record is None or self.clock() > record.expires:
            return None
        return record

    # -- requests ----------------------------------------------------------------------------
    def identify(self, authorization: str | None) -> str:
        """The caller's email, or raise UNAUTHENTICATED with the real service's message."""
        if not authorization:
            raise errors.unauthenticated(invalid=False)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
            raise errors.unauthenticated()
        now = self.clock()
        hit = self._verified.get(token)
        if hit is not None:
            name, email, exp = hit
            if now <= exp + CLOCK_SKEW and self._accounts.get(name) == email:
                return email
            raise errors.unauthenticated()
        if token in self._federated:
            record = self.federated(token)
            if record is None:
                raise errors.unauthenticated()
            return record.principal.member
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
        if not all(_B64URL.fullmatch(part) for part in (head_b64, body_b64, sig_b64)):
            raise errors.unauthenticated()
        try:
            # NaN/Infinity are not JSON (RFC 8259 §6): refuse them rather than compare them
            header = json.loads(_b64(head_b64), parse_constant=_no_constant)
            claims = json.loads(_b64(body_b64), parse_constant=_no_constant)
            signature = _b64(sig_b64)
        except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
            raise errors.unauthenticated() from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise errors.unauthenticated()
        if header.get("alg") != "RS256":
            raise errors.unauthenticated()
        kid = header.get("kid")
        record = self._by_kid.get(kid) if isinstance(kid, str) else None
        if record is None:
            raise errors.unauthenticated()
        email = self._accounts.get(record.name)
        # google-auth sets iss = sub = client_email (service_account._create_self_signed_jwt)
        if email is None or claims.get("iss") != email or claims.get("sub") != email:
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
        exp, iat = _seconds(claims.get("exp")), _seconds(claims.get("iat"))
        if exp is None or iat is None or not iat < exp <= iat + MAX_LIFETIME:
            raise errors.unauthenticated()
        if now > exp + CLOCK_SKEW or iat > now + CLOCK_SKEW:
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


_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_LOCATION = re.compile(r"[a-z][a-z0-9-]{0,62}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _seconds(value: object) -> int | None:
    """A NumericDate (RFC 7519 §2) as google-auth writes it: an integer of seconds, within
    any plausible range. Strings, booleans, floats and huge numbers are refused."""
    if type(value) is not int or not 0 <= value < 2**40:
        return None
    return value


def _audience_ok(audience: object) -> bool:
    values = audience if isinstance(audience, list) else [audience]
    for value in values:
        if not isinstance(value, str):
            continue
        if value in AUDIENCES:
            return True
        # regional endpoints: https://secretmanager.<location>.rep.googleapis.com/
        if not value.startswith("https://"):
            continue
        host = value[len("https://") :].removesuffix("/")
        location = host.removeprefix("secretmanager.").removesuffix(".rep.googleapis.com")
        if host == f"secretmanager.{location}.rep.googleapis.com" and _LOCATION.fullmatch(location):
            return True
    return False
