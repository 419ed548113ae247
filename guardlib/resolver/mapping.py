"""Logical names -> references, per environment (dev, test, prod, or any table you add).

From a TOML file (one table per environment)::

    [dev]
    API_KEY = "aws-sm://dev-api-key"
    [prod]
    API_KEY = "aws-sm://prod-api-key"

and/or from the environment: ``GUARDLIB_REF_API_KEY=aws-sm://dev-api-key`` (these win over the
file). The environment name is the argument, else ``GUARDLIB_ENV``, else ``dev``. Messages name
the environment, the file and the key, never an entry's text (it might be a pasted secret).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from guardlib.errors import MappingError, ResolveError

PREFIX = "GUARDLIB_REF_"
#: the usual tables; any table of the mapping is an environment (``-e staging``)
ENVIRONMENTS = ("dev", "test", "prod")
_ENV_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def load_mapping(
    path: str | Path | None = None,
    environment: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``logical name -> reference`` mapping of ``environment``; every entry is checked
    with ``parse_reference`` (fail fast, naming the key)."""
    environ = os.environ if environ is None else environ
    env_name = environment if environment is not None else environ.get("GUARDLIB_ENV") or "dev"
    if not _ENV_NAME.fullmatch(env_name):
        raise MappingError(
            "an environment name is the name of a table of the mapping: 1-64 letters, digits, "
            "'_' and '-' (such as dev, test, prod, staging)"
        )
    out: dict[str, str] = {}
    if path is not None:
        out.update(_from_file(Path(path), env_name))
    for key, value in environ.items():
        if key.startswith(PREFIX) and len(key) > len(PREFIX):
            out[key[len(PREFIX) :]] = value
    for key, value in out.items():
        if not _valid(value):
            raise MappingError(f"{key}: not a valid secret reference (environment "
                               f"{env_name!r})")  # fmt: skip
    return out


def _valid(text: str) -> bool:
    """Whether ``text`` parses; the InvalidReference is dropped, so no ``__context__`` carries
    the entry's text into the MappingError."""
    from guardlib.resolver.references import parse_reference

    try:
        parse_reference(text)
    except ResolveError:
        return False
    return True


def _from_file(path: Path, env_name: str) -> dict[str, str]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read reference mapping {path}: "
                           f"{exc.__class__.__name__}") from None  # fmt: skip
    except (ValueError, UnicodeDecodeError):
        raise MappingError(f"reference mapping {path} is not valid TOML") from None
    table = data.get(env_name)
    if table is None:
        known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
        raise MappingError(f"{path} has no [{env_name}] table (it has: {known})")
    if not isinstance(table, dict):
        raise MappingError(f'{path}: [{env_name}] must be a table of NAME = "reference"')
    out: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise MappingError(f"{key}: a reference is a string ({path}, [{env_name}])")
        out[key] = value
    return out
