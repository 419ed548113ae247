"""The sops file format, read-only: the four stores (YAML, JSON, dotenv, INI, plus sops'
"binary" JSON wrapper), the ``sops`` metadata, the AES-256-GCM values and the MAC.

Everything here follows sops' own source (github.com/getsops/sops, v3.11-3.13):

- ``aes/cipher.go``: a value is ``ENC[AES256_GCM,data:B64,iv:B64,tag:B64,type:T]``; AES-256-GCM
  with a 32-byte nonce, the additional data is the value's key path joined with ``:`` plus a
  trailing ``:`` (``db:password:``); ``type`` is str, int, float, bool, bytes, time or comment.
- ``sops.go`` (``Tree.Decrypt``, ``ToBytes``, ``shouldBeEncrypted``): the MAC is SHA-512 over
  the plaintext bytes of every leaf that is not a comment, in document order, hex upper-case;
  with ``mac_only_encrypted`` only over the encrypted leaves, after the 32 bytes of
  ``sha256("sops")``. ``cmd/sops/common/common.go`` (``DecryptTree``): the stored ``mac`` is
  itself a sops value, encrypted with the data key and the additional data
  ``lastmodified`` formatted as Go's RFC 3339.
- ``stores/{yaml,json,dotenv,ini}/store.go``, ``stores/metadata.go``, ``stores/flatten.go``: how
  each format holds the tree and the metadata (flattened with ``__map_``/``__list_`` in dotenv
  and INI).

Errors raised here are :class:`SopsFormatError` with a message that never holds a value.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

#: ``MACOnlyEncryptedInitialization`` in sops.go: sha256(b"sops")
MAC_ONLY_ENCRYPTED_INIT = hashlib.sha256(b"sops").digest()
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"

#: metadata fields sops 3.11-3.13 write (stores/stores.go ``metadata``/``keygroup``): anything
#: else comes from a newer sops whose meaning guardlib cannot know
KNOWN_METADATA = frozenset(
    {
        "shamir_threshold",
        "key_groups",
        "kms",
        "gcp_kms",
        "hckms",
        "azure_kv",
        "hc_vault",
        "age",
        "lastmodified",
        "mac",
        "pgp",
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
        "mac_only_encrypted",
        "version",
    }
)
KEY_TYPES = ("age", "kms", "hc_vault", "pgp", "gcp_kms", "azure_kv", "hckms")
#: more leaves than this is refused: YAML aliases can make a small file name the same subtree
#: exponentially often (an "alias bomb" in a pull request would otherwise stall a CI job)
MAX_LEAVES = 100_000
SUPPORTED_MAJOR = 3

_ENC = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")


class SopsFormatError(Exception):
    """The file is not a sops file guardlib can read (message: what and what to do)."""


class Branch(list):  # type: ignore[type-arg]
    """A sops ``TreeBranch``: an ordered list of ``(key, value)`` pairs (keys may repeat in
    some formats, and order matters for the MAC). A comment is ``(Comment, None)``."""


class Comment(str):
    """A comment line (never part of the MAC)."""


# --- formats ---------------------------------------------------------------------------------


def format_for_path(path: str) -> str:
    """``cmd/sops/formats/formats.go`` FormatForPath: by suffix, binary otherwise."""
    if path.endswith((".yaml", ".yml")):
        return "yaml"
    if path.endswith(".json"):
        return "json"
    if path.endswith(".env"):
        return "dotenv"
    if path.endswith(".ini"):
        return "ini"
    return "binary"


def load(data: bytes, fmt: str) -> tuple[list[Branch], dict[str, Any]]:
    """The tree's branches (documents) without metadata, and the raw metadata mapping."""
    failed = False
    try:
        return _load(data, fmt)
    except RecursionError:
        failed = True
    if failed:
        raise SopsFormatError("it is nested too deeply to be a sops file")
    raise AssertionError("unreachable")  # pragma: no cover


