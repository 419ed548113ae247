"""Holes 2-5: role paths, computable credentials, unsigned payload hashes, bad lengths."""

from __future__ import annotations

import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from guardlib.emulators.aws import AwsEmulator

from .conftest import ACCOUNT, JSON_TYPE, error_code, raw, send, sign


# -- 2: roles are resolved by their full ARN --------------------------------------------------
def _allow_dev_to_assume(client, resource):
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": resource}],
    }
    client(None, "iam").put_role_policy(
        RoleName="dev-app", PolicyName="assume-team-dev", PolicyDocument=json.dumps(doc)
    )


def test_a_path_wildcard_does_not_reach_a_role_of_the_same_name(seeded, client):
    _allow_dev_to_assume(client, f"arn:aws:iam::{ACCOUNT}:role/team/dev/*")
    sts = client("dev-app", "sts")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/team/dev/prod-app", RoleSessionName="worker"
        )
    assert error_code(caught.value) == "AccessDenied"


def test_a_role_under_a_path_is_assumed_by_its_full_arn(seeded, client):
    iam = client(None, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="tool", Path="/team/dev/", AssumeRolePolicyDocument=json.dumps(trust))
    _allow_dev_to_assume(client, f"arn:aws:iam::{ACCOUNT}:role/team/dev/*")
    sts = client("dev-app", "sts")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/team/dev/tool", RoleSessionName="worker"
    )["Credentials"]
    assert creds["AccessKeyId"]
    with pytest.raises(ClientError, match="AccessDenied"):  # no path: another role, none here
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tool", RoleSessionName="worker")


def test_another_account_is_not_this_one(seeded, client):
    _allow_dev_to_assume(client, "*")
    with pytest.raises(ClientError) as caught:
        client("dev-app", "sts").assume_role(
            RoleArn="arn:aws:iam::999999999999:role/prod-app", RoleSessionName="worker"
        )
    assert error_code(caught.value) == "AccessDenied"


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:prod-app-with-no-role",
        f"arn:aws:iam::{ACCOUNT}:user/prod-app",
        f"arn:aws:s3:::{ACCOUNT}-role/prod-app",
        "not-an-arn-at-all-but-long",
    ],
)
def test_a_malformed_role_arn_is_a_validation_error(seeded, client, arn):
    _allow_dev_to_assume(client, "*")
    with pytest.raises(ClientError) as caught:
        client("dev-app", "sts").assume_role(RoleArn=arn, RoleSessionName="worker")
    assert error_code(caught.value) == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- 3: credentials are random per start ------------------------------------------------------
def _old_key(name: str) -> str:
    return "ASIA" + hashlib.sha256(f"guardlib-key-{name}".encode()).hexdigest().upper()[:16]


def test_keys_are_random_per_start(cloud, aws):
    first = (aws.env(None), aws.env("dev-app"))
    other = AwsEmulator()
    other.start(None)
    try:
        second = (other.env(None), other.env("dev-app"))
    finally:
        other.stop()
        aws.reset()  # moto's backends are per process: give them back to the session emulator
    for a, b in zip(first, second):
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            assert a[key] != b[key]
    assert first[1]["AWS_SESSION_TOKEN"] != second[1]["AWS_SESSION_TOKEN"]
    assert first[0]["AWS_ACCESS_KEY_ID"] != "AKIAGUARDDEMOADMIN01"
    assert first[1]["AWS_ACCESS_KEY_ID"] != _old_key("dev-app")


def test_a_key_computed_the_old_way_is_refused(seeded, client):
    forged = {
        "AWS_ACCESS_KEY_ID": _old_key("prod-app"),
        "AWS_SECRET_ACCESS_KEY": "demo-not-a-real-secret-"
        + hashlib.sha256(b"guardlib-secret-prod-app").hexdigest().upper()[:17].lower(),
        "AWS_SESSION_TOKEN": "demo-not-a-real-session-token-"
        + hashlib.sha256(b"guardlib-token-prod-app").hexdigest().upper()[:32],
    }
    with pytest.raises(ClientError) as caught:
        client("prod-app", AWS_MAX_ATTEMPTS="1", **forged).get_secret_value(SecretId="prod-api-key")
    assert error_code(caught.value) == "UnrecognizedClientException"
    admin = {
        "AWS_ACCESS_KEY_ID": "AKIAGUARDDEMOADMIN01",
        "AWS_SECRET_ACCESS_KEY": "demo-not-a-real-secret-access-key-admin0",
    }
    sm = client(None, AWS_MAX_ATTEMPTS="1", **admin)
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        sm.get_secret_value(SecretId="prod-api-key")


