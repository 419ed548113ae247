"""HTTP routes of the issuers: discovery and JWKS, GET only, JSON errors otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import protocol

if TYPE_CHECKING:
    from ..kit.server import Handler, Response
    from .runner import RunnerJobs
    from .state import IssuerState

_JSON = "application/json; charset=utf-8"


def _json(status: int, document: object) -> Response:
    body = json.dumps(document, indent=2).encode()
    return status, {"Content-Type": _JSON, "Cache-Control": "max-age=300"}, body


def reject(status: int, message: str) -> Response:
    return _json(status, {"error": message})


def responder(issuers: Iterable[IssuerState], jobs: RunnerJobs | None = None):
    """``respond(handler, body)`` for the issuers' hosts and the runner's token host."""
    from .runner import RUNNER_HOST

    by_host = {issuer.host: issuer for issuer in issuers}

    def respond(handler: Handler, body: bytes) -> Response:
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        if host == RUNNER_HOST and jobs is not None:
            status, document = jobs.answer(
                handler.command, handler.path, handler.headers.get_all("Authorization") or []
            )
            payload = json.dumps(document).encode()
            return status, {"Content-Type": _JSON, "Cache-Control": "no-store"}, payload
        issuer = by_host.get(host)
        if issuer is None:
            return reject(404, "unknown issuer host")
        if handler.command not in ("GET", "HEAD"):
            return reject(405, "method not allowed")
        path = handler.path.split("?", 1)[0]
        if path == f"{issuer.path_prefix}/.well-known/openid-configuration":
            return _json(200, protocol.discovery(issuer.url, issuer.jwks_uri))
        if path == issuer.jwks_path:
            keys = [protocol.jwk(kid, key) for kid, key in issuer.public_keys().items()]
            return _json(200, {"keys": keys})
        return reject(404, "not found")

    return respond
