"""From a provider's raw value to what the caller asked for: ``#json.key`` selection
(nested ``a.b``), then an optional conversion (``type=int`` ...). Errors never carry the value
and never chain the parser's exception (``JSONDecodeError.doc`` holds the whole document)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from guardlib.errors import ResolveError, SecretNotFound

_MISSING = object()


def select(reference: str, raw: str | bytes, field: str | None) -> Any:
    if field is None:
        return raw
    doc = _loads(raw)
    if doc is _MISSING:
        raise ResolveError(reference, f"{reference}: #{field} needs a JSON secret, and this "
                           "one is not JSON")  # fmt: skip
    node: Any = doc
    for part in field.split("."):
        node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
        if node is _MISSING:
            raise SecretNotFound(reference, f"{reference}: the JSON secret has no key {field!r}")
    return node


def _loads(raw: Any) -> Any:
    # Raised *outside* the except block, here and below: ``raise ... from None`` only hides
    # ``__context__``, it still holds the parser's error (and JSONDecodeError.doc the value).
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return _MISSING


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value if isinstance(value, str) else json.dumps(value)


CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    str: _str, bytes: _bytes, bool: _boolean, dict: _json, list: _json, "json": _json,
}  # fmt: skip


def convert(reference: str, value: Any, type: Any) -> Any:
    if type is None:
        return value
    fn = CONVERTERS.get(type, type)
    label = getattr(type, "__name__", str(type))
    try:
        out, failed = fn(value), False
    except Exception:  # noqa: BLE001 - the converter's message may quote the value
        out, failed = None, True
    if failed:  # raised outside the except block, so no __context__ holds the value
        raise ResolveError(reference, f"{reference}: the value is not a valid {label}")
    if type in (dict, list) and not isinstance(out, type):
        raise ResolveError(reference, f"{reference}: the value is not a JSON {label}")
    return out


def describe_value(value: Any) -> dict[str, Any]:
    """Shape without content: type, length, and a JSON object's keys."""
    if isinstance(value, bytes):
        return {"value_type": "binary", "length": len(value)}
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return {"value_type": "json", "length": len(value), "keys": sorted(map(str, doc))}
        return {"value_type": "string", "length": len(value)}
    return {"value_type": type(value).__name__}
