"""The gateway: an HTTP ``CONNECT`` proxy that reaches the emulators and nothing else.

SDKs are pointed at it with ``HTTPS_PROXY``. For a ``CONNECT host:port`` whose target matches
an emulated host (``*.vault.azure.net:443``, ``secretmanager.googleapis.com:443`` …) it opens a
tunnel to that emulator's loopback port, where the emulator serves TLS with a leaf from the
local CA. Every other target is refused at once with ``403``: the gateway never opens a
connection to anything but a registered loopback backend, so nothing can reach a real cloud
by accident.
"""

from __future__ import annotations

import asyncio
import fnmatch
import socket
import threading
from collections.abc import Callable

Backend = Callable[[], tuple[str, int]]

_REFUSAL = (
    "HTTP/1.1 403 Forbidden\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\n"
    "Content-Length: {length}\r\n\r\n{body}"
)


class Gateway:
    """A CONNECT proxy on 127.0.0.1 with a fixed route table of host patterns."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, Backend]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
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
                if host not in ("127.0.0.1", "::1", "localhost"):  # never leave loopback
                    return None
                return host, port
        return None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="guardlib-gateway", daemon=True
        )
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, reuse_address=True)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def _close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(_close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._loop = self._thread = self._server = None

    # -- protocol --------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
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
            writer.write(_REFUSAL.format(length=len(body.encode()), body=body).encode())
            await _drain_close(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*backend)
        except OSError:
            body = f"guardlib offline gateway: the emulator for {target} is not running.\n"
            writer.write(
                _REFUSAL.replace("403 Forbidden", "502 Bad Gateway")
                .format(length=len(body.encode()), body=body)
                .encode()
            )
            await _drain_close(writer)
            return
        _nodelay(up_writer)
        self.tunnels[backend] = self.tunnels.get(backend, 0) + 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except RuntimeError:
            pass


async def _drain_close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    finally:
        writer.close()
