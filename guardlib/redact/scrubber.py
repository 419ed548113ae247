"""The scrubber: a registry of secret values and one fast pattern over all their spellings.

:func:`spellings` lists what a value looks like once a program has printed it: ``repr``/JSON
escapes, percent-encoding (``quote``, ``quote_plus``, upper- or lower-case escapes), hex, and
standard and URL-safe base64, including the value inside a longer base64 text such as a
``Basic`` auth header. :class:`Redactor` holds the spellings of every registered value and masks
them in any text. ``guardlib run --mask`` masks the same spellings (it encodes them to bytes).
:func:`json_leaves` lists the fields of a JSON secret, which are registered with it.

:data:`shared_redactor` is the process's own registry: :func:`guardlib.resolve` registers every
value it returns there, and :func:`guardlib.install_redaction` scrubs it from every channel.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from guardlib.errors import RedactionError
from guardlib.secret import MASK, Secret, forget_locals

#: the shortest value :meth:`Redactor.register` accepts
MIN_LENGTH = 6
#: the shortest *encoded* spelling (base64, hex, percent) that is scrubbed. The base64 of a value
#: in the middle of a longer text keeps only the characters that depend on the value alone,
#: two or three fewer than the value's own base64: for a 6-byte value that is 7 characters.
#: Below 8 such a fragment would start to match inside unrelated base64 and hex in the logs.
MIN_ENCODED_LENGTH = 8

_URLSAFE = str.maketrans("+/", "-_")
_PERCENT = re.compile(r"%[0-9A-F]{2}")


@forget_locals
def spellings(value: str | bytes | Secret[Any] | Any) -> set[str]:
    """Every spelling of ``value`` that :meth:`Redactor.scrub` masks (see the module docstring).

    Raises :class:`~guardlib.errors.RedactionError` (without the value) when the value is
    shorter than :data:`MIN_LENGTH`.
    """
    raw: Any = value.reveal() if isinstance(value, Secret) else value
    if isinstance(raw, bytes):
        data = raw
        texts = {repr(raw)[2:-1]}
        try:
            texts.add(raw.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    elif isinstance(raw, str):
        data = raw.encode("utf-8", "surrogatepass")
        texts = {raw}
    else:
        data = str(raw).encode("utf-8", "surrogatepass")
        texts = {str(raw), repr(raw)}
    if any(len(text) < MIN_LENGTH for text in texts):
        raise RedactionError(
            f"refusing to register a value shorter than {MIN_LENGTH} characters for redaction"
        )
    forms = set(texts)
    forms.add(repr(data)[2:-1])  # inside the repr of the encoded bytes
    for text in texts:  # inside a repr() or a JSON document
        forms.add(repr(text)[1:-1])
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    encoded = {data.hex(), data.hex().upper()}
    for percent in (quote(data, safe=""), quote(data), quote_plus(data)):
        encoded |= {percent, _PERCENT.sub(lambda m: m.group().lower(), percent)}
    padded = base64.b64encode(data).decode("ascii")
    encoded |= {padded, padded.rstrip("=")}
    for offset in (0, 1, 2):  # inside a longer base64 text, at each of the 3 byte alignments
        text = base64.b64encode(bytes(offset) + data).decode("ascii")
        # keep the characters whose 6 bits all come from the value's bytes
        encoded.add(text[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6])
    encoded |= {form.translate(_URLSAFE) for form in encoded}
    return {f for f in forms if len(f) >= MIN_LENGTH} | {
        f for f in encoded if len(f) >= MIN_ENCODED_LENGTH
    }


def json_leaves(value: Any) -> list[str]:
    """Every string and number leaf of ``value`` when it is a JSON object or array (as text,
    bytes or already parsed), numbers as their text; a string leaf that is itself a JSON
    document is opened too, once (a KV entry holding a JSON blob). Empty for anything else.
    Never raises, and never chains the parser's error (``JSONDecodeError.doc`` is the text)."""
    out: list[str] = []
    _leaves(value if isinstance(value, (dict, list)) else _json_document(value), 0, out)
    return out


