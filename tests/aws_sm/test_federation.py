"""Keyless deploys on AWS: a CI job's OIDC token exchanged through STS AssumeRoleWithWebIdentity
for a session of a role, as botocore does it (unsigned, from ``AWS_ROLE_ARN`` and
``AWS_WEB_IDENTITY_TOKEN_FILE``), and everything a hostile client might try instead.

Error codes follow botocore's sts model (AssumeRoleWithWebIdentity's ``errors``) and what STS
answers: ``InvalidIdentityToken`` (400) for a token it cannot validate (no provider for its
issuer, a key the issuer does not publish, a bad signature, an audience that is not one of the
provider's client ids, malformed claims), ``ExpiredTokenException`` (400) for an expired one,
``AccessDenied`` (403, "Not authorized to perform sts:AssumeRoleWithWebIdentity") when the
role's trust policy does not let the token in, ``ValidationError`` (400) for parameters outside
the model's limits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.kit import jwt
from guardlib.emulators.seed import COURSE

from .conftest import ACCOUNT, REGION, error_code, send

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PR = "repo:codehive/wallet:pull_request"
AUD = "sts.amazonaws.com"
GH = "token.actions.githubusercontent.com"
PROD = f"arn:aws:iam::{ACCOUNT}:role/prod-app"
DEV = f"arn:aws:iam::{ACCOUNT}:role/dev-app"
OPS = f"arn:aws:iam::{ACCOUNT}:role/ops-app"
#: COURSE, plus a prefix trust on a third role (ops-app: every ref of codehive/wallet)
# a pattern: Entra cannot trust one, so it is for AWS only (the session cloud may hold Azure)
OPS_TRUST = {"identity": "ops-app", "subject": "repo:codehive/wallet:*", "clouds": ["aws"]}
SEED = {**COURSE, "trusts": [*COURSE["trusts"], OPS_TRUST]}


@pytest.fixture
def fed(cloud: emulators.OfflineCloud, aws: Any) -> Iterator[Any]:
    cloud.trusts.clear()
    cloud.seed(SEED)
    yield aws
    cloud.trusts.clear()


def token(
    cloud: emulators.OfflineCloud, subject: str = MAIN, audience: str = AUD, **kw: Any
) -> str:
    return cloud.oidc.mint(subject, audience, **kw)


def exchange(
    cloud: emulators.OfflineCloud,
    web_token: str | None,
    role_arn: str | None = PROD,
    *,
    extra: list[tuple[str, str]] | None = None,
    query: str = "",
) -> tuple[int, str]:
    """An unsigned AssumeRoleWithWebIdentity, as raw as a hostile client sends it."""
    pairs = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"),
             ("RoleSessionName", "github-actions")]  # fmt: skip
    if role_arn is not None:
        pairs.append(("RoleArn", role_arn))
    if web_token is not None:
        pairs.append(("WebIdentityToken", web_token))
    body = urlencode(pairs + list(extra or [])).encode()
    env = cloud["aws"].env()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    status, _headers, payload = send(env, "/" + (f"?{query}" if query else ""), headers, body)
    return status, payload.decode()


def code_of(payload: str) -> str:
    found = re.search(r"<Code>([^<]*)</Code>", payload)
    return found.group(1) if found else ""


def message_of(payload: str) -> str:
    found = re.search(r"<Message>([^<]*)</Message>", payload)
    return found.group(1) if found else ""


def refused(cloud: emulators.OfflineCloud, web_token: str, role: str = PROD, **kw: Any) -> str:
    status, payload = exchange(cloud, web_token, role, **kw)
    assert status >= 400, payload
    assert web_token not in payload
    return f"{status} {code_of(payload)}"


# -- the allow and deny matrix through botocore, in a fresh process ---------------------------
_READ = (
    "import boto3, sys\n"
    "sm = boto3.session.Session().client('secretsmanager')\n"
    "try:\n"
    "    value = sm.get_secret_value(SecretId=sys.argv[1])\n"
    "except Exception as exc:\n"
    "    print(type(exc).__name__, exc); sys.exit(3)\n"
    "print('read', value['Name'], value['SecretString'] == sys.argv[2])\n"
)


def _fresh(env: dict[str, str], secret: str, value: str) -> subprocess.CompletedProcess[str]:
    base = {k: os.environ[k] for k in ("PATH", "HOME", "SYSTEMROOT", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-c", _READ, secret, value],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_main_branch_reads_prod_and_a_pull_request_is_refused_in_a_fresh_process(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    env = cloud.federation_env(MAIN)
    assert env["AWS_ROLE_ARN"] == PROD and env["AWS_ROLE_SESSION_NAME"] == "github-actions"
    assert Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"]).is_file()
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & set(env)
    ok = _fresh(env, "prod-api-key", "demo-not-a-real-key-prod")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == "read prod-api-key True"

    denied = _fresh(cloud.federation_env(PR), "prod-api-key", "")
    assert denied.returncode == 3, denied.stdout + denied.stderr
    assert "(AccessDenied) when calling the AssumeRoleWithWebIdentity operation" in denied.stdout
    assert "Not authorized to perform sts:AssumeRoleWithWebIdentity" in denied.stdout


@pytest.mark.parametrize(
    ("subject", "identity", "secret", "allowed"),
    [
        (MAIN, "prod-app", "prod-api-key", True),
        (MAIN, "prod-app", "dev-api-key", False),  # the session is prod-app: prod only
        ("repo:codehive/wallet:environment:dev", "dev-app", "dev-api-key", True),
        ("repo:codehive/wallet:environment:dev", "prod-app", "prod-api-key", False),
        (PR, "prod-app", "prod-api-key", False),
        (PR, "dev-app", "dev-api-key", False),
        (PR, "ops-app", "prod-api-key", True),  # ops-app trusts repo:codehive/wallet:*
        ("repo:codehive/wallet-evil:ref:refs/heads/main", "ops-app", "prod-api-key", False),
        ("repo:codehive/wallet:ref:refs/heads/main", "nobody-app", "prod-api-key", False),
    ],
)
def test_allow_and_deny_matrix_through_boto3(
    cloud: emulators.OfflineCloud,
    fed: Any,
    monkeypatch: pytest.MonkeyPatch,
    subject: str,
    identity: str,
    secret: str,
    allowed: bool,
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    if identity == "nobody-app":
        cloud.seed({"identities": ["nobody-app"]})
    for key in REAL_CLOUD_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    for key, value in cloud.federation_env(subject, identity=identity).items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session()
    sm = session.client("secretsmanager")
    if allowed:
        assert sm.get_secret_value(SecretId=secret)["Name"] == secret
        who = session.client("sts").get_caller_identity()["Arn"]
        assert who == f"arn:aws:sts::{ACCOUNT}:assumed-role/{identity}/github-actions"
        return
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId=secret)
    operation = caught.value.operation_name
    if operation == "AssumeRoleWithWebIdentity":
        assert error_code(caught.value) == "AccessDenied"
    else:  # the exchange worked; the role may not read this secret
        assert (operation, error_code(caught.value)) == ("GetSecretValue", "AccessDeniedException")
        assert f"assumed-role/{identity}/github-actions" in str(caught.value)


# -- hostile tokens ------------------------------------------------------------------------------
def _claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": f"https://{GH}", "sub": MAIN, "aud": AUD, "iat": now, "nbf": now,
            "exp": now + 600}  # fmt: skip
    base.update(over)
    return base


def _signed_raw(body_text: str, key: Any, kid: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    head = jwt.b64url(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    body = jwt.b64url(body_text.encode())
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{jwt.b64url(sig)}"


def test_hostile_tokens_get_the_real_sts_error(cloud: emulators.OfflineCloud, fed: Any) -> None:
    oidc = cloud.oidc
    real = oidc.github.key
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    good = token(cloud)
    head, body, sig = good.split(".")
    pr_body = jwt.b64url(json.dumps(_claims(sub=PR)).encode())
    nan = f'{{"iss":"https://{GH}","sub":"{MAIN}","aud":"{AUD}","iat":{now},"exp":NaN}}'
    cases = {
        "another audience": (token(cloud, audience="api://AzureADTokenExchange"),
                             "400 InvalidIdentityToken", "Incorrect token audience"),
        "GitHub's default audience": (token(cloud, audience="https://github.com/codehive"),
                                      "400 InvalidIdentityToken", "Incorrect token audience"),
        "an issuer with no IAM provider": (
            oidc.mint("system:serviceaccount:wallet:api", AUD, issuer="kubernetes"),
            "400 InvalidIdentityToken", "No OpenIDConnect provider found in your account for"),
        "another issuer, our key": (
            jwt.sign(_claims(iss="https://evil.example"), real.private_key, real.kid),
            "400 InvalidIdentityToken", "No OpenIDConnect provider found"),
        "signed by another key, our kid": (jwt.sign(_claims(), attacker, real.kid),
                                           "400 InvalidIdentityToken", "could not be validated"),
        "signed by another key, its kid": (jwt.sign(_claims(), attacker, "attacker"),
                                           "400 InvalidIdentityToken", "verification key"),
        "claims swapped under a good signature": (f"{head}.{pr_body}.{sig}",
                                                  "400 InvalidIdentityToken", "validated"),
        "alg none": (f"{head}.{body}.", "400 InvalidIdentityToken", "validated"),
        "expired": (token(cloud, issued_at=now - 7200, lifetime=900),
                    "400 ExpiredTokenException", "Token expired: current date/time"),
        "NaN expiry": (_signed_raw(nan, real.private_key, real.kid),
                       "400 InvalidIdentityToken", "validated"),
        "float expiry": (jwt.sign(_claims(exp=now + 600.5), real.private_key, real.kid),
                         "400 InvalidIdentityToken", "validated"),
        "not a token": ("demo-not-a-real-token", "400 InvalidIdentityToken", "validated"),
        "a pull request against the main-branch trust": (token(cloud, PR), "403 AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "the main subject with a trailing newline": (
            token(cloud, claims={"sub": MAIN + "\n"}), "403 AccessDenied", "Not authorized"),
        "the main subject in another case": (
            token(cloud, claims={"sub": MAIN.replace("codehive", "CodeHive")}),
            "403 AccessDenied", "Not authorized"),
        "no sub claim": (jwt.sign({k: v for k, v in _claims().items() if k != "sub"},
                                  real.private_key, real.kid),
                         "400 InvalidIdentityToken", "Missing a required claim: sub"),
    }  # fmt: skip
    for name, (web_token, expected, message) in cases.items():
        status, payload = exchange(cloud, web_token)
        assert f"{status} {code_of(payload)}" == expected, (name, payload)
        assert message in message_of(payload), (name, payload)
        assert web_token not in payload, name


def test_a_token_replayed_after_its_expiry_is_refused_but_its_session_lives_on(
    cloud: emulators.OfflineCloud, fed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    web_token = token(cloud, lifetime=900)
    first = exchange(cloud, web_token)
    again = exchange(cloud, web_token)  # STS keeps no record of tokens: reuse while valid works
    assert (first[0], again[0]) == (200, 200), first[1]
    keys = re.search(r"<AccessKeyId>([^<]*)</AccessKeyId>", first[1])
    assert keys is not None
    later = time.time() + 900 + jwt.CLOCK_SKEW + 1
    monkeypatch.setattr(fed.state, "clock", lambda: later)
    status, payload = exchange(cloud, web_token)
    assert (status, code_of(payload)) == (400, "ExpiredTokenException")
    assert re.fullmatch(
        r"Token expired: current date/time \d+ must be before the expiration date/time\d+",
        message_of(payload),
    )


def test_the_answer_is_sts_s(cloud: emulators.OfflineCloud, fed: Any) -> None:
    status, payload = exchange(cloud, token(cloud))
    assert status == 200, payload
    fields = dict(re.findall(r"<(\w+)>([^<]*)</\1>", payload))
    assert fields["SubjectFromWebIdentityToken"] == MAIN
    assert fields["Audience"] == AUD and fields["Provider"] == f"https://{GH}"
    assert fields["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/prod-app/github-actions"
    assert fields["AccessKeyId"].startswith("ASIA") and len(fields["SecretAccessKey"]) == 40
    assert fields["AssumedRoleId"].endswith(":github-actions")


# -- hostile requests --------------------------------------------------------------------------
def test_parameters_outside_the_model_are_validation_errors(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    good = token(cloud)
    for seconds in ("899", "43201", "-1", "abc", "900.0", " 900", "1e3", "٩٠٠"):
        assert refused(cloud, good, extra=[("DurationSeconds", seconds)]) == "400 ValidationError"
    for seconds in ("900", "43200"):
        status, payload = exchange(cloud, good, extra=[("DurationSeconds", seconds)])
        assert status == 200, payload
    assert refused(cloud, good, role="") == "400 ValidationError"
    assert exchange(cloud, None)[0] == 400
    for name in ("a", "x" * 65, "has space", "ümlaut", "new\nline"):
        pairs = [("Action", "AssumeRoleWithWebIdentity"), ("RoleArn", PROD),
                 ("RoleSessionName", name), ("WebIdentityToken", good)]  # fmt: skip
        status, _h, payload = send(
            cloud["aws"].env(), "/", {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode(pairs).encode(),
        )  # fmt: skip
        assert (status, code_of(payload.decode())) == (400, "ValidationError"), name
    assert refused(cloud, good, extra=[("Policy", "{not json")]) == "400 MalformedPolicyDocument"
    assert refused(cloud, good, extra=[("PolicyArns.member.1.arn", "arn:aws:iam::aws:policy/x")]) \
        == "400 ValidationError"  # fmt: skip


def test_a_role_may_cap_the_session_below_twelve_hours(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    fed.state.iam.get_role("prod-app").max_session_duration = 3600
    good = token(cloud)
    status, payload = exchange(cloud, good, extra=[("DurationSeconds", "7200")])
    assert (status, code_of(payload)) == (400, "ValidationError")
    assert "exceeds the MaxSessionDuration set for this role" in message_of(payload)
    assert exchange(cloud, good, extra=[("DurationSeconds", "3600")])[0] == 200


def test_duplicate_or_conflicting_parameters_are_refused(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    good, pr = token(cloud), token(cloud, PR)
    cases: dict[str, dict[str, Any]] = {
        "RoleArn twice": dict(extra=[("RoleArn", DEV)]),
        "the same RoleArn twice": dict(extra=[("RoleArn", PROD)]),
        "two tokens": dict(extra=[("WebIdentityToken", pr)]),
        "RoleArn in the query string too": dict(query=urlencode({"RoleArn": DEV})),
        "Action twice": dict(extra=[("Action", "GetCallerIdentity")]),
    }
    for name, kw in cases.items():
        assert refused(cloud, good, **kw) == "400 InvalidQueryParameter", name


@pytest.mark.parametrize(
    ("role_arn", "expected"),
    [
        (f"arn:aws:iam::{ACCOUNT}:role/x/../prod-app", "403 AccessDenied"),
        (f"arn:aws:iam::{ACCOUNT}:role//prod-app", "403 AccessDenied"),
        (f"arn:aws:iam::{ACCOUNT}:role/ci/prod-app", "403 AccessDenied"),
        (f"arn:aws:iam::{ACCOUNT}:role/Prod-App", "403 AccessDenied"),
        ("arn:aws:iam::999999999999:role/prod-app", "403 AccessDenied"),
        (f"arn:aws:iam::{ACCOUNT}:role/does-not-exist", "403 AccessDenied"),
        (f"arn:aws:iam::{ACCOUNT}:role/prod-app\n", "400 ValidationError"),
        (f"arn:aws:iam::{ACCOUNT}:user/prod-app", "400 ValidationError"),
        (f"arn:aws:iam::{ACCOUNT}:role/prod-app ", "400 ValidationError"),
    ],
)
def test_role_arns_are_resolved_exactly(
    cloud: emulators.OfflineCloud, fed: Any, role_arn: str, expected: str
) -> None:
    assert refused(cloud, token(cloud), role=role_arn) == expected


def test_a_role_without_a_federated_trust_refuses_every_token(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    cloud.seed({"identities": ["nobody-app"]})
    nobody = f"arn:aws:iam::{ACCOUNT}:role/nobody-app"
    assert refused(cloud, token(cloud), role=nobody) == "403 AccessDenied"
    # the prefix trust on ops-app: its own repository only
    assert exchange(cloud, token(cloud, PR), OPS)[0] == 200
    evil = token(cloud, "repo:codehive/wallet-evil:ref:refs/heads/main")
    assert refused(cloud, evil, role=OPS) == "403 AccessDenied"
    assert refused(cloud, token(cloud, "repo:codehive/wallet2:pull_request"), role=OPS) == (
        "403 AccessDenied"
    )


def test_an_explicit_deny_in_the_trust_policy_wins(cloud: emulators.OfflineCloud, fed: Any) -> None:
    iam = fed.state.iam
    role = iam.get_role("ops-app")
    doc = json.loads(role.assume_role_policy_document)
    doc["Statement"].append({
        "Effect": "Deny", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {f"{GH}:sub": "*:pull_request"}},
    })  # fmt: skip
    iam.update_assume_role_policy("ops-app", json.dumps(doc))
    assert refused(cloud, token(cloud, PR), role=OPS) == "403 AccessDenied"
    assert exchange(cloud, token(cloud, MAIN), OPS)[0] == 200


def test_only_assume_role_with_web_identity_is_served_unsigned(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    env = cloud["aws"].env()
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    for body in (b"Action=GetCallerIdentity&Version=2011-06-15",
                 urlencode({"Action": "AssumeRole", "RoleArn": PROD,
                            "RoleSessionName": "x"}).encode(),
                 b"Action=ListRoles&Version=2010-05-08", b""):  # fmt: skip
        status, _h, payload = send(env, "/", form, body)
        assert (status, code_of(payload.decode())) == (403, "MissingAuthenticationToken"), body
    target = {"Content-Type": "application/x-amz-json-1.1",
              "X-Amz-Target": "secretsmanager.GetSecretValue"}  # fmt: skip
    _status, _h, payload = send(env, "/", target, b'{"SecretId": "prod-api-key"}')
    assert json.loads(payload)["__type"] == "MissingAuthenticationTokenException"
    # the unsigned call at another path is no call at all
    good = token(cloud)
    body = urlencode({"Action": "AssumeRoleWithWebIdentity", "RoleArn": PROD,
                      "RoleSessionName": "x", "WebIdentityToken": good}).encode()  # fmt: skip
    status, _h, payload = send(env, "/sts", form, body)
    assert status == 403 and b"MissingAuthenticationToken" in payload


def test_the_session_is_the_role_and_a_session_policy_narrows_it(
    cloud: emulators.OfflineCloud,
    fed: Any,
    client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    sts = client(None, "sts")  # signed by the admin: the signer does not matter
    out = sts.assume_role_with_web_identity(
        RoleArn=PROD, RoleSessionName="deploy", WebIdentityToken=token(cloud)
    )
    assert out["SubjectFromWebIdentityToken"] == MAIN and out["Audience"] == AUD
    creds = out["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    sm = session.client("secretsmanager")
    assert sm.get_secret_value(SecretId="prod-api-key")["Name"] == "prod-api-key"
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "AccessDeniedException"

    describe = {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*"}
    narrow = json.dumps({"Version": "2012-10-17", "Statement": [describe]})
    out = sts.assume_role_with_web_identity(
        RoleArn=PROD, RoleSessionName="narrow", WebIdentityToken=token(cloud), Policy=narrow
    )
    creds = out["Credentials"]
    narrowed = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    ).client("secretsmanager")
    assert narrowed.describe_secret(SecretId="prod-api-key")["Name"] == "prod-api-key"
    with pytest.raises(ClientError) as caught:
        narrowed.get_secret_value(SecretId="prod-api-key")
    assert error_code(caught.value) == "AccessDeniedException"
    assert "no session policy allows" in str(caught.value)


def test_the_seed_makes_one_provider_per_issuer_and_keeps_other_trust_statements(
    cloud: emulators.OfflineCloud, fed: Any
) -> None:
    iam = fed.state.iam
    k8s = cloud.oidc.kubernetes
    sa_subject = "system:serviceaccount:wallet:api"
    cloud.seed({"trusts": [
        {"identity": "dev-app", "issuer": "kubernetes", "subject": sa_subject},
        {"identity": "dev-app", "subject": "repo:codehive/wallet:environment:dev",
         "audience": "wallet-deploy"},
    ]})  # fmt: skip
    cloud.seed(SEED)  # seeding twice changes nothing
    urls = sorted(p.url for p in iam.open_id_providers.values())
    assert urls == sorted([GH, k8s.url.removeprefix("https://")])
    github = fed.state.provider_for_issuer(f"https://{GH}")
    assert github.client_id_list == [AUD, "wallet-deploy"]
    assert len(github.thumbprint_list[0]) == 40
    statements = json.loads(iam.get_role("dev-app").assume_role_policy_document)["Statement"]
    assert statements[0]["Action"] == "sts:AssumeRole"  # the seeded account trust, kept
    assert len(statements) == 4
    # a projected service-account token (aud is a list) for the kubernetes trust
    sa = cloud.oidc.mint("system:serviceaccount:wallet:api", AUD, issuer="kubernetes")
    assert exchange(cloud, sa, DEV)[0] == 200
    other_sa = cloud.oidc.mint("system:serviceaccount:wallet:web", AUD, issuer="kubernetes")
    assert refused(cloud, other_sa, role=DEV) == "403 AccessDenied"
    # the custom audience is accepted by the provider, and the trust pins it
    env_dev = "repo:codehive/wallet:environment:dev"
    assert exchange(cloud, token(cloud, env_dev, "wallet-deploy"), DEV)[0] == 200
    assert exchange(cloud, token(cloud, env_dev, AUD), DEV)[0] == 200  # the COURSE trust
    assert refused(cloud, token(cloud, MAIN, "wallet-deploy"), role=PROD) == "403 AccessDenied"


# -- subject patterns the seed refuses (issue 16) -----------------------------------------------
@pytest.mark.parametrize(
    "pattern",
    ["r*", "repo:c*", "repo:codehive*", "repo:codehive/*", "repo:codehive/wallet*", "repo:*"],
)
def test_a_pattern_that_names_no_exact_repository_is_refused_at_seeding(
    cloud: emulators.OfflineCloud, aws: Any, pattern: str
) -> None:
    from guardlib.emulators.seed import SeedError

    cloud.trusts.clear()
    wide = {"identity": "prod-app", "subject": pattern, "clouds": ["aws"]}
    with pytest.raises(SeedError, match="exact owner and repository before its"):
        cloud.seed({**COURSE, "trusts": [*COURSE["trusts"], wide]})
    cloud.trusts.clear()


def test_a_look_alike_repository_never_reads_prod(cloud: emulators.OfflineCloud, fed: Any) -> None:
    """With the course's trusts (and ops-app's ``repo:codehive/wallet:*``), a token from
    ``codehive-evil`` or ``codehive/wallet-evil`` becomes no role at all."""
    for subject in ("repo:codehive-evil/x:ref:refs/heads/main", "repo:codehive-evil/x:pull_request",
                    "repo:codehive/wallet-evil:ref:refs/heads/main"):  # fmt: skip
        for role in (PROD, DEV, OPS):
            assert refused(cloud, token(cloud, subject), role) == "403 AccessDenied"
