"""The ``guardlib`` command's exit codes, shared by every subcommand.

Exit codes (the same for every subcommand):

====  ===============================================================================
0     success (``scan``: nothing found; ``check-env``: no key missing)
1     ``scan`` found something (an unreadable file too); ``check-env``: keys are missing;
      ``doctor``: a problem
2     usage error: bad arguments, or a file that does not exist or cannot be read
65    ``InvalidReference``: not a reference guardlib understands, or an unusable
      mapping (bad TOML, no table for the environment, an entry that is not a reference)
66    ``SecretNotFound``: no such secret, version, stage or ``#field``
69    ``ProviderUnavailable``: the store did not answer (after the retries allowed)
70    an unexpected error (a bug, or a cloud SDK that is not installed), shown by type
77    ``AccessDenied``: this identity may not read the secret
126   ``run``: CMD was found but cannot be executed
127   ``run``: CMD was not found
130   interrupted (Ctrl-C) before CMD started
====  ===============================================================================

``run`` otherwise exits with CMD's own exit code, or ``128 + N`` when CMD was killed by
signal ``N``. The numbers 65-77 are those of BSD ``sysexits.h`` (``EX_DATAERR``,
``EX_NOINPUT``, ``EX_UNAVAILABLE``, ``EX_NOPERM``), out of the way of the 1 and 2 that most
programs use.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_INVALID_REFERENCE = 65
EXIT_NOT_FOUND = 66
EXIT_UNAVAILABLE = 69
EXIT_INTERNAL = 70
EXIT_ACCESS_DENIED = 77
EXIT_CANNOT_EXECUTE = 126
EXIT_COMMAND_NOT_FOUND = 127
EXIT_INTERRUPTED = 130

#: code -> meaning, for the ``--help`` epilogs
_MEANINGS = {
    0: "success",
    1: "found something, an unreadable file too (scan), keys missing (check-env), "
    "a problem (doctor)",
    2: "usage error, or a file that does not exist or cannot be read",
    65: "InvalidReference (or an unusable mapping)",
    66: "SecretNotFound",
    69: "ProviderUnavailable",
    70: "unexpected error (a bug, or a cloud SDK that is not installed)",
    77: "AccessDenied",
    126: "CMD cannot be executed",
    127: "CMD not found",
    130: "interrupted",
}


def help_epilog(*codes: int, note: str = "") -> str:
    """The ``exit codes:`` section of a ``--help`` epilog."""
    lines = ["exit codes:"] + ([f"  {note}"] if note else [])
    lines += [f"  {code:<4} {_MEANINGS[code]}" for code in codes]
    return "\n".join(lines)


EXIT_CODES = help_epilog(0, 1, 2, 65, 66, 69, 70, 77, 130)


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an error that stopped a subcommand (see the module docstring)."""
    from guardlib.errors import (
        AccessDenied,
        InvalidReference,
        MappingError,
        ProviderUnavailable,
        ResolveError,
        SecretNotFound,
    )

    if isinstance(exc, AccessDenied):
        return EXIT_ACCESS_DENIED
    if isinstance(exc, SecretNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, ProviderUnavailable):
        return EXIT_UNAVAILABLE
    if isinstance(exc, (InvalidReference, MappingError, ResolveError)):
        return EXIT_INVALID_REFERENCE  # ResolveError itself: a #field or type the value lacks
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, OSError):
        return EXIT_USAGE  # a file that cannot be read
    return EXIT_INTERNAL


def error_line(command: str, exc: BaseException) -> str:
    """``guardlib get: AccessDenied: aws-sm://prod-api-key: access denied (...)``.

    guardlib's own errors never hold a value; anything else is shown by its type only, with
    its message scrubbed of every value resolved in this process."""
    from guardlib.errors import GuardlibError

    if isinstance(exc, GuardlibError):
        return f"guardlib {command}: {type(exc).__name__}: {exc}"
    from guardlib.resolver import redactor

    return f"guardlib {command}: {type(exc).__name__}: {redactor.scrub(str(exc))}"