def _load(data: bytes, fmt: str) -> tuple[list[Branch], dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SopsFormatError("it is not UTF-8 text: not a sops file") from None
    if fmt == "yaml":
        branches = _load_yaml(text)
        return _extract_nested(branches)
    if fmt in ("json", "binary"):
        branches = [_load_json(text)]
        return _extract_nested(branches)
    if fmt == "dotenv":
        return _extract_flat_dotenv(_load_dotenv(text))
    if fmt == "ini":
        return _extract_ini(_load_ini(text))
    raise SopsFormatError(f"unsupported format {fmt!r}")


def _load_yaml(text: str) -> list[Branch]:
    import yaml

    class Loader(yaml.SafeLoader):
        """YAML 1.2 core-schema scalars, as go-yaml v3 reads them (PyYAML is YAML 1.1, where
        ``on``/``yes`` are booleans and ``010`` is octal)."""

    Loader.yaml_implicit_resolvers = {}
    for tag, pattern, first in (
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
        (
            "tag:yaml.org,2002:timestamp",
            r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
            r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?)$",
            "0123456789",
        ),
    ):
        Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))

    def construct_int(loader: Any, node: Any) -> int:
        value = node.value.replace("_", "")
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)

    def construct_mapping(loader: Any, node: Any) -> Branch:
        loader.flatten_mapping(node)
        out = Branch()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            out.append((key, loader.construct_object(value_node, deep=True)))
        return out

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    try:
        docs = list(yaml.load_all(text, Loader=Loader))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" near line {mark.line + 1}" if mark is not None else ""
        raise SopsFormatError(f"it is not valid YAML{where} (truncated or damaged?)") from None
    branches: list[Branch] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, Branch):
            raise SopsFormatError("a YAML document that is not a mapping is not a sops file")
        branches.append(doc)
    return branches


def _load_json(text: str) -> Branch:
    def pairs(items: list[tuple[str, Any]]) -> Branch:
        return Branch(items)

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_int=_JsonInt, parse_float=_JsonFloat)
    except ValueError:
        raise SopsFormatError("it is not valid JSON (truncated or damaged?)") from None
    if not isinstance(doc, Branch):
        raise SopsFormatError("a JSON document that is not an object is not a sops file")
    return doc


class _JsonInt(str):
    """A JSON number written as an integer: sops <= 3.11 reads it as float64, later versions
    as int when it fits in int64 (stores/json/store.go normalizeJSONNumber). Kept as text, so
    the MAC can be checked either way."""


class _JsonFloat(str):
    """A JSON number with a fraction or exponent: float64 in every sops version."""


def _load_dotenv(text: str) -> Branch:
    # stores/dotenv/store.go LoadPlainFile: split on \n, skip empty lines, '#' starts a comment
    # line, KEY=VALUE split at the first '=', the two characters '\n' become a newline
    branch = Branch()
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line[0] == "#":
            branch.append((Comment(line[1:]), None))
            continue
        key, eq, value = line.partition("=")
        if not eq:
            raise SopsFormatError(f"line {number} is not KEY=VALUE (truncated or damaged?)")
        branch.append((key, value.replace("\\n", "\n")))
    return branch


def _load_ini(text: str) -> Branch:
    # gopkg.in/ini.v1 as stores/ini/store.go loads it: a DEFAULT section first, then each
    # [section] in order; 'key = value' or 'key: value'; ';' and '#' comment lines; values
    # trimmed, one pair of surrounding quotes removed.
    sections: list[tuple[str, Branch]] = [("DEFAULT", Branch())]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise SopsFormatError(f"line {number} is not a valid INI section header")
            sections.append((line[1:-1].strip(), Branch()))
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i > 0), default=-1)
        if cut < 0:
            raise SopsFormatError(f"line {number} is not 'key = value' (truncated or damaged?)")
        key, value = line[:cut].strip(), line[cut + 1 :].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
            value = value[1:-1]
        sections[-1][1].append((key, value))
    return Branch(sections)