def _json_document(value: Any) -> Any:
    if not isinstance(value, (str, bytes)) or value.lstrip()[:1] not in ("{", "[", b"{", b"["):
        return None
    try:
        doc = json.loads(value)
    except (ValueError, TypeError, RecursionError):
        doc = None
    return doc if isinstance(doc, (dict, list)) else None


def _leaves(node: Any, depth: int, out: list[str]) -> None:
    if depth > 32:
        return
    if isinstance(node, dict):
        for item in node.values():
            _leaves(item, depth + 1, out)
    elif isinstance(node, list):
        for item in node:
            _leaves(item, depth + 1, out)
    elif isinstance(node, str):
        out.append(node)
        if depth < 8:
            _leaves(_json_document(node), depth + 8, out)
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.append(str(node))


def _trie_pattern(words: Iterable[str]) -> str:
    """One regular expression matching any of ``words``, the longest at any position.

    The words share their prefixes in a trie, so the engine checks one character class per
    position instead of every word: about 15x faster than a flat alternation of a few thousand
    literals. At a node where a word ends, the longer continuations are tried first (a greedy
    ``(?:...)?``), which gives the same result as a flat alternation sorted longest first.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _node_pattern(root)


def _node_pattern(node: dict[str, Any]) -> str:
    parts: list[str] = []
    while True:  # follow a chain of single children without recursing
        kids = [char for char in node if char]
        if len(kids) == 1 and "" not in node:
            parts.append(re.escape(kids[0]))
            node = node[kids[0]]
            continue
        break
    if kids:
        branches = [re.escape(char) + _node_pattern(node[char]) for char in sorted(kids)]
        group = "(?:" + "|".join(branches) + ")"
        parts.append(group + "?" if "" in node else group)
    return "".join(parts)


def _compile(values: set[str]) -> re.Pattern[str] | None:
    if not values:
        return None
    try:
        return re.compile(_trie_pattern(values))
    except (RecursionError, re.error, OverflowError):  # absurdly nested: a flat alternation
        ordered = sorted(values, key=len, reverse=True)  # longest first
        return re.compile("|".join(re.escape(v) for v in ordered))


class Redactor:
    """A registry of secret values and a fast ``scrub`` over any text.

    ``register`` only records the new spellings; the single pattern over all of them is rebuilt
    on the next ``scrub`` (so registering a hundred values compiles once). ``scrub`` always
    consults the current set: a value registered after a hook was installed is scrubbed too.
    """

    @forget_locals
    def __init__(self, values: Iterable[str | bytes | Secret[Any]] = (), *, mask: str = MASK):
        self.mask = mask
        self._values: set[str] = set()
        self._seen: set[str | bytes] = set()  # registered values, to skip them quickly
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False
        for value in values:
            self.register(value)

    def __repr__(self) -> str:
        return f"Redactor({len(self._values)} patterns)"

    def __len__(self) -> int:
        return len(self._values)

    @forget_locals
    def register(self, value: str | bytes | Secret[Any]) -> None:
        """Add a value (or a Secret's value) to scrub, with its escaped and encoded spellings.

        Values shorter than ``MIN_LENGTH`` are refused: masking every ``"abc"`` in every log line
        would wreck the logs and such a short value is not a secret anyway. If it raises, no
        frame of the traceback keeps the value (:func:`~guardlib.secret.forget_locals`).
        """
        raw = value.reveal() if isinstance(value, Secret) else value
        if isinstance(raw, (str, bytes)) and raw in self._seen:
            return  # env:// values are registered on every resolve: keep that cheap
        forms = spellings(raw)
        with self._lock:
            if not forms <= self._values:
                self._values |= forms
                self._stale = True
            if isinstance(raw, (str, bytes)):
                self._seen.add(raw)

    def scrub(self, text: str) -> str:
        """Return ``text`` with every registered value (in any spelling) replaced by the mask."""
        if not text:
            return text
        pattern = self._pattern
        if self._stale:
            with self._lock:
                if self._stale:
                    self._pattern = _compile(self._values)
                    self._stale = False
                pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(self.mask, text)


#: the process's registry: every value ``guardlib.resolve`` returns is registered here, and
#: :func:`guardlib.install_redaction` scrubs it (``guardlib.resolver.redactor`` is this object)
shared_redactor = Redactor()
