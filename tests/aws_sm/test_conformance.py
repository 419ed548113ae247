"""Fidelity by construction: every operation in botocore's Secrets Manager model, through boto3.

For each operation a minimal valid input is built from the input shape's required members.
As the administrator, no call may answer 500 or something botocore cannot parse, and an error
must be one the model lists for that operation (or a common error). As ``dev-app``, every
operation aimed at ``prod-api-key`` is AccessDeniedException: none needs no permission."""

from __future__ import annotations

import datetime
import json
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, error_code

MODEL = botocore.session.get_session().get_service_model("secretsmanager")
OPERATIONS = sorted(MODEL.operation_names)
#: errors every operation may answer (AWS "Common Errors" of the API reference)
COMMON = {
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "NotAuthorized",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
    "ValidationException",
}
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/dev-app"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
)
#: member name -> a value that makes sense for it (everything else follows the shape)
KNOWN: dict[str, Any] = {
    "ResourcePolicy": POLICY,
    "VersionStage": "AWSCURRENT",
    "CrossAccountReplicaARN": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:replica-abcdef",
    "Tags": [{"Key": "team", "Value": "demo"}],
    "TagKeys": ["team"],
    "AddReplicaRegions": [{"Region": "eu-west-1"}],
    "RemoveReplicaRegions": ["eu-west-1"],
}


def example(shape: Any, name: str, secret_id: str, op: str) -> Any:
    if name == "SecretId":
        return secret_id
    if name == "Name":
        return f"conformance-{op.lower()}"
    if name in KNOWN:
        return KNOWN[name]
    kind = shape.type_name
    if kind == "structure":
        return {m: example(shape.members[m], m, secret_id, op) for m in shape.required_members}
    if kind == "list":
        return [example(shape.member, name, secret_id, op)]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "d" * max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"demo"
    if kind == "timestamp":
        return datetime.datetime.now(datetime.timezone.utc)
    raise AssertionError(f"{op}: no example for {name} of type {kind}")


def params_for(op: str, secret_id: str) -> dict[str, Any]:
    shape = MODEL.operation_model(op).input_shape
    if shape is None:
        return {}
    value = example(shape, op, secret_id, op)
    assert isinstance(value, dict)
    return value


def test_the_model_is_walked_whole():
    assert len(OPERATIONS) >= 20
    assert {"GetSecretValue", "ValidateResourcePolicy", "ListSecretVersionIds"} <= set(OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS)
def test_every_operation_answers_as_the_model_says(seeded, client, op):
    sm = client(None, AWS_MAX_ATTEMPTS="1")
    allowed = {e.name for e in MODEL.operation_model(op).error_shapes} | COMMON
    try:
        out = getattr(sm, xform_name(op))(**params_for(op, "dev-api-key"))
    except ClientError as exc:
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status < 500, exc.response
        assert error_code(exc) in allowed, (op, exc.response["Error"])
        modelled = next((e for e in MODEL.error_shapes if e.name == error_code(exc)), None)
        if modelled is not None:
            assert status == modelled.metadata.get("error", {}).get("httpStatusCode", 400)
    else:
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("op", OPERATIONS)
def test_dev_is_denied_every_operation_on_prod(seeded, client, op):
    dev = client("dev-app", AWS_MAX_ATTEMPTS="1")
    params = params_for(op, seeded.arn("prod-api-key"))
    if "SecretIdList" in MODEL.operation_model(op).input_shape.members:
        params["SecretIdList"] = [seeded.arn("prod-api-key")]
    with pytest.raises(ClientError) as caught:
        getattr(dev, xform_name(op))(**params)
    assert error_code(caught.value) == "AccessDeniedException", caught.value.response["Error"]
    assert "demo-not-a-real-key-prod" not in json.dumps(caught.value.response, default=str)


# -- gaps a user trips on --------------------------------------------------------------------
@pytest.fixture
def sm(seeded, client):
    return client(None, AWS_MAX_ATTEMPTS="1")


def test_put_on_a_secret_scheduled_for_deletion(sm):
    sm.delete_secret(SecretId="dev-api-key", RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as caught:
        sm.put_secret_value(SecretId="dev-api-key", SecretString="demo-not-a-real-key-new")
    assert error_code(caught.value) == "InvalidRequestException"
    assert "marked for deletion" in caught.value.response["Error"]["Message"]


def test_block_public_policy_refuses_a_public_policy(sm):
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    with pytest.raises(ClientError) as caught:
        sm.put_resource_policy(
            SecretId="dev-api-key", ResourcePolicy=public, BlockPublicPolicy=True
        )
    assert error_code(caught.value) == "PublicPolicyException"
    assert "BlockPublicPolicy" in caught.value.response["Error"]["Message"]
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="dev-api-key")
    out = sm.validate_resource_policy(ResourcePolicy=public)
    assert out["PolicyValidationPassed"] is False
    assert sm.validate_resource_policy(ResourcePolicy=POLICY)["PolicyValidationPassed"] is True


@pytest.mark.parametrize("document", ["{", "[]", '{"Statement": []}', '{"Statement": [{}]}'])
def test_malformed_policy_documents(sm, document):
    with pytest.raises(ClientError) as caught:
        sm.put_resource_policy(SecretId="dev-api-key", ResourcePolicy=document)
    assert error_code(caught.value) == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError, match="MalformedPolicyDocumentException"):
        sm.validate_resource_policy(ResourcePolicy=document)


def test_not_found_is_a_400_as_the_model_says(sm):
    with pytest.raises(ClientError) as caught:
        sm.describe_secret(SecretId="no-such-secret")
    assert error_code(caught.value) == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_secret_version_ids_options(sm):
    for i in range(3):
        sm.put_secret_value(SecretId="dev-api-key", SecretString=f"demo-not-a-real-key-{i}")
    everything = sm.list_secret_version_ids(SecretId="dev-api-key", IncludeDeprecated=True)
    assert len(everything["Versions"]) == 4
    labelled = sm.list_secret_version_ids(SecretId="dev-api-key")
    assert all(v.get("VersionStages") for v in labelled["Versions"])
    assert len(labelled["Versions"]) == 2  # AWSCURRENT and AWSPREVIOUS only
    page = sm.list_secret_version_ids(SecretId="dev-api-key", IncludeDeprecated=True, MaxResults=1)
    assert len(page["Versions"]) == 1
    assert page.get("NextToken")
