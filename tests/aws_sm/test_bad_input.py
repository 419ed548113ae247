"""What the real service refuses: names, sizes, both value kinds, unknown versions."""

from __future__ import annotations

import base64
import uuid

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from .conftest import error_code


@pytest.fixture
def sm(seeded, client):
    return client(None)


@pytest.mark.parametrize("name", ["has space", "semi;colon", "x" * 513, "star*", "ü-umlaut"])
def test_invalid_names(sm, name):
    with pytest.raises(ClientError) as caught:
        sm.create_secret(Name=name, SecretString="demo-not-a-real-key")
    assert error_code(caught.value) == "InvalidParameterException"
    assert caught.value.response["Error"]["Message"].startswith("Invalid name.")


@pytest.mark.parametrize("name", ["a", "path/to/key", "x" * 512, "a_b+c=d.e@f-g"])
def test_valid_names(sm, name):
    arn = sm.create_secret(Name=name, SecretString="demo-not-a-real-key")["ARN"]
    assert sm.get_secret_value(SecretId=arn)["Name"] == name


def test_empty_name_is_refused_by_the_sdk(sm):
    with pytest.raises(ParamValidationError):
        sm.create_secret(Name="", SecretString="demo-not-a-real-key")


def test_size_limit_is_64_kib(sm):
    sm.create_secret(Name="big", SecretString="d" * 65536)
    with pytest.raises(ClientError) as caught:
        sm.put_secret_value(SecretId="big", SecretString="d" * 65537)
    assert error_code(caught.value) == "ValidationException"
    with pytest.raises(ClientError, match="ValidationException"):
        sm.create_secret(Name="big-binary", SecretBinary=b"\0" * 65537)
    assert len(sm.get_secret_value(SecretId="big")["SecretString"]) == 65536


def test_string_and_binary_together(sm):
    with pytest.raises(ClientError) as caught:
        sm.create_secret(Name="both", SecretString="demo-not-a-real", SecretBinary=b"demo")
    assert error_code(caught.value) == "InvalidParameterException"
    with pytest.raises(ClientError, match="InvalidParameterException"):
        sm.put_secret_value(SecretId="dev-api-key", SecretString="demo-x", SecretBinary=b"demo")


def test_binary_round_trip_is_bytes(sm):
    """boto3 decodes SecretBinary itself: no base64.b64decode in user code."""
    raw = b"\x00demo-not-a-real-binary\xff"
    sm.create_secret(Name="bin", SecretBinary=raw)
    got = sm.get_secret_value(SecretId="bin")["SecretBinary"]
    assert got == raw
    assert got != base64.b64encode(raw)


def test_put_without_a_value(sm):
    with pytest.raises(ClientError) as caught:
        sm.put_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "InvalidRequestException"


def test_unknown_version_id_and_stage(sm):
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="dev-api-key", VersionId=str(uuid.uuid4()))
    assert error_code(caught.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        sm.get_secret_value(SecretId="dev-api-key", VersionStage="AWSPENDING")
    with pytest.raises(ParamValidationError):
        sm.get_secret_value(SecretId="dev-api-key", VersionId="too-short")


def test_unknown_and_existing_secrets(sm):
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="no-such-secret")
    assert error_code(caught.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError, match="ResourceExistsException"):
        sm.create_secret(Name="dev-api-key", SecretString="demo-not-a-real-key")


def test_deleted_secret(sm):
    sm.delete_secret(SecretId="dev-api-key", RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "InvalidRequestException"
    sm.restore_secret(SecretId="dev-api-key")
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
