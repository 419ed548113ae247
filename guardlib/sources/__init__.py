"""One module per provider. Each exposes ``fetch(ref: Reference) -> Fetched``, makes exactly
one provider call with the SDK's own retries turned off (guardlib.resolver.retry retries),
and maps the SDK's errors to SecretNotFound / AccessDenied / ProviderUnavailable. Cloud SDKs
are imported inside the functions, so importing a source imports no SDK.

Who asks: a source may also expose ``fingerprint(ref) -> Callable[[], str]``, the function
that says *who* would make the call right now -- a salted hash of the inputs that decide the
SDK's identity and endpoint (see :class:`Fingerprint`). The resolver's secret cache keys every
entry by (that fingerprint, reference), and :class:`ClientCache` keys clients by it, so a value
or client obtained as one identity is never handed to another. A source without one gets
:func:`default_fingerprint` (the working directory and the whole environment)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

MODULES = {
    "env": "guardlib.sources.env",
    "dotenv": "guardlib.sources.dotenv",
    "aws-sm": "guardlib.sources.aws",
    "azure-kv": "guardlib.sources.azure",
    "gcp-sm": "guardlib.sources.gcp",
    "vault": "guardlib.sources.vault",
    "sops": "guardlib.sources.sops",
    "dotenvx": "guardlib.sources.dotenvx",
}


@dataclasses.dataclass(frozen=True)
class Fetched:
    """One provider answer. ``value`` is excluded from repr."""

    value: str | bytes = dataclasses.field(repr=False)
    version: str | None = None
    stages: tuple[str, ...] = ()
    created: datetime | None = None
    name: str | None = None  # the provider's full name / ARN, if it gives one


#: a random key for this process: fingerprints cannot be compared across processes, nor
#: brute-forced offline from a low-entropy input (a short token)
_SALT = os.urandom(32)
#: a file changed less than this long ago is read again at every call, whatever its stat says
#: (timestamps are coarse: two writes of the same size may share one; git's "racy clean")
RACY_NS = 2_000_000_000
_file_digests: dict[tuple[Any, ...], str] = {}
_file_lock = threading.Lock()


def _stat(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, key=_SALT, digest_size=16).hexdigest()


def _file_digest(path: str, stat: tuple[int, ...] | None, racy: bool) -> tuple[str, bytes]:
    """(digest, content) of ``path``; the digest is cached by (path, inode, size, mtime, ctime)
    unless the file is racy. The content is returned only to the caller that needs nested
    paths (GCP's credential file); it is never stored."""
    if stat is None:
        return "absent", b""
    key = (path, *stat)
    known = None if racy else _file_digests.get(key)
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError as exc:
        return f"unreadable:{type(exc).__name__}", b""
    if known is None:
        known = _digest(data)
        if not racy:
            with _file_lock:
                if len(_file_digests) > 256:
                    _file_digests.clear()
                _file_digests[key] = known
    return known, data


class Fingerprint:
    """Who a source's SDK would act as right now, as a short salted hash (never the inputs).

    ``variables``: every environment variable that decides the SDK's identity or endpoint;
    ``files``: those among them that name a file whose *content* counts too (a web identity
    token, a credentials file); ``default_files(present)`` lists files that count when the
    variables leave the SDK to its defaults (``~/.aws/credentials`` ...); ``nested(path,
    content)`` names files a credentials file points to (an ``external_account`` file's
    ``credential_source.file``).

    A call is cheap when nothing changed: one dict look-up per variable in
    ``os.environ``'s own store, checking it still holds the very object it held last time,
    and one ``stat`` per file that counts. File digests are cached by (path, inode, size,
    mtime, ctime); a file changed in the last two seconds is read again (:data:`RACY_NS`).
    The previous snapshot is kept in a closure, not an attribute: it refers to the very
    objects ``os.environ`` holds.
    """

    def __init__(
        self,
        variables: Iterable[str],
        *,
        files: Iterable[str] = (),
        default_files: Callable[[Callable[[str], str | None]], Iterable[str]] | None = None,
        nested: Callable[[str, bytes], Iterable[str]] | None = None,
        required: Iterable[str] = (),
        otherwise: Callable[[], str] | None = None,
    ) -> None:
        self.variables = tuple(dict.fromkeys(variables))
        self.files = tuple(v for v in self.variables if v in set(files))
        needed = tuple(self.variables.index(v) for v in required)
        #: the fingerprint as a plain function (what the resolver's hot path calls)
        self.fast = _fingerprinter(self.variables, self.files, default_files, nested, needed,
                                   otherwise)  # fmt: skip

    def __call__(self) -> str:
        return self.fast()

    def __repr__(self) -> str:
        return f"Fingerprint({len(self.variables)} variables, files={list(self.files)})"


def _fingerprinter(
    variables: tuple[str, ...],
    files: tuple[str, ...],
    default_files: Callable[[Callable[[str], str | None]], Iterable[str]] | None,
    nested: Callable[[str, bytes], Iterable[str]] | None,
    needed: tuple[int, ...] = (),
    otherwise: Callable[[], str] | None = None,
) -> Callable[[], str]:
    """See :class:`Fingerprint`. With ``needed`` (indices into ``variables``) and
    ``otherwise``: when one of the needed variables is unset, these variables do not decide
    the identity, and ``otherwise()`` is the answer (the next step of the SDK's chain)."""
    file_index = tuple(variables.index(v) for v in files)
    fallback = otherwise if otherwise is not None else str  # str() == "": never reached
    # closure variables, not attributes: read with one LOAD_DEREF on the hot path
    bound: Any = None  # the os.environ the two below belong to
    look_up: Any = None  # its store's .get
    names: tuple[Any, ...] = ()  # the variables, encoded as that store's keys
    # one tuple, replaced whole (atomic): (snapshot, paths, stats, fingerprint, pairs), where
    # pairs is ((encoded name, the very object the store held), ...) for the hot path
    last: tuple[Any, ...] = (object(), (), (), "", ((None, object()),))

    def rebind(environ: Any) -> None:
        nonlocal bound, look_up, names
        data = getattr(environ, "_data", None)
        encode = getattr(environ, "encodekey", None)
        if isinstance(data, dict) and encode is not None:  # CPython's os._Environ
            look_up, names = data.get, tuple(encode(v) for v in variables)
        else:  # os.environ replaced by a plain mapping (a test's monkeypatch.setattr)
            look_up, names = environ.get, variables
        bound = environ

    def text(value: Any) -> str | None:
        return None if value is None else os.fsdecode(value)

    def paths_of(snapshot: tuple[Any, ...]) -> tuple[str, ...]:
        paths = [os.path.abspath(os.path.expanduser(text(snapshot[i]) or ""))
                 for i in file_index if snapshot[i]]  # fmt: skip
        if default_files is not None:
            present = dict(zip(variables, snapshot, strict=True))
            paths += [os.path.expanduser(p) for p in default_files(lambda v: text(present.get(v)))]
        return tuple(paths)

    def compute(snapshot: tuple[Any, ...], paths: tuple[str, ...], now: int) -> str:
        parts: list[str] = [
            "-" if v is None else _digest(v if isinstance(v, bytes) else v.encode())
            for v in snapshot
        ]
        all_paths, stats = list(paths), []
        i = 0
        while i < len(all_paths):
            path = all_paths[i]
            stat = _stat(path)
            racy = stat is not None and now - stat[3] < RACY_NS
            digest, content = _file_digest(path, stat, racy)
            stats.append(stat)
            parts.append(f"{path}={digest}")
            if nested is not None and content and i < len(paths) and len(all_paths) < 8:
                all_paths += [os.path.expanduser(p) for p in nested(path, content)]
            i += 1
        fingerprint = _digest("\0".join(parts).encode("utf-8", "surrogatepass"))
        if any(snapshot[i] is None for i in needed):
            fingerprint = ""  # incomplete: fingerprint() answers fallback()
        nonlocal last
        pairs = tuple(zip(names, snapshot, strict=True))
        last = (snapshot, tuple(all_paths), tuple(stats), fingerprint, pairs)
        return fingerprint

    def with_files(snapshot: tuple[Any, ...], previous: tuple[Any, ...]) -> str:
        same = snapshot == previous[0]
        paths = previous[1] if same else paths_of(snapshot)
        if not paths:
            return (previous[3] if same else compute(snapshot, (), 0)) or fallback()
        stats = tuple(map(_stat, paths))
        now = time.time_ns()
        racy = any(st is not None and now - st[3] < RACY_NS for st in stats)
        if same and not racy and stats == previous[2]:
            return previous[3] or fallback()  # type: ignore[no-any-return]
        return compute(snapshot, paths_of(snapshot), now) or fallback()

    def fingerprint() -> str:
        previous = last
        if os.environ is bound:
            # the hot path: each variable's store still holds the very object it held at the
            # last computation (an identity check; a loop beats tuple(map(...)) by ~2x here)
            for name, held in previous[4]:
                if look_up(name) is not held:
                    break
            else:
                if not previous[1]:
                    return previous[3] or fallback()  # type: ignore[no-any-return]
        else:
            rebind(os.environ)
        return with_files(tuple(map(look_up, names)), previous)

    return fingerprint


def default_fingerprint(ref: Any = None) -> Callable[[], str]:
    """For a source that defines no ``fingerprint``: the working directory and the whole
    environment (any change is another caller). Correct, not the cheapest: one ``getcwd`` and
    one comparison of the environment with the previous call's copy, a hash only on a change.
    A source whose identity also lives in files (a key file) should define its own."""
    last: tuple[Any, ...] = ("", None, "")  # cwd, a copy of the environment's store, fingerprint

    def whole() -> str:
        nonlocal last
        environ = os.environ
        items = getattr(environ, "_data", environ)
        cwd = os.getcwd()
        previous = last
        if cwd == previous[0] and items == previous[1]:
            return previous[2]  # type: ignore[no-any-return]
        copy = dict(items)
        text = repr((cwd, sorted(copy.items())))
        last = (cwd, copy, _digest(text.encode("utf-8", "surrogatepass")))
        return last[2]  # type: ignore[no-any-return]

    return whole


class ClientCache:
    """SDK clients keyed by who they act as: ``fingerprint`` (a :class:`Fingerprint`, or the
    names of the variables that configure the SDK) hashes the identity inputs, so a client is
    reused while credentials and endpoint stay the same -- token file *content* included -- and
    a new one is built when they change (``cloud.as_identity``, another workload's token). The
    keys hold hashes only, never a credential. ``valid(client)``, if given, is asked on every
    reuse; a client it rejects (an expired login) is built again."""

    def __init__(
        self,
        fingerprint: Fingerprint | Callable[[], str] | tuple[str, ...],
        build: Callable[..., Any],
        *,
        valid: Callable[[Any], bool] | None = None,
    ) -> None:
        if isinstance(fingerprint, tuple):
            fingerprint = Fingerprint(fingerprint)
        self.fingerprint = getattr(fingerprint, "fast", fingerprint)
        self.build = build
        self.valid = valid
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(self, *extra: Any) -> Any:
        key = (*extra, self.fingerprint())
        client = self._clients.get(key)
        if client is not None and self.valid is not None and not self.valid(client):
            client = None
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None or (self.valid is not None and not self.valid(client)):
                    client = self.build(*extra)
                    if len(self._clients) > 16:
                        self._clients.clear()
                    self._clients[key] = client
        return client

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


def json_file_pointers(path: str, content: bytes) -> list[str]:
    """Files a JSON credentials file points to (``credential_source.file`` of a Google
    ``external_account`` file): their content decides the identity too."""
    try:
        doc = json.loads(content)
    except ValueError:
        return []
    source = doc.get("credential_source") if isinstance(doc, dict) else None
    found = source.get("file") if isinstance(source, dict) else None
    return [found] if isinstance(found, str) and found else []
