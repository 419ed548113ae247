"""``dotenv://PATH#NAME``: one key of a ``.env`` file (python-dotenv's parser)."""

from __future__ import annotations

from pathlib import Path

from guardlib.errors import SecretNotFound
from guardlib.resolver.references import Reference
from guardlib.sources import Fetched


def fetch(ref: Reference) -> Fetched:
    from dotenv import dotenv_values

    path = Path(str(ref.container)).expanduser()
    if not path.is_file():
        raise SecretNotFound(str(ref), f"{ref}: no .env file at {path}")
    value = dotenv_values(path).get(ref.name)
    if value is None or value == "":
        raise SecretNotFound(str(ref), f"{ref}: {path} does not set {ref.name}")
    return Fetched(value, name=ref.name)