def test_env_survives_reset_and_reseed(cloud, seeded, client):
    before = cloud.env("dev-app")
    admin_before = cloud.env("admin")
    seeded.reset()
    from .conftest import SEED

    cloud.seed(SEED)
    assert cloud.env("dev-app") == before
    assert cloud.env("admin") == admin_before
    sm = client("dev-app")
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")


def test_a_created_access_key_is_not_predictable(seeded, client):
    iam = client(None, "iam")
    iam.create_user(UserName="worker")
    first = iam.create_access_key(UserName="worker")["AccessKey"]
    seeded.reset()
    iam.create_user(UserName="worker")
    second = iam.create_access_key(UserName="worker")["AccessKey"]
    assert first["SecretAccessKey"] != second["SecretAccessKey"]
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=second["AccessKeyId"], aws_secret_access_key=second["SecretAccessKey"]
    )
    who = session.client("sts", region_name="us-east-1").get_caller_identity()
    assert who["Arn"].endswith(":user/worker")


# -- 4: the payload hash is the body's ---------------------------------------------------------
def _signed_get(env, secret_id):
    return sign(
        env,
        "secretsmanager",
        json.dumps({"SecretId": secret_id}),
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": "secretsmanager.GetSecretValue"},
    )


def test_an_unsigned_payload_hash_cannot_cover_a_swapped_body(cloud, seeded):
    ops = cloud.env("ops-app")
    path, headers, body = _signed_get(ops, "dev-api-key")
    swapped = json.dumps({"SecretId": "prod-api-key"}).encode()
    headers["X-Amz-Content-Sha256"] = hashlib.sha256(body).hexdigest()
    status, _, payload = send(ops, path, headers, swapped)
    assert b"demo-not-a-real-key-prod" not in payload
    assert status in (400, 403)
    assert json.loads(payload)["__type"] == "InvalidSignatureException"


def test_a_body_swapped_under_a_signed_hash_is_refused(cloud, seeded):
    ops = cloud.env("ops-app")
    body = json.dumps({"SecretId": "dev-api-key"})
    path, headers, data = sign(
        ops, "secretsmanager", body,
        headers={
            "Content-Type": JSON_TYPE,
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "X-Amz-Content-Sha256": hashlib.sha256(body.encode()).hexdigest(),
        },
    )  # fmt: skip
    status, _, payload = send(ops, path, headers, json.dumps({"SecretId": "prod-api-key"}).encode())
    assert b"demo-not-a-real-key-prod" not in payload
    assert json.loads(payload)["__type"] == "InvalidSignatureException"
    status, _, payload = send(ops, path, headers, data)  # the honest one works
    assert status == 200, payload


def test_unsigned_payload_is_refused(cloud, seeded):
    ops = cloud.env("ops-app")
    path, headers, data = sign(
        ops, "secretsmanager", json.dumps({"SecretId": "dev-api-key"}),
        headers={
            "Content-Type": JSON_TYPE,
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
        },
    )  # fmt: skip
    status, _, payload = send(ops, path, headers, data)
    assert status in (400, 403)
    assert b"demo-not-a-real-key" not in payload


def test_an_unsigned_target_header_is_refused(cloud, seeded):
    """Only what the signature covers may steer the request."""
    dev = cloud.env("dev-app")
    path, headers, data = sign(
        dev, "secretsmanager", json.dumps({"SecretId": "dev-api-key"}),
        headers={"Content-Type": JSON_TYPE},
    )  # fmt: skip
    headers["X-Amz-Target"] = "secretsmanager.GetSecretValue"
    status, _, payload = send(dev, path, headers, data)
    assert status in (400, 403)


