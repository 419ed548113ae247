"""Version stages as AWS keeps them: one AWSCURRENT, and a plain read follows it."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from .conftest import current_versions, error_code, holders

V1, V2 = "demo-not-a-real-key-v1", "demo-not-a-real-key-v2"


@pytest.fixture
def sm(aws, client):
    sm = client(None)
    sm.create_secret(Name="db-password", SecretString=V1)
    return sm


def _value(sm, **kw):
    return sm.get_secret_value(SecretId="db-password", **kw)["SecretString"]


def test_put_moves_current_and_previous(sm):
    first = holders(sm, "db-password", "AWSCURRENT")
    out = sm.put_secret_value(SecretId="db-password", SecretString=V2)
    assert out["VersionStages"] == ["AWSCURRENT"]
    assert holders(sm, "db-password", "AWSCURRENT") == [out["VersionId"]]
    assert holders(sm, "db-password", "AWSPREVIOUS") == first
    assert _value(sm) == V2
    assert _value(sm, VersionStage="AWSPREVIOUS") == V1
    assert _value(sm, VersionId=first[0]) == V1


def test_moving_current_back_is_followed_by_a_plain_read(sm):
    (old,) = holders(sm, "db-password", "AWSCURRENT")
    new = sm.put_secret_value(SecretId="db-password", SecretString=V2)["VersionId"]
    sm.update_secret_version_stage(
        SecretId="db-password", VersionStage="AWSCURRENT", MoveToVersionId=old,
        RemoveFromVersionId=new,
    )  # fmt: skip
    assert _value(sm) == V1  # moto alone still answers V2 here
    assert holders(sm, "db-password", "AWSCURRENT") == [old]
    assert holders(sm, "db-password", "AWSPREVIOUS") == [new]
    # and the next put does not leave two AWSCURRENT versions behind
    third = sm.put_secret_value(SecretId="db-password", SecretString="demo-not-a-real-key-v3")
    assert holders(sm, "db-password", "AWSCURRENT") == [third["VersionId"]]
    assert holders(sm, "db-password", "AWSPREVIOUS") == [old]


def test_hand_run_rotation(sm):
    """The four steps a rotation Lambda runs, done by hand: create, set, test, finish."""
    (old,) = holders(sm, "db-password", "AWSCURRENT")
    token = str(uuid.uuid4())
    # createSecret: the new value goes in as AWSPENDING; readers still get the old one
    sm.put_secret_value(
        SecretId="db-password", ClientRequestToken=token, SecretString=V2,
        VersionStages=["AWSPENDING"],
    )  # fmt: skip
    assert _value(sm) == V1
    # setSecret would change the database password here; testSecret reads the pending one
    assert _value(sm, VersionStage="AWSPENDING") == V2
    # finishSecret
    sm.update_secret_version_stage(
        SecretId="db-password", VersionStage="AWSCURRENT", MoveToVersionId=token,
        RemoveFromVersionId=old,
    )  # fmt: skip
    assert _value(sm) == V2
    versions = current_versions(sm, "db-password")
    assert versions[token] == ["AWSCURRENT", "AWSPENDING"]
    assert versions[old] == ["AWSPREVIOUS"]
    # the next rotation's create step takes AWSPENDING over
    nxt = str(uuid.uuid4())
    sm.put_secret_value(
        SecretId="db-password", ClientRequestToken=nxt, SecretString="demo-not-a-real-key-v3",
        VersionStages=["AWSPENDING"],
    )  # fmt: skip
    assert holders(sm, "db-password", "AWSPENDING") == [nxt]
    assert holders(sm, "db-password", "AWSCURRENT") == [token]


def test_rotate_secret_without_lambda_is_refused_and_changes_nothing(sm):
    before = current_versions(sm, "db-password")
    with pytest.raises(ClientError) as caught:
        sm.rotate_secret(SecretId="db-password")
    assert error_code(caught.value) == "InvalidRequestException"
    assert "No Lambda rotation function" in caught.value.response["Error"]["Message"]
    assert current_versions(sm, "db-password") == before
    assert len(holders(sm, "db-password", "AWSCURRENT")) == 1


def test_a_label_lives_on_one_version(sm):
    (old,) = holders(sm, "db-password", "AWSCURRENT")
    new = sm.put_secret_value(SecretId="db-password", SecretString=V2)["VersionId"]
    with pytest.raises(ClientError) as caught:
        sm.update_secret_version_stage(
            SecretId="db-password", VersionStage="AWSCURRENT", MoveToVersionId=old
        )
    assert error_code(caught.value) == "InvalidParameterException"
    assert new in caught.value.response["Error"]["Message"]
    sm.update_secret_version_stage(SecretId="db-password", VersionStage="blue", MoveToVersionId=old)
    with pytest.raises(ClientError, match="InvalidParameterException"):
        sm.update_secret_version_stage(
            SecretId="db-password", VersionStage="blue", MoveToVersionId=new
        )
    assert holders(sm, "db-password", "blue") == [old]


def test_batch_get_with_filters(sm):
    sm.create_secret(Name="app/one", SecretString="demo-not-a-real-key-1")
    sm.create_secret(Name="app/two", SecretString="demo-not-a-real-key-2")
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["app/"]}])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == [
        "demo-not-a-real-key-1",
        "demo-not-a-real-key-2",
    ]
    assert out["Errors"] == []


def test_arns_are_deterministic_after_reset(aws, client):
    """ARN suffixes repeat after a reset; version ids are the ClientRequestToken, which boto3
    makes up (uuid4) when the caller gives none, exactly as against AWS."""
    token = "demo-token-0000000000000000000000000001"

    def run():
        aws.reset()
        sm = client(None)
        arn = sm.create_secret(Name="stable", SecretString=V1)["ARN"]
        put = sm.put_secret_value(SecretId="stable", SecretString=V2, ClientRequestToken=token)
        return arn, put["VersionId"]

    first = run()
    assert first == run()
    assert first[1] == token
