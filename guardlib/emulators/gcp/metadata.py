"""A GCE metadata-server emulator: the "runs on GCP with an attached service account" story.

google-auth reads ``GCE_METADATA_HOST`` (paths) and ``GCE_METADATA_IP`` (the ping) when
``google.auth.compute_engine._metadata`` is first imported, so a process picks one metadata
server for its lifetime. Hence one small server per identity (plain HTTP on 127.0.0.1, as the
real one at 169.254.169.254), started on demand. Every request must carry
``Metadata-Flavor: Google``; answers carry it too (google-auth's ping checks it).

Served: ``/`` (ping), ``/computeMetadata/v1/project/project-id``,
``…/project/numeric-project-id``, ``…/universe/universe-domain``,
``…/instance/service-accounts/{default|email}/`` (``?recursive=true``), ``…/email``,
``…/token`` (an opaque access token bound to the identity, see ``auth.Authenticator``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ..kit.server import Handler, LoopbackHTTPServer, Response

if TYPE_CHECKING:
    from .auth import Authenticator

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

#: The real server refuses any request carrying X-Forwarded-For: a request forwarded by a
#: proxy may come from outside the VM (SSRF), see "Querying VM metadata", section
#: "Metadata server requests" in https://cloud.google.com/compute/docs/metadata/querying-metadata
#: ("requests that contain the header X-Forwarded-For are rejected").
FORWARDED_REFUSAL = "Request had X-Forwarded-For header\n"


def _text(status: int, body: str, ctype: str = "text/html; charset=UTF-8") -> Response:
    return status, {"Metadata-Flavor": "Google", "Content-Type": ctype}, body.encode()


class MetadataServer:
    def __init__(self, email: str, project_id: str, project_number: str, auth: Authenticator):
        self.email, self.project_id, self.project_number = email, project_id, project_number
        self.auth = auth
        self._httpd = LoopbackHTTPServer(
            self._respond,
            reject=lambda status, message: _text(status, message + "\n"),
            max_body=0,  # the metadata server takes no bodies
            handshake_timeout=5.0,
            idle_timeout=30.0,
            name="guardlib-gce-metadata",
        ).start()
        self.port = self._httpd.address[1]

    def _respond(self, handler: Handler, body: bytes) -> Response:
        if handler.headers.get_all("X-Forwarded-For"):
            return _text(403, FORWARDED_REFUSAL)
        if handler.command not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed\n")
        flavors = handler.headers.get_all("Metadata-Flavor") or []
        status, text, ctype = self.answer(handler.path, flavors[0] if len(flavors) == 1 else None)
        return _text(status, text, ctype)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, raw_path: str, flavor: str | None) -> tuple[int, str, str]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = parse_qs(parts.query)
        if path in ("", "/"):
            return 200, "", "application/text"
        if flavor != "Google":
            return 403, "Missing required header: Metadata-Flavor: Google\n", "text/html"
        prefix = "/computeMetadata/v1/"
        if not path.startswith(prefix):
            return 404, "Not Found\n", "text/html"
        rest = path[len(prefix) :]
        if rest == "project/project-id":
            return 200, self.project_id, "application/text"
        if rest == "project/numeric-project-id":
            return 200, self.project_number, "application/text"
        if rest == "universe/universe-domain":
            return 200, "googleapis.com", "application/text"
        accounts = "instance/service-accounts/"
        if rest.startswith(accounts):
            account, _, leaf = rest[len(accounts) :].partition("/")
            if account not in ("default", self.email):
                return 404, "Not Found\n", "text/html"
            if leaf == "" and query.get("recursive") == ["true"]:
                info = {"aliases": ["default"], "email": self.email, "scopes": SCOPES}
                return 200, json.dumps(info), "application/json"
            if leaf == "email":
                return 200, self.email, "application/text"
            if leaf == "scopes":
                return 200, "\n".join(SCOPES), "application/text"
            if leaf == "token":
                token = self.auth.issue_token(self.email)
                payload = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
                return 200, json.dumps(payload), "application/json"
        return 404, "Not Found\n", "text/html"

    def stop(self) -> None:
        self._httpd.stop()
