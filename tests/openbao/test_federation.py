"""Keyless deploys on OpenBao: its own JWT auth method, through hvac, on the real server.

Nothing here is emulated: OpenBao verifies the token (signature with the configured public
key, ``bound_issuer``, ``bound_audiences``, ``exp``/``nbf``) and the role's ``bound_claims``
on ``sub``, and answers with its own errors (``builtin/credential/jwt/path_login.go``:
"error validating token: ..." from the validator, "error validating claims: ..." from the
bound claims, "role %q could not be found"), which hvac raises as ``InvalidRequest`` (400).
The hostile cases come first.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from guardlib.emulators.kit import jwt
from guardlib.emulators.seed import COURSE, SeedError

from .conftest import read

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PR = "repo:codehive/wallet:pull_request"
DEV_ENV = "repo:codehive/wallet:environment:dev"
AUD = "https://github.com/codehive"
SA = "system:serviceaccount:wallet:api"
SUB_MISMATCH = (
    'error validating claims: claim "sub" does not match any associated bound claim values'
)
BAD_SIGNATURE = (
    "error validating token: error verifying token signature: no known key successfully "
    "validated the token signature"
)
EXPIRED = "error validating token: invalid expiration time (exp) claim: token is expired"


@pytest.fixture
def course(cloud: Any, vault: Any) -> Any:
    cloud.seed(COURSE)
    return vault


def client(vault: Any) -> hvac.Client:
    return hvac.Client(url=vault.addr)


def login(vault: Any, token: str, role: str = "prod-app", path: str = "jwt") -> hvac.Client:
    c = client(vault)
    c.auth.jwt.jwt_login(role=role, jwt=token, path=path)
    return c


def refused(vault: Any, token: str, role: str = "prod-app", path: str = "jwt") -> str:
    with pytest.raises(hvac.exceptions.InvalidRequest) as info:
        login(vault, token, role, path)
    assert token not in str(info.value)
    (error,) = info.value.errors
    return str(error)


def _forged(cloud: Any, kid: str | None) -> str:
    genuine = jwt.unverified_claims(cloud.oidc.mint(MAIN, AUD))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.sign(genuine, other, kid or cloud.oidc.github.key.kid)


# -- OpenBao refuses -----------------------------------------------------------------------------
def test_wrong_audience_is_refused(cloud, course):
    assert refused(course, cloud.oidc.mint(MAIN, "api://AzureADTokenExchange")) == (
        "error validating token: invalid audience (aud) claim: audience claim does not match any "
        "expected audience"
    )


def test_a_token_of_another_issuer_is_refused(cloud, course):
    # the cluster's token at GitHub's mount: not signed by the one key configured there
    k8s = cloud.oidc.mint(SA, AUD, issuer="kubernetes")
    assert refused(course, k8s) == BAD_SIGNATURE
    # GitHub's key, another iss: bound_issuer
    assert refused(course, cloud.oidc.mint(MAIN, AUD, claims={"iss": GITHUB_SLASH})) == (
        "error validating token: invalid issuer (iss) claim"
    )


GITHUB_SLASH = "https://token.actions.githubusercontent.com/"


@pytest.mark.parametrize("kid", [None, "another-kid"])
def test_a_token_signed_by_another_key_is_refused(cloud, course, kid):
    assert refused(course, _forged(cloud, kid)) == BAD_SIGNATURE


def test_unsigned_and_hs256_tokens_are_refused(cloud, course):
    genuine = cloud.oidc.mint(MAIN, AUD)
    none = jwt.b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    assert refused(course, f"{none}.{genuine.split('.')[1]}.") == BAD_SIGNATURE
    hs = jwt.b64url(json.dumps({"alg": "HS256", "kid": cloud.oidc.github.key.kid}).encode())
    assert refused(course, f"{hs}.{genuine.split('.', 1)[1]}") == BAD_SIGNATURE


def test_an_expired_token_is_refused(cloud, course):
    token = cloud.oidc.mint(MAIN, AUD, issued_at=int(time.time()) - 7200, lifetime=600)
    assert refused(course, token) == EXPIRED


def test_a_token_not_valid_yet_is_refused(cloud, course):
    token = cloud.oidc.mint(MAIN, AUD, issued_at=int(time.time()) + 600)
    assert refused(course, token) == (
        "error validating token: invalid not before (nbf) claim: token not yet valid"
    )


def test_replay_after_expiry_is_refused(cloud, course):
    # OpenBao accepts a token until 60 s after its exp (its default clock-skew leeway): mint
    # one with 4 s of that left, use it, then replay it once it is past
    token = cloud.oidc.mint(MAIN, AUD, issued_at=int(time.time()) - 600 - 56, lifetime=600)
    first = login(course, token)
    assert read(first, "prod-api-key") == {"value": "demo-not-a-real-key-prod"}
    time.sleep(5.5)
    assert refused(course, token) == EXPIRED


def test_a_pull_request_may_not_become_prod_app(cloud, course):
    assert refused(course, cloud.oidc.mint(PR, AUD)) == SUB_MISMATCH


@pytest.mark.parametrize(
    "sub", [MAIN + "\n", MAIN.upper(), MAIN + " ", MAIN + "2", "repo:codehive/wallet:ref:*"]
)
def test_subjects_match_exactly(cloud, course, sub):
    assert refused(course, cloud.oidc.mint(MAIN, AUD, claims={"sub": sub})) == SUB_MISMATCH


def test_main_may_not_become_another_identity(cloud, course):
    token = cloud.oidc.mint(MAIN, AUD)
    assert refused(course, token, "dev-app") == SUB_MISMATCH
    assert refused(course, token, "ops-app") == 'role "ops-app" could not be found'
    assert refused(course, token, "admin") == 'role "admin" could not be found'


def _post(vault: Any, body: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", vault.backend()[1], timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Vault-Token"] = token
    try:
        conn.request("POST", "/v1/auth/jwt/login", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_other_credentials_beside_the_token_do_not_help(cloud, course):
    # the analogue of a client secret beside an assertion: an AppRole pair, or the root token
    pr = cloud.oidc.mint(PR, AUD)
    role_id, secret_id = course.admin.approle("prod-app")
    body = {"role": "prod-app", "jwt": pr, "role_id": role_id, "secret_id": secret_id}
    assert _post(course, json.dumps(body)) == (400, {"errors": [SUB_MISMATCH]})
    assert _post(course, json.dumps({"role": "prod-app", "jwt": pr}), course.admin.token) == (
        400, {"errors": [SUB_MISMATCH]}
    )  # fmt: skip


def test_duplicate_keys_take_the_last_value_and_a_bad_token_never_rides_along(cloud, course):
    # Go's encoding/json keeps the last of duplicate keys: whichever token counts, it is checked
    main, pr = cloud.oidc.mint(MAIN, AUD), cloud.oidc.mint(PR, AUD)
    status, body = _post(course, f'{{"role": "prod-app", "jwt": "{main}", "jwt": "{pr}"}}')
    assert (status, body) == (400, {"errors": [SUB_MISMATCH]})
    status, body = _post(course, f'{{"role": "prod-app", "role": "dev-app", "jwt": "{main}"}}')
    assert (status, body) == (400, {"errors": [SUB_MISMATCH]})


def test_a_jwt_token_is_short_and_holds_only_the_identity_policy(cloud, course):
    c = login(course, cloud.oidc.mint(MAIN, AUD))
    me = c.auth.token.lookup_self()["data"]
    assert me["policies"] == ["default", "prod-app"]
    assert 0 < me["ttl"] <= 600 and me["explicit_max_ttl"] == 0
    assert me["meta"] == {"role": "prod-app"}
    assert me["display_name"] == f"jwt-{MAIN}"
    with pytest.raises(hvac.exceptions.Forbidden):
        read(c, "dev-api-key")


# -- seeding -------------------------------------------------------------------------------------
def test_the_course_seed_makes_a_mount_and_roles(cloud, course):
    admin = course.admin
    config = admin.request("GET", "auth/jwt/config")["data"]
    assert config["bound_issuer"] == "https://token.actions.githubusercontent.com"
    assert config["jwt_validation_pubkeys"] == [cloud.oidc.public_key_pem("github").strip()]
    assert config["oidc_discovery_url"] == "" and config["jwks_url"] == ""
    role = admin.request("GET", "auth/jwt/role/prod-app")["data"]
    assert {k: role[k] for k in ("role_type", "user_claim", "bound_audiences", "bound_claims",
                                 "bound_claims_type", "token_policies", "token_ttl")} == {
        "role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUD],
        "bound_claims": {"sub": [MAIN]}, "bound_claims_type": "string",
        "token_policies": ["prod-app"], "token_ttl": 600,
    }  # fmt: skip
    assert course.federation_audience("prod-app") == AUD
    assert course.federation_audience("nobody-app") == "vault"


def test_a_branch_pattern_is_a_glob_role(cloud, vault):
    pattern = "repo:codehive/wallet:ref:refs/heads/release-*"
    cloud.seed({**COURSE, "trusts": [{"identity": "prod-app", "subject": pattern,
                                      "clouds": ["vault"]}]})  # fmt: skip
    role = vault.admin.request("GET", "auth/jwt/role/prod-app")["data"]
    assert role["bound_claims_type"] == "glob"
    token = cloud.oidc.mint("repo:codehive/wallet:ref:refs/heads/release-2", AUD)
    assert read(login(vault, token), "prod-api-key")["value"] == "demo-not-a-real-key-prod"
    assert refused(vault, cloud.oidc.mint(MAIN, AUD)) == SUB_MISMATCH


def test_two_subjects_for_one_identity_share_its_role(cloud, vault):
    release = "repo:codehive/wallet:ref:refs/tags/v1.0.0"
    cloud.seed({**COURSE, "trusts": [*COURSE["trusts"], {"identity": "prod-app",
                                                         "subject": release}]})  # fmt: skip
    login(vault, cloud.oidc.mint(MAIN, AUD))
    login(vault, cloud.oidc.mint(release, AUD))
    assert refused(vault, cloud.oidc.mint(PR, AUD)) == SUB_MISMATCH


def test_a_named_audience_replaces_the_default(cloud, vault):
    cloud.seed({**COURSE, "trusts": [{"identity": "prod-app", "subject": MAIN,
                                      "audience": "openbao.codehive.example"}]})  # fmt: skip
    login(vault, cloud.oidc.mint(MAIN, "openbao.codehive.example"))
    assert refused(vault, cloud.oidc.mint(MAIN, AUD)).startswith(
        "error validating token: invalid audience (aud) claim"
    )
    assert vault.federation_audience("prod-app") == "openbao.codehive.example"


def test_conflicting_audiences_are_refused_before_anything_is_written(cloud, vault):
    trusts = [{"identity": "ci-app", "subject": MAIN},
              {"identity": "ci-app", "subject": DEV_ENV, "audience": "other"}]  # fmt: skip
    seed = {"secrets": {"x-key": {"value": "demo-x", "readers": ["ci-app"]}}, "trusts": trusts}
    with pytest.raises(SeedError, match=r"vault: trusts\[1\]: identity 'ci-app' already trusts"):
        cloud.seed(seed)
    assert vault.admin.request("LIST", "secret/metadata") == {}
    assert vault.admin.grants == {}


def test_a_kubernetes_service_account_logs_in_at_its_own_mount(cloud, vault):
    cloud.seed({**COURSE, "trusts": [{"identity": "prod-app", "issuer": "kubernetes",
                                      "subject": SA}]})  # fmt: skip
    token = cloud.oidc.mint(SA, "vault", issuer="kubernetes")
    assert read(login(vault, token, path="jwt-kubernetes"), "prod-api-key")
    config = vault.admin.request("GET", "auth/jwt-kubernetes/config")["data"]
    assert config["bound_issuer"] == cloud.oidc.kubernetes.url
    # a GitHub token at the cluster's mount: the wrong key
    assert refused(vault, cloud.oidc.mint(MAIN, "vault"), path="jwt-kubernetes") == BAD_SIGNATURE
    env = vault.federation_env("prod-app", cloud.oidc.write_token(token, "vault-k8s-test"))
    assert env["VAULT_AUTH_PATH"] == "jwt-kubernetes"


def test_reset_removes_the_roles(cloud, course):
    token = cloud.oidc.mint(MAIN, AUD)
    cloud.reset()
    assert refused(course, token) == 'role "prod-app" could not be found'
    cloud.seed(COURSE)
    login(course, token)


# -- the allow matrix in fresh processes ----------------------------------------------------------
SCRIPT = r"""
import os, sys
from pathlib import Path
import hvac, hvac.exceptions

