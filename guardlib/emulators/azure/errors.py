"""Azure Key Vault's real error codes and how they are rendered.

Key Vault answers every failure with ``{"error": {"code": ..., "message": ..., "innererror":
{"code": ...}}}`` (the ``KeyVaultError`` model of azure-keyvault-secrets), which azure-core maps
to ``ClientAuthenticationError`` (401), ``ResourceNotFoundError`` (404),
``ResourceExistsError`` (409) and ``HttpResponseError`` (everything else). Messages follow the
real service's wording where it is known, and never contain a secret value.
"""

from __future__ import annotations

import json

FWLINK_NOT_FOUND = "https://go.microsoft.com/fwlink/?linkid=2125182"
FWLINK_FORBIDDEN = "https://go.microsoft.com/fwlink/?linkid=2125287"


class KeyVaultError(Exception):
    """A Key Vault error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        inner: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner
        self.headers = headers or {}

    def body(self) -> bytes:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.inner:
            error["innererror"] = {"code": self.inner}
        return json.dumps({"error": error}).encode()


def unauthorized(message: str, challenge: str) -> KeyVaultError:
    """401 with the bearer challenge, as Key Vault sends for a missing or invalid token."""
    return KeyVaultError(401, "Unauthorized", message, headers={"WWW-Authenticate": challenge})


def secret_not_found(name: str, version: str = "") -> KeyVaultError:
    what = f"{name}/{version}" if version else name
    return KeyVaultError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {what} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery "
        f"command. For help resolving this issue, please see {FWLINK_NOT_FOUND}",
    )


def deleted_secret_not_found(name: str) -> KeyVaultError:
    return KeyVaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")


def disabled(operation: str = "get") -> KeyVaultError:
    # the real service's wording, innererror SecretDisabled
    return KeyVaultError(
        403,
        "Forbidden",
        f"Operation {operation} is not allowed on a disabled secret.",
        inner="SecretDisabled",
    )


def bad_parameter(message: str) -> KeyVaultError:
    return KeyVaultError(400, "BadParameter", message)


def method_not_allowed(method: str) -> KeyVaultError:
    """405, as the service answers a method a route does not take (ASP.NET's wording)."""
    shown = method[:16].encode("ascii", "backslashreplace").decode()
    return KeyVaultError(
        405,
        "MethodNotAllowed",
        f"The requested resource does not support http method '{shown}'.",
        headers={"Allow": "GET"},
    )


def malformed_backup() -> KeyVaultError:
    """A restore whose blob is not a backup of this vault's (corrupt, truncated, foreign): 400
    with the code ``Malformed backup blob``, which azure-core surfaces as
    ``HttpResponseError.error.code``."""
    return KeyVaultError(400, "Malformed backup blob", "Malformed backup blob")


def invalid_name(name: str) -> KeyVaultError:
    return bad_parameter(f"The request URI contains an invalid name: {name[:200]}")


def deleted_but_recoverable(name: str) -> KeyVaultError:
    return KeyVaultError(
        409,
        "Conflict",
        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot "
        "be reused; in this state, the secret can only be recovered or purged.",
        inner="ObjectIsDeletedButRecoverable",
    )


def already_exists(name: str) -> KeyVaultError:
    return KeyVaultError(
        409,
        "Conflict",
        f"There was a conflict restoring the secret '{name}'. This may happen if a secret "
        "with the same name already exists, or is in a deleted but recoverable state.",
    )


def access_policy_denied(caller: str, permission: str, vault: str) -> KeyVaultError:
    return KeyVaultError(
        403,
        "Forbidden",
        f"The user, group or application '{caller}' does not have secrets {permission} "
        f"permission on key vault '{vault};location=eastus'. For help resolving this issue, "
        f"please see {FWLINK_FORBIDDEN}",
        inner="AccessDenied",
    )


def rbac_denied(caller: str, action: str, resource: str, vault: str) -> KeyVaultError:
    return KeyVaultError(
        403,
        "Forbidden",
        "Caller is not authorized to perform action on resource.\r\n"
        "If role assignments, deny assignments or role definitions were changed recently, "
        "please observe propagation time.\r\n"
        f"Caller: {caller}\r\nAction: '{action}'\r\nResource: '{resource}'\r\n"
        "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n"
        f"Vault: {vault};location=eastus\r\n",
        inner="ForbiddenByRbac",
    )


def throttled(retry_after: int) -> KeyVaultError:
    return KeyVaultError(
        429,
        "Throttled",
        "Request was not processed because too many requests were received. "
        "Reason: VaultRequestTypeLimitReached",
        headers={"Retry-After": str(retry_after)},
    )


def server_error(status: int) -> KeyVaultError:
    if status == 503:
        return KeyVaultError(503, "ServiceUnavailable", "The service is temporarily unavailable.")
    return KeyVaultError(status, "InternalServerError", "An internal server error occurred.")
