"""Check for chapter 08 (Google Cloud Secret Manager): verify a payload's CRC32C checksum.

The learner writes ``verify_payload(response)``: given an ``AccessSecretVersionResponse``, return
``response.payload.data`` when its CRC32C matches ``response.payload.data_crc32c``, and raise
otherwise. The check feeds it real response objects of google-cloud-secret-manager (imported
lazily, so importing this module stays cheap): one intact, one whose data was corrupted in
transit, one whose checksum field was. No verdict ever contains the payload.
"""

from __future__ import annotations

import inspect
import io
import tokenize
from collections.abc import Callable
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict
from guardlib.course.panel import show
from guardlib.secret import Secret

#: the exercise's payload: obviously fake, like every value in the course
EXERCISE_VALUE = b"demo-not-a-real-key-crc-exercise"
VERSION_NAME = "projects/271828182845/secrets/dev-api-key/versions/1"


def _source_has_placeholder(func: Callable[..., Any]) -> bool:
    """``...`` as code (not inside a string) in the function's source. A bare ``...`` statement
    is optimised away by the compiler, so the source is the only place it shows."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return "..." in source
    return any(tok.type == tokenize.OP and tok.string == "..." for tok in tokens)


def _response(data: bytes, crc: int) -> Any:
    from google.cloud.secretmanager_v1.types import AccessSecretVersionResponse, SecretPayload

    return AccessSecretVersionResponse(
        name=VERSION_NAME, payload=SecretPayload(data=data, data_crc32c=crc)
    )


def exercise_responses() -> dict[str, Any]:
    """The three responses the check uses: ``good``, ``corrupted data``, ``corrupted checksum``."""
    import google_crc32c

    crc = int(google_crc32c.value(EXERCISE_VALUE))
    flipped = bytes([EXERCISE_VALUE[0] ^ 0x01]) + EXERCISE_VALUE[1:]  # one bit lost in transit
    return {
        "good": _response(EXERCISE_VALUE, crc),
        "corrupted data": _response(flipped, crc),
        "corrupted checksum": _response(EXERCISE_VALUE, crc ^ 0x10),
    }


def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return None


def _leaks(text: str) -> bool:
    value = EXERCISE_VALUE.decode()
    return value in text or value[1:] in text  # the corrupted copy differs in the first byte


def evaluate_verify_payload(func: Any) -> Verdict:
    if not callable(func) or _source_has_placeholder(func):
        return Verdict(False, PLACEHOLDER_HINT)
    cases = exercise_responses()
    try:
        got = func(cases["good"])
    except Exception as exc:  # report the type only
        return Verdict(False, f"it rejected an intact payload ({type(exc).__name__}).")
    if got is None or got is Ellipsis:
        return Verdict(False, "return the payload's data when the checksum matches.")
    if _as_bytes(got) != EXERCISE_VALUE:
        return Verdict(False, f"it returned a {type(got).__name__}, not the payload's data.")
    raised = []
    for label in ("corrupted data", "corrupted checksum"):
        try:
            func(cases[label])
        except Exception as exc:
            if _leaks(str(exc)) or _leaks(repr(exc.args)):
                return Verdict(False, "the error message contains the payload: never do that.")
            raised.append(type(exc).__name__)
            continue
        return Verdict(False, f"it accepted a response with {label}: compare the CRC32C.")
    kinds = " / ".join(dict.fromkeys(raised))
    return Verdict(True, f"an intact payload passes; corrupted data or checksum raise {kinds}.")


HINT_VERIFY_PAYLOAD = (
    "compute google_crc32c.value(response.payload.data) and compare it with "
    "response.payload.data_crc32c before returning the data; raise when they differ."
)


def check_verify_payload(func: Any) -> None:
    show(evaluate_verify_payload(func), HINT_VERIFY_PAYLOAD)


__all__ = [
    "EXERCISE_VALUE",
    "check_verify_payload",
    "evaluate_verify_payload",
    "exercise_responses",
]
