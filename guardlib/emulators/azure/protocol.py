"""Key Vault's wire format (REST, JSON): secret bundles, items, deleted bundles, pages and
backups, as the ``azure.keyvault.secrets._generated.models`` classes read them."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import errors
from .state import RECOVERABLE_DAYS, RECOVERY_LEVEL, Secret, Version

DAY = 86400
PAGE_SIZE = 25  # Key Vault's default and maximum ``maxresults``
#: nesting Key Vault's request bodies never need (System.Text.Json's default MaxDepth is 64)
MAX_DEPTH = 64
#: a unix time Key Vault can hold (year 9999)
MAX_TIME = 253402300799

#: api-version values the service recognizes: azure-keyvault-secrets' ApiVersion enum and the
#: ``api_versions_list`` of its generated operations (_generated/_operations/_operations.py)
API_VERSIONS = frozenset({
    "2015-06-01", "2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6-preview.2", "7.6",
    "2025-06-01-preview", "2025-07-01", "2026-01-01-preview", "2026-03-01-preview", "2026-04-01",
})  # fmt: skip
LATEST_API_VERSION = "2026-04-01"
#: ``outContentType`` (2025-06-01-preview and later): the SDK's ContentType enum
OUT_CONTENT_TYPES = ("application/x-pkcs12", "application/x-pem-file")


def check_api_version(query: dict[str, str]) -> None:
    if "api-version" not in query:
        raise errors.bad_parameter("The 'api-version' query parameter is missing.")
    version = query["api-version"]
    if version not in API_VERSIONS:
        # the real service's text (Azure/azure-sdk-for-python#28595, azure-sdk-for-net#14789)
        raise errors.bad_parameter(
            f"The specified version ({version[:40]}) is not recognized. Consider using the latest "
            f"supported version ({LATEST_API_VERSION})."
        )


def attributes(version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "enabled": version.enabled,
        "created": version.created,
        "updated": version.updated,
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": RECOVERABLE_DAYS,
    }
    if version.not_before is not None:
        out["nbf"] = version.not_before
    if version.expires is not None:
        out["exp"] = version.expires
    return out


def _common(base: str, secret: Secret, version: Version, with_version: bool) -> dict[str, Any]:
    sid = f"{base}/secrets/{secret.name}"
    out: dict[str, Any] = {
        "id": f"{sid}/{version.version}" if with_version else sid,
        "attributes": attributes(version),
    }
    if version.content_type is not None:
        out["contentType"] = version.content_type
    if version.tags:
        out["tags"] = dict(version.tags)
    return out


def bundle(base: str, secret: Secret, version: Version, with_value: bool = True) -> dict[str, Any]:
    out = _common(base, secret, version, True)
    if with_value:
        out["value"] = version.value
    return out


def item(base: str, secret: Secret, version: Version, with_version: bool = False) -> dict[str, Any]:
    return _common(base, secret, version, with_version)


def deleted(base: str, secret: Secret, as_item: bool = False) -> dict[str, Any]:
    version = secret.current()
    out = _common(base, secret, version, not as_item)
    out["recoveryId"] = f"{base}/deletedsecrets/{secret.name}"
    deleted_date = secret.deleted_date or int(time.time())
    out["deletedDate"] = deleted_date
    out["scheduledPurgeDate"] = deleted_date + RECOVERABLE_DAYS * DAY
    return out


def page(base: str, path: str, items: list[Any], query: dict[str, str]) -> dict[str, Any]:
    """One page of ``items`` from ``$skiptoken``, and a ``nextLink`` if more remain."""
    raw = query.get("maxresults")
    size = PAGE_SIZE
    if raw:
        if not _decimal(raw):  # int() would take " 5", "+5" and non-ASCII digits
            raise errors.bad_parameter("The value of maxresults is not valid.")
        size = int(raw)
        if not 1 <= size <= PAGE_SIZE:
            raise errors.bad_parameter(
                f"The value of maxresults must be between 1 and {PAGE_SIZE}."
            )
    token = query.get("$skiptoken") or "0"
    if not _decimal(token):
        raise errors.bad_parameter("The $skiptoken is not valid.")
    start = int(token)
    chunk = items[start : start + size]
    next_link = None
    if start + size < len(items):
        api = quote(query.get("api-version", "7.6"))
        next_link = f"{base}{path}?api-version={api}&$skiptoken={start + size}&maxresults={size}"
    return {"value": chunk, "nextLink": next_link}


class BackupCodec:
    """Opaque, encrypted backup blobs (the real ones are protected too, and restorable only
    into the same geography; here: only into this emulator process)."""

    MAGIC = b"GLKVB1"

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def dump(self, secret: Secret) -> str:
        data = {
            "name": secret.name,
            "latest": secret.latest,
            "versions": [vars(v) for v in secret.versions.values()],
        }
        nonce = os.urandom(12)
        blob = self.MAGIC + nonce + self._aead.encrypt(nonce, json.dumps(data).encode(), None)
        return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()

    def load(self, text: object) -> Secret:
        try:
            if not isinstance(text, str):
                raise ValueError
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if not blob.startswith(self.MAGIC):
                raise ValueError
            nonce, sealed = (
                blob[len(self.MAGIC) : len(self.MAGIC) + 12],
                blob[len(self.MAGIC) + 12 :],
            )
            data = json.loads(self._aead.decrypt(nonce, sealed, None))
            versions = {v["version"]: Version(**v) for v in data["versions"]}
            return Secret(data["name"], versions, data["latest"])
        except Exception:  # noqa: BLE001 - any failure means a corrupt or foreign blob
            raise errors.malformed_backup() from None


def _decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 12


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity, -Infinity are not JSON (RFC 8259 section 6)


def _depth_ok(raw: str) -> bool:
    """Nesting at most MAX_DEPTH, counted outside strings, before json.loads recurses."""
    depth, in_string, escaped = 0, False, False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _has_lone_surrogate(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(body: bytes) -> dict[str, Any]:
    """A request body as Key Vault reads it: a UTF-8 JSON object, strictly (no NaN/Infinity,
    no lone surrogates, no number too large for a double, bounded nesting)."""
    if not body:
        return {}
    invalid = errors.bad_parameter("The request body is not valid JSON.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid from None
    if not _depth_ok(text):
        raise invalid
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise invalid from None
    if not isinstance(data, dict):
        raise errors.bad_parameter("The request body must be a JSON object.")
    if _has_lone_surrogate(data):
        raise invalid
    return data


def _unix_time(value: object, wire: str) -> int:
    # ints and finite floats (JSON numbers); bool is an int to Python, not to Key Vault
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == value and 0 <= value <= MAX_TIME:  # NaN != NaN; 1e400 is inf
            return int(value)
    raise errors.bad_parameter(f"attributes.{wire} must be a unix time.")


def parse_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` of a set/update request -> Version field changes."""
    raw = data.get("attributes") or {}
    if not isinstance(raw, dict):
        raise errors.bad_parameter("attributes must be an object.")
    out: dict[str, Any] = {}
    if "enabled" in raw and raw["enabled"] is not None:
        if not isinstance(raw["enabled"], bool):
            raise errors.bad_parameter("attributes.enabled must be a boolean.")
        out["enabled"] = raw["enabled"]
    for wire, field in (("nbf", "not_before"), ("exp", "expires")):
        if wire in raw and raw[wire] is not None:
            out[field] = _unix_time(raw[wire], wire)
    return out
