"""The wire format: request bodies, SigV4, one parse per request, and request validation.

Secrets Manager speaks JSON 1.1 (``X-Amz-Target: secretsmanager.GetSecretValue``, JSON body);
STS and IAM speak the query protocol (form body with ``Action=AssumeRole``). Both are signed
with SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html); the
signature is recomputed here from the request as received, the same way botocore's
``SigV4Auth`` computes it (``botocore/auth.py``), and compared in constant time.

**One parse.** :func:`parse_call` reads a request exactly once into a :class:`Call` (service,
action, parameters). The layer authorizes that call, and moto is handed a request rebuilt
from it (:func:`inner_environ`: canonical body, empty query string, only the headers moto
needs), so moto cannot execute anything the layer did not see. What would let two readers
disagree is refused: a query parameter given twice or in both the query string and the body,
a JSON key given twice (at any depth), a JSON call with a query string, a target naming an
operation the service model does not have.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import functools
import hashlib
import hmac
import io
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from ..kit.server import BadRequest, content_length
from . import errors
from .model import operations, service_model

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = datetime.timedelta(minutes=15)
MAX_BODY = 1 << 20  # the largest request any of these APIs takes is far below this
#: the services served here, each by its botocore model; everything else is refused
SERVICES = ("secretsmanager", "kms", "sts", "iam")
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

#: Secrets Manager names: ASCII letters, digits and /_+=.@- (botocore's NameType has no
#: pattern; the service's message lists these). Always used with ``fullmatch``.
NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
MAX_SECRET = 65536  # bytes, SecretString and SecretBinary alike


def is_json(environ: Mapping[str, Any]) -> bool:
    """Which format an error is rendered in before the request is parsed."""
    return bool(environ.get("HTTP_X_AMZ_TARGET"))


# -- the body ---------------------------------------------------------------------------------
def read_body(environ: Mapping[str, Any]) -> bytes:
    """The request body, its length checked before a byte is read (RFC 9110 §8.6, by the
    kit's ``content_length``): one decimal number, repeated only identically, at most
    ``MAX_BODY``; no ``Transfer-Encoding``; and all of it must arrive."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        raise errors.bad_request(411, "Transfer-Encoding is not supported; send Content-Length.")
    values = environ.get("guardlib.content_length")
    if values is None:
        single = environ.get("CONTENT_LENGTH")
        values = [single] if single else []
    try:
        length = content_length(list(values), MAX_BODY)
    except BadRequest as exc:
        raise errors.bad_request(exc.status, exc.message) from None
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    if len(body) != length:
        raise errors.bad_request(400, "The request body is shorter than its Content-Length.")
    return body


# -- SigV4 ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(header: str | None) -> Authorization:
    if not header:
        raise errors.missing_token()
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise errors.AwsError(
            "IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm}'"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        if key in fields:
            raise errors.AwsError(
                "IncompleteSignatureException", f"Authorization header has '{key}' twice."
            )
        fields[key] = value
    try:
        key_id, date, region, service, terminator = fields["Credential"].split("/")
        signed = tuple(fields["SignedHeaders"].split(";"))
        signature = fields["Signature"]
    except (KeyError, ValueError):
        raise errors.AwsError(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        ) from None
    if terminator != "aws4_request":
        raise errors.invalid_signature("Credential should be scoped with a valid terminator")
    return Authorization(key_id, date, region, service, signed, signature)


def _header(environ: Mapping[str, Any], name: str) -> str | None:
    if name == "content-type":
        return environ.get("CONTENT_TYPE")
    if name == "content-length":
        return environ.get("CONTENT_LENGTH")
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return value if value is None else str(value)


def header(environ: Mapping[str, Any], name: str) -> str | None:
    return _header(environ, name.lower())


def _signing_key(secret: str, auth: Authorization) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), auth.date.encode(), hashlib.sha256).digest()
    for part in (auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _amz_headers(environ: Mapping[str, Any]) -> set[str]:
    return {k[5:].lower().replace("_", "-") for k in environ if k.startswith("HTTP_X_AMZ_")}


def verify_signature(
    environ: Mapping[str, Any], body: bytes, auth: Authorization, secret: str
) -> None:
    """Raise InvalidSignatureException unless ``auth.signature`` signs this request.

    Everything that steers the request must be signed: ``host`` and every ``x-amz-*`` header
    present (the target among them; botocore signs all of them, ``botocore/auth.py``
    ``SigV4Auth.headers_to_sign``). The payload hash is always computed from the body as
    received: an ``X-Amz-Content-Sha256`` header must equal it (S3's ``UNSIGNED-PAYLOAD``
    and streaming modes do not exist for these services)."""
    signed = set(auth.signed_headers)
    unsigned = ({"host"} | _amz_headers(environ)) - signed
    if unsigned:
        raise errors.invalid_signature(
            f"The following headers must be signed: {', '.join(sorted(unsigned))}"
        )
    payload = hashlib.sha256(body).hexdigest()
    claimed = _header(environ, "x-amz-content-sha256")
    if claimed is not None and not hmac.compare_digest(claimed.strip(), payload):
        raise errors.invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    amz_date = _header(environ, "x-amz-date") or ""
    try:  # "20240917T120000Z"; slicing is 10x faster than strptime
        if len(amz_date) != 16 or amz_date[8] != "T" or amz_date[15] != "Z":
            raise ValueError(amz_date)
        when = datetime.datetime(
            int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8]),
            int(amz_date[9:11]), int(amz_date[11:13]), int(amz_date[13:15]),
            tzinfo=datetime.timezone.utc,
        )  # fmt: skip
    except ValueError:
        raise errors.AwsError(
            "IncompleteSignatureException", "X-Amz-Date must be in ISO 8601 basic format."
        ) from None
    now = datetime.datetime.now(datetime.timezone.utc)
    if abs(now - when) > MAX_SKEW:
        raise errors.invalid_signature(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
        )
    if auth.date != amz_date[:8]:
        raise errors.invalid_signature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/"
    path = raw_path.split("?", 1)[0] or "/"
    query = sorted(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    lines = []
    for name in auth.signed_headers:
        value = _header(environ, name)
        lines.append(f"{name}:{' '.join((value or '').split())}")
    canonical = "\n".join(
        [
            environ.get("REQUEST_METHOD", "GET"),
            quote(path, safe="/~"),
            canonical_query,
            "\n".join(lines) + "\n",
            ";".join(auth.signed_headers),
            payload,
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, amz_date, auth.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = hmac.new(_signing_key(secret, auth), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, auth.signature):
        raise errors.invalid_signature()


# -- the one parse ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Call:
    """One parsed API call: all the layer authorizes, and all moto is given."""

    service: str
    action: str  # e.g. "GetSecretValue", a name in the service's botocore model
    params: dict[str, Any]  # JSON: the body object; query: parameter name -> value
    json_protocol: bool

    @property
    def iam_action(self) -> str:
        return f"{self.service}:{self.action}"


class _Duplicate(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON


def parse_call(environ: Mapping[str, Any], body: bytes, auth: Authorization) -> Call:
    service = auth.service
    if service not in SERVICES:
        raise errors.AwsError(
            "InvalidAction",
            f"This offline cloud serves {', '.join(SERVICES)} only, not {service!r}.",
        )
    if (environ.get("PATH_INFO") or "/") != "/":
        raise errors.AwsError("InvalidAction", "These APIs are served at the path '/' only.")
    model = service_model(service)
    target = _header(environ, "x-amz-target")
    if model.protocol == "json":
        return _parse_json(environ, body, service, model, target)
    if target is not None:
        raise errors.AwsError(
            "InvalidQueryParameter", f"{service} speaks the query protocol: no X-Amz-Target."
        )
    return _parse_query(environ, body, service)


def _parse_json(
    environ: Mapping[str, Any], body: bytes, service: str, model: Any, target: str | None
) -> Call:
    prefix, dot, action = (target or "").partition(".")
    if not dot or prefix != model.metadata["targetPrefix"] or action not in operations(service):
        raise errors.AwsError(
            "UnknownOperationException", "The requested operation is not recognized."
        )
    if environ.get("REQUEST_METHOD") != "POST":
        raise errors.AwsError("UnknownOperationException", "JSON calls are POST requests.")
    if environ.get("QUERY_STRING"):
        raise errors.AwsError(
            "InvalidQueryParameter",
            "The AWS query string is malformed or does not adhere to AWS standards: "
            f"{service} takes its parameters in the JSON body only.",
        )
    try:
        params = json.loads(
            body.decode("utf-8") if body else "{}",
            object_pairs_hook=_unique_keys,
            parse_constant=_reject_constant,
        )
    except _Duplicate as exc:
        raise errors.serialization(f"Duplicate field '{exc}' in the request body.") from None
    except (ValueError, RecursionError):
        raise errors.serialization("Start of structure or map found where not expected.") from None
    if not isinstance(params, dict):
        raise errors.serialization("The request body must be one JSON object.")
    return Call(service, action, params, json_protocol=True)


def _pairs(text: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise errors.AwsError(
            "InvalidQueryParameter", f"The {where} is not valid UTF-8 form data."
        ) from None


def _parse_query(environ: Mapping[str, Any], body: bytes, service: str) -> Call:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.AwsError("InvalidQueryParameter", "The body is not valid UTF-8.") from None
    pairs = _pairs(environ.get("QUERY_STRING", ""), "query string") + _pairs(text, "body")
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            # one name, one value: a second copy (in the body, the query string, or both) is
            # exactly what lets two parsers disagree (common error InvalidQueryParameter, 400)
            raise errors.AwsError(
                "InvalidQueryParameter",
                f"The AWS query string is malformed or does not adhere to AWS standards: "
                f"the parameter {key!r} is given more than once.",
            )
        params[key] = value
    action = params.get("Action")
    if not action:
        raise errors.AwsError("MissingAction", "The request is missing an action.")
    if action not in operations(service):
        raise errors.AwsError(
            "InvalidAction",
            f"The action or operation requested is invalid. Verify that the action is typed "
            f"correctly: {action!r} is not a {service} action.",
        )
    return Call(service, action, params, json_protocol=False)


#: the only client headers moto sees (besides the ones rebuilt from the call)
_PASSED_HEADERS = (
    "HTTP_HOST",
    "HTTP_AUTHORIZATION",
    "HTTP_X_AMZ_DATE",
    "HTTP_X_AMZ_SECURITY_TOKEN",
)
_WSGI_KEYS = (
    "wsgi.version", "wsgi.url_scheme", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess",
    "wsgi.run_once", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR",
)  # fmt: skip


def inner_environ(call: Call, environ: Mapping[str, Any]) -> dict[str, Any]:
    """The request moto executes, rebuilt from ``call`` alone."""
    if call.json_protocol:
        body = json.dumps(call.params).encode()
        content_type = JSON_CONTENT_TYPE
        prefix = service_model(call.service).metadata["targetPrefix"]
        extra = {"HTTP_X_AMZ_TARGET": f"{prefix}.{call.action}"}
    else:
        body = urlencode(list(call.params.items())).encode()
        content_type = FORM_CONTENT_TYPE
        extra = {}
    inner = {key: environ[key] for key in _WSGI_KEYS if key in environ}
    inner.update({key: environ[key] for key in _PASSED_HEADERS if key in environ})
    inner.update(extra)
    inner.update(
        {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/",
            "QUERY_STRING": "",
            "REQUEST_URI": "/",
            "RAW_URI": "/",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
    )
    return inner


# -- the input shape: types, required members, enums, lengths, ranges ----------------------------
def check_shape(call: Call) -> None:
    """Check a JSON call's parameters against its operation's input shape in botocore's model,
    as the service does before anything else: a value of the wrong JSON type is
    SerializationException; a missing required member, a value outside an enum, a length or a
    range is ValidationException ("1 validation error detected: …", the member named in
    camelCase as AWS writes it). Values are never echoed for blobs or sensitive members."""
    shape = service_model(call.service).operation_model(call.action).input_shape
    if shape is not None:
        _check_member(shape, call.params, "", top=True)


def _check_member(shape: Any, value: Any, where: str, top: bool = False) -> None:
    kind = shape.type_name
    name = where or "request"
    if kind == "structure":
        if not isinstance(value, dict):
            raise errors.serialization(f"Expected an object at '{name}'.")
        unknown = set(value) - set(shape.members)
        if unknown and not top:
            raise errors.serialization(f"Unrecognized field at '{name}'.")
        for member in shape.required_members:
            if value.get(member) is None:
                raise _invalid(f"{where + '.' if where else ''}{_camel(member)}", None,
                               "Member must not be null")  # fmt: skip
        for member, inner in shape.members.items():
            if member in value and value[member] is not None:
                path = f"{where + '.' if where else ''}{_camel(member)}"
                _check_member(inner, value[member], path)
        return
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    if kind == "list":
        if not isinstance(value, list):
            raise errors.serialization(f"Expected a list at '{name}'.")
        _check_size(name, len(value), low, high, None)
        for i, item in enumerate(value):
            _check_member(shape.member, item, f"{name}.{i + 1}.member")
        return
    if kind == "map":
        if not isinstance(value, dict):
            raise errors.serialization(f"Expected a map at '{name}'.")
        for key, item in value.items():
            _check_member(shape.key, key, f"{name}.key")
            _check_member(shape.value, item, f"{name}.value")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise errors.serialization(f"Expected a string at '{name}'.")
        shown = None if meta.get("sensitive") else value
        if shape.enum and value not in shape.enum:
            raise _invalid(name, shown, "Member must satisfy enum value set: "
                           f"[{', '.join(shape.enum)}]")  # fmt: skip
        _check_size(name, len(value), low, high, shown)
        return
    if kind == "blob":
        if not isinstance(value, str):
            raise errors.serialization(f"Expected a base64-encoded string at '{name}'.")
        try:
            size = len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise errors.serialization(f"Invalid base64 at '{name}'.") from None
        _check_size(name, size, low, high, None)
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.serialization(f"Expected a number at '{name}'.")
        if low is not None and value < low:
            raise _invalid(name, value, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            raise _invalid(name, value, f"Member must have value less than or equal to {high}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            raise errors.serialization(f"Expected a boolean at '{name}'.")
        return
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise errors.serialization(f"Expected a timestamp at '{name}'.")


def _check_size(name: str, size: int, low: Any, high: Any, shown: Any) -> None:
    if low is not None and size < low:
        raise _invalid(name, shown, f"Member must have length greater than or equal to {low}")
    if high is not None and size > high:
        raise _invalid(name, shown, f"Member must have length less than or equal to {high}")


def _invalid(name: str, shown: Any, constraint: str) -> errors.AwsError:
    if shown is None and constraint.endswith("must not be null"):
        value = "Value null "
    elif shown is None:
        value = "Value "
    else:
        text = str(shown)
        value = f"Value '{text if len(text) <= 64 else text[:64] + '…'}' "
    return errors.AwsError(
        "ValidationException",
        f"1 validation error detected: {value}at '{name}' failed to satisfy constraint: "
        f"{constraint}",
    )


# -- request validation: what the real service refuses and moto accepts -----------------------
def validate(call: Call) -> None:
    """Checks that need only the call (botocore's model and the service's documented limits)."""
    params = call.params
    if call.action == "CreateSecret":
        name = params.get("Name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise errors.invalid_parameter(errors.MSG_BAD_NAME)
    if call.action in ("CreateSecret", "PutSecretValue", "UpdateSecret"):
        string, binary = params.get("SecretString"), params.get("SecretBinary")
        if string is not None and binary is not None:
            raise errors.invalid_parameter(errors.MSG_BOTH_VALUES)
        if isinstance(string, str) and len(string.encode()) > MAX_SECRET:
            raise errors.validation(
                "secretString", f"Member must have length less than or equal to {MAX_SECRET}"
            )
        if isinstance(binary, str):
            try:
                raw = base64.b64decode(binary, validate=True)
            except (binascii.Error, ValueError):
                raise errors.serialization("Invalid base64 in SecretBinary") from None
            if len(raw) > MAX_SECRET:
                raise errors.validation(
                    "secretBinary", f"Member must have length less than or equal to {MAX_SECRET}"
                )
        if call.action == "PutSecretValue" and string is None and binary is None:
            raise errors.invalid_request("You must provide either SecretString or SecretBinary.")
    if call.action == "GetSecretValue" or call.action == "PutSecretValue":
        version = params.get("VersionId") or params.get("ClientRequestToken")
        if version is not None and not 32 <= len(str(version)) <= 64:
            field = "versionId" if call.action == "GetSecretValue" else "clientRequestToken"
            raise errors.validation(field, "Member must have length between 32 and 64")
    if call.action == "ListSecretVersionIds":
        max_results = params.get("MaxResults")
        if max_results is not None and (
            not isinstance(max_results, int) or not 1 <= max_results <= 100
        ):
            raise errors.validation(
                "maxResults", "Member must have value between 1 and 100"
            )  # botocore model: MaxResultsType, range 1-100
    if call.action in ("PutResourcePolicy", "ValidateResourcePolicy"):
        check_policy_document(params.get("ResourcePolicy"))


def check_policy_document(document: object) -> dict[str, Any]:
    """A resource policy must be a JSON object with a list (or one) of statements, each with an
    Effect of Allow or Deny and an Action. Else MalformedPolicyDocumentException."""
    try:
        doc = json.loads(document) if isinstance(document, str) else None
    except ValueError:
        doc = None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise errors.AwsError(
            "MalformedPolicyDocumentException", "This resource policy contains a syntax error."
        )
    for st in statements:
        if (
            not isinstance(st, dict)
            or st.get("Effect") not in ("Allow", "Deny")
            or ("Action" not in st and "NotAction" not in st)
        ):
            raise errors.AwsError(
                "MalformedPolicyDocumentException",
                "This resource policy contains a syntax error.",
            )
    assert isinstance(doc, dict)
    return doc


def is_public(doc: Mapping[str, Any]) -> bool:
    """Whether a resource policy allows broad access: an unconditional Allow to every
    principal (``"*"`` or ``{"AWS": "*"}``) or through ``NotPrincipal``."""
    statements = doc.get("Statement")
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow" or "Condition" in st:
            continue
        if "NotPrincipal" in st:
            return True
        principal = st.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, Mapping):
            aws = principal.get("AWS")
            if aws == "*" or (isinstance(aws, list) and "*" in aws):
                return True
    return False


def check_against(call: Call, secret: Any) -> None:
    """Checks that need the secret the call is about (``secret`` may be None)."""
    if secret is None:
        return
    params = call.params
    deleted = getattr(secret, "deleted_date", None) is not None
    if deleted and call.action in (
        "GetSecretValue", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage",
        "RotateSecret", "TagResource", "UntagResource", "PutResourcePolicy",
        "DeleteResourcePolicy", "CancelRotateSecret", "ReplicateSecretToRegions",
    ):  # fmt: skip
        raise errors.invalid_request(errors.MSG_DELETED)
    if deleted and call.action == "DeleteSecret" and not params.get("ForceDeleteWithoutRecovery"):
        # scheduling it again: the same answer (a forced deletion of it is allowed)
        raise errors.invalid_request(errors.MSG_DELETED)
    if call.action == "RotateSecret":
        if not params.get("RotationLambdaARN") and not secret.rotation_lambda_arn:
            raise errors.invalid_request(errors.MSG_NO_LAMBDA)
    if call.action == "UpdateSecretVersionStage":
        _check_stage_move(params, secret)
    if call.action == "PutResourcePolicy" and params.get("BlockPublicPolicy"):
        if is_public(check_policy_document(params.get("ResourcePolicy"))):
            raise errors.AwsError("PublicPolicyException", errors.MSG_PUBLIC_POLICY)


def _check_stage_move(params: dict[str, Any], secret: Any) -> None:
    """A label sits on one version at most: moving it off another needs RemoveFromVersionId."""
    stage = params.get("VersionStage")
    move_to = params.get("MoveToVersionId")
    remove_from = params.get("RemoveFromVersionId")
    if not move_to:
        return
    if move_to not in secret.versions:
        raise errors.invalid_parameter(f"Not a valid version: {move_to}")
    holder = next((vid for vid, v in secret.versions.items() if stage in v["version_stages"]), None)
    if holder is not None and holder != move_to and holder != remove_from:
        raise errors.invalid_parameter(
            f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is "
            f"currently attached to version {holder}, so you must explicitly reference that "
            "version in RemoveFromVersionId."
        )
    if holder == move_to and remove_from and remove_from != move_to:
        raise errors.invalid_parameter(f"Version stage {stage} not found in version {remove_from}")


# -- STS AssumeRoleWithWebIdentity: the one call served unsigned -------------------------------
#: STS calls that need no AWS credential: botocore sends them with ``UNSIGNED``
#: (``AssumeRoleWithWebIdentityCredentialFetcher._get_credentials``, botocore/credentials.py).
#: The token in the request is the credential.
UNSIGNED_ACTIONS = frozenset({"AssumeRoleWithWebIdentity"})
WEB_IDENTITY_DEFAULT_SECONDS = 3600  # "By default, the temporary security credentials … last
# for one hour" (botocore sts model, AssumeRoleWithWebIdentity documentation)


def parse_unsigned(environ: Mapping[str, Any], body: bytes) -> Call:
    """The call of a request without ``Authorization``: an STS query call whose action needs
    no signature, or MissingAuthenticationToken as for any other unsigned request. A request
    that names such an action but is malformed (a parameter twice …) gets the parse error."""
    if is_json(environ) or (environ.get("PATH_INFO") or "/") != "/":
        raise errors.missing_token()
    try:
        call = _parse_query(environ, body, "sts")
    except errors.AwsError:
        if not _names_unsigned_action(environ, body):
            raise errors.missing_token() from None
        raise
    if call.action not in UNSIGNED_ACTIONS:
        raise errors.missing_token()
    return call


def _names_unsigned_action(environ: Mapping[str, Any], body: bytes) -> bool:
    text = body.decode("utf-8", "replace")
    pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True) + parse_qsl(
        text, keep_blank_values=True
    )
    return any(k == "Action" and v in UNSIGNED_ACTIONS for k, v in pairs)


@functools.cache
def _member_limits(service: str, operation: str) -> dict[str, tuple[str, Any, Any, str | None]]:
    """member -> (type, min, max, pattern) of an operation's input, from botocore's model."""
    shape = service_model(service).operation_model(operation).input_shape
    out = {}
    for name, member in shape.members.items():
        meta = member.metadata
        out[name] = (member.type_name, meta.get("min"), meta.get("max"), meta.get("pattern"))
    return out


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _too(name: str, value: str, constraint: str) -> errors.AwsError:
    shown = value if len(value) <= 64 else value[:64] + "…"
    return errors.sts_validation(
        f"1 validation error detected: Value '{shown}' at '{_camel(name)}' failed to satisfy "
        f"constraint: {constraint}"
    )


def validate_web_identity(params: Mapping[str, str]) -> int:
    """Check an AssumeRoleWithWebIdentity call against botocore's sts model (required members,
    string lengths, the session name's pattern, ``DurationSeconds`` 900-43200) and return the
    requested duration. ValidationError (400), as STS answers; the token is never echoed."""
    limits = _member_limits("sts", "AssumeRoleWithWebIdentity")
    for name in ("RoleArn", "RoleSessionName", "WebIdentityToken"):  # the model's "required"
        if not params.get(name):
            raise errors.sts_validation(
                f"1 validation error detected: Value null at '{_camel(name)}' failed to "
                "satisfy constraint: Member must not be null"
            )
    if any(key.startswith("PolicyArns.") for key in params):
        # managed session policies are not emulated: refuse rather than grant more than AWS
        raise errors.sts_validation("PolicyArns are not supported by this offline cloud.")
    for name in ("RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId", "Policy"):
        value = params.get(name)
        if value is None:
            continue
        _type, low, high, pattern = limits[name]
        shown = "***" if name == "WebIdentityToken" else value
        if low is not None and len(value) < low:
            raise _too(name, shown, f"Member must have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            raise _too(name, shown, f"Member must have length less than or equal to {high}")
        if name == "RoleSessionName" and pattern and not re.fullmatch(pattern, value, re.ASCII):
            raise _too(name, value, f"Member must satisfy regular expression pattern: {pattern}")
    raw = params.get("DurationSeconds")
    if raw is None:
        return WEB_IDENTITY_DEFAULT_SECONDS
    _type, low, high, _pattern = limits["DurationSeconds"]
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        raise _too("DurationSeconds", raw, "Member must be a number")
    seconds = int(raw)
    if seconds < low:
        raise _too("DurationSeconds", raw, f"Member must have value greater than or equal to {low}")
    if seconds > high:
        raise _too("DurationSeconds", raw, f"Member must have value less than or equal to {high}")
    return seconds


def render_web_identity(
    session: Any, *, subject: str, audience: str, provider: str, request_id: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The XML answer of a granted AssumeRoleWithWebIdentity (the model's
    AssumeRoleWithWebIdentityResponse; ``Provider`` is the token's ``iss`` for OIDC)."""
    from xml.sax.saxutils import escape

    expires = session.expiration
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    fields = {
        "SubjectFromWebIdentityToken": subject,
        "Audience": audience,
        "Provider": provider,
    }
    result = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    body = (
        '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<AssumeRoleWithWebIdentityResult>"
        f"{result}"
        "<AssumedRoleUser>"
        f"<Arn>{escape(session.arn)}</Arn>"
        f"<AssumedRoleId>{escape(session.user_id)}</AssumedRoleId>"
        "</AssumedRoleUser>"
        "<Credentials>"
        f"<AccessKeyId>{escape(session.access_key_id)}</AccessKeyId>"
        f"<SecretAccessKey>{escape(session.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(session.session_token)}</SessionToken>"
        f"<Expiration>{expires:%Y-%m-%dT%H:%M:%SZ}</Expiration>"
        "</Credentials>"
        "</AssumeRoleWithWebIdentityResult>"
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        "</AssumeRoleWithWebIdentityResponse>"
    ).encode()
    headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
    return 200, headers, body
