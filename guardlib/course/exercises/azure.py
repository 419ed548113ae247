"""Chapter 06 (Azure Key Vault): the exercise check.

``check_deterministic_reader(func)`` runs the reader's function three times against the Azure
emulator that the chapter's setup cell started, in the chapter's environment (the dev app's
user-assigned managed identity):

1. as it is: it must return a :class:`~guardlib.Secret` holding the value of the secret named
   by ``API_KEY_SECRET``, and print nothing of it;
2. with a leftover service principal secret in the environment (``AZURE_TENANT_ID`` and
   ``AZURE_CLIENT_SECRET``, as a CI pipeline's settings might leave behind): a deterministic
   credential (``ManagedIdentityCredential``) ignores it, while ``DefaultAzureCredential``
   tries ``EnvironmentCredential`` first and fails;
3. with ``API_KEY_SECRET`` naming a secret the dev app may not read: it must raise, which
   shows that the name comes from the environment and that a denial is not hidden.

The Azure SDK is imported only inside the check (``import guardlib.course.exercises.azure`` stays
cheap). No verdict contains a secret value.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder, _patched_environ
from guardlib.course.panel import show
from guardlib.secret import Secret

#: a secret the dev app's identity may not read (seed DEV_PROD)
FORBIDDEN_NAME = "prod-api-key"
#: the leftover service-principal secret of the second run: obviously fake
STRAY_CLIENT_SECRET = "demo-not-a-real-client-secret"
_NO_CLOUD = "run the emulator setup cell first (the check reads the secret through it)."


@contextlib.contextmanager
def _quiet_azure_logs() -> Iterator[None]:
    """azure-identity logs each failed credential at WARNING; keep those lines out of the
    notebook (the verdict explains the failure instead)."""
    logger = logging.getLogger("azure")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


def _expected_value(name: str) -> str | None:
    """The value of ``name`` in the vault at ``VAULT_URL``, read through the SDK as the
    administrator (who may read every secret), or None if it is absent or no cloud runs."""
    from guardlib import emulators

    cloud = emulators.current()
    if cloud is None or "azure" not in cloud.emulators:
        return None
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    with cloud.as_identity("admin"):  # the site's system-assigned identity: no client id
        credential = ManagedIdentityCredential()
        vault_url = os.environ["VAULT_URL"]
        with credential, SecretClient(vault_url=vault_url, credential=credential) as client:
            try:
                value = client.get_secret(name).value
            except Exception:  # noqa: BLE001 - not there (or an invalid name)
                return None
    return value


def _run(func: Callable[[], Any]) -> tuple[Any, BaseException | None, str]:
    """Call ``func`` with its printed output and azure's log lines captured."""
    out = io.StringIO()
    with _quiet_azure_logs(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            return func(), None, out.getvalue()
        except Exception as exc:  # noqa: BLE001 - reported by type, never by message
            return None, exc, out.getvalue()


def _credential_hint(exc: BaseException) -> str:
    text = str(exc)
    if "DefaultAzureCredential" in text:
        return "DefaultAzureCredential found no token: use ManagedIdentityCredential."
    if "Managed Identity" in text or "managed identity" in text:
        return (
            "the managed-identity endpoint had no identity for this request: a user-assigned "
            "identity needs client_id=os.environ['AZURE_CLIENT_ID']."
        )
    return "no credential produced a token."


def evaluate_deterministic_reader(func: Any) -> Verdict:
    """See the module docstring."""
    if not callable(func) or Ellipsis in getattr(getattr(func, "__code__", None), "co_consts", ()):
        return Verdict(False, PLACEHOLDER_HINT)
    name = os.environ.get("API_KEY_SECRET", "")
    expected = _expected_value(name) if name else None
    if expected is None:
        return Verdict(False, _NO_CLOUD)
    from azure.core.exceptions import ClientAuthenticationError

    # 1. the chapter's environment
    result, exc, printed = _run(func)
    if expected in printed:
        return Verdict(False, "it printed the secret's value: return it, don't print it.")
    if exc is not None:
        if isinstance(exc, ClientAuthenticationError):
            return Verdict(False, _credential_hint(exc))
        return Verdict(False, f"it raised {type(exc).__name__}.")
    if result is None or _has_placeholder(result):
        return Verdict(False, PLACEHOLDER_HINT)
    if isinstance(result, (str, bytes)):
        return Verdict(False, "it returned the bare value: wrap it in guardlib.Secret.")
    if not isinstance(result, Secret):
        return Verdict(False, f"return a guardlib.Secret, not a {type(result).__name__}.")
    if result.reveal() != expected:
        return Verdict(
            False, "the Secret does not hold the value of the secret API_KEY_SECRET names."
        )

    # 2. a leftover service-principal secret in the environment
    from guardlib.emulators.azure import TENANT_ID

    stray = {"AZURE_TENANT_ID": TENANT_ID, "AZURE_CLIENT_SECRET": STRAY_CLIENT_SECRET}
    with _patched_environ(stray):
        result, exc, printed = _run(func)
    if expected in printed:
        return Verdict(False, "it printed the secret's value: return it, don't print it.")
    if exc is not None or not isinstance(result, Secret) or result.reveal() != expected:
        why = f" ({type(exc).__name__})" if exc is not None else ""
        return Verdict(
            False,
            "with a leftover AZURE_CLIENT_SECRET in the environment it failed"
            f"{why}: DefaultAzureCredential tries EnvironmentCredential first. "
            "Pick the app's managed identity explicitly.",
        )

    # 3. a secret this identity may not read
    with _patched_environ({"API_KEY_SECRET": FORBIDDEN_NAME}):
        result, exc, printed = _run(func)
    forbidden = _expected_value(FORBIDDEN_NAME)
    if forbidden is not None and forbidden in printed:
        return Verdict(False, "it printed a secret's value: return it, don't print it.")
    if exc is None:
        if isinstance(result, Secret) and result.reveal() == expected:
            return Verdict(False, "it ignored API_KEY_SECRET: read the secret's name from it.")
        return Verdict(False, f"with API_KEY_SECRET={FORBIDDEN_NAME} it should raise, not return.")
    return Verdict(
        True,
        "one deterministic identity, the name from the environment, the value in a Secret.",
    )


HINT_DETERMINISTIC_READER = (
    'use ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID")): it tries one'
    " identity and fails loudly, where DefaultAzureCredential walks a chain."
)


def check_deterministic_reader(func: Any) -> None:
    show(evaluate_deterministic_reader(func), HINT_DETERMINISTIC_READER)


__all__ = [
    "FORBIDDEN_NAME",
    "check_deterministic_reader",
    "evaluate_deterministic_reader",
]
