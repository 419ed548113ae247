"""``dotenvx://PATH#NAME``: one key of a ``.env`` file that `dotenvx <https://dotenvx.com>`_
encrypted, decrypted in pure Python (``cryptography``). Read-only: ``dotenvx encrypt`` and
``dotenvx set`` stay the CLI's job.

The format (dotenvx's ``@dotenvx/primitives`` over eciesjs 0.4 with its defaults): a value is
``encrypted:`` + base64(ephemeral secp256k1 public key, uncompressed, 65 bytes || AES-GCM
nonce, 16 bytes || GCM tag, 16 bytes || ciphertext). The AES-256 key is
HKDF-SHA256(ikm = ephemeral public key || shared point, both uncompressed; no salt, no info,
32 bytes). A value without the prefix is plain text and returned as it is.

The private key, as dotenvx finds it (``src/lib/conventions/keynames.js``,
``environment.js``, ``src/lib/resolvers/envs.js``):

- its name comes from the file name: ``.env`` -> ``DOTENV_PRIVATE_KEY``, ``.env.production``
  -> ``DOTENV_PRIVATE_KEY_PRODUCTION``, ``.env.local.staging`` -> ``..._LOCAL_STAGING``
  (``.txt`` dropped, case-insensitive); the name of a ``DOTENV_PUBLIC_KEY...`` line in the file
  is tried too (dotenvx lets it win when it reads the file's source);
- the environment variable of that name wins; otherwise ``.env.keys`` next to the file (the
  last line that sets the name); several keys may be given comma-separated.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from guardlib.errors import AccessDenied, ProviderCause, ResolveError, SecretNotFound
from guardlib.resolver.references import Reference
from guardlib.sources import Fetched

PREFIX = "encrypted:"
_P = 2**256 - 2**32 - 977  # secp256k1's field prime


def canonical_filename(path: str) -> str:
    name = os.path.basename(path).lower()
    if name.startswith(".env") and name.endswith(".txt"):
        name = name[:-4]
    return name


def environment(filename: str) -> str:
    parts = filename.split(".")[2:]
    if not parts:
        return filename.replace(".env", "development", 1)
    return "_".join(parts[:2])


def private_key_names(path: str, public_names: list[str]) -> list[str]:
    filename = canonical_filename(path)
    if filename == ".env":
        names = ["DOTENV_PRIVATE_KEY"]
    else:
        names = [f"DOTENV_PRIVATE_KEY_{environment(filename).upper()}"]
    for public in public_names:
        name = public.replace("DOTENV_PUBLIC_KEY", "DOTENV_PRIVATE_KEY", 1)
        if name not in names:
            names.append(name)
    return names


def _values(path: Path) -> dict[str, str | None]:
    from dotenv import dotenv_values

    return dict(dotenv_values(path, interpolate=False))


def find_private_keys(path: Path, names: list[str]) -> tuple[list[str], str, str]:
    """``(keys, name, where)``: the private keys for ``path``, the variable name that held
    them and where it was found; no keys: ``([], first name, places looked at)``."""
    for name in names:
        if os.environ.get(name):
            return [k.strip() for k in os.environ[name].split(",") if k.strip()], name, "env"
    keys_file = path.parent / ".env.keys"
    if keys_file.is_file():
        try:
            keys = _values(keys_file)
        except (OSError, UnicodeDecodeError):
            keys = {}
        for name in names:
            if keys.get(name):
                return (
                    [k.strip() for k in str(keys[name]).split(",") if k.strip()],
                    name,
                    str(keys_file),
                )
    return [], names[0], f"{' or '.join(names)} in the environment, or {keys_file}"


def _point_candidates(x: int) -> list[bytes]:
    rhs = (pow(x, 3, _P) + 7) % _P
    y = pow(rhs, (_P + 1) // 4, _P)
    if y * y % _P != rhs:
        return []
    xb = x.to_bytes(32, "big")
    return [b"\x04" + xb + y.to_bytes(32, "big"), b"\x04" + xb + (_P - y).to_bytes(32, "big")]


def decrypt_value(private_hex: str, value: str) -> str:
    """One ``encrypted:`` value. ValueError('key'|'data'|'wrong') says what is wrong, never
    more."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not re.fullmatch(r"[0-9a-fA-F]{64}", private_hex):
        raise ValueError("key")
    try:
        secret = ec.derive_private_key(int(private_hex, 16), ec.SECP256K1())
    except ValueError:
        raise ValueError("key") from None
    try:
        blob = base64.b64decode(value[len(PREFIX) :], validate=True)
    except ValueError:
        raise ValueError("data") from None
    if len(blob) < 65 + 16 + 16 or blob[0] != 4:
        raise ValueError("data")
    ephemeral, nonce, tag, body = blob[:65], blob[65:81], blob[81:97], blob[97:]
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), ephemeral)
        shared_x = secret.exchange(ec.ECDH(), peer)
    except ValueError:
        raise ValueError("data") from None
    # ECDH in `cryptography` yields x only; eciesjs hashes the whole uncompressed point. Of the
    # two points with that x, the one whose key opens the GCM tag is the shared point.
    for point in _point_candidates(int.from_bytes(shared_x, "big")):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=None).derive(
            ephemeral + point
        )
        try:
            plain = AESGCM(key).decrypt(nonce, body + tag, None)
        except Exception:  # noqa: BLE001, S112 - InvalidTag: the other point, or the wrong key
            continue
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("data") from None
    raise ValueError("wrong")


def fetch(ref: Reference) -> Fetched:
    text = str(ref)
    path = Path(str(ref.container)).expanduser()
    if not path.is_file():
        raise SecretNotFound(text, f"{text}: no .env file at {path}")
    failed = False
    try:
        values = _values(path)
    except (OSError, UnicodeDecodeError):
        failed = True
    if failed:
        raise ResolveError(text, f"{text}: cannot read {path} as a .env file")
    value = values.get(ref.name)
    if value is None or value == "":
        raise SecretNotFound(text, f"{text}: {path} does not set {ref.name}")
    if not value.startswith(PREFIX):
        return Fetched(value, name=ref.name)
    publics = [k for k in values if k.startswith("DOTENV_PUBLIC_KEY")]
    keys, name, where = find_private_keys(path, private_key_names(str(path), publics))
    if not keys:
        raise AccessDenied(
            text,
            f"{text}: {ref.name} is encrypted and no private key was found (looked for {where}); "
            f"set {name} to the key from the .env.keys of whoever encrypted it (never commit "
            ".env.keys)",
            cause=ProviderCause("MissingPrivateKey"),
        )
    problems = set()
    for key in keys:
        try:
            return Fetched(decrypt_value(key, value), name=ref.name)
        except ValueError as exc:
            problems.add(str(exc))
    if "data" in problems:
        raise ResolveError(
            text,
            f"{text}: the encrypted value of {ref.name} in {path} is malformed or truncated: "
            "restore the file from git",
            cause=ProviderCause("MalformedEncryptedData"),
        )
    if problems == {"key"}:
        raise AccessDenied(
            text,
            f"{text}: {name} ({where}) is not a valid dotenvx private key (64 hex characters)",
            cause=ProviderCause("InvalidPrivateKey"),
        )
    raise AccessDenied(
        text,
        f"{text}: {name} ({where}) does not decrypt {ref.name} in {path}: a wrong private key "
        "(another environment's?), or the value was changed after it was encrypted",
        cause=ProviderCause("WrongPrivateKey"),
    )
