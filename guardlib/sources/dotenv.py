"""``dotenv://PATH#NAME``: one key of a ``.env`` file (python-dotenv's parser)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from guardlib.errors import SecretNotFound
from guardlib.resolver.references import Reference
from guardlib.sources import Fetched


def _same() -> str:
    return ""


def _home() -> str:
    return os.path.expanduser("~")


def fingerprint(ref: Reference) -> Callable[[], str]:
    """A relative path names another file in another working directory: the cache keys it
    with the working directory (``os.getcwd``), an absolute or ``~`` path needs nothing."""
    container = str(ref.container)
    if container.startswith("~"):
        return _home
    return _same if os.path.isabs(container) else os.getcwd


def fetch(ref: Reference) -> Fetched:
    from dotenv import dotenv_values

    path = Path(str(ref.container)).expanduser()
    if not path.is_file():
        raise SecretNotFound(str(ref), f"{ref}: no .env file at {path}")
    value = dotenv_values(path).get(ref.name)
    if value is None or value == "":
        raise SecretNotFound(str(ref), f"{ref}: {path} does not set {ref.name}")
    return Fetched(value, name=ref.name)
