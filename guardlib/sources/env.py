"""``env://NAME``: a process environment variable."""

from __future__ import annotations

import os

from guardlib.errors import SecretNotFound
from guardlib.resolver.references import Reference
from guardlib.sources import Fetched


def fetch(ref: Reference) -> Fetched:
    value = os.environ.get(ref.name)
    if value is None or value == "":
        raise SecretNotFound(str(ref), f"{ref}: environment variable {ref.name} is not set")
    return Fetched(value, name=ref.name)
