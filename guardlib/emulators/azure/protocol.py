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
        try:
            size = int(raw)
        except ValueError:
            raise errors.bad_parameter("The value of maxresults is not valid.") from None
        if not 1 <= size <= PAGE_SIZE:
            raise errors.bad_parameter(
                f"The value of maxresults must be between 1 and {PAGE_SIZE}."
            )
    try:
        start = int(query.get("$skiptoken") or 0)
    except ValueError:
        raise errors.bad_parameter("The $skiptoken is not valid.") from None
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
            raise errors.bad_parameter("Backup blob contains invalid or corrupt version.") from None


def parse_json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise errors.bad_parameter("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise errors.bad_parameter("The request body must be a JSON object.")
    return data


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
            if not isinstance(raw[wire], (int, float)):
                raise errors.bad_parameter(f"attributes.{wire} must be a unix time.")
            out[field] = int(raw[wire])
    return out
