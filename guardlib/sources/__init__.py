"""One module per provider. Each exposes ``fetch(ref: Reference) -> Fetched``, makes exactly
one provider call with the SDK's own retries turned off (guardlib.resolver.retry retries),
and maps the SDK's errors to SecretNotFound / AccessDenied / ProviderUnavailable. Cloud SDKs
are imported inside the functions, so importing a source imports no SDK."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

MODULES = {
    "env": "guardlib.sources.env",
    "dotenv": "guardlib.sources.dotenv",
    "aws-sm": "guardlib.sources.aws",
    "azure-kv": "guardlib.sources.azure",
    "gcp-sm": "guardlib.sources.gcp",
    "vault": "guardlib.sources.vault",
    "sops": "guardlib.sources.sops",
    "dotenvx": "guardlib.sources.dotenvx",
}


@dataclasses.dataclass(frozen=True)
class Fetched:
    """One provider answer. ``value`` is excluded from repr."""

    value: str | bytes = dataclasses.field(repr=False)
    version: str | None = None
    stages: tuple[str, ...] = ()
    created: datetime | None = None
    name: str | None = None  # the provider's full name / ARN, if it gives one


class ClientCache:
    """SDK clients keyed by the environment variables that configure them: a client is
    reused while credentials/endpoint stay the same, and rebuilt when they change (for example
    when a test or ``cloud.as_identity`` switches identity)."""

    def __init__(self, variables: tuple[str, ...], build: Callable[..., Any]) -> None:
        self.variables = variables
        self.build = build
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(self, *extra: Any) -> Any:
        key = (*extra, *(os.environ.get(v) for v in self.variables))
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self.build(*extra)
                    if len(self._clients) > 16:
                        self._clients.clear()
                    self._clients[key] = client
        return client

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()
