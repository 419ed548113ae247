"""Who may read what: identity policies on real ARNs, wildcards, Deny, resource policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, error_code

ASSUMED = f"arn:aws:sts::{ACCOUNT}:assumed-role"


def test_each_identity_reads_only_its_own_secret(seeded, client):
    dev_arn, prod_arn = seeded.arn("dev-api-key"), seeded.arn("prod-api-key")
    dev = client("dev-app")
    assert dev.get_secret_value(SecretId=dev_arn)["SecretString"] == "demo-not-a-real-key-dev"
    with pytest.raises(ClientError) as caught:
        dev.get_secret_value(SecretId=prod_arn)
    assert error_code(caught.value) == "AccessDeniedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Message"] == (
        f"User: {ASSUMED}/dev-app/guardlib is not authorized to perform: "
        f"secretsmanager:GetSecretValue on resource: {prod_arn} because no identity-based "
        "policy allows the secretsmanager:GetSecretValue action"
    )
    prod = client("prod-app")
    assert prod.get_secret_value(SecretId=prod_arn)["SecretString"] == "demo-not-a-real-key-prod"
    with pytest.raises(ClientError, match="AccessDeniedException"):
        prod.get_secret_value(SecretId="dev-api-key")  # by name: same ARN check


def test_denial_message_never_contains_the_value(seeded, client):
    with pytest.raises(ClientError) as caught:
        client("dev-app").get_secret_value(SecretId="prod-api-key")
    assert "demo-not-a-real-key" not in str(caught.value)


def test_admin_reads_everything_and_identity_is_what_sts_says(seeded, client):
    admin = client(None)
    names = {s["Name"] for s in admin.list_secrets()["SecretList"]}
    assert names == {"dev-api-key", "prod-api-key"}
    assert client(None, "sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/admin"
    who = client("dev-app", "sts").get_caller_identity()
    assert who["Arn"] == f"{ASSUMED}/dev-app/guardlib"
    assert who["Account"] == ACCOUNT


def test_reader_cannot_write_or_list(seeded, client):
    dev = client("dev-app")
    with pytest.raises(ClientError, match="PutSecretValue"):
        dev.put_secret_value(SecretId="dev-api-key", SecretString="demo-not-a-real-key-x")
    with pytest.raises(ClientError) as caught:
        dev.list_secrets()
    assert error_code(caught.value) == "AccessDeniedException"
    assert "on resource" not in caught.value.response["Error"]["Message"]


def test_writer_can_write(seeded, client):
    ops = client("ops-app")
    ops.put_secret_value(SecretId="prod-api-key", SecretString="demo-not-a-real-key-new")
    assert client("prod-app").get_secret_value(SecretId="prod-api-key")["SecretString"] == (
        "demo-not-a-real-key-new"
    )


def test_identity_without_grants_is_denied(seeded, client):
    with pytest.raises(ClientError, match="AccessDeniedException"):
        client("nobody-app").get_secret_value(SecretId="dev-api-key")


def _role_with_policy(client, name, statements):
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
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if statements:
        doc = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(doc))


def test_wildcard_resource(seeded, client):
    _role_with_policy(
        client,
        "wild-app",
        [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:Get*",
                "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:dev-*",
            }
        ],
    )
    wild = client("wild-app")
    assert wild.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        wild.get_secret_value(SecretId="prod-api-key")


def test_arn_without_suffix_does_not_match(seeded, client):
    """A policy naming ``secret:dev-api-key`` (no random suffix) matches no real secret ARN."""
    _role_with_policy(
        client,
        "partial-app",
        [
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:dev-api-key",
            }
        ],
    )
    with pytest.raises(ClientError, match="AccessDeniedException"):
        client("partial-app").get_secret_value(SecretId="dev-api-key")


def test_explicit_deny_wins(seeded, client):
    _role_with_policy(
        client,
        "deny-app",
        [
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": seeded.arn("prod-api-key"),
            },
        ],
    )
    sm = client("deny-app")
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="prod-api-key")
    assert caught.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_resource_policy_grants_and_can_be_removed(seeded, client):
    admin = client(None)
    nobody = client("nobody-app")
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/nobody-app"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    admin.put_resource_policy(SecretId="dev-api-key", ResourcePolicy=json.dumps(doc))
    got = admin.get_resource_policy(SecretId="dev-api-key")
    assert json.loads(got["ResourcePolicy"]) == doc
    assert nobody.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        nobody.get_secret_value(SecretId="prod-api-key")
    admin.delete_resource_policy(SecretId="dev-api-key")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        nobody.get_secret_value(SecretId="dev-api-key")


def test_resource_policy_deny_beats_identity_allow(seeded, client):
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/dev-app"},
                "Action": "secretsmanager:*",
                "Resource": "*",
            }
        ],
    }
    client(None).put_resource_policy(SecretId="dev-api-key", ResourcePolicy=json.dumps(doc))
    with pytest.raises(ClientError) as caught:
        client("dev-app").get_secret_value(SecretId="dev-api-key")
    assert caught.value.response["Error"]["Message"].endswith(
        "with an explicit deny in a resource-based policy"
    )


def test_user_code_can_assume_a_role(seeded, client):
    sts = client(None, "sts")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/dev-app", RoleSessionName="worker"
    )["Credentials"]
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    sm = session.client("secretsmanager", region_name="us-east-1")
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
    who = session.client("sts", region_name="us-east-1").get_caller_identity()
    assert who["Arn"] == f"{ASSUMED}/dev-app/worker"
    with pytest.raises(ClientError, match="AccessDenied"):
        client("dev-app", "sts").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/prod-app", RoleSessionName="escalate"
        )


def test_batch_get_reports_denied_secrets_as_errors(seeded, client):
    _role_with_policy(
        client,
        "batch-app",
        [
            {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": seeded.arn("dev-api-key"),
            },
        ],
    )
    out = client("batch-app").batch_get_secret_value(SecretIdList=["dev-api-key", "prod-api-key"])
    assert [v["Name"] for v in out["SecretValues"]] == ["dev-api-key"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [
        (seeded.arn("prod-api-key"), "AccessDeniedException")
    ]
    with pytest.raises(ClientError, match="BatchGetSecretValue"):
        client("dev-app").batch_get_secret_value(SecretIdList=["dev-api-key"])


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        ({"AWS_SECRET_ACCESS_KEY": "demo-not-a-real-wrong-secret"}, "InvalidSignatureException"),
        ({"AWS_ACCESS_KEY_ID": "AKIADEMONOTAREALKEY0"}, "UnrecognizedClientException"),
        ({"AWS_SESSION_TOKEN": "demo-not-a-real-token"}, "UnrecognizedClientException"),
    ],
)
def test_bad_credentials(seeded, client, mutation, code):
    sm = client("dev-app", AWS_MAX_ATTEMPTS="1", **mutation)
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == code


def test_unsigned_request_is_refused(seeded, client):
    from botocore import UNSIGNED
    from botocore.config import Config

    client(None)  # only to apply the environment
    import boto3

    sm = boto3.session.Session().client(
        "secretsmanager", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "MissingAuthenticationTokenException"


def test_unseeded_identity_is_unknown_until_seeded(cloud, aws, client):
    ghost = client("ghost-app", AWS_MAX_ATTEMPTS="1")
    with pytest.raises(ClientError) as caught:
        ghost.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "UnrecognizedClientException"
    cloud.seed({"secrets": {"dev-api-key": {"value": "demo-late", "readers": ["ghost-app"]}}})
    assert ghost.get_secret_value(SecretId="dev-api-key")["SecretString"] == "demo-late"
