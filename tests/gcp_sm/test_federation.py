"""Keyless deploys on GCP: workload identity federation through the real google-auth.

The hostile cases come first: every token STS or IAM Credentials must refuse, with the real
services' answers. Texts were matched against published client logs and a published
measurement of Google's STS/IAM Credentials:

- STS ``invalid_grant`` "The audience in ID Token [...] does not match the expected audience.",
  "The issuer in ID Token ... does not match the expected one in config: ...", "ID Token issued
  at ... is stale to sign-in.", "Unable to verify the ID Token signature.", "Error connecting to
  the given credential's issuer."; ``unauthorized_client`` "The given credential is rejected by
  the attribute condition." (terraform-example-foundation #1362/#1404); ``invalid_request``
  'Invalid value for "audience". ...' (google-github-actions/auth #60, #211); ``invalid_target``
  'The target service indicated by the "audience" parameters is invalid. ...' (#334);
- IAM Credentials 403 PERMISSION_DENIED "Permission 'iam.serviceAccounts.getAccessToken' denied
  on resource (or it may not exist)." with an ErrorInfo IAM_PERMISSION_DENIED (auth #340, #455),
  400 for lifetimes of 0 s or over one hour.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core import exceptions
from google.auth import exceptions as auth_exceptions
from google.auth import identity_pool
from google.auth.transport.requests import Request
from google.cloud import secretmanager
from google.oauth2 import credentials as oauth2_credentials

from guardlib.emulators.gcp import cel
from guardlib.emulators.gcp.federation import SUBJECT_TOKEN_TYPE
from guardlib.emulators.kit import jwt
from guardlib.emulators.seed import COURSE, SeedError

from .conftest import PROJECT, PROJECT_NUMBER

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PR = "repo:codehive/wallet:pull_request"
DEV_ENV = "repo:codehive/wallet:environment:dev"
POOL = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/guard-github"
PROVIDER = f"{POOL}/providers/github"
STS_AUDIENCE = f"//iam.googleapis.com/{PROVIDER}"
TOKEN_AUDIENCE = f"https://iam.googleapis.com/{PROVIDER}"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
PROD = f"{PROJECT}/secrets/prod-api-key/versions/latest"
DEV = f"{PROJECT}/secrets/dev-api-key/versions/latest"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
DENIED = "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
CONDITION = "The given credential is rejected by the attribute condition."


def iam_url(identity: str) -> str:
    return (
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        f"{identity}@guard-demo.iam.gserviceaccount.com:generateAccessToken"
    )


@pytest.fixture
def course(cloud: Any, gcp: Any) -> Any:
    cloud.seed(COURSE)
    return gcp


def credentials(cloud: Any, gcp: Any, token: str, identity: str = "prod-app",
                impersonate: bool = True) -> identity_pool.Credentials:  # fmt: skip
    """google-auth's own credentials, from the file ``federation_env`` writes."""
    path = cloud.oidc.write_token(token, f"gcp-test-{identity}")
    env = gcp.federation_env(identity, path)
    info = json.loads(Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    if not impersonate:
        info.pop("service_account_impersonation_url")
    return identity_pool.Credentials.from_info(info, scopes=[CLOUD_PLATFORM])


def refused(creds: Any, kind: type[Exception] = auth_exceptions.RefreshError) -> tuple[str, Any]:
    """The error google-auth raises (``OAuthError`` for an STS refusal, ``RefreshError`` for an
    IAM Credentials one): (its message, the service's JSON answer)."""
    with pytest.raises(kind) as info:
        creds.refresh(Request())
    assert type(info.value) is kind
    message, body = info.value.args[0], info.value.args[1]
    assert "demo-not-a-real-key" not in str(info.value)
    return message, json.loads(body if isinstance(body, str) else json.dumps(body))


def sts_refusal(cloud: Any, gcp: Any, token: str, identity: str = "prod-app") -> dict[str, str]:
    creds = credentials(cloud, gcp, token, identity, impersonate=False)
    message, body = refused(creds, auth_exceptions.OAuthError)
    assert message == f"Error code {body['error']}: {body['error_description']}"
    return body


def exchange(cloud: Any, gcp: Any, subject: str = MAIN, **mint: Any) -> str:
    token = cloud.oidc.mint(subject, mint.pop("audience", TOKEN_AUDIENCE), **mint)
    creds = credentials(cloud, gcp, token, impersonate=False)
    creds.refresh(Request())
    assert creds.token.startswith("ya29.d.")
    return str(creds.token)


def with_token(token: str) -> secretmanager.SecretManagerServiceClient:
    return secretmanager.SecretManagerServiceClient(
        credentials=oauth2_credentials.Credentials(token=token)
    )


# -- STS refuses -------------------------------------------------------------------------------
def test_wrong_audience_is_refused(cloud, course):
    token = cloud.oidc.mint(MAIN, "sts.amazonaws.com")
    assert sts_refusal(cloud, course, token) == {
        "error": "invalid_grant",
        "error_description": "The audience in ID Token [sts.amazonaws.com] does not match the "
        "expected audience.",
    }


def test_the_provider_name_is_accepted_with_or_without_https(cloud, course):
    exchange(cloud, course, audience=TOKEN_AUDIENCE)
    exchange(cloud, course, audience=STS_AUDIENCE)


def test_a_token_of_another_issuer_is_refused(cloud, course):
    token = cloud.oidc.mint("system:serviceaccount:wallet:api", TOKEN_AUDIENCE,
                            issuer="kubernetes")  # fmt: skip
    body = sts_refusal(cloud, course, token)
    assert body == {
        "error": "invalid_grant",
        "error_description": f"The issuer in ID Token {cloud.oidc.kubernetes.url} does not "
        "match the expected one in config: https://token.actions.githubusercontent.com",
    }


def _forged(cloud: Any, kid: str | None) -> str:
    genuine = jwt.unverified_claims(cloud.oidc.mint(MAIN, TOKEN_AUDIENCE))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.sign(genuine, other, kid or cloud.oidc.github.key.kid)


def test_a_token_signed_by_another_key_is_refused(cloud, course):
    assert sts_refusal(cloud, course, _forged(cloud, None)) == {
        "error": "invalid_grant", "error_description": "Unable to verify the ID Token signature."
    }  # fmt: skip
    assert sts_refusal(cloud, course, _forged(cloud, "another-kid")) == {
        "error": "invalid_grant",
        "error_description": "Error connecting to the given credential's issuer.",
    }


def test_an_unsigned_token_is_refused(cloud, course):
    genuine = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE)
    head = jwt.b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = head + "." + genuine.split(".")[1] + "."
    body = sts_refusal(cloud, course, token)
    assert body["error"] == "invalid_grant"


