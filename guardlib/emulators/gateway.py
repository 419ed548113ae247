"""The gateway: an HTTP ``CONNECT`` proxy that reaches the emulators and nothing else.

SDKs are pointed at it with ``HTTPS_PROXY``. For a ``CONNECT host:port`` whose target matches
an emulated host (``*.vault.azure.net:443``, ``secretmanager.googleapis.com:443`` …) it opens a
tunnel to that emulator's loopback port, where the emulator serves TLS with a leaf from the
local CA. Every other target is refused at once with ``403``: the gateway never opens a
connection to anything but a registered loopback backend, so nothing can reach a real cloud
by accident.

Tunnels are plain blocking sockets with a thread per direction: for the course's few,
long-lived keep-alive connections this measured about 0.1 ms less per round trip than an
asyncio pipe. TCP_NODELAY is set on both legs (without it a Key Vault call took 45 ms, not 3).
"""

from __future__ import annotations

import fnmatch
import socket
import threading
from collections.abc import Callable

Backend = Callable[[], tuple[str, int]]

_REFUSAL = (
    "HTTP/1.1 {status}\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\n"
    "Content-Length: {length}\r\n\r\n{body}"
)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_MAX_HEAD = 16 * 1024


class Gateway:
    """A CONNECT proxy on 127.0.0.1 with a fixed route table of host patterns."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, Backend]] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.port = 0
        #: targets that were refused, in order (for tests and ``guardlib doctor``)
        self.refused: list[str] = []
        #: number of tunnels opened, per backend (host, port)
        self.tunnels: dict[tuple[str, int], int] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, pattern: str, backend: Backend) -> None:
        """Tunnel ``CONNECT`` targets matching ``pattern`` (``host:port``, fnmatch) to
        ``backend()``, which must return a loopback address."""
        self._routes.append((pattern.lower(), backend))

    def unroute(self, backend: Backend) -> None:
        self._routes = [(p, b) for p, b in self._routes if b is not backend]

    def resolve(self, target: str) -> tuple[str, int] | None:
        target = target.lower()
        for pattern, backend in self._routes:
            if fnmatch.fnmatchcase(target, pattern):
                host, port = backend()
                return (host, port) if host in _LOOPBACK else None  # never leave loopback
        return None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="guardlib-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        listener, thread = self._listener, self._thread
        if listener is None or thread is None:
            return
        self._listener = self._thread = None
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        listener.close()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)
        thread.join(5)

    def _accept(self) -> None:
        listener = self._listener
        while listener is not None:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._open.add(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        _close(sock)

    # -- protocol --------------------------------------------------------------------------
    def _handle(self, client: socket.socket) -> None:
        self._track(client)
        try:
            client.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            client.settimeout(None)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split()
            method = parts[0].upper() if parts else ""
            target = parts[1] if len(parts) > 1 else ""
            backend = self.resolve(target) if method == "CONNECT" else None
            if backend is None:
                self.refused.append(f"{method} {target}")
                body = (
                    f"guardlib offline gateway: refused {method} {target}. Only the emulated "
                    "cloud hosts are reachable through this proxy.\n"
                )
                _refuse(client, "403 Forbidden", body)
                return
            try:
                upstream = socket.create_connection(backend, timeout=5)
            except OSError:
                body = f"guardlib offline gateway: the emulator for {target} is not running.\n"
                _refuse(client, "502 Bad Gateway", body)
                return
            upstream.settimeout(None)
            self._track(upstream)
            with self._lock:
                self.tunnels[backend] = self.tunnels.get(backend, 0) + 1
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join()
            self._forget(upstream)
        except OSError:
            pass
        finally:
            self._forget(client)


def _refuse(client: socket.socket, status: str, body: str) -> None:
    data = _REFUSAL.format(status=status, length=len(body.encode()), body=body).encode()
    try:
        client.sendall(data)
    except OSError:
        pass


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
