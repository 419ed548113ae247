"""Secret Manager's real error codes and messages (gRPC status codes).

The wording follows what the service returns (seen in client logs and issue reports), e.g.
``Secret Version [projects/123/secrets/x/versions/1] is in DISABLED state.``. No message ever
contains a secret value: only resource names, permission names and limits.
"""

from __future__ import annotations

import grpc

# The real service's texts for a missing or rejected credential.
MISSING_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class RpcError(Exception):
    """Raised by handlers; the server turns it into ``context.abort(code, message)``."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unauthenticated(invalid: bool = True) -> RpcError:
    return RpcError(
        grpc.StatusCode.UNAUTHENTICATED, INVALID_CREDENTIAL if invalid else MISSING_CREDENTIAL
    )


def permission_denied(permission: str, resource: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"Permission '{permission}' denied for resource '{resource}' (or it may not exist).",
    )


def secret_not_found(name: str) -> RpcError:
    return RpcError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found.")


def no_versions(name: str) -> RpcError:
    return RpcError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found or has no versions.")


def version_not_found(name: str) -> RpcError:
    return RpcError(grpc.StatusCode.NOT_FOUND, f"Secret Version [{name}] not found.")


def already_exists(name: str) -> RpcError:
    return RpcError(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{name}] already exists.")


def bad_state(name: str, state: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.FAILED_PRECONDITION, f"Secret Version [{name}] is in {state} state."
    )


def invalid(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


def bad_name(given: str, expected: str) -> RpcError:
    return invalid(
        f"The provided Secret ID [{given}] does not match the expected format [{expected}]"
    )


def etag_mismatch(name: str) -> RpcError:
    # AIP-154: a stale etag is ABORTED (409), not FAILED_PRECONDITION.
    return RpcError(
        grpc.StatusCode.ABORTED,
        f"The etag provided in the request does not match the current etag of [{name}].",
    )


def data_loss() -> RpcError:
    return RpcError(
        grpc.StatusCode.DATA_LOSS,
        "Checksum mismatch: the data_crc32c provided in the request does not match the "
        "CRC32C of the payload data.",
    )


def unimplemented(method: str) -> RpcError:
    return RpcError(
        grpc.StatusCode.UNIMPLEMENTED,
        f"Method {method} is not implemented by the guardlib offline emulator.",
    )


def policy_conflict() -> RpcError:
    return RpcError(
        grpc.StatusCode.ABORTED,
        "There were concurrent policy changes. Please retry the whole read-modify-write "
        "with exponential backoff.",
    )
