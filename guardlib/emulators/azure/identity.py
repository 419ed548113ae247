"""Identities and tokens: the emulated Microsoft Entra ID (AAD) side of Azure.

- every identity is a service principal with an object id, a client id, a client secret and a
  user-assigned managed-identity resource id. The ids and the secret are random, minted once
  per emulator start by the kit's :class:`~guardlib.emulators.kit.CredentialBook` (stable
  across ``reset()`` and a re-seed, never derived from the name);
- tokens are real RS256 JWTs signed with a key made at start, shaped like Entra's v1 access
  tokens for Key Vault (``aud`` https://vault.azure.net, ``iss`` https://sts.windows.net/<tid>/)
  and checked as Key Vault checks them: algorithm, key id, signature, issuer and tenant,
  audience, and a lifetime of integer ``nbf``/``exp``;
- two ways to get one, as on Azure (``identity_routing.py``): the App Service managed-identity
  endpoint (``IDENTITY_ENDPOINT`` + ``X-IDENTITY-HEADER``, api-version 2019-08-01) and the
  client-credentials flow at ``login.microsoftonline.com/<tenant>/oauth2/v2.0/token`` (MSAL).

The tenant and subscription ids are public identifiers (the tenant is in every 401 challenge),
not credentials, so they are fixed.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..kit import CredentialBook

#: the emulated Entra tenant and subscription: fixed, public ids (chapter 06 prints the
#: challenge that names the tenant), uuid5 values that no real tenant has
TENANT_ID = "10c62b3e-e3b2-5555-94ed-d8a02f55155e"
SUBSCRIPTION_ID = "995deeca-1b3a-5f0f-953b-4755f478d494"
RESOURCE_GROUP = "guard-demo"
KEY_VAULT_RESOURCE = "https://vault.azure.net"
AUTHORITY_HOST = "login.microsoftonline.com"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
#: Key Vault accepts v1 and v2 access tokens of its own tenant
ISSUERS = (ISSUER, f"https://{AUTHORITY_HOST}/{TENANT_ID}/v2.0")
ADMIN_NAME = "admin"
#: Entra access tokens live 60-90 minutes (managed identities up to 24 hours); a token that
#: claims to live longer than this was not made by Entra
MAX_LIFETIME = 2 * 86400
CLOCK_SKEW = 300  # seconds of nbf tolerance, as Microsoft.IdentityModel's default

#: Entra client secrets: 3 characters, "8Q~" (the format version), 34 more; 40 in all
_SECRET_ALPHABET = string.ascii_letters + string.digits + "_-.~"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def mint_client_secret() -> str:
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(34))


def _uuid() -> str:
    return str(uuid.uuid4())


@dataclasses.dataclass(frozen=True)
class Principal:
    """A service principal: a managed identity that may also use a client secret."""

    name: str
    object_id: str
    client_id: str
    client_secret: str = dataclasses.field(default="", repr=False, compare=False)
    admin: bool = False

    @classmethod
    def minted(cls, book: CredentialBook, name: str, admin: bool = False) -> Principal:
        """The principal of ``name`` in this start: ids and secret from ``book``."""
        return cls(
            name,
            book.get("object-id", name, _uuid),
            book.get("client-id", name, _uuid),
            book.get("client-secret", name, mint_client_secret),
            admin or name == ADMIN_NAME,
        )

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
        )

    def caller(self) -> str:
        """How Key Vault names the caller in a 403 message."""
        return f"appid={self.client_id};oid={self.object_id};iss={ISSUER}"


class TokenError(Exception):
    """A bearer token Key Vault must reject with 401 (the message is Key Vault's)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity, -Infinity


def _json_object(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw, parse_constant=_reject_constant)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _is_time(value: object) -> bool:
    return type(value) is int  # JSON integers only: no bool, float, NaN or string


MALFORMED = "Error validating token: IDX14100: JWT is not well formed."
BAD_SIGNATURE = (
    "Error validating token: IDX10511: Signature validation failed: the token's signature "
    "is not valid."
)
UNKNOWN_KEY = "AKV10046: Unable to resolve the key used for signature validation."
MAX_TOKEN = 16 * 1024


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
    def public_key(self) -> rsa.RSAPublicKey:
        """The signing key's public half (Entra publishes it at ``discovery/v2.0/keys``)."""
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
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> tuple[str, int]:
        """(JWT, expires_on epoch seconds) for ``principal``. ``claims``/``header`` override
        fields, signed all the same (for tests of what Key Vault must still refuse)."""
        now = int(time.time() if now is None else now)
        exp = now + lifetime
        head: dict[str, Any] = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid}
        body: dict[str, Any] = {
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
        head.update(header or {})
        body.update(claims or {})
        signing_input = (
            _b64(json.dumps(head, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(body, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature), exp

    def _signed_claims(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is not None:
            return claims
        if len(token) > MAX_TOKEN or token.count(".") != 2:
            raise TokenError(MALFORMED)
        head_b64, body_b64, sig_b64 = token.split(".")
        try:
            header = _json_object(_unb64(head_b64))
            claims = _json_object(_unb64(body_b64))
            signature = _unb64(sig_b64)
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise TokenError(MALFORMED) from None
        if header.get("alg") != "RS256" or not signature:
            raise TokenError(BAD_SIGNATURE)  # none, HS256 with the public key, ...
        if not isinstance(header.get("kid"), str) or not hmac.compare_digest(
            header["kid"].encode(), self.kid.encode()
        ):
            raise TokenError(UNKNOWN_KEY)
        try:
            self.public_key.verify(
                signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise TokenError(BAD_SIGNATURE) from None
        with self._lock:
            if len(self._verified) > 4096:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def verify(self, token: str, *, audience: str = KEY_VAULT_RESOURCE) -> dict[str, Any]:
        """The claims of a token this issuer signed, for this tenant and ``audience``, within
        its lifetime; else ``TokenError`` with Key Vault's reason (never quoting the token)."""
        claims = self._signed_claims(token)
        iss = claims.get("iss")
        if iss not in ISSUERS or claims.get("tid") != TENANT_ID:
            found = iss if isinstance(iss, str) else ""
            raise TokenError(
                f"AKV10032: Invalid issuer. Expected one of {', '.join(ISSUERS)}, "
                f"found {found[:200]}."
            )
        aud = claims.get("aud")
        if not isinstance(aud, str) or aud.rstrip("/") != audience:
            shown = aud[:200] if isinstance(aud, str) else ""
            raise TokenError(f"AKV10022: Invalid audience. Expected {audience}, found: {shown}.")
        exp, nbf = claims.get("exp"), claims.get("nbf")
        now = time.time()
        if (
            not isinstance(exp, int)
            or not isinstance(nbf, int)
            or not (_is_time(exp) and _is_time(nbf) and exp - nbf <= MAX_LIFETIME)
        ):
            raise TokenError(
                "Error validating token: IDX10225: Lifetime validation failed. The token is "
                "missing a valid Expiration Time or NotBefore."
            )
        if exp <= now:
            raise TokenError(
                "Error validating token: IDX10223: Lifetime validation failed. The token is "
                "expired."
            )
        if nbf > now + CLOCK_SKEW:
            raise TokenError(
                "Error validating token: IDX10222: Lifetime validation failed. The token is not "
                "yet valid."
            )
        if not isinstance(claims.get("oid"), str) or not isinstance(claims.get("appid"), str):
            raise TokenError("Error validating token: the token carries no oid or appid claim.")
        return claims


def identity_header(key: bytes, site: str) -> str:
    """The ``IDENTITY_HEADER`` of an emulated App Service site: one site per identity, so
    the header also says which identities the caller may request (its own, or for the
    administrator's site, the system-assigned identity and every user-assigned one).
    An HMAC under a key made at each start: it cannot be computed without that key."""
    mac = hmac.new(key, site.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{site}.{mac}"


def site_of_header(key: bytes, header: str) -> str | None:
    """The site a ``X-IDENTITY-HEADER`` value belongs to, or None if it is not genuine."""
    site, _, _ = header.rpartition(".")
    if site and hmac.compare_digest(identity_header(key, site).encode(), header.encode()):
        return site
    return None
