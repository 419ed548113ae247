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

from .conftest import ACCOUNT, SEED, error_code

SEED_WITH_KEYS = SEED

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


# -- replicas, deletion, full vs partial ARNs (issue 16) -------------------------------------------
def test_add_replica_regions_gives_a_readable_replica(sm, client):
    out = sm.replicate_secret_to_regions(
        SecretId="dev-api-key", AddReplicaRegions=[{"Region": "eu-west-1"}]
    )
    primary = sm.describe_secret(SecretId="dev-api-key")
    assert out["ARN"] == primary["ARN"]  # the secret's ARN, not the SecretId echoed
    assert out["ReplicationStatus"][0]["Region"] == "eu-west-1"
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    assert primary["PrimaryRegion"] == "us-east-1"
    assert [r["Region"] for r in primary["ReplicationStatus"]] == ["eu-west-1"]
    # the replica lives in its Region, with that Region in its ARN, and reads the same value
    import boto3

    # ``sm`` pointed os.environ at the emulator as the administrator; the same, in eu-west-1
    replica = boto3.session.Session().client("secretsmanager", region_name="eu-west-1")
    described = replica.describe_secret(SecretId="dev-api-key")
    assert described["ARN"] == primary["ARN"].replace(":us-east-1:", ":eu-west-1:")
    assert described["PrimaryRegion"] == "us-east-1"
    assert replica.get_secret_value(SecretId="dev-api-key")["SecretString"] == (
        "demo-not-a-real-key-dev"
    )
    assert replica.get_secret_value(SecretId=described["ARN"])["ARN"] == described["ARN"]
    with pytest.raises(ClientError) as caught:  # a replica is read-only
        replica.put_secret_value(SecretId="dev-api-key", SecretString="demo-not-a-real-key-x")
    assert error_code(caught.value) == "InvalidParameterException"
    assert (
        "Call must be made in primary secret's region" in caught.value.response["Error"]["Message"]
    )
    sm.remove_regions_from_replication(SecretId="dev-api-key", RemoveReplicaRegions=["eu-west-1"])
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        replica.get_secret_value(SecretId="dev-api-key")


def test_create_secret_with_replica_regions(sm, client):
    import boto3

    created = sm.create_secret(
        Name="replicated", SecretString="demo-not-a-real-key-r",
        AddReplicaRegions=[{"Region": "eu-west-1"}],
    )  # fmt: skip
    assert created["ReplicationStatus"][0]["Status"] == "InSync"
    assert sm.describe_secret(SecretId="replicated")["PrimaryRegion"] == "us-east-1"
    replica = boto3.session.Session().client("secretsmanager", region_name="eu-west-1")
    assert (
        replica.get_secret_value(SecretId="replicated")["SecretString"] == "demo-not-a-real-key-r"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda sm: sm.get_secret_value(SecretId="dev-api-key"),
        lambda sm: sm.delete_secret(SecretId="dev-api-key", RecoveryWindowInDays=7),
        lambda sm: sm.put_secret_value(SecretId="dev-api-key", SecretString="demo-not-a-real-x"),
        lambda sm: sm.update_secret(SecretId="dev-api-key", Description="x"),
        lambda sm: sm.tag_resource(SecretId="dev-api-key", Tags=[{"Key": "a", "Value": "b"}]),
    ],
)
def test_a_secret_marked_for_deletion_answers_as_the_service(sm, call):
    sm.delete_secret(SecretId="dev-api-key", RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as caught:
        call(sm)
    assert error_code(caught.value) == "InvalidRequestException"
    assert caught.value.response["Error"]["Message"] == (
        "You can't perform this operation on the secret because it was marked for deletion."
    )
    assert sm.describe_secret(SecretId="dev-api-key")["DeletedDate"]  # describing still works
    sm.delete_secret(SecretId="dev-api-key", ForceDeleteWithoutRecovery=True)  # allowed


def test_moto_messages_carry_no_sdk_prefix(sm):
    with pytest.raises(ClientError) as caught:
        sm.delete_secret(SecretId="dev-api-key", RecoveryWindowInDays=3)
    message = caught.value.response["Error"]["Message"]
    assert not message.startswith("An error occurred") and "  " not in message


def test_a_name_ending_in_a_hyphen_and_six_characters_is_a_full_arn(sm):
    """A partial ARN ending in -XXXXXX is taken as a full ARN (Secrets Manager User Guide,
    troubleshooting): ``db-abcdef`` is found by name and by its full ARN, not by that partial
    ARN; a partial ARN of an ordinary name still works."""
    arn = sm.create_secret(Name="db-abcdef", SecretString="demo-not-a-real-key-h")["ARN"]
    prefix = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
    assert sm.describe_secret(SecretId="db-abcdef")["ARN"] == arn
    assert sm.describe_secret(SecretId=arn)["ARN"] == arn
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId=prefix + "db-abcdef")
    assert error_code(caught.value) == "ResourceNotFoundException"
    assert sm.describe_secret(SecretId=prefix + "dev-api-key")["Name"] == "dev-api-key"
    # a full ARN with the wrong suffix, or an ARN of another account or Region: not found
    for wrong in (
        arn[:-6] + "ZZZZZZ",
        arn.replace(ACCOUNT, "999999999999"),
        arn.replace("us-east-1", "eu-west-1"),
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:dev-api-key",
        "arn:aws:secretsmanager:us-east-1:999999999999:secret:dev-api-key",
    ):
        with pytest.raises(ClientError) as caught:
            sm.describe_secret(SecretId=wrong)
        assert error_code(caught.value) == "ResourceNotFoundException", wrong


