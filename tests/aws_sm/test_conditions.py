"""IAM ``Condition`` evaluation (policy.py), as the IAM User Guide documents it: operators and
keys ANDed, values ORed, missing keys, ``IfExists``, set qualifiers, and failing closed on what
the emulator does not model."""

from __future__ import annotations

import json

import pytest

from guardlib.emulators.aws.policy import (
    UNKNOWN,
    ConditionContext,
    Decision,
    conditions_hold,
    evaluate,
)

GH = "token.actions.githubusercontent.com"
MAIN = "repo:codehive/wallet:ref:refs/heads/main"
CTX = ConditionContext(
    {f"{GH}:sub": MAIN, f"{GH}:aud": "sts.amazonaws.com", "aws:username": None,
     "aws:TagKeys": ["env", "team"]},
    prefixes=["aws:PrincipalTag/"],
)  # fmt: skip


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"StringEquals": {f"{GH}:sub": MAIN}}, True),
        ({"StringEquals": {f"{GH}:sub": MAIN.upper()}}, False),  # values are case-sensitive
        ({"StringEqualsIgnoreCase": {f"{GH}:sub": MAIN.upper()}}, True),
        ({"StringEquals": {f"{GH.upper()}:SUB": MAIN}}, True),  # key names are not
        ({"StringEquals": {f"{GH}:sub": ["repo:x/y:pull_request", MAIN]}}, True),  # values OR
        ({"StringEquals": {f"{GH}:sub": MAIN, f"{GH}:aud": "other"}}, False),  # keys AND
        ({"StringEquals": {f"{GH}:sub": MAIN}, "StringLike": {f"{GH}:aud": "sts.*"}}, True),
        ({"StringEquals": {f"{GH}:sub": MAIN}, "StringLike": {f"{GH}:aud": "x*"}}, False),
        ({"StringLike": {f"{GH}:sub": "repo:codehive/wallet:*"}}, True),
        ({"StringLike": {f"{GH}:sub": "repo:codehive/wallet-evil:*"}}, False),
        ({"StringLike": {f"{GH}:sub": "repo:codehive/walle?:ref:refs/heads/main"}}, True),
        ({"StringLike": {f"{GH}:sub": "repo:codehive/wallet"}}, False),  # no implicit prefix
        ({"StringLike": {f"{GH}:sub": "REPO:*"}}, False),  # Like is case-sensitive
        ({"StringNotEquals": {f"{GH}:sub": MAIN}}, False),
        ({"StringNotEquals": {f"{GH}:sub": ["a", "b"]}}, True),  # matches none of them
        ({"StringNotLike": {f"{GH}:sub": ["a*", "repo:*"]}}, False),
        # a key the request does not have (modeled, absent)
        ({"StringEquals": {"aws:username": "ruby"}}, False),
        ({"StringLike": {"aws:PrincipalTag/team": "*"}}, False),
        ({"StringNotEquals": {"aws:username": "ruby"}}, True),
        ({"StringEqualsIfExists": {"aws:username": "ruby"}}, True),
        ({"StringEqualsIfExists": {f"{GH}:sub": "other"}}, False),  # present: evaluated
        ({"Null": {"aws:username": "true"}}, True),
        ({"Null": {f"{GH}:sub": "true"}}, False),
        ({"Null": {f"{GH}:sub": "false"}}, True),
        # set qualifiers on a multi-valued key
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "x"]}}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["x"]}}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team", "x"]}}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, False),
        ({"ForAllValues:StringEquals": {"aws:PrincipalTag/none": ["env"]}}, True),  # empty set
        ({"ForAnyValue:StringEquals": {"aws:PrincipalTag/none": ["env"]}}, False),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["x", "y"]}}, True),
        ({"Bool": {"aws:username": True}}, False),
    ],
)  # fmt: skip
def test_operators_keys_and_values(block: dict, expected: bool) -> None:
    assert conditions_hold(block, CTX) is expected


@pytest.mark.parametrize(
    "block",
    [
        {"StringEqualsWhatever": {f"{GH}:sub": MAIN}},  # an operator nobody defined
        {"NumericLessThan": {f"{GH}:sub": "3"}},  # a real one this emulator does not model
        {"stringequals": {f"{GH}:sub": MAIN}},  # operator names are exact
        {"ForSomeValues:StringEquals": {f"{GH}:sub": MAIN}},
        {"StringEquals": {"aws:SourceVpc": "vpc-1"}},  # a key it does not model
        {"StringEquals": {f"{GH}:sub": {"nested": "object"}}},
        {"StringEquals": {f"{GH}:sub": []}},
        {"StringEquals": {}},
        "StringEquals",
    ],
)
def test_what_cannot_be_judged_is_unknown(block: object) -> None:
    assert conditions_hold(block, CTX) is UNKNOWN


def test_an_unknown_operator_poisons_the_block_even_beside_a_false_clause() -> None:
    block = {"StringEquals": {f"{GH}:sub": "nope"}, "Bogus": {f"{GH}:sub": MAIN}}
    assert conditions_hold(block, CTX) is UNKNOWN
    # an unmodeled key beside a definitely false clause: the block is false whatever it says
    block = {"StringEquals": {f"{GH}:sub": "nope", "aws:SourceVpc": "vpc-1"}}
    assert conditions_hold(block, CTX) is False


