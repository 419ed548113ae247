"""A threaded HTTP/1.1 server on 127.0.0.1, plain or TLS, hardened against hostile clients.

Every emulator that speaks HTTP serves through this one server, so what a client on the same
machine can do to it is handled once:

- TCP_NODELAY on every connection (without it a keep-alive round trip took 45 ms, not 3);
- TLS handshakes happen in the connection's own thread and must finish within
  ``handshake_timeout`` seconds; a connection that sends nothing for ``idle_timeout`` seconds
  is closed (slow clients and forgotten keep-alives cannot pin a thread forever);
- ``Content-Length`` must be one decimal number (RFC 9110 §8.6: a list of differing values,
  a sign or anything else is a 400), at most ``max_body`` bytes (else 413), and the body must
  arrive in full; ``Transfer-Encoding`` is refused with 411 (no SDK sends it for these APIs);
- a refusal is rendered by the emulator's ``reject(status, message)`` in its own error format,
  and a handler's :class:`ResetConnection` drops the connection with a TCP reset (the
  ``reset`` fault).
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from typing import Any

Response = tuple[int, dict[str, str], bytes]


class ResetConnection(Exception):
    """Drop the connection without an answer (fault injection)."""


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def content_length(values: list[str] | None, limit: int) -> int:
    """The body length a request declares, checked as RFC 9110 §8.6 asks."""
    if not values:
        return 0
    distinct = {v.strip() for v in values}
    if len(distinct) != 1:
        raise BadRequest(400, "Conflicting Content-Length headers.")
    text = distinct.pop()
    if not text.isdigit() or not text.isascii():
        raise BadRequest(400, "The Content-Length header is not a valid number.")
    length = int(text)
    if length > limit:
        raise BadRequest(413, f"The request body is larger than {limit} bytes.")
    return length


def _plain(status: int, message: str) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, (message + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "guardlib"
    sys_version = ""
    server: LoopbackHTTPServer

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # type: ignore[misc]  # used by setup()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return

    def _serve(self) -> None:
        try:
            if self.headers.get("Transfer-Encoding"):
                raise BadRequest(411, "Transfer-Encoding is not supported; send Content-Length.")
            length = content_length(self.headers.get_all("Content-Length"), self.server.max_body)
            body = self.rfile.read(length) if length else b""
            if len(body) != length:  # the client hung up mid-body
                self.close_connection = True
                return
            status, headers, payload = self.server.respond(self, body)
        except BadRequest as exc:
            self.close_connection = True  # the rest of the stream cannot be trusted
            status, headers, payload = self.server.reject(exc.status, exc.message)
        except ResetConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            raise
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"]
        head.append(f"Date: {self.date_time_string()}\r\n")
        for key, value in headers.items():
            head.append(f"{key}: {value}\r\n")
        if self.close_connection:
            head.append("Connection: close\r\n")
        body_out = b"" if self.command == "HEAD" else payload
        head.append(f"Content-Length: {len(payload)}\r\n\r\n")
        self.wfile.write("".join(head).encode("latin-1") + body_out)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ResetConnection:
            self.close_connection = True


class LoopbackHTTPServer(http.server.ThreadingHTTPServer):
    """``respond(handler, body) -> (status, headers, payload)`` answers each request."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        respond: Callable[[Handler, bytes], Response],
        tls: ssl.SSLContext | None = None,
        *,
        reject: Callable[[int, str], Response] = _plain,
        max_body: int = 1 << 20,
        handshake_timeout: float = 10.0,
        idle_timeout: float = 120.0,
        name: str = "guardlib",
    ) -> None:
        self.respond = respond
        self.reject = reject
        self.tls = tls
        self.max_body = max_body
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def start(self) -> LoopbackHTTPServer:
        self._thread.start()
        return self

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        try:
            if self.tls is not None:
                request.settimeout(self.handshake_timeout)
                conn = self.tls.wrap_socket(request, server_side=True)
            with self._open_lock:
                self._open.add(conn)
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError, ResetConnection):
            pass
        finally:
            with self._open_lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hangs up is not an error worth printing

    def stop(self) -> None:
        self.shutdown()
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        self.server_close()
        self._thread.join(2)