def test_an_expired_token_is_refused(cloud, course):
    issued = int(time.time()) - 7200
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE, issued_at=issued, lifetime=600)
    assert sts_refusal(cloud, course, token) == {
        "error": "invalid_grant",
        "error_description": f"ID Token issued at {issued} is stale to sign-in.",
    }


def test_replay_after_expiry_is_refused_at_every_hop(cloud, course, http, monkeypatch):
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE, lifetime=300)
    creds = credentials(cloud, course, token)
    creds.refresh(Request())
    sa_token = creds.token
    federated = exchange(cloud, course, lifetime=300)
    assert with_token(sa_token).access_secret_version(name=PROD).payload.data.startswith(b"demo")
    monkeypatch.setattr(course.auth, "clock", lambda: time.time() + 3700)
    issued = jwt.unverified_claims(token)["iat"]
    # the OIDC token, replayed to STS
    assert sts_refusal(cloud, course, token)["error_description"] == (
        f"ID Token issued at {issued} is stale to sign-in."
    )
    # the federated token, replayed to IAM Credentials
    reply = http.post(iam_url("prod-app"), json={"scope": [CLOUD_PLATFORM]},
                        headers={"Authorization": f"Bearer {federated}"}, timeout=10)  # fmt: skip
    assert reply.status_code == 401 and reply.json()["error"]["status"] == "UNAUTHENTICATED"
    # the service account's token, replayed to Secret Manager
    with pytest.raises(exceptions.Unauthenticated):
        with_token(sa_token).access_secret_version(name=PROD)


