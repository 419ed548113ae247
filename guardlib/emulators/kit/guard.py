"""The "not running" guard and the fault switches, once for every emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from ..base import EmulatorNotRunning

if TYPE_CHECKING:
    from ..faults import Fault, Faults

T = TypeVar("T")


def require_running(name: str, server: T | None) -> T:
    """``server`` if the emulator ``name`` runs, else :class:`EmulatorNotRunning` with the fix."""
    if server is None:
        raise EmulatorNotRunning(
            f"the {name} emulator is not running: start it with "
            f"guardlib.emulators.start(only=[{name!r}])"
        )
    return server


def take_fault(faults: Faults | None, service: str) -> Fault | None:
    """Consume this request's fault switch. ``latency`` is served here (sleep, then go on:
    None); a ``throttle``, ``error`` or ``reset`` fault is returned for the emulator to render
    in its own protocol (see the table in ``faults.py``)."""
    if faults is None:
        return None
    fault = faults.next(service)
    if fault is None:
        return None
    if fault.kind == "latency":
        fault.sleep()
        return None
    return fault
