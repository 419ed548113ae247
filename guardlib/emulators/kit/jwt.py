"""RS256 JSON Web Tokens, signed and verified strictly, once for every emulator.

Signing is for the offline OIDC issuer (``emulators/oidc``); verification is for the clouds that
trust it (AWS STS ``AssumeRoleWithWebIdentity``, Entra's ``client_assertion``, GCP STS, and the
tests; OpenBao verifies with its own code). Verification refuses what RFC 7519 and the clouds
refuse, and some things a lenient parser lets through:

- anything but three base64url segments, or a token over :data:`MAX_TOKEN` characters;
- a header ``alg`` other than ``RS256`` (``none``, ``HS256`` with the public key as secret …),
  an unknown ``kid``, a bad signature;
- JSON that is not an object, duplicate keys, ``NaN``/``Infinity`` (not JSON, RFC 8259 §6);
- ``exp``/``iat``/``nbf`` that are not integers (RFC 7519 §2 NumericDate; a float or bool is
  refused too), a token used after ``exp`` or before ``nbf``/``iat`` (beyond a small skew);
- an issuer or audience other than the one expected (``aud`` may be a string or a list).

Every failure raises :class:`TokenError` with a ``reason`` code the caller maps onto its
service's real error; the message never contains the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

MAX_TOKEN = 16384
CLOCK_SKEW = 60  # seconds

_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(ValueError):
    """A token failed verification. ``reason`` is one of: ``malformed``, ``algorithm``,
    ``key``, ``signature``, ``issuer``, ``audience``, ``expired``, ``not_yet_valid``,
    ``claims``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError("duplicate key")
        out[key] = value
    return out


def _json_object(raw: bytes) -> dict[str, Any]:
    value = json.loads(
        raw.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_duplicates
    )
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def sign(claims: Mapping[str, Any], private_key: Any, kid: str) -> str:
    """``claims`` as an RS256 JWT signed with ``private_key`` (a cryptography RSA key)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` without checking anything but its shape: for showing a token's
    claims (never the token) and for picking the issuer whose keys verify it."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise TokenError("malformed", "not a JSON Web Token")
    parts = token.split(".")
    if not all(_B64URL.fullmatch(p) for p in parts):
        raise TokenError("malformed", "not a JSON Web Token")
    try:
        return _json_object(_unb64(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise TokenError("malformed", "the token's claims are not a JSON object") from None


def _numeric_date(claims: Mapping[str, Any], name: str, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise TokenError("claims", f"the token has no {name} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenError("claims", f"the token's {name} claim is not an integer NumericDate")
    return value


def verify(
    token: str,
    keys: Mapping[str, Any],
    *,
    issuer: str,
    audiences: Iterable[str] | None,
    now: float | None = None,
    max_lifetime: int | None = None,
) -> dict[str, Any]:
    """The claims of ``token`` once signature (``keys``: kid -> RSA public key), issuer,
    audience (any of ``audiences``; None: not checked) and times hold; else :class:`TokenError`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    claims = unverified_claims(token)
    head_b64, body_b64, sig_b64 = token.split(".")
    try:
        header = _json_object(_unb64(head_b64))
        signature = _unb64(sig_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise TokenError("malformed", "the token's header is not a JSON object") from None
    if header.get("alg") != "RS256":
        raise TokenError("algorithm", "the token is not signed with RS256")
    kid = header.get("kid")
    public_key = keys.get(kid) if isinstance(kid, str) else None
    if public_key is None:
        raise TokenError("key", "the token was signed by a key the issuer does not publish")
    try:
        public_key.verify(
            signature, f"{head_b64}.{body_b64}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        raise TokenError("signature", "the token's signature does not verify") from None
    if claims.get("iss") != issuer:
        raise TokenError("issuer", "the token's issuer is not the expected one")
    if audiences is not None:
        wanted = set(audiences)
        aud = claims.get("aud")
        got = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
        if not got or not all(isinstance(a, str) for a in got) or not wanted & set(got):
            raise TokenError("audience", "the token's audience is not an accepted one")
    now = time.time() if now is None else now
    exp = _numeric_date(claims, "exp", required=True)
    iat = _numeric_date(claims, "iat", required=False)
    nbf = _numeric_date(claims, "nbf", required=False)
    assert exp is not None
    if now > exp + CLOCK_SKEW:
        raise TokenError("expired", "the token has expired")
    for start in (iat, nbf):
        if start is not None and start > now + CLOCK_SKEW:
            raise TokenError("not_yet_valid", "the token is not valid yet")
    if max_lifetime is not None and iat is not None and exp - iat > max_lifetime:
        raise TokenError("claims", "the token lives longer than allowed")
    return claims