def test_another_owner_fails_the_attribute_condition(cloud, course):
    token = cloud.oidc.mint("repo:evilcorp/wallet:ref:refs/heads/main", TOKEN_AUDIENCE)
    assert sts_refusal(cloud, course, token) == {
        "error": "unauthorized_client", "error_description": CONDITION
    }  # fmt: skip
    # the condition reads the claim, not the subject
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE, claims={"repository_owner": "evilcorp"})
    assert sts_refusal(cloud, course, token)["error"] == "unauthorized_client"
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE, claims={"repository_owner": None})
    assert sts_refusal(cloud, course, token)["error"] == "unauthorized_client"


# -- IAM Credentials refuses ---------------------------------------------------------------------
def _iam_denied(body: dict[str, Any]) -> None:
    assert body == {"error": {
        "code": 403, "message": DENIED, "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "IAM_PERMISSION_DENIED", "domain": "iam.googleapis.com",
                     "metadata": {"permission": "iam.serviceAccounts.getAccessToken"}}],
    }}  # fmt: skip


def test_a_pull_request_passes_sts_but_may_not_become_prod_app(cloud, course):
    exchange(cloud, course, PR)  # the owner condition holds: STS answers
    message, body = refused(credentials(cloud, course, cloud.oidc.mint(PR, TOKEN_AUDIENCE)))
    assert message == "Unable to acquire impersonated credentials"
    _iam_denied(body)


def test_main_may_not_become_another_service_account(cloud, course):
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE)
    for identity in ("dev-app", "admin", "nobody-here"):
        message, body = refused(credentials(cloud, course, token, identity=identity))
        _iam_denied(body)


def test_a_federated_token_is_no_service_account_token(cloud, course):
    federated = exchange(cloud, course)
    with pytest.raises(exceptions.PermissionDenied) as info:
        with_token(federated).access_secret_version(name=PROD)
    assert info.value.message == (
        f"Permission 'secretmanager.versions.access' denied for resource '{PROD}' "
        "(or it may not exist)."
    )


def _post(http: requests.Session, url: str, token: str | None, **kw: Any) -> requests.Response:
    headers = kw.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(url, headers=headers, timeout=10, **kw)


@pytest.mark.parametrize(
    ("lifetime", "message"),
    [("3601s", "can not have lifetimes of more than 1 hour"),
     ("43200s", "can not have lifetimes of more than 1 hour"),
     ("0s", "Lifetime of access token must be larger then zero."),
     ("3600", "Invalid value at 'lifetime'"), (3600, "Invalid value at 'lifetime'"),
     ("-5s", "Invalid value at 'lifetime'")],
)  # fmt: skip
def test_lifetimes_over_an_hour_or_not_durations_are_refused(cloud, course, http, lifetime,
                                                             message):  # fmt: skip
    federated = exchange(cloud, course)
    reply = _post(http, iam_url("prod-app"), federated,
                  json={"scope": [CLOUD_PLATFORM], "lifetime": lifetime})  # fmt: skip
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert reply.json()["error"]["message"].startswith(message)


