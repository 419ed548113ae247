"""guardlib: handle secrets in Python without leaking them.

Public names load lazily (PEP 562 module ``__getattr__``): ``import guardlib`` imports nothing
heavy, and never a cloud SDK. Add new public names to ``_LAZY`` only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> "module:attribute" (or "module" for a submodule)
_LAZY: dict[str, str] = {
    # the library's core (secret.py, env.py, dotenv_files.py, redact/, errors.py)
    "Secret": "guardlib.secret:Secret",
    "reveal": "guardlib.secret:reveal",
    "MASK": "guardlib.secret:MASK",
    "require_env": "guardlib.env:require",
    "optional_env": "guardlib.env:optional",
    "env_int": "guardlib.env:integer",
    "env_bool": "guardlib.env:boolean",
    "env_url": "guardlib.env:url",
    "env_json": "guardlib.env:json_value",
    "read_env_file": "guardlib.dotenv_files:read_env_file",
    "load_env_file": "guardlib.dotenv_files:load_env_file",
    "git_status": "guardlib.dotenv_files:git_status",
    "compare_with_example": "guardlib.dotenv_files:compare_with_example",
    "LoadReport": "guardlib.dotenv_files:LoadReport",
    "Redactor": "guardlib.redact:Redactor",
    "RedactingFilter": "guardlib.redact:RedactingFilter",
    "install_redaction": "guardlib.redact:install_redaction",
    "redact_logger": "guardlib.redact:redact_logger",
    "GuardlibError": "guardlib.errors:GuardlibError",
    "MissingVariableError": "guardlib.errors:MissingVariableError",
    "InvalidVariableError": "guardlib.errors:InvalidVariableError",
    "DotenvError": "guardlib.errors:DotenvError",
    "DotenvNotFoundError": "guardlib.errors:DotenvNotFoundError",
    "DotenvNotAFileError": "guardlib.errors:DotenvNotAFileError",
    "DotenvEncodingError": "guardlib.errors:DotenvEncodingError",
    "DotenvParseError": "guardlib.errors:DotenvParseError",
    # secret references (resolver/, sources/)
    "resolve": "guardlib.resolver:resolve",
    "aresolve": "guardlib.resolver:aresolve",
    "describe": "guardlib.resolver:describe",
    "parse_reference": "guardlib.resolver:parse_reference",
    "Reference": "guardlib.resolver:Reference",
    "load_mapping": "guardlib.resolver:load_mapping",
    "resolve_mapping": "guardlib.resolver:resolve_mapping",
    "SecretCache": "guardlib.resolver:SecretCache",
    "RetryPolicy": "guardlib.resolver:RetryPolicy",
    "ResolveError": "guardlib.errors:ResolveError",
    "InvalidReference": "guardlib.errors:InvalidReference",
    "SecretNotFound": "guardlib.errors:SecretNotFound",
    "AccessDenied": "guardlib.errors:AccessDenied",
    "ProviderUnavailable": "guardlib.errors:ProviderUnavailable",
    "MappingError": "guardlib.errors:MappingError",
    "resolver": "guardlib.resolver",
    "env": "guardlib.env",
    "dotenv_files": "guardlib.dotenv_files",
    "redact": "guardlib.redact",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # let type checkers and IDEs see the real objects
    from guardlib import (  # noqa: F401
        dotenv_files,
        env,
        redact,
        resolver,  # noqa: F401
    )
    from guardlib.dotenv_files import (
        LoadReport,  # noqa: F401
        compare_with_example,  # noqa: F401
        git_status,  # noqa: F401
        load_env_file,  # noqa: F401
        read_env_file,  # noqa: F401
    )
    from guardlib.env import boolean as env_bool  # noqa: F401
    from guardlib.env import integer as env_int  # noqa: F401
    from guardlib.env import json_value as env_json  # noqa: F401
    from guardlib.env import optional as optional_env  # noqa: F401
    from guardlib.env import require as require_env  # noqa: F401
    from guardlib.env import url as env_url  # noqa: F401
    from guardlib.errors import (
        AccessDenied,  # noqa: F401
        DotenvEncodingError,  # noqa: F401
        DotenvError,  # noqa: F401
        DotenvNotAFileError,  # noqa: F401
        DotenvNotFoundError,  # noqa: F401
        DotenvParseError,  # noqa: F401
        GuardlibError,  # noqa: F401
        InvalidReference,  # noqa: F401
        InvalidVariableError,  # noqa: F401
        MappingError,  # noqa: F401
        MissingVariableError,  # noqa: F401
        ProviderUnavailable,  # noqa: F401
        ResolveError,  # noqa: F401
        SecretNotFound,  # noqa: F401
    )
    from guardlib.redact import (  # noqa: F401
        RedactingFilter,
        Redactor,
        install_redaction,
        redact_logger,
    )
    from guardlib.resolver import (
        Reference,  # noqa: F401
        RetryPolicy,  # noqa: F401
        SecretCache,  # noqa: F401
        aresolve,  # noqa: F401
        describe,  # noqa: F401
        load_mapping,  # noqa: F401
        parse_reference,  # noqa: F401
        resolve,  # noqa: F401
        resolve_mapping,  # noqa: F401
    )
    from guardlib.secret import MASK, Secret, reveal  # noqa: F401


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'guardlib' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
