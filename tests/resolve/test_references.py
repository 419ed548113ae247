from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardlib.errors import InvalidReference, ResolveError
from guardlib.resolver import Reference, parse_reference

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
VID = "a1b2c3d4-0000-1111-2222-333344445555"

VALID = [
    ("env://API_KEY", Reference("env", "API_KEY")),
    ("dotenv://.env#API_KEY", Reference("dotenv", "API_KEY", container=".env")),
    ("dotenv:///etc/app.env#DB", Reference("dotenv", "DB", container="/etc/app.env")),
    ("aws-sm://dev-api-key", Reference("aws-sm", "dev-api-key")),
    ("aws-sm://dev-api-key?stage=AWSPENDING",
     Reference("aws-sm", "dev-api-key", stage="AWSPENDING")),
    (f"aws-sm://dev-api-key?version={VID}", Reference("aws-sm", "dev-api-key", version=VID)),
    (f"aws-sm://{ARN}#password", Reference("aws-sm", ARN, field="password")),
    ("aws-sm://db#db.port", Reference("aws-sm", "db", field="db.port")),
    ("azure-kv://guard-demo/dev-api-key", Reference("azure-kv", "dev-api-key", "guard-demo")),
    ("azure-kv://guard-demo/k/0123abcd", Reference("azure-kv", "k", "guard-demo", "0123abcd")),
    ("gcp-sm://guard-demo/dev-api-key", Reference("gcp-sm", "dev-api-key", "guard-demo")),
    ("gcp-sm://guard-demo/dev-api-key/3", Reference("gcp-sm", "dev-api-key", "guard-demo", "3")),
    ("vault://secret/dev-api-key#value",
     Reference("vault", "dev-api-key", "secret", field="value")),
    ("vault://secret/a/b?version=2#value",
     Reference("vault", "a/b", "secret", version="2", field="value")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_references_parse_and_round_trip(text: str, expected: Reference) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert str(ref) == text
    assert parse_reference(str(ref)) == ref


def test_non_canonical_spellings_normalise() -> None:
    assert str(parse_reference("gcp-sm://guard-demo/k/latest")) == "gcp-sm://guard-demo/k"
    assert str(parse_reference("vault://secret/k#value?version=2")) == (
        "vault://secret/k?version=2#value"
    )


@pytest.mark.parametrize(
    "text",
    [
        "", "api-key", "aws-sm://", "s3://bucket/key", "env://1BAD", "env://A B",
        "dotenv://.env", "aws-sm://x?stage=A&version=" + VID, "aws-sm://x?foo=1",
        "aws-sm://x?version=short", "aws-sm://a:b", "azure-kv://guard-demo",
        "azure-kv://gd/x", "azure-kv://guard-demo/bad_name", "gcp-sm://Guard/x",
        "gcp-sm://guard-demo/x/0", "gcp-sm://guard-demo/x?version=1", "vault://secret",
        "vault://secret/../x#k", "vault://secret/x?version=abc#k", "aws-sm://x#",
        "aws-sm://x#a..b",
    ],
)  # fmt: skip
def test_invalid_references_raise_invalid_reference(text: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert isinstance(info.value, (ResolveError, ValueError))
    assert info.value.reference == text


def test_message_never_repeats_the_text() -> None:
    pasted = "demo-not-a-real-pasted-secret-9876"
    with pytest.raises(InvalidReference) as info:
        parse_reference(pasted)
    assert pasted not in str(info.value) and pasted not in repr(info.value)


def test_non_string_is_invalid_reference() -> None:
    with pytest.raises(InvalidReference):
        parse_reference(42)  # type: ignore[arg-type]


SCHEMES = st.sampled_from(["env://", "dotenv://", "aws-sm://", "azure-kv://", "gcp-sm://",
                           "vault://", "", "x://"])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.tuples(SCHEMES, st.text()).map("".join) | st.text())
def test_any_text_gives_a_reference_or_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference:
        return
    assert isinstance(ref, Reference)
    assert parse_reference(str(ref)) == ref


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9/_+=.@-]{1,40}", fullmatch=True),
    st.sampled_from([None, "AWSPENDING", "AWSCURRENT"]),
    st.one_of(st.none(), st.from_regex(r"[a-z]{1,5}(\.[a-z]{1,5}){0,2}", fullmatch=True)),
)
def test_aws_round_trip_property(name: str, stage: str | None, field: str | None) -> None:
    ref = Reference("aws-sm", name, stage=stage, field=field)
    assert parse_reference(str(ref)) == ref