client = hvac.Client()  # VAULT_ADDR only: no token
print("authenticated before login:", client.is_authenticated())
try:
    client.auth.jwt.jwt_login(role=os.environ["VAULT_AUTH_ROLE"],
                              jwt=Path(os.environ["VAULT_JWT_FILE"]).read_text(),
                              path=os.environ["VAULT_AUTH_PATH"])
except hvac.exceptions.VaultError as exc:
    print("refused", type(exc).__name__, exc.errors[0])
    sys.exit(0)
for name in sys.argv[1:]:
    try:
        answer = client.secrets.kv.v2.read_secret_version(path=name, mount_point="secret",
                                                          raise_on_deleted_version=True)
        print("read", answer["data"]["data"]["value"])
    except hvac.exceptions.VaultError as exc:
        print("refused", type(exc).__name__)
"""


def test_the_environment_has_no_static_credential(cloud, course):
    env = cloud.federation_env(MAIN)
    # VAULT_URL is Azure Key Vault's (the session cloud may hold Azure too)
    vault_vars = {k for k in env if k.startswith(("VAULT_", "BAO_")) and k != "VAULT_URL"}
    assert vault_vars == {"VAULT_ADDR", "VAULT_AUTH_ROLE", "VAULT_AUTH_PATH", "VAULT_JWT_FILE"}
    assert "VAULT_TOKEN" not in env and "BAO_TOKEN" not in env
    assert (env["VAULT_AUTH_ROLE"], env["VAULT_AUTH_PATH"]) == ("prod-app", "jwt")
    claims = jwt.unverified_claims(Path(env["VAULT_JWT_FILE"]).read_text())
    assert (claims["sub"], claims["aud"]) == (MAIN, AUD)
    assert oct(Path(env["VAULT_JWT_FILE"]).stat().st_mode)[-3:] == "600"


def test_main_branch_reads_prod_only_in_a_fresh_process(cloud, course, fresh_python):
    assert fresh_python(SCRIPT, cloud.federation_env(MAIN), "prod-api-key", "dev-api-key") == [
        "authenticated before login: False",
        "read demo-not-a-real-key-prod",
        "refused Forbidden",
    ]


def test_dev_environment_reads_dev_in_a_fresh_process(cloud, course, fresh_python):
    lines = fresh_python(
        SCRIPT, cloud.federation_env(DEV_ENV, identity="dev-app"), "dev-api-key", "prod-api-key"
    )
    assert lines[1:] == ["read demo-not-a-real-key-dev", "refused Forbidden"]


@pytest.mark.parametrize("identity", ["prod-app", "dev-app"])
def test_a_pull_request_is_refused_in_a_fresh_process(cloud, course, identity, fresh_python):
    lines = fresh_python(SCRIPT, cloud.federation_env(PR, identity=identity), "prod-api-key")
    assert lines[1:] == [f"refused InvalidRequest {SUB_MISMATCH}"]
