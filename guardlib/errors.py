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
