"""Fake credentials, minted at random once per emulator start.

Nothing here is derived from a name or a constant: a credential cannot be computed from the
source, and two starts hand out different ones. Within one start a :class:`CredentialBook`
returns the same credential for the same (kind, name), so an environment that was applied
once stays valid across ``reset()`` and a re-seed.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: AWS access key ids are 20 characters of A-Z and 2-7 (base32), after a 4-letter prefix
#: (AKIA: long-term user key, ASIA: temporary STS credentials). IAM's ``AccessKeyId``
#: pattern is ``[\w]+`` of 16 to 128 characters (botocore's iam service-2.json).
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
#: secret access keys: 40 characters of base64 (A-Z a-z 0-9 + /)
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def token(nbytes: int = 32, prefix: str = "") -> str:
    """A URL-safe random token (``secrets.token_urlsafe``), with an optional prefix."""
    return prefix + secrets.token_urlsafe(nbytes)


def aws_access_key_id(prefix: str = "ASIA") -> str:
    return prefix + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))


def aws_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def random_uuid() -> str:
    return str(uuid.uuid4())


class CredentialBook:
    """Credentials of one emulator start, minted on first use and remembered per key."""

    def __init__(self) -> None:
        self._issued: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, name: str, mint: Callable[[], T]) -> T:
        """The credential ``kind`` of ``name``: minted by ``mint()`` the first time."""
        with self._lock:
            key = (kind, name)
            if key not in self._issued:
                self._issued[key] = mint()
            value: T = self._issued[key]
            return value

    def find(self, kind: str, value: object) -> str | None:
        """The name whose ``kind`` credential is ``value`` (constant-time per entry)."""
        if not isinstance(value, str):
            return None
        with self._lock:
            items = [(k[1], v) for k, v in self._issued.items() if k[0] == kind]
        found = None
        for name, issued in items:
            if isinstance(issued, str) and secrets.compare_digest(issued, value):
                found = name
        return found

    def clear(self) -> None:
        """Forget every credential: the next ``get`` mints new ones (a new start)."""
        with self._lock:
            self._issued.clear()
