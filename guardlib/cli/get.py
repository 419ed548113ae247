"""``guardlib get REF``: a secret's metadata, or with ``--reveal`` its value and nothing else.

Without ``--reveal`` the output is what :func:`guardlib.resolver.describe` returns (provider,
name, version or stage, created time, value type, length, a JSON secret's keys): enough to
check that a reference points where you think and that this identity may read it, without the
value reaching the terminal, the scrollback or a CI log.

With ``--reveal`` stdout holds exactly the value (bytes as they are; a dict or list from a
``#field`` as JSON) so it can be piped; a newline is added only when stdout is a terminal.
Errors go to stderr and name the reference and the provider's error code, never a value.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from guardlib.cli.exit_codes import EXIT_OK, error_line, exit_code_for


def as_bytes(value: Any) -> bytes:
    """A resolved value as the bytes a pipe or an environment variable gets."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")  # numbers, booleans, objects from a #field


_LABELS = (
    ("reference", "reference"),
    ("provider", "provider"),
    ("provider_name", "name"),
    ("field", "field"),
    ("version", "version"),
    ("stages", "stages"),
    ("created", "created"),
    ("value_type", "type"),
    ("length", "length"),
    ("keys", "keys"),
)


def render(info: dict[str, Any]) -> str:
    """The metadata as aligned ``label  value`` lines, skipping what the provider lacks."""
    rows = []
    for key, label in _LABELS:
        value = info.get(key)
        if value is None or value == []:
            continue
        rows.append((label, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def main(reference: str, *, reveal: bool = False, as_json: bool = False) -> int:
    from guardlib import resolver

    resolver.install_redaction()  # an SDK's log line cannot carry the value either
    try:
        if reveal:
            data = as_bytes(resolver.resolve(reference, cache=None).reveal())
        else:
            info = resolver.describe(reference, cache=None)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - reported by type and code
        print(error_line("get", exc), file=sys.stderr)
        return exit_code_for(exc)
    if reveal:
        out = sys.stdout.buffer
        out.write(data)
        if sys.stdout.isatty():
            out.write(b"\n")
        out.flush()
    elif as_json:
        print(json.dumps(info, indent=2))
    else:
        print(render(info))
    return EXIT_OK
