"""The platform model: a platform (or step) as data, the job a builder gets, the errors.

Kept apart from the catalogue (``__init__``) so every builder module imports it without an
import cycle; nothing here imports the offline cloud.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

#: the GitHub Actions runner: ``github-actions`` alone, or ``github-actions+STEP``
RUNNER = "github-actions"


@dataclasses.dataclass(frozen=True)
class Platform:
    """One real runtime platform, or one official action's step on the GitHub runner."""

    name: str  # the spec string
    clouds: tuple[str, ...]  # the emulators it gives credentials for
    description: str
    sources: tuple[str, ...]  # where each variable it writes comes from
    #: None if the offline cloud reproduces it; else why it cannot (``environment`` refuses)
    offline_reason: str | None = None
    #: what differs offline although it runs (an address no variable can move, ...)
    offline_note: str | None = None
    #: "module:function" building its environment, relative to this package
    builder: str = ""
    #: the subject is the job's or pod's OIDC ``sub``: "github", "kubernetes" or None (no OIDC)
    subject_issuer: str | None = None

    def build(self, job: Job) -> dict[str, str]:
        if self.offline_reason is not None:
            raise PlatformUnavailable(f"{self.name} cannot run offline: {self.offline_reason}")
        module_name, _, function = self.builder.partition(":")
        package = __name__.rsplit(".", 1)[0]
        module = importlib.import_module(f"{package}.{module_name}")
        built: dict[str, str] = getattr(module, function)(job)
        return built


class PlatformError(ValueError):
    """A platform spec, identity or subject that cannot be honoured (the message says why)."""


class UnknownPlatform(PlatformError):
    pass


class PlatformUnavailable(PlatformError):
    pass


@dataclasses.dataclass
class Job:
    """What a builder gets: the running cloud, who the process is and its OIDC subject."""

    cloud: Any  # the running guardlib.emulators.OfflineCloud (not imported: no import cycle)
    platform: Platform
    identity: str | None
    subject: str | None
    audience: str | None = None
    #: step inputs (``with:``) that override the defaults, for ``github-actions+STEP``
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)

    def served(self, name: str) -> bool:
        """Whether this platform serves cloud ``name`` and its emulator runs."""
        return name in self.platform.clouds and name in self.cloud.emulators

    def emulator(self, name: str) -> Any:
        return self.cloud.emulators[name]