# -- KMS: every operation of botocore's kms model --------------------------------------------------
KMS_MODEL = botocore.session.get_session().get_service_model("kms")
KMS_OPERATIONS = sorted(KMS_MODEL.operation_names)
KMS_COMMON = COMMON | {"UnsupportedOperationException"}
#: operations that act on no key: nothing to refuse dev on the prod key
KMS_GLOBAL = {"CreateKey", "ListKeys", "ListAliases", "GenerateRandom", "CreateCustomKeyStore",
              "DescribeCustomKeyStores", "ListRetirableGrants"}  # fmt: skip


def kms_params(op: str, key: str, blob: bytes) -> dict[str, Any]:
    """Minimal valid input of a KMS operation aimed at ``key`` (and ``blob``, its ciphertext)."""
    known = {
        "KeyId": key, "TargetKeyId": key, "DestinationKeyId": key, "SourceKeyId": key,
        "CiphertextBlob": blob, "AliasName": "alias/conformance", "PolicyName": "default",
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"}]}),
        "KeySpec": "AES_256", "GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:root",
        "Operations": ["Decrypt"], "Tags": [{"TagKey": "team", "TagValue": "demo"}],
        "TagKeys": ["team"], "ReplicaRegion": "eu-west-1", "PrimaryRegion": "eu-west-1",
        "NumberOfBytes": 32, "PendingWindowInDays": 7, "Message": b"demo",
        "MacAlgorithm": "HMAC_SHA_256", "SigningAlgorithm": "RSASSA_PSS_SHA_256",
    }  # fmt: skip
    shape = KMS_MODEL.operation_model(op).input_shape
    if shape is None:
        return {}
    wanted = set(shape.required_members)
    wanted |= {"CiphertextBlob"} & set(shape.members)  # optional in the model, needed here
    if op == "GenerateRandom":
        wanted.add("NumberOfBytes")
    return {
        name: known[name] if name in known else example(shape.members[name], name, "", op)
        for name in sorted(wanted)
    }


@pytest.fixture
def kms_admin(cloud, aws, client):
    from guardlib.emulators.seed import COURSE

    cloud.seed({**SEED_WITH_KEYS, "aws": COURSE["aws"]})
    return client(None, "kms", AWS_MAX_ATTEMPTS="1")


def test_the_kms_model_is_walked_whole():
    assert len(KMS_OPERATIONS) >= 50
    assert {"Encrypt", "Decrypt", "GenerateDataKey", "PutKeyPolicy"} <= set(KMS_OPERATIONS)


@pytest.mark.parametrize("op", KMS_OPERATIONS)
def test_every_kms_operation_answers_as_the_model_says(kms_admin, op):
    blob = kms_admin.encrypt(KeyId="alias/guard-dev", Plaintext=b"demo")["CiphertextBlob"]
    allowed = {e.name for e in KMS_MODEL.operation_model(op).error_shapes} | KMS_COMMON
    try:
        out = getattr(kms_admin, xform_name(op))(**kms_params(op, "alias/guard-dev", blob))
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500, exc.response
        assert error_code(exc) in allowed, (op, exc.response["Error"])
    else:
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("op", sorted(set(KMS_OPERATIONS) - KMS_GLOBAL))
def test_dev_is_denied_every_kms_operation_on_the_prod_key(kms_admin, client, op):
    blob = kms_admin.encrypt(KeyId="alias/guard-prod", Plaintext=b"demo")["CiphertextBlob"]
    prod = kms_admin.describe_key(KeyId="alias/guard-prod")["KeyMetadata"]["Arn"]
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    with pytest.raises(ClientError) as caught:
        getattr(dev, xform_name(op))(**kms_params(op, prod, blob))
    assert error_code(caught.value) in {"AccessDeniedException", "UnsupportedOperationException"}
    if op in ("Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "PutKeyPolicy"):
        assert error_code(caught.value) == "AccessDeniedException"
