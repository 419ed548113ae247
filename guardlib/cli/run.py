"""``guardlib run``: start a command with resolved secrets in *its* environment only.

The same shape as ``op run``, ``teller run`` and ``dotenvx run``: the mapping (``--map FILE``,
one TOML table per environment, and/or ``GUARDLIB_REF_<NAME>`` variables) is resolved in full
first; if any reference fails, the command does not start and the exit code says why (see
:mod:`guardlib.cli`). The values then live in this process's memory and in the child's
environment block, never in a file, and never in ``os.environ`` of this process. The
``GUARDLIB_REF_*`` variables are not passed on: the child gets values, not references.

With ``mask=True`` the child's stdout and stderr go through pipes, and every resolved value
(and the spellings it takes when a program prints it: JSON/``repr`` escapes, percent-encoding,
base64 -- the very spellings :class:`guardlib.redact.Redactor` masks, one implementation in
:func:`guardlib.redact.scrubber.spellings`) is replaced by ``**********`` before it reaches
the terminal. Output is streamed
chunk by chunk; only a tail that could be the beginning of a value is held back until the
next chunk shows whether it is one. Without ``mask`` the child inherits the terminal.

SIGINT and SIGTERM (and SIGHUP on POSIX) received by ``guardlib run`` are forwarded to the
child; ``guardlib run`` then waits for the child and exits with its exit code (``128 + N``
when it was killed by signal ``N``, as a shell reports it). A Ctrl-C typed in a terminal is
already delivered to the whole foreground process group, so it is not sent a second time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from guardlib.cli.exit_codes import (
    EXIT_CANNOT_EXECUTE,
    EXIT_COMMAND_NOT_FOUND,
    EXIT_INVALID_REFERENCE,
    EXIT_USAGE,
    error_line,
    exit_code_for,
)
from guardlib.errors import RedactionError
from guardlib.redact.scrubber import MIN_LENGTH, json_leaves
from guardlib.redact.scrubber import spellings as shared_spellings
from guardlib.secret import MASK

#: values shorter than this are not masked (they would turn every log line to stars):
#: guardlib.redact's floor, which refuses them too
MIN_MASK_LENGTH = MIN_LENGTH


def spellings(value: str | bytes) -> set[bytes]:
    """The byte strings under which ``value`` shows up in a program's output: exactly the
    spellings :class:`guardlib.redact.Redactor` masks (:func:`guardlib.redact.scrubber.spellings`
    -- JSON/``repr`` escapes, percent-encoding with ``+`` or ``%20`` and either case of escape,
    hex, base64 and URL-safe base64, also inside a longer base64 text such as a ``Basic`` auth
    header), as UTF-8, plus the raw bytes of a binary value. Empty for a value too short to
    mask."""
    try:
        forms = {form.encode("utf-8", "surrogatepass") for form in shared_spellings(value)}
    except RedactionError:
        return set()
    if isinstance(value, bytes):
        forms.add(value)
    return forms


class StreamMasker:
    """Replace registered byte strings in a stream that arrives in arbitrary chunks.

    ``feed(chunk)`` returns what may be written now; ``close()`` returns the rest. A value
    split across two chunks is still masked, because a tail that is a prefix of some value is
    held back until the next chunk (or the end of the stream) decides it.
    """

    def __init__(self, forms: Iterable[bytes], mask: bytes = MASK.encode()) -> None:
        self._forms = sorted({f for f in forms if f}, key=len, reverse=True)
        self._mask = mask
        self._pattern = (
            re.compile(b"|".join(re.escape(f) for f in self._forms)) if self._forms else None
        )
        self._longest = len(self._forms[0]) if self._forms else 0
        self._pending = b""

    def _held_back(self, data: bytes) -> int:
        """Length of the longest suffix of ``data`` that starts some registered form."""
        for size in range(min(len(data), self._longest - 1), 0, -1):
            tail = data[-size:]
            if any(form.startswith(tail) for form in self._forms):
                return size
        return 0

    def feed(self, chunk: bytes) -> bytes:
        if self._pattern is None:
            return chunk
        data = self._pending + chunk
        out: list[bytes] = []
        position = 0
        for match in self._pattern.finditer(data):
            out.append(data[position : match.start()])
            out.append(self._mask)
            position = match.end()
        rest = data[position:]
        keep = self._held_back(rest)
        if keep:
            out.append(rest[:-keep])
            self._pending = rest[-keep:]
        else:
            out.append(rest)
            self._pending = b""
        return b"".join(out)

    def close(self) -> bytes:
        rest, self._pending = self._pending, b""
        if self._pattern is None:
            return rest
        return self._pattern.sub(self._mask, rest)  # a whole value would have matched already


def _pump(source: IO[bytes], target: IO[bytes], masker: StreamMasker) -> None:
    """Copy ``source`` to ``target`` through ``masker`` until the child closes it. If
    ``target`` goes away (a closed pipe), keep reading and drop the rest, so the child never
    blocks on a full pipe."""
    fd = source.fileno()
    broken = False
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out = masker.feed(chunk)
            if out and not broken:
                try:
                    target.write(out)
                    target.flush()
                except (BrokenPipeError, ValueError, OSError):
                    broken = True
        tail = masker.close()
        if tail and not broken:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                target.write(tail)
                target.flush()
    finally:
        source.close()


def _terminal_delivers_sigint() -> bool:
    """True when this process is in the foreground process group of its terminal: a Ctrl-C
    typed there already reached the child (same group), so forwarding it would double it."""
    if os.name != "posix":
        return False
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, AttributeError, ValueError):
            continue
    return False


def _forwarded_signals() -> list[int]:
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, n) for n in names if hasattr(signal, n)]


def run_command(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    mask_values: Iterable[str | bytes] = (),
    mask: bool = False,
) -> int:
    """Run ``command`` with exactly ``env`` as its environment; return its exit code
    (``128 + N`` when a signal ``N`` killed it).

    ``mask_values`` are scrubbed from its output when ``mask`` is true. SIGINT, SIGTERM and
    SIGHUP received meanwhile are forwarded to it (one arriving before it started is sent as
    soon as it has).
    """
    executable = shutil.which(command[0], path=env.get("PATH", os.defpath))
    if executable is None:
        print(f"guardlib run: command not found: {command[0]}", file=sys.stderr)
        return EXIT_COMMAND_NOT_FOUND
    forms: set[bytes] = set()
    if mask:
        for value in mask_values:
            forms |= spellings(value)
            for leaf in json_leaves(value):  # each field of a JSON value, as the Redactor does
                forms |= spellings(leaf)

    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []
    previous: dict[int, Any] = {}

    def forward(signum: int, _frame: object) -> None:
        if signum == getattr(signal, "SIGINT", None) and _terminal_delivers_sigint():
            return  # the terminal sent it to the child too
        if child is None:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError, OSError, ValueError):
            child.send_signal(signum)

    # installed before the child starts, so a SIGTERM in between cannot orphan it
    if threading.current_thread() is threading.main_thread():
        for signum in _forwarded_signals():
            previous[signum] = signal.signal(signum, forward)
    pumps: list[threading.Thread] = []
    try:
        pipe = subprocess.PIPE if mask else None
        if mask:
            sys.stdout.flush()
            sys.stderr.flush()
        try:
            child = subprocess.Popen(
                [executable, *command[1:]], env=dict(env), stdout=pipe, stderr=pipe
            )
        except PermissionError:
            print(f"guardlib run: permission denied: {command[0]}", file=sys.stderr)
            return EXIT_CANNOT_EXECUTE
        except OSError as exc:
            print(f"guardlib run: cannot execute {command[0]}: {exc.strerror}", file=sys.stderr)
            return EXIT_CANNOT_EXECUTE
        for signum in pending:
            with contextlib.suppress(ProcessLookupError, OSError, ValueError):
                child.send_signal(signum)
        if mask:
            assert child.stdout is not None and child.stderr is not None
            for source, target in ((child.stdout, sys.stdout), (child.stderr, sys.stderr)):
                thread = threading.Thread(
                    target=_pump,
                    args=(source, target.buffer, StreamMasker(forms)),
                    daemon=True,
                )
                thread.start()
                pumps.append(thread)
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - handlers are installed above
                continue
        for thread in pumps:
            thread.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


def environment_value(name: str, value: Any) -> str:
    """A resolved value as an environment variable's text; binary that is not UTF-8, or that
    holds a NUL byte, cannot be one (the error names the variable only)."""
    from guardlib.cli.get import as_bytes

    try:
        text = as_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        raise ValueError(f"{name}: a binary secret cannot be an environment variable")
    return text


def main(
    command: Sequence[str],
    *,
    mapping_file: str | Path | None = None,
    environment: str | None = None,
    mask: bool = False,
) -> int:
    """``guardlib run``: resolve, then run ``command``; see the module docstring."""
    from guardlib import resolver
    from guardlib.resolver.mapping import PREFIX

    if mapping_file is not None and not os.path.isfile(mapping_file):
        print(f"guardlib run: no such mapping file: {mapping_file}", file=sys.stderr)
        return EXIT_USAGE
    resolver.install_redaction()
    try:
        mapping = resolver.load_mapping(mapping_file, environment)
        if not mapping:
            print(
                "guardlib run: no references to resolve: give --map FILE or set "
                f"{PREFIX}<NAME> variables",
                file=sys.stderr,
            )
            return EXIT_USAGE
        for name in mapping:
            if not name or "=" in name or "\0" in name:
                print(f"guardlib run: {name!r} cannot be an environment variable name",
                      file=sys.stderr)  # fmt: skip
                return EXIT_USAGE
        secrets = resolver.resolve_mapping(mapping, cache=None)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - reported by type and code
        print(error_line("run", exc), file=sys.stderr)
        return exit_code_for(exc)
    values: dict[str, str] = {}
    for name, secret in secrets.items():
        try:
            values[name] = environment_value(name, secret.reveal())
        except ValueError as exc:
            print(f"guardlib run: {exc}", file=sys.stderr)
            return EXIT_INVALID_REFERENCE
    if mask:
        short = sorted(n for n, v in values.items() if v and len(v) < MIN_MASK_LENGTH)
        if short:
            print(f"guardlib run: not masked (shorter than {MIN_MASK_LENGTH} characters): "
                  f"{', '.join(short)}", file=sys.stderr)  # fmt: skip
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    child_env.update(values)
    return run_command(command, child_env, mask_values=values.values(), mask=mask)