# -- 5: bad lengths and names -----------------------------------------------------------------
def _head(length_lines: str, body: bytes = b"{}") -> bytes:
    return (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: secretsmanager.ListSecrets\r\n"
        + b"Content-Type: application/x-amz-json-1.1\r\n"
        + length_lines.encode()
        + b"\r\n"
        + body
    )


@pytest.mark.parametrize(
    "lines",
    [
        "Content-Length: abc\r\n",
        "Content-Length: -5\r\n",
        "Content-Length: +2\r\n",
        "Content-Length: 2\r\nContent-Length: 3\r\n",
        "Content-Length: 50\r\n",  # longer than the body, then the client half-closes
        "Content-Length: 1e3\r\n",
        "Content-Length: 99999999999999999999\r\n",
        "Transfer-Encoding: chunked\r\n",
    ],
)
def test_a_bad_content_length_is_a_400_not_a_500(cloud, aws, lines):
    answer = raw(cloud.env("admin"), _head(lines))
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), answer[:300]
    assert b"Traceback" not in answer
    assert b"werkzeug" not in answer.lower().split(b"\r\n\r\n", 1)[-1]
    body = answer.split(b"\r\n\r\n", 1)[1]
    assert "__type" in json.loads(body)


def test_a_bad_length_on_a_query_call_answers_xml(cloud, aws):
    data = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: x\r\n\r\n"
    )
    answer = raw(cloud.env("admin"), data)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<ErrorResponse" in answer


def test_equal_repeated_lengths_are_accepted(cloud, seeded):
    admin = cloud.env("admin")
    path, headers, data = sign(
        admin, "secretsmanager", "{}",
        headers={"Content-Type": JSON_TYPE, "X-Amz-Target": "secretsmanager.ListSecrets"},
    )  # fmt: skip
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    host = admin["AWS_ENDPOINT_URL"].split("//", 1)[1]
    request = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\n{lines}Content-Length: 2\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}"
    ).encode()
    answer = raw(admin, request, half_close=False)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:400]


@pytest.mark.parametrize("name", ["trailing-newline\n", "new\nline", "tab\t"])
def test_names_are_fully_matched(seeded, client, name):
    with pytest.raises(ClientError) as caught:
        client(None).create_secret(Name=name, SecretString="demo-not-a-real-key")
    assert error_code(caught.value) == "InvalidParameterException"


def test_a_seed_name_with_a_newline_changes_nothing(cloud, aws):
    from guardlib.emulators.seed import SeedError

    with pytest.raises(SeedError):
        cloud.seed({"secrets": {"ok-name": {"value": "demo"}, "bad\n": {"value": "demo"}}})
    with pytest.raises(KeyError):
        aws.arn("ok-name")


def test_assume_role_credentials_are_not_moto_s_seeded_ones(seeded, client, cloud):
    """moto draws an AssumeRole session's secret from a generator anyone may seed (its
    /moto-api/seed endpoint, or the process): the layer replaces secret and token."""
    import boto3
    from moto.moto_api._internal import mock_random

    sts = client(None, "sts")
    account = sts.get_caller_identity()["Account"]
    arn = f"arn:aws:iam::{account}:role/prod-app"
    mock_random.seed(7)
    first = sts.assume_role(RoleArn=arn, RoleSessionName="one")["Credentials"]
    mock_random.seed(7)
    second = sts.assume_role(RoleArn=arn, RoleSessionName="one")["Credentials"]
    assert first["SecretAccessKey"] != second["SecretAccessKey"]
    assert not first["SessionToken"].startswith("FQoGZXIvYXdzEBYaD")  # moto's token prefix
    env = cloud.env(None)
    region = env["AWS_REGION"]
    session = boto3.session.Session(
        aws_access_key_id=first["AccessKeyId"],
        aws_secret_access_key=first["SecretAccessKey"],
        aws_session_token=first["SessionToken"],
        region_name=region,
    )
    sm = session.client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"])
    assert sm.get_secret_value(SecretId="prod-api-key")["Name"] == "prod-api-key"
    forged = boto3.session.Session(
        aws_access_key_id=first["AccessKeyId"],
        aws_secret_access_key=second["SecretAccessKey"],
        aws_session_token=first["SessionToken"],
        region_name=region,
    ).client("secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"])
    with pytest.raises(ClientError):
        forged.get_secret_value(SecretId="prod-api-key")
