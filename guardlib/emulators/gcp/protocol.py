"""The wire side: resource names, validation rules, list filters and page tokens.

Messages are the client library's own protobuf classes (``resources.Secret.pb()`` …), which
serialize themselves, so there is no hand-written encoding here.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from google.cloud.location import locations_pb2
from google.cloud.secretmanager_v1.types import resources, service
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import empty_pb2

from . import errors

# raw protobuf classes (faster than the proto-plus wrappers, same wire format)
Secret: Any = resources.Secret.pb()
SecretVersion: Any = resources.SecretVersion.pb()
SecretPayload: Any = resources.SecretPayload.pb()
ReplicationStatus: Any = resources.ReplicationStatus.pb()
State: Any = SecretVersion.State
Empty: Any = empty_pb2.Empty
Policy: Any = policy_pb2.Policy
IamBinding: Any = policy_pb2.Binding
TestIamPermissionsResponse: Any = iam_policy_pb2.TestIamPermissionsResponse
AccessSecretVersionResponse: Any = service.AccessSecretVersionResponse.pb()
ListSecretsResponse: Any = service.ListSecretsResponse.pb()
ListSecretVersionsResponse: Any = service.ListSecretVersionsResponse.pb()

#: method name -> (request class, response class)
METHODS: dict[str, tuple[Any, Any]] = {
    "ListSecrets": (service.ListSecretsRequest.pb(), ListSecretsResponse),
    "CreateSecret": (service.CreateSecretRequest.pb(), Secret),
    "AddSecretVersion": (service.AddSecretVersionRequest.pb(), SecretVersion),
    "GetSecret": (service.GetSecretRequest.pb(), Secret),
    "UpdateSecret": (service.UpdateSecretRequest.pb(), Secret),
    "DeleteSecret": (service.DeleteSecretRequest.pb(), Empty),
    "ListSecretVersions": (service.ListSecretVersionsRequest.pb(), ListSecretVersionsResponse),
    "GetSecretVersion": (service.GetSecretVersionRequest.pb(), SecretVersion),
    "AccessSecretVersion": (service.AccessSecretVersionRequest.pb(), AccessSecretVersionResponse),
    "DisableSecretVersion": (service.DisableSecretVersionRequest.pb(), SecretVersion),
    "EnableSecretVersion": (service.EnableSecretVersionRequest.pb(), SecretVersion),
    "DestroySecretVersion": (service.DestroySecretVersionRequest.pb(), SecretVersion),
    "SetIamPolicy": (iam_policy_pb2.SetIamPolicyRequest, Policy),
    "GetIamPolicy": (iam_policy_pb2.GetIamPolicyRequest, Policy),
    "TestIamPermissions": (iam_policy_pb2.TestIamPermissionsRequest, TestIamPermissionsResponse),
    "RotateSecret": (service.RotateSecretRequest.pb(), SecretVersion),
    "EnableManagedRotation": (service.EnableManagedRotationRequest.pb(), SecretVersion),
    # the google.cloud.location.Locations mixin the client also calls
    "GetLocation": (locations_pb2.GetLocationRequest, locations_pb2.Location),
    "ListLocations": (locations_pb2.ListLocationsRequest, locations_pb2.ListLocationsResponse),
}
SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
LOCATIONS_SERVICE = "google.cloud.location.Locations"
Location: Any = locations_pb2.Location
ListLocationsResponse: Any = locations_pb2.ListLocationsResponse
LOCATION_RE = re.compile(r"projects/([A-Za-z0-9_.:-]+)/locations/([a-z][a-z0-9-]{0,62})")

#: the locations ListLocations reports (those the gateway tunnels a regional endpoint for)
KNOWN_LOCATIONS = (
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2",
    "us-west3", "us-west4", "northamerica-northeast1", "northamerica-northeast2",
    "southamerica-east1", "europe-west1", "europe-west2", "europe-west3", "europe-west4",
    "europe-west6", "europe-west8", "europe-west9", "europe-north1", "europe-central2",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1",
    "asia-southeast1", "asia-southeast2", "australia-southeast1", "me-central2",
)  # fmt: skip
MAX_PAYLOAD = 64 * 1024  # bytes
MAX_PAGE_SIZE = 25000

#: one name segment: project ids (also domain-scoped ``example.com:p``) and numbers, locations,
#: secret ids and version ids or aliases. Matched with ``fullmatch``: no ``$`` that a trailing
#: newline could pass, no whitespace or control characters inside a name.
_SEG = r"[A-Za-z0-9_.:-]+"
PARENT_RE = re.compile(rf"projects/({_SEG})(?:/locations/({_SEG}))?")
SECRET_RE = re.compile(rf"projects/({_SEG})(?:/locations/({_SEG}))?/secrets/({_SEG})")
VERSION_RE = re.compile(
    rf"projects/({_SEG})(?:/locations/({_SEG}))?/secrets/({_SEG})/versions/({_SEG})"
)
SECRET_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,255}")
LABEL_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE_RE = re.compile(r"[a-z0-9_-]{0,63}")
ANNOTATION_KEY_RE = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?")
MAX_ANNOTATIONS_BYTES = 16 * 1024


def parse_parent(name: str) -> tuple[str, str | None]:
    m = PARENT_RE.fullmatch(name)
    if m is None:
        raise errors.invalid(
            f"The provided parent [{name}] does not match the expected format [projects/*]"
        )
    return m.group(1), m.group(2)


def parse_secret(name: str) -> tuple[str, str | None, str]:
    m = SECRET_RE.fullmatch(name)
    if m is None:
        raise errors.bad_name(name, "projects/*/secrets/*")
    return m.group(1), m.group(2), m.group(3)


def parse_version(name: str) -> tuple[str, str | None, str, str]:
    m = VERSION_RE.fullmatch(name)
    if m is None:
        raise errors.bad_name(name, "projects/*/secrets/*/versions/*")
    return m.group(1), m.group(2), m.group(3), m.group(4)


def parse_location(name: str) -> tuple[str, str]:
    m = LOCATION_RE.fullmatch(name)
    if m is None:
        raise errors.invalid(
            f"The provided location [{name}] does not match the expected format "
            "[projects/*/locations/*]"
        )
    return m.group(1), m.group(2)


def check_secret_id(secret_id: str) -> None:
    if not SECRET_ID_RE.fullmatch(secret_id):
        raise errors.invalid(
            f"The provided Secret ID [{secret_id}] does not match the expected format "
            "[[a-zA-Z_0-9-]{1,255}]"
        )


def check_labels(labels: Mapping[str, str]) -> None:
    if len(labels) > 64:
        raise errors.invalid("A secret may have at most 64 labels.")
    for key, value in labels.items():
        if not LABEL_KEY_RE.fullmatch(key):
            raise errors.invalid(
                f"Label key [{key}] is invalid: keys must start with a lowercase letter and "
                "contain only lowercase letters, digits, '_' and '-' (at most 63 characters)."
            )
        if not LABEL_VALUE_RE.fullmatch(value):
            raise errors.invalid(
                f"Label value for key [{key}] is invalid: values may contain only lowercase "
                "letters, digits, '_' and '-' (at most 63 characters)."
            )


def check_annotations(annotations: Mapping[str, str]) -> None:
    size = 0
    for key, value in annotations.items():
        if not ANNOTATION_KEY_RE.fullmatch(key):
            raise errors.invalid(f"Annotation key [{key}] is invalid.")
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ANNOTATIONS_BYTES:
        raise errors.invalid("The total size of annotations must be less than 16KiB.")


def check_payload(data: bytes) -> None:
    if len(data) > MAX_PAYLOAD:
        raise errors.invalid(
            f"Secret Payload cannot be larger than 65536 bytes (got {len(data)} bytes)."
        )


# -- page tokens ----------------------------------------------------------------------------
def page_token(offset: int, query: str) -> str:
    raw = json.dumps({"o": offset, "q": query}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_offset(token: str, query: str) -> int:
    if not token:
        return 0
    # the real service answers a token it did not issue with INVALID_ARGUMENT
    # "The provided page token is invalid." (and so do the other Google list APIs)
    try:
        if len(token) > 1024 or not _TOKEN_CHARS.fullmatch(token):
            raise ValueError("not a token")
        data = json.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)),
            parse_constant=_no_constant,
        )
        offset, issued_for = data["o"], data["q"]
        if type(offset) is not int or not isinstance(issued_for, str):
            raise ValueError("not a token")
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error, RecursionError):
        raise errors.invalid("The provided page token is invalid.") from None
    if issued_for != query or not 0 <= offset <= 1 << 31:
        raise errors.invalid("The provided page token is invalid.")
    return offset


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_=-]+")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def page_size(requested: int) -> int:
    if requested < 0:
        raise errors.invalid("page_size must not be negative.")
    return min(requested or MAX_PAGE_SIZE, MAX_PAGE_SIZE)


# -- filters (https://cloud.google.com/secret-manager/docs/filtering) ------------------------
Fields = Callable[[str], list[str] | None]  # field path -> its values (None: unknown field)

_TOKEN_RE = re.compile(
    r"\s*(?:(\()|(\))|(AND|OR|NOT)(?=[\s(])|(-)|"
    r'([\w.\-]+)\s*(<=|>=|!=|=|:|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s()]+))'
)


def compile_filter(text: str, fields: Fields) -> Callable[[Fields], bool]:
    """Compile a list filter: ``field op value`` terms (ops ``: = != < > <= >=``, ``:`` is
    "contains", ``*`` a wildcard), joined by ``AND`` (or juxtaposition), ``OR``, ``NOT``/``-``,
    and parentheses. ``fields`` validates the field names at compile time."""
    if len(text) > 4096:
        raise _bad_filter(text[:64] + "...")
    tokens = _tokenize(text)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def expr() -> Callable[[Fields], bool]:
        parts = [conj()]
        while (t := peek()) is not None and t == ("op", "OR"):
            take()
            parts.append(conj())
        return parts[0] if len(parts) == 1 else (lambda f: any(p(f) for p in parts))

    def conj() -> Callable[[Fields], bool]:
        parts = [unary()]
        while (t := peek()) is not None and t != ("op", "OR") and t[0] != ")":
            if t == ("op", "AND"):
                take()
            parts.append(unary())
        return parts[0] if len(parts) == 1 else (lambda f: all(p(f) for p in parts))

    def unary() -> Callable[[Fields], bool]:
        t = peek()
        if t is None:
            raise _bad_filter(text)
        if t in (("op", "NOT"), ("op", "-")):
            take()
            inner = unary()
            return lambda f: not inner(f)
        if t[0] == "(":
            take()
            inner = expr()
            if peek() is None or take()[0] != ")":
                raise _bad_filter(text)
            return inner
        if t[0] != "term":
            raise _bad_filter(text)
        field, op, value = take()[1]
        if fields(field) is None:
            raise errors.invalid(f"Invalid filter [{text}]: unknown field [{field}].")
        return _term(field, op, value)

    try:
        result = expr()
    except RecursionError:  # "((((…" deeper than any real filter
        raise _bad_filter(text[:64] + "...") from None
    if pos != len(tokens):
        raise _bad_filter(text)
    return result


def _bad_filter(text: str) -> errors.RpcError:
    return errors.invalid(f"Invalid filter [{text}].")


def _tokenize(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise _bad_filter(text)
        pos = m.end()
        if m.group(1):
            out.append(("(", None))
        elif m.group(2):
            out.append((")", None))
        elif m.group(3):
            out.append(("op", m.group(3)))
        elif m.group(4):
            out.append(("op", "-"))
        else:
            value = m.group(7)
            if value.startswith('"'):
                try:
                    value = json.loads(value)
                    value.encode("utf-8")  # a lone surrogate (\\ud800) is no text
                except (ValueError, UnicodeEncodeError):
                    raise _bad_filter(text) from None
            out.append(("term", (m.group(5), m.group(6), value)))
    return out


def _term(field: str, op: str, value: str) -> Callable[[Fields], bool]:
    def match(fields: Fields) -> bool:
        values = fields(field) or []
        if op == ":":
            if value == "*":
                return bool(values)
            pattern = value if "*" in value else f"*{value}*"
            return any(fnmatch.fnmatchcase(v.lower(), pattern.lower()) for v in values)
        if op == "=":
            return any(fnmatch.fnmatchcase(v, value) for v in values)
        if op == "!=":
            return not any(v == value for v in values)
        compare = {
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }[op]
        return any(compare(v, value) for v in values)

    return match
