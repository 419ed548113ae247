"""Hole 1: one request, one parse. What the layer authorizes is exactly what moto executes.

Every request here is signed correctly with the dev process's own credentials (the environment
``guardlib emulators up --identity dev-app`` writes), so only the parse can stop it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from .conftest import ACCOUNT, FORM_TYPE, JSON_TYPE, send, sign

PROD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/prod-app"
ASSUME_PROD = urlencode(
    {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": PROD_ROLE,
        "RoleSessionName": "escalate",
    }
)


@pytest.fixture
def dev(cloud, seeded):
    return cloud.env("dev-app")


def _query(dev, body, query=""):
    path, headers, data = sign(dev, "sts", body, query=query, headers={"Content-Type": FORM_TYPE})
    return send(dev, path, headers, data)


def _json(dev, target, body, query="", service="secretsmanager"):
    path, headers, data = sign(
        dev,
        service,
        body,
        query=query,
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": target},
    )
    return send(dev, path, headers, data)


def _no_credentials(payload: bytes) -> None:
    assert b"SecretAccessKey" not in payload
    assert b"AccessKeyId" not in payload


def test_query_action_cannot_smuggle_a_body_action(dev):
    """The attack: the layer saw GetCallerIdentity (no permission needed), moto ran AssumeRole."""
    status, _, payload = _query(dev, ASSUME_PROD, query="Action=GetCallerIdentity")
    _no_credentials(payload)
    assert status == 400
    assert b"<Code>InvalidQueryParameter</Code>" in payload


def test_a_parameter_given_twice_is_refused(dev):
    body = "Action=GetCallerIdentity&" + ASSUME_PROD
    status, _, payload = _query(dev, body)
    _no_credentials(payload)
    assert status == 400
    assert b"<Code>InvalidQueryParameter</Code>" in payload
    again = ASSUME_PROD + "&RoleArn=" + PROD_ROLE.replace("prod", "dev")
    status, _, payload = _query(dev, again)
    assert status == 400
    _no_credentials(payload)


def test_query_without_action_or_with_an_unknown_one(dev):
    status, _, payload = _query(dev, "Version=2011-06-15")
    assert status == 400
    assert b"<Code>MissingAction</Code>" in payload
    status, _, payload = _query(dev, "Action=NoSuchThing&Version=2011-06-15")
    assert status == 400
    assert b"<Code>InvalidAction</Code>" in payload


def test_plain_query_calls_still_work(dev):
    status, _, payload = _query(dev, "Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200, payload
    assert b"assumed-role/dev-app/guardlib" in payload
    status, _, payload = _query(dev, "", query="Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200, payload


def test_json_query_string_cannot_override_the_body(dev):
    """moto reads a parameter from the query string before the JSON body."""
    status, _, payload = _json(
        dev,
        "secretsmanager.GetSecretValue",
        json.dumps({"SecretId": "dev-api-key"}),
        query="SecretId=prod-api-key",
    )
    assert b"demo-not-a-real-key-prod" not in payload
    assert status == 400
    assert json.loads(payload)["__type"] == "InvalidQueryParameter"


def test_json_query_action_cannot_override_the_target(dev):
    status, _, payload = _json(
        dev,
        "secretsmanager.GetSecretValue",
        json.dumps({"SecretId": "dev-api-key"}),
        query="Action=ListSecrets",
    )
    assert status == 400
    assert b"prod-api-key" not in payload


def test_duplicate_json_keys_are_refused(dev):
    body = '{"SecretId": "dev-api-key", "SecretId": "prod-api-key"}'
    status, _, payload = _json(dev, "secretsmanager.GetSecretValue", body)
    assert b"demo-not-a-real-key" not in payload
    assert status == 400
    assert json.loads(payload)["__type"] == "SerializationException"
    nested = '{"SecretIdList": ["dev-api-key"], "Filters": [{"Key": "name", "Key": "all"}]}'
    status, _, payload = _json(dev, "secretsmanager.BatchGetSecretValue", nested)
    assert status == 400
    assert json.loads(payload)["__type"] == "SerializationException"


@pytest.mark.parametrize("body", ["[]", '"dev-api-key"', "null", "{", "\xff"])
def test_a_json_body_must_be_one_object(dev, body):
    status, _, payload = _json(dev, "secretsmanager.GetSecretValue", body.encode("latin-1"))
    assert status == 400
    assert json.loads(payload)["__type"] == "SerializationException"


@pytest.mark.parametrize(
    "target", ["GetSecretValue", "kms.GetSecretValue", "secretsmanager.NoSuchOperation", ""]
)
def test_the_target_must_name_an_operation_of_the_service(dev, target):
    status, _, payload = _json(dev, target, json.dumps({"SecretId": "dev-api-key"}))
    assert status == 400
    assert b"demo-not-a-real-key" not in payload


def test_a_target_signed_for_another_service_is_refused(dev):
    """Signed for iam, aimed at Secrets Manager: no service answers for another's scope."""
    status, _, payload = _json(
        dev, "secretsmanager.GetSecretValue", json.dumps({"SecretId": "prod-api-key"}),
        service="iam",
    )  # fmt: skip
    assert status in (400, 403)
    assert b"demo-not-a-real-key" not in payload


def test_form_content_type_on_a_json_call_changes_nothing(dev):
    path, headers, data = sign(
        dev,
        "secretsmanager",
        "SecretId=prod-api-key&Action=GetSecretValue",
        headers={"Content-Type": FORM_TYPE, "X-Amz-Target": "secretsmanager.GetSecretValue"},
    )
    status, _, payload = send(dev, path, headers, data)
    assert status == 400
    assert b"demo-not-a-real-key" not in payload


def test_other_services_are_not_reachable(dev, cloud):
    admin = cloud.env("admin")
    path, headers, data = sign(
        admin, "ssm", json.dumps({"Name": "/aws/reference/secretsmanager/prod-api-key"}),
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": "AmazonSSM.GetParameter"},
    )  # fmt: skip
    status, _, payload = send(admin, path, headers, data)
    assert status == 400
    assert b"demo-not-a-real-key" not in payload


def test_the_moto_api_is_not_exposed(dev):
    path, headers, data = sign(dev, "secretsmanager", "{}")
    status, _, payload = send(dev, "/moto-api/data.json", headers, data, method="GET")
    assert status in (400, 403, 404)
    assert b"demo-not-a-real-key" not in payload
