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
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .auth import Authenticator

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


class MetadataServer:
    def __init__(self, email: str, project_id: str, project_number: str, auth: Authenticator):
        self.email, self.project_id, self.project_number = email, project_id, project_number
        self.auth = auth
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, body, ctype = outer.answer(self.path, self.headers.get("Metadata-Flavor"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="guardlib-gce-metadata", daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, raw_path: str, flavor: str | None) -> tuple[int, str, str]:
        path = urlsplit(raw_path).path
        query = urlsplit(raw_path).query
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
            if leaf == "" and "recursive=true" in query:
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
        self._httpd.shutdown()
        self._httpd.server_close()
