"""botocore's service models, loaded once: the source of operation names, shapes and the HTTP
status of each modelled error (read by protocol.py and errors.py)."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (its service-2.json), loaded once."""
    return _session().get_service_model(service)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def operations(service: str) -> frozenset[str]:
    return frozenset(service_model(service).operation_names)
