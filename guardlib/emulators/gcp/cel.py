"""A small, safe subset of CEL for workload identity pool providers, parsed and evaluated here.

Real providers take CEL (https://cloud.google.com/iam/docs/workload-identity-federation,
"attribute conditions" and "attribute mapping"). This subset is enough for the conditions the
course writes and nothing more; anything else is refused when the seed is applied (never
``eval``, no functions but ``startsWith``):

- a condition: ``or``-joined (``||``) ``and``-joined (``&&``) terms; a term is ``( … )``,
  ``VALUE == VALUE``, ``VALUE != VALUE``, ``VALUE in ['a', 'b']`` or
  ``VALUE.startsWith('prefix')``;
- a value: a single-quoted or double-quoted string literal, or a path into the token's
  claims (``assertion.repository_owner``), the mapped attributes (``attribute.repository``)
  or ``google.subject``;
- a mapping: a path ``assertion.NAME`` (``.NAME`` may repeat for nested claims).

Evaluating a path to a missing or non-string claim is an error, as in CEL (no such key); the
provider then rejects the credential, as the real one does when a condition errors.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

MAX_EXPRESSION = 4096  # the real limit on an attribute condition is 4096 characters

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<op>==|!=|&&|\|\||[()\[\],.])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_ROOTS = ("assertion", "attribute", "google")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


class CelError(ValueError):
    """An expression outside the subset (at parse time), or a missing value (at evaluation)."""


@dataclasses.dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]  # ("assertion", "repository_owner")

    def text(self) -> str:
        return ".".join(self.parts)


@dataclasses.dataclass(frozen=True)
class Literal:
    value: str


Value = Path | Literal


@dataclasses.dataclass(frozen=True)
class Compare:
    op: str  # "==" | "!="
    left: Value
    right: Value


@dataclasses.dataclass(frozen=True)
class In:
    value: Value
    options: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class StartsWith:
    value: Value
    prefix: str


@dataclasses.dataclass(frozen=True)
class BoolOp:
    op: str  # "&&" | "||"
    items: tuple[Node, ...]


Node = Compare | In | StartsWith | BoolOp


def _unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise CelError(f"unsupported escape \\{nxt} in a string literal")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokens(text: str) -> list[tuple[str, str]]:
    if not isinstance(text, str) or not text.strip():
        raise CelError("an expression is a non-empty string")
    if len(text) > MAX_EXPRESSION:
        raise CelError(f"an expression is at most {MAX_EXPRESSION} characters")
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise CelError(f"unsupported syntax at character {pos + 1}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            want = value or kind
            raise CelError(f"expected {want!r} at token {self.i + 1}")
        self.i += 1
        return token[1]

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] == value

    def done(self) -> None:
        if self.peek() is not None:
            raise CelError(f"unexpected {self.peek()[1]!r} at token {self.i + 1}")  # type: ignore[index]

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > 32:
            raise CelError("the expression nests too deeply")
        items = [self.conjunction()]
        while self.at("||"):
            self.i += 1
            items.append(self.conjunction())
        self.depth -= 1
        return items[0] if len(items) == 1 else BoolOp("||", tuple(items))

    def conjunction(self) -> Node:
        items = [self.term()]
        while self.at("&&"):
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("&&", tuple(items))

    def term(self) -> Node:
        if self.at("("):
            self.i += 1
            node = self.expr()
            self.take("op", ")")
            return node
        left = self.value()
        if isinstance(left, Path) and left.parts[-1] == "startsWith" and self.at("("):
            self.i += 1
            prefix = self.literal()
            self.take("op", ")")
            target = Path(left.parts[:-1])
            if len(target.parts) < 2:
                raise CelError("startsWith is called on a path such as assertion.sub")
            return StartsWith(target, prefix)
        token = self.peek()
        if token == ("op", "==") or token == ("op", "!="):
            self.i += 1
            return Compare(token[1], left, self.value())
        if token == ("ident", "in"):
            self.i += 1
            self.take("op", "[")
            options = [self.literal()]
            while self.at(","):
                self.i += 1
                options.append(self.literal())
            self.take("op", "]")
            return In(left, tuple(options))
        raise CelError("a term is a comparison (==, !=), an 'in' list or a startsWith call")

    def literal(self) -> str:
        return _unquote(self.take("string"))

    def value(self) -> Value:
        token = self.peek()
        if token is not None and token[0] == "string":
            return Literal(self.literal())
        root = self.take("ident")
        if root not in _ROOTS:
            raise CelError(f"unknown name {root!r}: use assertion, attribute or google")
        parts = [root]
        while self.at("."):
            self.i += 1
            parts.append(self.take("ident"))
        if len(parts) < 2:
            raise CelError(f"{root} is used with a field, e.g. {root}.sub")
        if root == "google" and parts[1:] not in (["subject"], ["subject", "startsWith"]):
            raise CelError("only google.subject is known")
        return Path(tuple(parts))


@dataclasses.dataclass(frozen=True)
class Condition:
    source: str
    root: Node

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        return _eval(self.root, context)


def parse_condition(text: str) -> Condition:
    parser = _Parser(text)
    node = parser.expr()
    parser.done()
    return Condition(text, node)


def parse_mapping(text: str) -> Path:
    """A mapping's source: ``assertion.NAME`` (nested: ``assertion.a.b``)."""
    parser = _Parser(text)
    value = parser.value()
    parser.done()
    if not isinstance(value, Path) or value.parts[0] != "assertion":
        raise CelError("a mapping is a path into the token, such as assertion.sub")
    return value


def resolve(path: Path, context: Mapping[str, Any]) -> str:
    """The string at ``path`` in ``context`` ({"assertion": claims, "attribute": {...},
    "google": {"subject": ...}}), or :class:`CelError` if it is missing or not a string."""
    node: Any = context
    for part in path.parts:
        if not isinstance(node, Mapping) or part not in node:
            raise CelError(f"no such key: {path.text()}")
        node = node[part]
    if not isinstance(node, str):
        raise CelError(f"{path.text()} is not a string")
    return node


def _value(value: Value, context: Mapping[str, Any]) -> str:
    return value.value if isinstance(value, Literal) else resolve(value, context)


def _eval(node: Node, context: Mapping[str, Any]) -> bool:
    if isinstance(node, Compare):
        equal = _value(node.left, context) == _value(node.right, context)
        return equal if node.op == "==" else not equal
    if isinstance(node, In):
        return _value(node.value, context) in node.options
    if isinstance(node, StartsWith):
        return _value(node.value, context).startswith(node.prefix)
    if node.op == "&&":
        return all(_eval(item, context) for item in node.items)
    return any(_eval(item, context) for item in node.items)


def quote(text: str) -> str:
    """``text`` as a single-quoted CEL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
