"""No exception, log line, repr or description contains a resolved value."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

import guardlib
from guardlib import resolver
from guardlib.errors import AccessDenied, ResolveError, SecretNotFound

DEV = "demo-not-a-real-key-dev"
PW = "demo-not-a-real-pw-123"


def chain_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc))]
    node: BaseException | None = exc
    while node is not None:
        parts += [str(node), repr(node), repr(getattr(node, "cause", None))]
        node = node.__cause__ or node.__context__
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("ref", "kwargs", "error"),
    [
        ("aws-sm://dev-api-key", {"type": int}, ResolveError),
        ("aws-sm://dev-api-key#field", {}, ResolveError),  # not JSON: JSONDecodeError.doc
        ("aws-sm://db-creds#missing", {}, SecretNotFound),
        ("aws-sm://db-creds#password", {"type": float}, ResolveError),
        ("gcp-sm://guard-demo/db-creds#user.x", {}, SecretNotFound),
        ("azure-kv://guard-demo/dev-api-key", {"type": bool}, ResolveError),
    ],
)
def test_errors_after_a_read_carry_no_value(
    seeded: Any, ref: str, kwargs: Any, error: type
) -> None:
    with pytest.raises(error) as info:
        guardlib.resolve(ref, **kwargs)
    text = chain_text(info.value)
    assert DEV not in text and PW not in text and "5432" not in text


def test_provider_errors_carry_no_value(seeded: Any, use: Any) -> None:
    guardlib.resolve("aws-sm://dev-api-key")
    use("nobody-app")
    resolver.default_cache.clear()
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve("aws-sm://dev-api-key")
    assert DEV not in chain_text(info.value)
    assert info.value.cause is not None and info.value.cause.code


def test_values_are_registered_for_redaction(seeded: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = guardlib.resolve("aws-sm://db-creds#password")
    assert resolver.redactor.scrub(f"pw={secret.reveal()}") == "pw=**********"
    whole = guardlib.resolve("aws-sm://dev-api-key").reveal()
    logger = logging.getLogger("guardlib.test.resolve")
    flt = guardlib.redact_logger(logger, redactor=resolver.redactor)
    try:
        with caplog.at_level(logging.INFO, logger="guardlib.test.resolve"):
            logger.info("connecting with %s and %s", whole, secret.reveal())
        assert DEV not in caplog.text and PW not in caplog.text
        assert "connecting with" in caplog.text
    finally:
        logger.removeFilter(flt)


def test_reprs_and_descriptions_carry_no_value(seeded: Any) -> None:
    secret = guardlib.resolve("aws-sm://db-creds")
    entry = resolver.default_cache.fresh(resolver.cache_key("aws-sm://db-creds"))
    assert entry is not None
    texts = [
        repr(secret),
        str(secret),
        repr(entry),
        repr(entry.fetched),
        repr(resolver.default_cache),
        repr(guardlib.describe("aws-sm://db-creds")),
    ]
    assert not any(PW in t for t in texts)


EARLY = "demo-not-a-real-early-env-value"
LATE = "demo-not-a-real-late-env-value"


def test_one_call_redacts_values_resolved_before_and_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64
    import io
    import warnings

    monkeypatch.setenv("GUARD_LEAK_EARLY", EARLY)
    monkeypatch.setenv("GUARD_LEAK_LATE", LATE)
    stream = io.StringIO()
    logger = logging.getLogger("guardlib.test.resolve.everywhere")
    logger.propagate = False  # a logger the root's handlers never see
    logger.setLevel(logging.INFO)
    early = guardlib.resolve("env://GUARD_LEAK_EARLY").reveal()
    late_b64 = base64.b64encode(LATE.encode()).decode()

    control = logging.StreamHandler(io.StringIO())
    logger.addHandler(control)
    logger.info("control %s", early)  # without the installation the value shows
    logger.removeHandler(control)
    assert EARLY in control.stream.getvalue()

    hooks = resolver.install_redaction()
    handler = logging.StreamHandler(stream)  # a handler added after the installation
    logger.addHandler(handler)
    try:
        assert resolver.install_redaction() is hooks  # idempotent
        late = guardlib.resolve("env://GUARD_LEAK_LATE").reveal()  # resolved after the call
        logger.info("early %s late %s", early, late)
        logger.info("early b64 %s", base64.b64encode(early.encode()).decode())
        logger.info(
            "late b64 %s basic %s", late_b64, base64.b64encode(f"app:{late}".encode()).decode()
        )
        try:
            raise ConnectionError(f"refused {late}")
        except ConnectionError:
            logger.exception("request failed")
        shown = warnings.formatwarning(f"key {late}", UserWarning, "app.py", 1, "")
    finally:
        hooks.uninstall()
        logger.removeHandler(handler)
    out = stream.getvalue()
    for leaked in (EARLY, LATE, late_b64, base64.b64encode(EARLY.encode()).decode()):
        assert leaked not in out
        assert leaked.rstrip("=")[:20] not in out
    assert out.count("**********") == 6  # five values in three lines, and the exception
    assert "ConnectionError: refused **********" in out
    assert shown == "app.py:1: UserWarning: key **********\n"


FIELDS_JSON = (
    '{"user": "app", "password": "demo-not-a-real-field-pw-9", "port": 5432,'
    ' "nested": {"token": "demo-not-a-real-nested-token", "list": ["demo-not-a-real-listed-1"]},'
    ' "number": 123456789012}'
)
FIELD_VALUES = ["demo-not-a-real-field-pw-9", "demo-not-a-real-nested-token",
                "demo-not-a-real-listed-1", "123456789012"]  # fmt: skip


@pytest.mark.parametrize(
    "ref",
    [
        "aws-sm://field-creds",
        "gcp-sm://guard-demo/field-creds",
        "azure-kv://guard-demo/field-creds",
        "vault://secret/field-creds",
    ],  # fmt: skip
)
def test_a_json_secret_resolved_whole_registers_its_fields(
    seeded: Any, use: Any, monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    """A logged field of a JSON secret resolved whole is masked (issue 16)."""
    from guardlib.redact.scrubber import Redactor

    seeded.seed({"secrets": {"field-creds": {"value": FIELDS_JSON, "readers": ["dev-app"]}}})
    fresh = Redactor()
    monkeypatch.setattr(resolver, "redactor", fresh)
    secret = guardlib.resolve(ref, cache=None)
    assert "demo-not-a-real-field-pw-9" in str(secret.reveal())
    for value in FIELD_VALUES:
        line = f"connecting with {value} now"
        assert value not in fresh.scrub(line), value
    assert fresh.scrub("user app on port 5432") == "user app on port 5432"  # short: left alone