# --- metadata --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A metadata subtree as plain dicts/lists (sopsToGo: comments dropped)."""
    if isinstance(value, Branch):
        return {k: _plain(v) for k, v in value if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [_plain(v) for v in value if not isinstance(v, Comment)]
    if isinstance(value, (_JsonInt, _JsonFloat)):
        return str(value)
    return value


def _extract_nested(branches: list[Branch]) -> tuple[list[Branch], dict[str, Any]]:
    # stores/metadata.go ExtractMetadata (not flattened): "sops" of the first document
    meta: Any = None
    out: list[Branch] = []
    for index, branch in enumerate(branches):
        kept = Branch()
        for key, value in branch:
            if key == "sops":
                if index == 0:
                    if meta is not None:
                        raise SopsFormatError("it has two 'sops' entries")
                    if not isinstance(value, Branch):
                        raise SopsFormatError("its 'sops' entry is not a mapping")
                    meta = value
            else:
                kept.append((key, value))
        out.append(kept)
    if meta is None:
        raise SopsFormatError("it has no sops metadata: not encrypted with sops (or truncated)")
    return out, _plain(meta)


def _tokens(path: str) -> list[str | int]:
    # stores/flatten.go tokenize: KEY, then __map_KEY / __list_N
    parts = re.split(r"(__map_|__list_)", path)
    tokens: list[str | int] = [parts[0]]
    for sep, name in zip(parts[1::2], parts[2::2], strict=True):
        if sep == "__list_":
            if not name.isdigit():
                raise SopsFormatError("its flattened sops metadata is malformed")
            tokens.append(int(name))
        else:
            tokens.append(name)
    return tokens


def _unflatten(items: list[tuple[str, Any]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    for key, value in items:
        node = root
        tokens = _tokens(key)
        for token in tokens[:-1]:
            node = node.setdefault(token, {})
            if not isinstance(node, dict):
                raise SopsFormatError("its flattened sops metadata is malformed")
        if tokens[-1] in node:
            raise SopsFormatError("its flattened sops metadata repeats a key")
        node[tokens[-1]] = value

    def convert(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node and all(isinstance(k, int) for k in node):
            if sorted(node) != list(range(len(node))):
                raise SopsFormatError("its flattened sops metadata is malformed")
            return [convert(node[i]) for i in range(len(node))]
        if any(isinstance(k, int) for k in node):
            raise SopsFormatError("its flattened sops metadata is malformed")
        return {k: convert(v) for k, v in node.items()}

    out = convert(root)
    return out if isinstance(out, dict) else {}


def _extract_flat_dotenv(branch: Branch) -> tuple[list[Branch], dict[str, Any]]:
    kept, meta = Branch(), []
    for key, value in branch:
        if not isinstance(key, Comment) and key.startswith("sops_"):
            meta.append((key[len("sops_") :], value))
        else:
            kept.append((key, value))
    if not meta:
        raise SopsFormatError("it has no sops_ metadata: not encrypted with sops (or truncated)")
    return [kept], _unflatten(meta)


def _extract_ini(sections: Branch) -> tuple[list[Branch], dict[str, Any]]:
    kept, meta = Branch(), None
    for name, items in sections:
        if name == "sops":
            if meta is not None:
                raise SopsFormatError("it has two [sops] sections")
            meta = [(k, v.replace("\\n", "\n")) for k, v in items]
        else:
            kept.append((name, items))
    if meta is None:
        raise SopsFormatError("it has no [sops] section: not encrypted with sops (or truncated)")
    return [kept], _unflatten(meta)


# --- the metadata, checked -------------------------------------------------------------------


def _weak_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise SopsFormatError("its sops metadata has a malformed mac_only_encrypted")


class Metadata:
    """The parsed ``sops`` entry (stores/stores.go ``metadata.ToInternal``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        version = str(raw.get("version", ""))
        unknown = sorted(set(raw) - KNOWN_METADATA)
        major = version.split(".")[0]
        if major.isdigit() and int(major) > SUPPORTED_MAJOR:
            raise SopsFormatError(
                f"it was written by sops {version}, a newer major version than guardlib reads "
                "(3.x): decrypt it with that sops, or upgrade guardlib"
            )
        if unknown:
            raise SopsFormatError(
                f"its sops metadata has fields guardlib does not know ({', '.join(unknown)}), "
                f"from a newer sops ({version or 'unknown version'}): their meaning may change "
                "how the file must be checked, so guardlib refuses it; decrypt it with that "
                "sops (`sops decrypt`), or upgrade guardlib"
            )
        for field in ("lastmodified", "mac"):
            if not isinstance(raw.get(field), str):
                raise SopsFormatError(f"its sops metadata has no {field} (truncated?)")
        self.version = version
        self.mac: str = raw["mac"]
        self.lastmodified = _go_rfc3339(raw["lastmodified"])
        self.mac_only_encrypted = _weak_bool(raw.get("mac_only_encrypted", False))
        rules = {
            k: raw.get(k) or ""
            for k in (
                "unencrypted_suffix",
                "encrypted_suffix",
                "unencrypted_regex",
                "encrypted_regex",
                "unencrypted_comment_regex",
                "encrypted_comment_regex",
            )
        }
        if sum(1 for v in rules.values() if v) > 1:
            raise SopsFormatError("its sops metadata names more than one encryption rule")
        if not any(rules.values()):
            rules["unencrypted_suffix"] = DEFAULT_UNENCRYPTED_SUFFIX
        if rules["unencrypted_comment_regex"] or rules["encrypted_comment_regex"]:
            raise SopsFormatError(
                "it uses a comment-based encryption rule (encrypted_comment_regex or "
                "unencrypted_comment_regex), which guardlib does not read: use `sops decrypt`"
            )
        self.rules = rules
        self._regex = {
            k: re.compile(rules[k]) for k in ("unencrypted_regex", "encrypted_regex") if rules[k]
        }
        threshold = raw.get("shamir_threshold") or 0
        try:
            self.shamir_threshold = int(threshold)
        except (TypeError, ValueError):
            raise SopsFormatError("its sops metadata has a malformed shamir_threshold") from None
        groups = raw.get("key_groups")
        if groups:
            if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
                raise SopsFormatError("its sops metadata has malformed key_groups")
            self.key_groups = [self._group(g) for g in groups]
        else:
            self.key_groups = [self._group(raw)]

    @staticmethod
    def _group(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        unknown = sorted(set(raw) - set(KEY_TYPES)) if "lastmodified" not in raw else []
        if unknown:
            raise SopsFormatError(
                f"a key group in its sops metadata has key types guardlib does not know "
                f"({', '.join(unknown)}), from a newer sops: decrypt it with that sops"
            )
        keys: list[tuple[str, dict[str, Any]]] = []
        for kind in KEY_TYPES:
            entries = raw.get(kind) or []
            if not isinstance(entries, list):
                raise SopsFormatError(f"its sops metadata has a malformed {kind} entry")
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("enc"), str):
                    raise SopsFormatError(f"its sops metadata has a malformed {kind} key")
                keys.append((kind, entry))
        return keys

    def should_encrypt(self, path: list[str]) -> bool:
        """sops.go shouldBeEncrypted (without the comment rules, refused above)."""
        rules = self.rules
        encrypted = True
        if rules["unencrypted_suffix"] and any(
            p.endswith(rules["unencrypted_suffix"]) for p in path
        ):
            encrypted = False
        if rules["encrypted_suffix"]:
            encrypted = any(p.endswith(rules["encrypted_suffix"]) for p in path)
        if "unencrypted_regex" in self._regex:
            if any(self._regex["unencrypted_regex"].search(p) for p in path):
                encrypted = False
        if "encrypted_regex" in self._regex:
            encrypted = any(self._regex["encrypted_regex"].search(p) for p in path)
        return encrypted


def _go_rfc3339(text: str) -> str:
    """``time.Parse(time.RFC3339, s).Format(time.RFC3339)``: seconds precision, ``Z`` for a
    zero offset, otherwise the offset as written."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SopsFormatError("its sops lastmodified is not an RFC 3339 time") from None
    if when.tzinfo is None:
        raise SopsFormatError("its sops lastmodified has no time zone")
    offset = when.utcoffset() or dt.timedelta(0)
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if offset == dt.timedelta(0):
        return base + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{base}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# --- values and the MAC ----------------------------------------------------------------------


def _go_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits, never exponent."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" and value == 0 and str(value)[0] != "-" else text


def _go_time(value: dt.datetime | dt.date) -> str:
    """``time.Time.MarshalText``: RFC 3339 with nanoseconds trimmed."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    text = value.isoformat()
    if "." in text[:26]:
        head, _, rest = text.partition(".")
        frac = rest[:6].rstrip("0")
        text = head + ("." + frac if frac else "") + rest[6:]
    return text.replace("+00:00", "Z")


def plain_bytes(value: Any, json_ints: bool = False) -> bytes:
    """sops.go ``ToBytes`` of an unencrypted leaf as the store decoded it."""
    if isinstance(value, _JsonInt):
        if json_ints and -(2**63) <= int(value) < 2**63:
            return str(int(value)).encode()
        return _go_float(float(value)).encode()
    if isinstance(value, _JsonFloat):
        return _go_float(float(value)).encode()
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return _go_float(value).encode()
    if isinstance(value, (dt.datetime, dt.date)):
        return _go_time(value).encode()
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def decrypt_value(text: str, key: bytes, aad: str) -> tuple[Any, bytes]:
    """aes/cipher.go Decrypt: the typed plaintext and its ToBytes form. ValueError when the
    value is malformed or does not authenticate (never says more: no value in messages)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    match = _ENC.match(text)
    if match is None:
        raise ValueError("not a sops value")
    try:
        data, iv, tag = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
    except ValueError:
        raise ValueError("a sops value is not valid base64") from None
    kind = match.group(4)
    if len(iv) == 0 or len(tag) != 16:
        raise ValueError("a sops value has a malformed nonce or tag")
    try:
        raw = AESGCM(key).decrypt(iv, data + tag, aad.encode("utf-8"))
    except Exception:  # noqa: BLE001 - InvalidTag (or a bad nonce length): both mean refused
        raise ValueError("a sops value does not authenticate") from None
    try:
        plain = raw.decode("utf-8")
    except UnicodeDecodeError:
        plain = None
    if kind in ("str", "comment"):
        if plain is None:
            raise ValueError("a sops value is not UTF-8")
        return plain, raw
    if kind == "bytes":
        return raw.decode("utf-8", "replace"), raw
    if plain is None:
        raise ValueError("a sops value is not UTF-8")
    if kind == "int":
        if not re.fullmatch(r"[+-]?[0-9]+", plain):
            raise ValueError("a sops int value is malformed")
        number = int(plain)
        return number, str(number).encode()
    if kind == "float":
        try:
            flt = float(plain)
        except ValueError:
            raise ValueError("a sops float value is malformed") from None
        return flt, _go_float(flt).encode()
    if kind == "bool":
        # strconv.ParseBool
        if plain in ("1", "t", "T", "TRUE", "true", "True"):
            return True, b"True"
        if plain in ("0", "f", "F", "FALSE", "false", "False"):
            return False, b"False"
        raise ValueError("a sops bool value is malformed")
    if kind == "time":
        return plain, raw
    raise ValueError(f"a sops value has an unknown type {kind[:20]!r}")


def _bounded(leaves: Iterator[Any]) -> Iterator[Any]:
    for count, leaf in enumerate(leaves, 1):
        if count > MAX_LEAVES:
            raise SopsFormatError(
                f"it has more than {MAX_LEAVES} values (YAML aliases repeating a subtree?)"
            )
        yield leaf


def walk(branch: Branch, path: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
    """sops.go walkBranch/walkSlice order: yields ``(path, container, index)`` for every leaf
    that is not a comment or null; ``container[index]`` is a ``(key, value)`` pair's slot or a
    list item."""
    for i, (key, value) in enumerate(branch):
        if isinstance(key, Comment):
            continue
        if not isinstance(key, str):
            raise SopsFormatError("it has a key that is not a string (sops supports only those)")
        yield from _walk_value(value, [*path, key], branch, i)


def _walk_value(value: Any, path: list[str], container: Any, index: int) -> Iterator[Any]:
    if isinstance(value, Branch):
        yield from walk(value, path)
    elif isinstance(value, list):
        for j, item in enumerate(value):
            if isinstance(item, Comment):
                continue
            yield from _walk_value(item, path, value, j)
    elif value is not None:
        yield path, container, index


def decrypt_tree(branches: list[Branch], meta: Metadata, key: bytes) -> tuple[list[Any], str, str]:
    """Decrypt every encrypted leaf in place (values become plain Python values) and return
    the branches as plain data, plus the two MAC candidates (hex, upper-case; they differ only
    when unencrypted JSON integers are present: sops <= 3.11 hashed them as floats).
    ValueError names the key path of a leaf that does not decrypt (never its value)."""
    hashes = [hashlib.sha512(), hashlib.sha512()]
    if meta.mac_only_encrypted:
        for h in hashes:
            h.update(MAC_ONLY_ENCRYPTED_INIT)
    leaves = [leaf for branch in branches for leaf in _bounded(walk(branch, []))]
    for path, container, index in leaves:
        slot = container[index]
        is_pair = isinstance(container, Branch)
        value = slot[1] if is_pair else slot
        encrypted = meta.should_encrypt(path)
        if encrypted:
            if not isinstance(value, str):
                raise ValueError(":".join(path))
            if value == "":
                plain: Any = ""
                as_bytes = [b"", b""]
            else:
                try:
                    plain, raw = decrypt_value(value, key, ":".join(path) + ":")
                except ValueError:
                    raise ValueError(".".join(path)) from None
                as_bytes = [raw, raw]
        else:
            plain = value
            as_bytes = [plain_bytes(value, False), plain_bytes(value, True)]
            if isinstance(value, (_JsonInt, _JsonFloat)):
                plain = int(value) if isinstance(value, _JsonInt) else float(value)
            elif isinstance(value, (dt.datetime, dt.date)):
                plain = _go_time(value)
        if not meta.mac_only_encrypted or encrypted:
            for h, b in zip(hashes, as_bytes, strict=True):
                h.update(b)
        if is_pair:
            container[index] = (slot[0], plain)
        else:
            container[index] = plain
    return [to_plain(b) for b in branches], *(h.hexdigest().upper() for h in hashes)  # type: ignore[return-value]


def to_plain(value: Any) -> Any:
    """The decrypted tree as JSON-ready data (comments dropped)."""
    if isinstance(value, Branch):
        return {str(k): to_plain(v) for k, v in value if not isinstance(k, Comment)}
    if isinstance(value, list):
        return [to_plain(v) for v in value if not isinstance(v, Comment)]
    if isinstance(value, (_JsonInt, _JsonFloat)):
        return int(value) if isinstance(value, _JsonInt) else float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return _go_time(value)
    return value


def check_mac(meta: Metadata, key: bytes, candidates: tuple[str, ...]) -> bool:
    """Decrypt the stored MAC (additional data: lastmodified as Go formats it) and compare it
    in constant time with the computed ones."""
    try:
        stored, _ = decrypt_value(meta.mac, key, meta.lastmodified)
    except ValueError:
        return False
    if not isinstance(stored, str):
        return False
    return any(hmac.compare_digest(stored.encode(), c.encode()) for c in candidates)


# --- Shamir (shamir/shamir.go, HashiCorp's GF(2^8) scheme) ----------------------------------


def _gf_mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return out


def _gf_inv(a: int) -> int:
    # a^254 in GF(2^8)
    out, power = 1, a
    for bit in range(8):
        if (254 >> bit) & 1:
            out = _gf_mul(out, power)
        power = _gf_mul(power, power)
    return out


def shamir_combine(parts: list[bytes]) -> bytes:
    """shamir.Combine: each part is the y bytes followed by its x coordinate."""
    if len(parts) < 2 or len({len(p) for p in parts}) != 1 or len(parts[0]) < 2:
        raise ValueError("shamir parts are malformed")
    xs = [p[-1] for p in parts]
    if len(set(xs)) != len(xs):
        raise ValueError("shamir parts repeat")
    out = bytearray()
    for i in range(len(parts[0]) - 1):
        acc = 0
        for j, pj in enumerate(parts):
            num, den = 1, 1
            for k, xk in enumerate(xs):
                if k != j:
                    num = _gf_mul(num, xk)
                    den = _gf_mul(den, xk ^ xs[j])
            acc ^= _gf_mul(pj[i], _gf_mul(num, _gf_inv(den)))
        out.append(acc)
    return bytes(out)
