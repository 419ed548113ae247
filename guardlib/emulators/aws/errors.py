"""The real error codes of Secrets Manager (JSON 1.1) and of STS/IAM (query protocol, XML).

Codes and messages follow the service (botocore's ``secretsmanager/2017-10-17/service-2.json``
lists the codes; messages are the ones AWS sends). A message never contains a secret value.
Secrets Manager sends *every* client error, AccessDeniedException included, as HTTP 400.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED = "The security token included in the request is expired"
MSG_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
MSG_NO_AUTH = "Missing Authentication Token"
MSG_BOTH_VALUES = (
    "You can't specify both a binary secret value and a string secret value in the same secret."
)
MSG_BAD_NAME = (
    "Invalid name. Must be a valid name containing alphanumeric characters, "
    "or any of the following: -/_+=.@!"
)
MSG_NO_LAMBDA = "No Lambda rotation function ARN is associated with this secret."
MSG_DELETED = "You can't perform this operation on the secret because it was marked for deletion."
MSG_PUBLIC_POLICY = (
    "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent "
    "broad access to the secret."
)

#: JSON code -> the query-protocol (STS/IAM) equivalent and its HTTP status
_QUERY_EQUIVALENT = {
    "UnrecognizedClientException": ("InvalidClientTokenId", 403),
    "InvalidSignatureException": ("SignatureDoesNotMatch", 403),
    "AccessDeniedException": ("AccessDenied", 403),
    "ExpiredTokenException": ("ExpiredToken", 400),
    "MissingAuthenticationTokenException": ("MissingAuthenticationToken", 403),
    "ThrottlingException": ("Throttling", 400),
    "InternalFailure": ("InternalFailure", 500),
    "ServiceUnavailable": ("ServiceUnavailable", 503),
    "SerializationException": ("InvalidQueryParameter", 400),
    "UnknownOperationException": ("InvalidAction", 400),
    "IncompleteSignatureException": ("IncompleteSignature", 400),
}


def model_status(service: str, code: str) -> int | None:
    """The HTTP status botocore's model gives the error ``code`` of ``service``
    (``error.httpStatusCode`` of its shape; a modelled error without one is a 400), or None
    when the model does not list the code."""
    return _model_statuses(service).get(code)


_STATUS_CACHE: dict[str, dict[str, int]] = {}


def _model_statuses(service: str) -> dict[str, int]:
    found = _STATUS_CACHE.get(service)
    if found is None:
        from .model import service_model

        found = {}
        for shape in service_model(service).error_shapes:
            meta = shape.metadata.get("error") or {}
            found[meta.get("code", shape.name)] = int(meta.get("httpStatusCode", 400))
            found[shape.name] = int(meta.get("httpStatusCode", 400))
        _STATUS_CACHE[service] = found
    return found


class AwsError(Exception):
    """An error answered to the client instead of forwarding the request to moto."""

    def __init__(
        self, code: str, message: str, status: int = 400, *, verbatim: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        #: send ``code`` as it is in the query protocol too (STS's own codes, such as
        #: ``ExpiredTokenException`` for an expired web identity token, are not renamed)
        self.verbatim = verbatim

    def render_json(self) -> tuple[int, list[tuple[str, str]], bytes]:
        body = json.dumps({"__type": self.code, "Message": self.message}).encode()
        headers = [
            ("Content-Type", JSON_CONTENT_TYPE),
            ("x-amzn-ErrorType", self.code),
            ("Content-Length", str(len(body))),
        ]
        return self.status, headers, body

    def render_query(self) -> tuple[int, list[tuple[str, str]], bytes]:
        code, status = _QUERY_EQUIVALENT.get(self.code, (self.code, self.status))
        if self.verbatim:
            code, status = self.code, self.status
        if self.status >= 500:
            status = self.status
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))]
        return status, headers, body


def unrecognized_client() -> AwsError:
    return AwsError("UnrecognizedClientException", MSG_BAD_TOKEN)


def expired_token() -> AwsError:
    return AwsError("ExpiredTokenException", MSG_EXPIRED)


def invalid_signature(message: str = MSG_BAD_SIGNATURE) -> AwsError:
    return AwsError("InvalidSignatureException", message)


def missing_token() -> AwsError:
    return AwsError("MissingAuthenticationTokenException", MSG_NO_AUTH)


def access_denied(principal: str, action: str, resource: str, reason: str) -> AwsError:
    """``reason``: "identity" (no allow), "deny-identity" or "deny-resource" (explicit deny)."""
    where = "" if resource == "*" else f" on resource: {resource}"
    if reason == "deny-identity":
        tail = " with an explicit deny in an identity-based policy"
    elif reason == "deny-resource":
        tail = " with an explicit deny in a resource-based policy"
    elif reason == "deny-session":
        tail = " with an explicit deny in a session policy"
    elif reason == "resource":
        tail = f" because no resource-based policy allows the {action} action"
    elif reason == "session":
        tail = f" because no session policy allows the {action} action"
    else:
        tail = f" because no identity-based policy allows the {action} action"
    return AwsError(
        "AccessDeniedException",
        f"User: {principal} is not authorized to perform: {action}{where}{tail}",
    )


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message)


def validation(field: str, constraint: str) -> AwsError:
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
        f"{constraint}",
    )


def serialization(message: str) -> AwsError:
    return AwsError("SerializationException", message)


def bad_request(status: int, message: str) -> AwsError:
    """A request that cannot be read at all (its length, its framing)."""
    code = {411: "MissingContentLength", 413: "RequestEntityTooLarge"}.get(status)
    return AwsError(code or "SerializationException", message, status)


def throttled() -> AwsError:
    return AwsError("ThrottlingException", "Rate exceeded")


def server_error(status: int) -> AwsError:
    if status == 503:
        return AwsError("ServiceUnavailable", "Service is unavailable", 503)
    return AwsError("InternalFailure", "An internal error has occurred", status)


# -- STS AssumeRoleWithWebIdentity (botocore sts/2011-06-15 model: its errors list) ------------
#: the message STS sends when the role's trust policy does not let the token in (AccessDenied,
#: 403; the same for a role that does not exist, so a caller cannot probe for role names)
MSG_WEB_IDENTITY_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
#: the model's description of InvalidIdentityTokenException, for tokens STS cannot validate
MSG_TOKEN_INVALID = (
    "The web identity token that was passed could not be validated by Amazon Web Services. "
    "Get a new identity token from the identity provider and then retry the request."
)
MSG_TOKEN_AUDIENCE = "Incorrect token audience"
MSG_TOKEN_KEY = (
    "Couldn't retrieve verification key from your identity provider, please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)


def web_identity_denied() -> AwsError:
    return AwsError("AccessDenied", MSG_WEB_IDENTITY_DENIED, 403, verbatim=True)


def invalid_identity_token(message: str = MSG_TOKEN_INVALID) -> AwsError:
    return AwsError("InvalidIdentityToken", message, 400, verbatim=True)


def no_provider(issuer: str) -> AwsError:
    return invalid_identity_token(f"No OpenIDConnect provider found in your account for {issuer}")


def expired_identity_token(now: int, expires: int) -> AwsError:
    """STS's ExpiredTokenException (400), with the message it sends (no space before the
    expiry time, as AWS writes it)."""
    return AwsError(
        "ExpiredTokenException",
        f"Token expired: current date/time {now} must be before the expiration date/time{expires}",
        400,
        verbatim=True,
    )


def sts_validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400, verbatim=True)
