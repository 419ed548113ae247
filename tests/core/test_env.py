"""Unit tests for guardlib.env: required, optional and typed variables, value-free errors."""

from __future__ import annotations

import traceback

import pytest

from guardlib import GuardlibError, InvalidVariableError, MissingVariableError, Secret, env

VALUE = "demo-not-a-real-key-1234"


def _all_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_require_returns_a_named_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_API_KEY", VALUE)
    key = env.require("GUARD_API_KEY")
    assert isinstance(key, Secret)
    assert key.reveal() == VALUE
    assert key.name == "GUARD_API_KEY"


def test_missing_variable_names_it_and_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARD_API_KEY", raising=False)
    with pytest.raises(MissingVariableError) as info:
        env.require("GUARD_API_KEY")
    message = str(info.value)
    assert "GUARD_API_KEY is not set" in message
    assert "export GUARD_API_KEY=" in message  # bash
    assert "$env:GUARD_API_KEY" in message  # PowerShell
    assert "GUARD_API_KEY=..." in message  # .env
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, GuardlibError)
    assert info.value.name == "GUARD_API_KEY"
    assert not message.startswith("'")  # KeyError's quoting is not applied


def test_empty_counts_as_missing_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_EMPTY", "")
    with pytest.raises(MissingVariableError, match="set but empty"):
        env.require("GUARD_EMPTY")
    assert env.require("GUARD_EMPTY", allow_empty=True).reveal() == ""


def test_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUARD_REGION", raising=False)
    assert env.optional("GUARD_REGION") is None
    region = env.optional("GUARD_REGION", "eu-west-1")
    assert region.reveal() == "eu-west-1"
    monkeypatch.setenv("GUARD_REGION", "us-east-1")
    assert env.optional("GUARD_REGION", "eu-west-1").reveal() == "us-east-1"


def test_explicit_environ_mapping() -> None:
    assert env.require("X", environ={"X": VALUE}).reveal() == VALUE
    with pytest.raises(MissingVariableError):
        env.require("X", environ={})


@pytest.mark.parametrize(
    ("raw", "expected"), [("8080", 8080), (" 42 ", 42), ("-3", -3), ("+7", 7), ("0", 0)]
)
def test_integer(raw: str, expected: int) -> None:
    assert env.integer("PORT", environ={"PORT": raw}) == expected


@pytest.mark.parametrize("raw", ["eighty", "1_000", "٣", "1.5", "0x10", VALUE])
def test_integer_rejects_without_showing_the_value(raw: str) -> None:
    with pytest.raises(InvalidVariableError) as info:
        env.integer("PORT", environ={"PORT": raw})
    assert "PORT" in str(info.value) and "integer" in str(info.value)
    assert raw not in _all_text(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_integer_default() -> None:
    assert env.integer("PORT", default=8080, environ={}) == 8080
    with pytest.raises(MissingVariableError):
        env.integer("PORT", environ={})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False), ("false", False)],
)
def test_boolean(raw: str, expected: bool) -> None:
    assert env.boolean("DEBUG", environ={"DEBUG": raw}) is expected


def test_boolean_rejects_unknown_words() -> None:
    with pytest.raises(InvalidVariableError, match="boolean"):
        env.boolean("DEBUG", environ={"DEBUG": "maybe"})
    assert env.boolean("DEBUG", default=False, environ={}) is False


def test_url() -> None:
    raw = "https://user:demo-not-a-real-password-replace-me@db.example.invalid:5432/app"
    assert env.url("DB_URL", environ={"DB_URL": raw}).reveal() == raw
    pg = "postgresql://db.example.invalid/app"
    assert env.url("DB", schemes=("postgresql",), environ={"DB": pg}).reveal() == pg


@pytest.mark.parametrize(
    "raw",
    [
        "db.example.invalid",  # no scheme
        "ftp://files.example.invalid",  # wrong scheme
        "https:///path-without-host",  # no host
        "https://h.example.invalid:99999",  # bad port
        "https://user:demo-not-a-real-password-replace-me@h.example.invalid:port",
    ],
)
def test_url_rejects_without_showing_the_value(raw: str) -> None:
    with pytest.raises(InvalidVariableError) as info:
        env.url("DB_URL", environ={"DB_URL": raw})
    assert "https://" in str(info.value)  # names the expected schemes
    assert raw not in _all_text(info.value)


def test_json() -> None:
    assert env.json_value("CFG", environ={"CFG": '{"a": [1, 2]}'}).reveal() == {"a": [1, 2]}
    with pytest.raises(InvalidVariableError) as info:
        env.json_value("CFG", environ={"CFG": '{"token": "' + VALUE + '"'})
    assert VALUE not in _all_text(info.value)
    assert "JSON" in str(info.value)


def test_typed_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        env.integer("PORT", environ={"PORT": "x"})


def test_top_level_aliases() -> None:
    import guardlib

    assert guardlib.require_env is env.require
    assert guardlib.env_int is env.integer
    assert guardlib.env_bool is env.boolean
    assert guardlib.env_url is env.url
    assert guardlib.env_json is env.json_value
    assert guardlib.optional_env is env.optional
