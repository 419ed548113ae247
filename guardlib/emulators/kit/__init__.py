"""The shared emulator kit, in the spirit of moto's ``core/``: what every emulator needs once.

============================  =================================================================
``guard.require_running``     the "not running" guard (raises :class:`EmulatorNotRunning`)
``guard.take_fault``          the fault switches: sleeps for ``latency``, returns the fault an
                              emulator must render in its own protocol (throttle/error/reset)
``seeding.apply_seed``        seed application through four hooks (add identity, put secret,
                              grant read, grant write), names validated before any store
``credentials``               fake credentials minted at random once per emulator start
``server.LoopbackHTTPServer`` a threaded HTTP/1.1 server on 127.0.0.1, optionally TLS, with
                              TCP_NODELAY, handshake and idle timeouts, and a strict
                              ``Content-Length``
============================  =================================================================
"""

from __future__ import annotations

from .credentials import CredentialBook, aws_access_key_id, aws_secret_access_key, token
from .guard import require_running, take_fault
from .seeding import SeedHooks, apply_seed

__all__ = [
    "CredentialBook",
    "SeedHooks",
    "apply_seed",
    "aws_access_key_id",
    "aws_secret_access_key",
    "require_running",
    "take_fault",
    "token",
]
