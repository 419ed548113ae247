"""Exception hierarchy shared by guardlib's core helpers.

Every error guardlib raises on purpose derives from :class:`GuardlibError`, and also from the
built-in exception a caller would naturally expect (``KeyError`` for a missing variable,
``ValueError`` for a malformed one, ``FileNotFoundError`` for a missing file), so both
``except GuardlibError`` and ``except KeyError`` work.

Rule for every message: it may name a variable, a file, a line number or an expected type,
but it never contains a value read from the environment or from a file.
"""

from __future__ import annotations


class GuardlibError(Exception):
    """Base class of every error guardlib raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # KeyError and OSError render their args in their own way (quotes, errno prefix);
        # always show the plain, value-free message instead.
        return self.message


class MissingVariableError(GuardlibError, KeyError):
    """A required environment variable is not set (or is set but empty)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class InvalidVariableError(GuardlibError, ValueError):
    """An environment variable is set but cannot be parsed as the expected type."""

    def __init__(self, name: str, expected: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.expected = expected


class DotenvError(GuardlibError):
    """Base class of the errors raised while reading a ``.env`` file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class DotenvNotFoundError(DotenvError, FileNotFoundError):
    """The ``.env`` file does not exist."""


class DotenvNotAFileError(DotenvError, IsADirectoryError):
    """The ``.env`` path exists but is a directory (or another non-file)."""


class DotenvEncodingError(DotenvError, ValueError):
    """The ``.env`` file is not valid text in the expected encoding."""

    def __init__(self, path: str, line: int, encoding: str, message: str) -> None:
        super().__init__(path, message)
        self.line = line
        self.encoding = encoding


class DotenvParseError(DotenvError, ValueError):
    """python-dotenv could not parse one or more lines, or a key/value cannot be exported."""

    def __init__(self, path: str, lines: tuple[int, ...], message: str) -> None:
        super().__init__(path, message)
        self.lines = lines


class RedactionError(GuardlibError, ValueError):
    """A value cannot be registered for redaction (for example, it is too short)."""


# -- secret references (guardlib.resolver) -------------------------------------------------
class ProviderCause:
    """What a provider said, without anything it returned: exception type, code, HTTP status.

    ``ResolveError.cause`` holds one; ``__cause__`` holds the SDK's exception itself (SDK
    errors carry request metadata, never the secret value)."""

    __slots__ = ("type", "code", "status")

    def __init__(self, type: str, code: str | None = None, status: int | None = None) -> None:
        self.type = type
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return f"ProviderCause(type={self.type!r}, code={self.code!r}, status={self.status!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProviderCause):
            return NotImplemented
        return (self.type, self.code, self.status) == (other.type, other.code, other.status)

    __hash__ = None  # type: ignore[assignment]


class ResolveError(GuardlibError):
    """A secret reference could not be resolved. ``.reference`` is the reference text, and
    ``.cause`` the provider's answer (:class:`ProviderCause`) when there was one. The message
    names the reference and the provider's error code, never a value."""

    def __init__(self, reference: str, message: str, *, cause: ProviderCause | None = None):
        super().__init__(message)
        self.reference = reference
        self.cause = cause

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidReference(ResolveError, ValueError):
    """The text is not a secret reference guardlib understands (or a mapping entry is not)."""


class SecretNotFound(ResolveError, KeyError):
    """The provider has no such secret, version, stage or field."""


class AccessDenied(ResolveError, PermissionError):
    """The provider refused this identity (401/403, AccessDenied, PERMISSION_DENIED). Never
    retried: retrying an authorization failure only adds load and audit noise."""


class ProviderUnavailable(ResolveError, ConnectionError):
    """The provider could not answer now (throttled, 5xx, connection reset, timeout), after
    the retries allowed. ``.retry_after`` is the provider's hint in seconds, if it sent one."""

    def __init__(
        self,
        reference: str,
        message: str,
        *,
        cause: ProviderCause | None = None,
        retry_after: float | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(reference, message, cause=cause)
        self.retry_after = retry_after
        self.throttled = throttled


class MappingError(GuardlibError, ValueError):
    """A reference mapping (TOML file or ``GUARDLIB_REF_*`` variables) is unusable: unknown
    environment, unreadable file, or an entry that is not a reference (named by its key)."""