def test_a_trailing_newline_is_not_the_subject() -> None:
    ctx = ConditionContext({f"{GH}:sub": MAIN + "\n"})
    assert conditions_hold({"StringEquals": {f"{GH}:sub": MAIN}}, ctx) is False
    assert conditions_hold({"StringLike": {f"{GH}:sub": MAIN}}, ctx) is False


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-api-key-AbCdEf"
READ = "secretsmanager:GetSecretValue"


def test_unknown_fails_closed_allow_never_grants_deny_always_applies() -> None:
    allow = {"Effect": "Allow", "Action": READ, "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}  # fmt: skip
    deny = {**allow, "Effect": "Deny"}
    plain = {"Effect": "Allow", "Action": READ, "Resource": "*"}
    assert evaluate([_doc(allow)], READ, ARN, context=CTX) is Decision.NEUTRAL
    assert evaluate([_doc(plain, deny)], READ, ARN, context=CTX) is Decision.DENY
    # without a context (the old callers): nothing is modeled, same rule
    assert evaluate([_doc(allow)], READ, ARN) is Decision.NEUTRAL
    assert evaluate([_doc(plain, deny)], READ, ARN) is Decision.DENY


def test_conditions_that_hold_grant_and_deny_wins() -> None:
    ctx = ConditionContext({"aws:PrincipalTag/env": "prod"}, prefixes=["aws:PrincipalTag/"])
    allow = {"Effect": "Allow", "Action": READ, "Resource": ARN,
             "Condition": {"StringEquals": {"aws:PrincipalTag/env": "prod"}}}  # fmt: skip
    deny = {"Effect": "Deny", "Action": READ, "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/env": "prod"}}}  # fmt: skip
    deny_prod = {**deny, "Condition": {"StringEquals": {"aws:PrincipalTag/env": "prod"}}}
    assert evaluate([_doc(allow, deny)], READ, ARN, context=ctx) is Decision.ALLOW
    assert evaluate([_doc(allow, deny_prod)], READ, ARN, context=ctx) is Decision.DENY
    dev = ConditionContext({"aws:PrincipalTag/env": "dev"}, prefixes=["aws:PrincipalTag/"])
    assert evaluate([_doc(allow, deny)], READ, ARN, context=dev) is Decision.DENY
    untagged = ConditionContext({}, prefixes=["aws:PrincipalTag/"])
    assert evaluate([_doc(allow)], READ, ARN, context=untagged) is Decision.NEUTRAL
    assert evaluate([_doc(allow, deny)], READ, ARN, context=untagged) is Decision.DENY


def test_a_federated_principal_is_named_only_by_federated() -> None:
    provider = f"arn:aws:iam::123456789012:oidc-provider/{GH}"
    action = "sts:AssumeRoleWithWebIdentity"
    role = "arn:aws:iam::123456789012:role/prod-app"
    account = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
               "Action": "sts:*"}  # fmt: skip
    federated = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": action,
                 "Condition": {"StringEquals": {f"{GH}:sub": MAIN}}}  # fmt: skip

    def decide(*sts: dict) -> Decision:
        return evaluate([_doc(*sts)], action, role, resource_policy=True,
                        account="123456789012", context=CTX, federated=provider)  # fmt: skip

    assert decide(account) is Decision.NEUTRAL
    assert decide(federated) is Decision.ALLOW
    other = {**federated, "Principal": {"Federated": provider + "x"}}
    assert decide(other) is Decision.NEUTRAL
    wrong_action = {**federated, "Action": "sts:AssumeRole"}
    assert decide(wrong_action) is Decision.NEUTRAL
    deny_all = {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}
    assert decide(federated, deny_all) is Decision.DENY


# -- through boto3: identity policies with conditions on Secrets Manager calls ------------------
def test_resource_and_principal_tags_in_identity_policies(seeded, client) -> None:  # type: ignore[no-untyped-def]
    from botocore.exceptions import ClientError

    admin = client(None)
    admin.create_secret(
        Name="tagged-dev", SecretString="demo-not-a-real-v1", Tags=[{"Key": "env", "Value": "dev"}]
    )
    admin.create_secret(Name="tagged-prod", SecretString="demo-not-a-real-v2",
                        Tags=[{"Key": "env", "Value": "prod"}])  # fmt: skip
    iam = client(None, "iam")
    iam.tag_role(RoleName="nobody-app", Tags=[{"Key": "team", "Value": "wallet"}])

    def put(condition: dict) -> None:
        statement = {"Effect": "Allow", "Action": READ, "Resource": "*", "Condition": condition}
        iam.put_role_policy(
            RoleName="nobody-app", PolicyName="by-tag", PolicyDocument=_doc(statement)
        )

    def reads(name: str) -> bool:
        try:
            client("nobody-app").get_secret_value(SecretId=name)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDeniedException"
            return False
        return True

    put({"StringEquals": {"secretsmanager:ResourceTag/env": "dev"}})
    assert (reads("tagged-dev"), reads("tagged-prod"), reads("dev-api-key")) == (True, False, False)
    put({"StringEquals": {"aws:ResourceTag/env": "prod", "aws:PrincipalTag/team": "wallet"}})
    assert (reads("tagged-dev"), reads("tagged-prod")) == (False, True)
    put({"StringEquals": {"aws:ResourceTag/env": "prod", "aws:PrincipalTag/team": "other"}})
    assert reads("tagged-prod") is False
    put({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/nobody-*"}})
    assert reads("tagged-prod") is True
    put({"StringEquals": {"aws:SourceVpce": "vpce-1"}})  # not modeled: never grants
    assert reads("tagged-prod") is False
