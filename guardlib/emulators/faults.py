"""Fault switches shared by every emulator: latency, throttling, server errors, resets.

An emulator asks ``ctx.faults.next(self.name)`` once per request, before doing anything else,
and maps the answer to its own protocol:

=============  ==========================  ==========================  =========================
kind           Azure (REST)                GCP (gRPC)                  AWS (JSON)
=============  ==========================  ==========================  =========================
``latency``    sleep, then serve           sleep, then serve           sleep, then serve
``throttle``   429 + ``Retry-After``       ``RESOURCE_EXHAUSTED``      400 ``ThrottlingException``
``error``      ``status`` (500/503)        ``UNAVAILABLE`` / INTERNAL  ``status`` (500/503)
``reset``      close the connection        abort with ``UNAVAILABLE``  close the connection
=============  ==========================  ==========================  =========================
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Literal

FaultKind = Literal["latency", "throttle", "error", "reset"]
KINDS: tuple[str, ...] = ("latency", "throttle", "error", "reset")


@dataclasses.dataclass
class Fault:
    kind: FaultKind
    service: str = "*"  # an emulator name, or "*" for all
    latency_ms: int = 0  # for "latency"
    status: int = 503  # for "error": 500 or 503
    retry_after: int = 1  # seconds, for "throttle"
    times: int | None = None  # how many requests it hits; None: until cleared

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        if self.kind == "error" and self.status not in (500, 502, 503, 504):
            raise ValueError(f"an 'error' fault needs a 5xx status, not {self.status}")

    def sleep(self) -> None:
        if self.kind == "latency" and self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)


class Faults:
    """The active fault switches. Thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, kind: FaultKind, *, service: str = "*", **options: int | None) -> Fault:
        fault = Fault(kind=kind, service=service, **options)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, service: str | None = None) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if service is not None and f.service != service]

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def next(self, service: str) -> Fault | None:
        """The fault that hits this request of ``service``, if any (consumes one of ``times``)."""
        with self._lock:
            for fault in self._faults:
                if fault.service in ("*", service):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    @contextlib.contextmanager
    def injected(
        self, kind: FaultKind, *, service: str = "*", **options: int | None
    ) -> Iterator[Fault]:
        fault = self.inject(kind, service=service, **options)
        try:
            yield fault
        finally:
            with self._lock:
                if fault in self._faults:
                    self._faults.remove(fault)