def test_generate_access_token_answers_what_google_auth_parses(cloud, course, http):
    federated = exchange(cloud, course)
    reply = _post(
        http,
        iam_url("prod-app"),
        federated,
        json={"delegates": None, "scope": [CLOUD_PLATFORM], "lifetime": "600s"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"accessToken", "expireTime"}
    expires = time.mktime(time.strptime(body["expireTime"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 590 <= expires - time.time() <= 601
    assert with_token(body["accessToken"]).access_secret_version(name=PROD).payload.data == (
        b"demo-not-a-real-key-prod"
    )
    with pytest.raises(exceptions.PermissionDenied):
        with_token(body["accessToken"]).access_secret_version(name=DEV)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [(b'{"scope": ["x"], "scope": ["y"]}', {}, 400),
     (b'{"scope": [NaN]}', {}, 400),
     (b"[]", {}, 400),
     (b"\xff\xfe", {}, 400),
     (b'{"scope": ["' + CLOUD_PLATFORM.encode() + b'"], "extra": 1}', {}, 400),
     (b'{"scope": []}', {}, 400),
     (b'{"scope": "' + CLOUD_PLATFORM.encode() + b'"}', {}, 400),
     (b'{"scope": ["https://evil.example/auth"]}', {}, 400),
     (b'{"scope": ["' + CLOUD_PLATFORM.encode() + b'"], "delegates": ["x@y"]}', {}, 403),
     (b'{"scope": ["' + CLOUD_PLATFORM.encode() + b'"]}', {"Content-Type": "text/plain"}, 400)],
)  # fmt: skip
def test_malformed_generate_access_token_requests(cloud, course, http, body, headers, status):
    federated = exchange(cloud, course)
    headers = {"Content-Type": "application/json", **headers}
    reply = _post(http, iam_url("prod-app"), federated, data=body, headers=headers)
    assert reply.status_code == status, reply.text
    assert "error" in reply.json()


def test_generate_access_token_needs_a_bearer_and_post(cloud, course, http):
    body = {"scope": [CLOUD_PLATFORM]}
    reply = _post(http, iam_url("prod-app"), None, json=body)
    assert reply.status_code == 401 and "missing required authentication" in reply.text
    reply = _post(http, iam_url("prod-app"), "ya29.d.made-up", json=body)
    assert reply.status_code == 401 and "invalid authentication credentials" in reply.text
    federated = exchange(cloud, course)
    reply = http.get(iam_url("prod-app"), headers={"Authorization": f"Bearer {federated}"},
                     timeout=10)  # fmt: skip
    assert reply.status_code == 404
    other_project = iam_url("prod-app").replace("/projects/-/", "/projects/guard-demo/")
    _iam_denied(_post(http, other_project, federated, json=body).json())


def test_a_service_account_token_may_not_impersonate_without_a_grant(cloud, course, http):
    federated = exchange(cloud, course)
    sa = _post(http, iam_url("prod-app"), federated, json={"scope": [CLOUD_PLATFORM]}).json()
    reply = _post(http, iam_url("dev-app"), sa["accessToken"], json={"scope": [CLOUD_PLATFORM]})
    _iam_denied(reply.json())
    course.federation.grant(
        "dev-app@guard-demo.iam.gserviceaccount.com",
        "roles/iam.serviceAccountTokenCreator",
        "serviceAccount:prod-app@guard-demo.iam.gserviceaccount.com",
    )
    reply = _post(http, iam_url("dev-app"), sa["accessToken"], json={"scope": [CLOUD_PLATFORM]})
    assert reply.status_code == 200


# -- malformed token exchanges ------------------------------------------------------------------
def _form(token: str, **over: str) -> dict[str, str]:
    form = {"grant_type": EXCHANGE, "audience": STS_AUDIENCE, "scope": CLOUD_PLATFORM,
            "requested_token_type": ACCESS, "subject_token": token,
            "subject_token_type": SUBJECT_TOKEN_TYPE}  # fmt: skip
    form.update(over)
    return form


STS = "https://sts.googleapis.com/v1/token"


def test_the_json_form_google_github_actions_sends_is_accepted(cloud, course, http):
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE)
    camel = {"grantType": EXCHANGE, "audience": STS_AUDIENCE, "scope": CLOUD_PLATFORM,
             "requestedTokenType": ACCESS, "subjectToken": token,
             "subjectTokenType": "urn:ietf:params:oauth:token-type:id_token"}  # fmt: skip
    reply = http.post(STS, json=camel, timeout=10)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["token_type"] == "Bearer" and body["issued_token_type"] == ACCESS
    assert 3590 <= body["expires_in"] <= 3600


@pytest.mark.parametrize(
    ("over", "error", "text"),
    [({"grant_type": "client_credentials"}, "unsupported_grant_type", "grant_type"),
     ({"audience": f"https://iam.googleapis.com/{PROVIDER}"}, "invalid_request",
      'Invalid value for "audience". This value should be the full resource name'),
     ({"audience": "//iam.googleapis.com/" + PROVIDER.replace("github", "gitlab")},
      "invalid_target", 'The target service indicated by the "audience" parameters is invalid.'),
     ({"audience": STS_AUDIENCE.replace("/global/", "/europe-west1/")}, "invalid_target",
      "The target service"),
     ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request",
      "requested_token_type"),
     ({"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"}, "invalid_request",
      "subject_token_type"),
     ({"subject_token": ""}, "invalid_request", "subject_token"),
     ({"subject_token": "not.a.jwt"}, "invalid_grant", "Unable to parse"),
     ({"scope": "openid"}, "invalid_scope", "Invalid OAuth scope")],
)  # fmt: skip
def test_bad_exchange_parameters(cloud, course, http, over, error, text):
    reply = http.post(STS, data=_form(cloud.oidc.mint(MAIN, TOKEN_AUDIENCE), **over), timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"] == error and text in reply.json()["error_description"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"audience=a&audience=b", "application/x-www-form-urlencoded"),
     (b"grant_type=%ZZ&&=", "application/x-www-form-urlencoded"),
     (b'{"audience": "a", "audience": "b"}', "application/json"),
     (b'{"audience": "a", "subjectToken": "x", "subject_token": "y"}', "application/json"),
     (b'{"audience": NaN}', "application/json"),
     (b'["grant_type"]', "application/json"),
     (b'{"audience": 1}', "application/json"),
     (b"\xff", "application/x-www-form-urlencoded"),
     (b"a=b", "text/plain")],
)  # fmt: skip
def test_malformed_or_duplicated_exchange_bodies_are_refused(http, course, body, content_type):
    reply = http.post(STS, data=body, headers={"Content-Type": content_type}, timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"


def test_duplicate_subject_tokens_are_refused_even_if_both_are_valid(cloud, course, http):
    token = cloud.oidc.mint(MAIN, TOKEN_AUDIENCE)
    form = list(_form(token).items()) + [("subject_token", token)]
    reply = http.post(STS, data=form, timeout=10)
    assert reply.status_code == 400 and "Duplicate" in reply.json()["error_description"]


def test_sts_and_iamcredentials_answer_only_their_methods(course, http):
    assert http.get(STS, timeout=10).status_code == 405
    assert http.post("https://sts.googleapis.com/v1/introspect", timeout=10).status_code == 404
    reply = http.post(
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        "prod-app@guard-demo.iam.gserviceaccount.com:signBlob",
        timeout=10,
    )
    assert reply.status_code == 404


# -- the allow matrix in fresh processes ----------------------------------------------------------
SCRIPT = r"""
import json, sys
import google.auth
from google.api_core import exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request
from google.cloud import secretmanager

credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
print(type(credentials).__module__, project)
client = secretmanager.SecretManagerServiceClient()
for name in sys.argv[1:]:
    try:
        answer = client.access_secret_version(name=name, retry=None, timeout=30)
        print("read", answer.payload.data.decode())
    except exceptions.GoogleAPICallError as exc:
        print("refused", type(exc).__name__, exc.message)
try:
    credentials.refresh(Request())
    print("refresh ok")
except auth_exceptions.GoogleAuthError as exc:
    print(type(exc).__name__, json.dumps(exc.args))
"""


def test_the_environment_has_no_static_credential(cloud, course):
    env = cloud.federation_env(MAIN)
    info = json.loads(Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    assert info == {
        "type": "external_account",
        "audience": STS_AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "service_account_impersonation_url": iam_url("prod-app"),
        "credential_source": {"file": info["credential_source"]["file"]},
        "universe_domain": "googleapis.com",
    }
    token = Path(info["credential_source"]["file"]).read_text()
    assert jwt.unverified_claims(token)["aud"] == TOKEN_AUDIENCE
    assert env["GOOGLE_CLOUD_PROJECT"] == "guard-demo"
    assert not {"GCE_METADATA_HOST", "GCE_METADATA_IP"} & set(env)
    assert oct(Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).stat().st_mode)[-3:] == "600"


def test_main_branch_reads_prod_in_a_fresh_process(cloud, course, fresh_python):
    lines = fresh_python(
        SCRIPT, cloud.federation_env(MAIN), PROD, DEV, CLOUDSDK_CONFIG="/nonexistent"
    )
    assert lines[0] == "google.auth.identity_pool guard-demo"
    assert lines[1] == "read demo-not-a-real-key-prod"
    assert lines[2].startswith("refused PermissionDenied Permission 'secretmanager.versions.")
    assert lines[3] == "refresh ok"


def test_dev_environment_reads_dev_only_in_a_fresh_process(cloud, course, fresh_python):
    lines = fresh_python(
        SCRIPT,
        cloud.federation_env(DEV_ENV, identity="dev-app"),
        DEV,
        PROD,
        CLOUDSDK_CONFIG="/nonexistent",
    )
    assert lines[1:] == [
        "read demo-not-a-real-key-dev",
        f"refused PermissionDenied Permission 'secretmanager.versions.access' denied for "
        f"resource '{PROD}' (or it may not exist).",
        "refresh ok",
    ]


@pytest.mark.parametrize("identity", ["prod-app", "dev-app"])
def test_a_pull_request_is_refused_in_a_fresh_process(cloud, course, identity, fresh_python):
    lines = fresh_python(
        SCRIPT, cloud.federation_env(PR, identity=identity), PROD, CLOUDSDK_CONFIG="/nonexistent"
    )
    # the gRPC auth plugin fails, so the call fails with UNAVAILABLE carrying google-auth's error
    # (with the default retry, api_core retries it until its deadline: RetryError after 60 s)
    assert lines[1].startswith("refused ServiceUnavailable Getting metadata from plugin failed")
    assert "Unable to acquire impersonated credentials" in lines[1]
    assert "PERMISSION_DENIED" in lines[1] and "iam.serviceAccounts.getAccessToken" in lines[1]
    assert lines[2].startswith("RefreshError ")
    message, body = json.loads(lines[2][len("RefreshError ") :])
    assert message == "Unable to acquire impersonated credentials"
    _iam_denied(json.loads(body))


# -- seeding ----------------------------------------------------------------------------------
def test_the_course_seed_makes_pools_providers_and_bindings(course):
    provider = course.federation.providers[PROVIDER]
    assert provider.issuer_uri == "https://token.actions.githubusercontent.com"
    assert provider.allowed_audiences == ()
    assert provider.condition.source == "assertion.repository_owner == 'codehive'"
    assert set(provider.mapping) == {"google.subject", "attribute.repository",
                                     "attribute.repository_owner"}  # fmt: skip
    policy = course.federation.policies["prod-app@guard-demo.iam.gserviceaccount.com"]
    assert policy == {"roles/iam.workloadIdentityUser": {
        f"principal://iam.googleapis.com/{POOL}/subject/{MAIN}"}}  # fmt: skip
    assert course.federation_audience("prod-app") == TOKEN_AUDIENCE


def test_a_repository_wildcard_is_a_principal_set(cloud, gcp):
    cloud.seed({**COURSE, "trusts": [{"identity": "ci-app", "subject": "repo:codehive/wallet:*",
                                      "clouds": ["gcp"]}],
                "secrets": {"ci-key": {"value": "demo-not-a-real-key-ci",
                                       "readers": ["ci-app"]}}})  # fmt: skip
    policy = gcp.federation.policies["ci-app@guard-demo.iam.gserviceaccount.com"]
    assert policy["roles/iam.workloadIdentityUser"] == {
        f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/codehive/wallet"
    }
    for subject in (MAIN, PR):
        credentials(cloud, gcp, cloud.oidc.mint(subject, TOKEN_AUDIENCE), "ci-app").refresh(
            Request()
        )
    other = cloud.oidc.mint("repo:codehive/website:ref:refs/heads/main", TOKEN_AUDIENCE)
    _iam_denied(refused(credentials(cloud, gcp, other, "ci-app"))[1])


def test_a_branch_wildcard_gets_a_pool_of_its_own(cloud, gcp):
    cloud.seed({"trusts": [{"identity": "ci-app", "clouds": ["gcp"],
                            "subject": "repo:codehive/wallet:ref:refs/heads/*"}]})  # fmt: skip
    audience = gcp.federation_audience("ci-app")
    pool = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/guard-github-1"
    assert audience == f"https://iam.googleapis.com/{pool}/providers/github"
    provider = gcp.federation.providers[f"{pool}/providers/github"]
    assert provider.condition.source == (
        "(assertion.repository_owner == 'codehive') && "
        "assertion.sub.startsWith('repo:codehive/wallet:ref:refs/heads/')"
    )
    assert gcp.federation.policies["ci-app@guard-demo.iam.gserviceaccount.com"] == {
        "roles/iam.workloadIdentityUser": {f"principalSet://iam.googleapis.com/{pool}/*"}
    }
    credentials(cloud, gcp, cloud.oidc.mint(MAIN, audience), "ci-app").refresh(Request())
    body = sts_refusal(cloud, gcp, cloud.oidc.mint(PR, audience), "ci-app")
    assert body == {"error": "unauthorized_client", "error_description": CONDITION}
    # a token for the repository-wide pool is not one for this pool
    body = sts_refusal(cloud, gcp, cloud.oidc.mint(MAIN, TOKEN_AUDIENCE), "ci-app")
    assert body["error"] == "invalid_grant"


def test_a_named_audience_replaces_the_default(cloud, gcp):
    cloud.seed({"trusts": [{"identity": "prod-app", "subject": MAIN, "audience": "wallet-ci"}]})
    exchange(cloud, gcp, audience="wallet-ci")
    body = sts_refusal(cloud, gcp, cloud.oidc.mint(MAIN, TOKEN_AUDIENCE))
    assert body["error_description"].startswith(f"The audience in ID Token [{TOKEN_AUDIENCE}]")


def test_a_seeded_condition_is_enforced(cloud, gcp):
    cloud.seed({**COURSE, "gcp": {"attribute_conditions": {
        "github": "assertion.repository == 'codehive/wallet' && assertion.ref in "
                  "['refs/heads/main', 'refs/heads/release']"}}})  # fmt: skip
    exchange(cloud, gcp, MAIN)
    body = sts_refusal(cloud, gcp, cloud.oidc.mint(PR, TOKEN_AUDIENCE))
    assert body["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    "condition",
    ["__import__('os').system('true')", "assertion.sub == 'a' + 'b'", "size(assertion.sub) > 0",
     "assertion.sub.endsWith('main')", "true", "assertion.sub", "assertion.sub == ",
     "!(assertion.sub == 'x')", "assertion.sub == 1", "request.auth == 'x'",
     "assertion.sub == 'x' ? true : false", "google.groups == 'x'", "x" * 5000,
     "(" * 40 + "assertion.sub == 'x'" + ")" * 40],
)  # fmt: skip
def test_conditions_outside_the_cel_subset_are_seed_errors(cloud, gcp, condition):
    with pytest.raises(SeedError, match="attribute_conditions"):
        cloud.seed({**COURSE, "gcp": {"attribute_conditions": {"github": condition}}})
    assert gcp.federation.providers == {}  # nothing applied


def test_cel_subset_evaluates_like_cel():
    ctx = {"assertion": {"sub": "repo:a/b:pull_request", "owner": "a", "n": 1},
           "attribute": {}, "google": {"subject": "repo:a/b:pull_request"}}  # fmt: skip
    cases = {
        "assertion.owner == 'a'": True,
        "assertion.owner != 'a'": False,
        "assertion.owner in ['x', 'a']": True,
        "google.subject.startsWith('repo:a/')": True,
        "assertion.owner == 'x' || assertion.sub.startsWith('repo:a/b:')": True,
        "(assertion.owner == 'a' && assertion.owner == \"b\") || 'x' == 'x'": True,
        "'it\\'s' == \"it's\"": True,
    }
    for text, expected in cases.items():
        assert cel.parse_condition(text).evaluate(ctx) is expected, text
    for text in ("assertion.missing == 'a'", "assertion.n == '1'"):
        with pytest.raises(cel.CelError):
            cel.parse_condition(text).evaluate(ctx)


def test_a_kubernetes_service_account_reads_through_its_own_pool(cloud, gcp):
    subject = "system:serviceaccount:wallet:api"
    cloud.seed({**COURSE, "trusts": [
        {"identity": "dev-app", "issuer": "kubernetes", "subject": subject}]})  # fmt: skip
    pool = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/guard-kubernetes"
    assert gcp.federation_audience("dev-app") == (
        f"https://iam.googleapis.com/{pool}/providers/kubernetes"
    )
    provider = gcp.federation.providers[f"{pool}/providers/kubernetes"]
    assert provider.issuer_uri == cloud.oidc.kubernetes.url and provider.condition is None
    env = cloud.federation_env(subject, identity="dev-app", issuer="kubernetes")
    info = json.loads(Path(env["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())
    creds = identity_pool.Credentials.from_info(info, scopes=[CLOUD_PLATFORM])
    creds.refresh(Request())
    assert with_token(creds.token).access_secret_version(name=DEV).payload.data == (
        b"demo-not-a-real-key-dev"
    )
    # a GitHub token for the same subject string is another issuer's
    token = cloud.oidc.mint(MAIN, gcp.federation_audience("dev-app"))
    body = sts_refusal(cloud, gcp, token, "dev-app")
    assert body["error_description"].startswith("The issuer in ID Token https://token.actions")
