"""Keyless deploys on Azure: federated identity credentials through the real azure-identity.

The hostile cases come first: every assertion Entra must refuse, with Entra's own answer
(the codes and texts, and where they were matched, are in ``guardlib/emulators/azure/
federation.py``). azure-identity's ``WorkloadIdentityCredential`` reads the token file and
posts it as ``client_assertion``; a refusal is ``ClientAuthenticationError("Microsoft Entra
ID error '(<error>) <error_description>'")`` (``_internal/aad_client_base.py``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient
from cryptography.hazmat.primitives.asymmetric import rsa

from guardlib.emulators.azure import TENANT_ID
from guardlib.emulators.azure.federation import TOKEN_EXCHANGE_AUDIENCE, FederatedCredential
from guardlib.emulators.kit import jwt
from guardlib.emulators.seed import COURSE, SeedError

from .conftest import VAULT_URL

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PR = "repo:codehive/wallet:pull_request"
DEV_ENV = "repo:codehive/wallet:environment:dev"
GITHUB = "https://token.actions.githubusercontent.com"
SCOPE = "https://vault.azure.net/.default"
TOKEN_URL = f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CHECK = (
    "Check your federated identity credential Subject, Audience and Issuer against the presented "
    "assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
)


@pytest.fixture(autouse=True)
def _through_the_gateway(use_identity) -> None:
    use_identity(None)  # proxy and CA variables, so azure-identity reaches the emulated Entra


@pytest.fixture
def course(cloud: Any, azure: Any) -> Any:
    cloud.seed(COURSE)
    return azure


def credential(cloud: Any, azure: Any, token: str, identity: str = "prod-app") -> Any:
    """azure-identity's own WorkloadIdentityCredential, from the variables federation_env gives."""
    path = cloud.oidc.write_token(token, f"azure-test-{identity}")
    env = azure.federation_env(identity, path)
    return WorkloadIdentityCredential(
        tenant_id=env["AZURE_TENANT_ID"],
        client_id=env["AZURE_CLIENT_ID"],
        token_file_path=env["AZURE_FEDERATED_TOKEN_FILE"],
        authority=env["AZURE_AUTHORITY_HOST"],
    )


def refusal(cloud: Any, azure: Any, token: str, identity: str = "prod-app") -> dict[str, Any]:
    """Entra's JSON answer to ``token`` as ``identity``'s assertion, after checking that
    azure-identity raised ClientAuthenticationError with it."""
    cred = credential(cloud, azure, token, identity)
    with pytest.raises(ClientAuthenticationError) as info:
        cred.get_token(SCOPE)
    response = info.value.response
    assert response is not None
    body = json.loads(response.text())
    assert info.value.message.startswith(
        f"Microsoft Entra ID error '({body['error']}) {body['error_description']}'"
    )
    assert token not in str(info.value)
    code = body["error_codes"][0]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id",
                         "correlation_id", "error_uri"}  # fmt: skip
    assert (
        f"Trace ID: {body['trace_id']} Correlation ID: {body['correlation_id']}"
        in (body["error_description"])
    )
    body["status"] = info.value.status_code
    body["text"] = body["error_description"].split(" Trace ID: ")[0]
    return body


def exchange(cloud: Any, azure: Any, subject: str = MAIN, identity: str = "prod-app",
             **mint: Any) -> str:  # fmt: skip
    token = cloud.oidc.mint(subject, mint.pop("audience", TOKEN_EXCHANGE_AUDIENCE), **mint)
    return str(credential(cloud, azure, token, identity).get_token(SCOPE).token)


def _forged(cloud: Any, kid: str | None) -> str:
    genuine = jwt.unverified_claims(cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.sign(genuine, other, kid or cloud.oidc.github.key.kid)


# -- Entra refuses -----------------------------------------------------------------------------
def test_wrong_audience_is_refused(cloud, course):
    body = refusal(cloud, course, cloud.oidc.mint(MAIN, "sts.amazonaws.com"))
    assert (body["status"], body["error"], body["error_codes"]) == (401, "invalid_client", [700212])
    assert body["text"] == (
        "AADSTS700212: No matching federated identity record found for presented assertion "
        f"audience 'sts.amazonaws.com'. {CHECK}"
    )


def test_a_token_of_another_issuer_is_refused(cloud, course):
    token = cloud.oidc.mint("system:serviceaccount:wallet:api", TOKEN_EXCHANGE_AUDIENCE,
                            issuer="kubernetes")  # fmt: skip
    body = refusal(cloud, course, token)
    assert (body["status"], body["error"]) == (401, "invalid_client")
    assert body["text"] == (
        "AADSTS700211: No matching federated identity record found for presented assertion "
        f"issuer '{cloud.oidc.kubernetes.url}'. {CHECK}"
    )


def test_an_issuer_with_a_trailing_slash_is_another_issuer(cloud, course):
    token = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE, claims={"iss": GITHUB + "/"})
    assert refusal(cloud, course, token)["error_codes"] == [700211]


def test_a_token_signed_by_another_key_is_refused(cloud, course):
    body = refusal(cloud, course, _forged(cloud, None))
    assert (body["status"], body["error"]) == (401, "invalid_client")
    assert body["text"] == (
        "AADSTS50013: Assertion failed signature validation. [Reason - The provided signature "
        "value did not match the expected signature value.]"
    )
    body = refusal(cloud, course, _forged(cloud, "d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819203"))
    assert body["text"] == (
        "AADSTS7000272: The certificate with identifier d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f70819203 "
        "used to sign the federated credential could not be found in the metadata of identity "
        f"provider {GITHUB}. Please validate that your Identity Provider's metadata exposes the "
        "key used to sign the incoming token."
    )


def test_unsigned_and_hs256_tokens_are_refused(cloud, course):
    genuine = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE)
    none = jwt.b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    assert refusal(cloud, course, f"{none}.{genuine.split('.')[1]}.")["error_codes"] == [50027]
    hs = jwt.b64url(json.dumps({"alg": "HS256", "kid": cloud.oidc.github.key.kid}).encode())
    forged = f"{hs}.{genuine.split('.')[1]}.{genuine.split('.')[2]}"
    assert refusal(cloud, course, forged)["error_codes"] == [50013]


def test_an_expired_token_is_refused(cloud, course):
    issued = 1_700_000_000
    token = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE, issued_at=issued, lifetime=600)
    body = refusal(cloud, course, token)
    assert (body["status"], body["error"], body["error_codes"]) == (401, "invalid_client", [700024])
    text = body["text"]
    assert text.startswith("AADSTS700024: Client assertion is not within its valid time range. "
                           "Current time: 20")  # fmt: skip
    assert text.endswith(
        ", assertion valid from 2023-11-14T22:13:20.0000000Z, expiry time of assertion "
        "2023-11-14T22:23:20.0000000Z. Review the documentation at "
        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
    )


def test_replay_after_expiry_is_refused(cloud, course, monkeypatch):
    token = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE, lifetime=300)
    access = credential(cloud, course, token).get_token(SCOPE).token
    with SecretClient(VAULT_URL, _Static(access)) as client:
        assert client.get_secret("prod-api-key").value == "demo-not-a-real-key-prod"
    # the same assertion, an hour later (a leaked CI log, a token file copied off a runner)
    monkeypatch.setattr(course.app.identity, "clock", lambda: time.time() + 3600)
    assert refusal(cloud, course, token)["error_codes"] == [700024]


def test_a_pull_request_may_not_become_prod_app(cloud, course):
    body = refusal(cloud, course, cloud.oidc.mint(PR, TOKEN_EXCHANGE_AUDIENCE))
    assert (body["status"], body["error"]) == (401, "invalid_client")
    assert body["text"] == (
        "AADSTS700213: No matching federated identity record found for presented assertion "
        f"subject '{PR}'. {CHECK}"
    )


@pytest.mark.parametrize(
    "sub", [MAIN + "\n", MAIN.upper(), MAIN + " ", "repo:codehive/wallet:ref:refs/heads/main2"]
)
def test_subjects_match_exactly_and_case_sensitively(cloud, course, sub):
    token = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE, claims={"sub": sub})
    body = refusal(cloud, course, token)
    assert body["error_codes"] == [700213]
    assert "\n" not in body["error_description"]  # quoted escaped, never a forged log line


def test_main_may_not_become_another_app(cloud, course):
    # dev-app trusts only the dev environment; ops-app has no federated credential at all
    token = cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE)
    assert refusal(cloud, course, token, "dev-app")["error_codes"] == [700213]
    body = refusal(cloud, course, token, "ops-app")
    assert body["text"] == (
        "AADSTS70021: No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{GITHUB}'. Assertion Subject: '{MAIN}'. Assertion Audience: "
        f"'{TOKEN_EXCHANGE_AUDIENCE}'. https://learn.microsoft.com/entra/workload-id/"
        "workload-identity-federation"
    )


def _form(cloud: Any, azure: Any, **over: str) -> dict[str, str]:
    form = {
        "client_assertion": cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE),
        "client_assertion_type": JWT_BEARER,
        "client_id": azure.principal("prod-app").client_id,
        "grant_type": "client_credentials",
        "scope": SCOPE,
    }
    form.update(over)
    return form


def test_the_raw_exchange_answers_what_azure_identity_parses(cloud, course, http):
    reply = http.post(TOKEN_URL, data=_form(cloud, course), timeout=10)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    claims = jwt.unverified_claims(body["access_token"])
    assert claims["appid"] == course.principal("prod-app").client_id
    assert claims["aud"] == "https://vault.azure.net"


def test_an_assertion_and_a_client_secret_at_once_are_refused(cloud, course, http):
    secret = course.service_principal("prod-app")["AZURE_CLIENT_SECRET"]
    reply = http.post(TOKEN_URL, data=_form(cloud, course, client_secret=secret), timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_request"
    assert reply.json()["error_codes"] == [9002313]
    assert secret not in reply.text


@pytest.mark.parametrize("name", ["client_id", "client_assertion", "scope", "grant_type"])
def test_duplicate_form_parameters_are_refused(cloud, course, http, name):
    form = _form(cloud, course)
    other = {
        "client_id": course.principal("dev-app").client_id,
        "client_assertion": cloud.oidc.mint(PR, TOKEN_EXCHANGE_AUDIENCE),
        "scope": "https://management.azure.com/.default",
        "grant_type": "client_credentials",
    }[name]
    pairs = list(form.items()) + [(name, other)]
    reply = http.post(TOKEN_URL, data=pairs, timeout=10)
    assert reply.status_code == 400 and reply.json()["error_codes"] == [9002313]


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, 400,
      9002313),
     ({"client_assertion": ""}, 400, 9002313),
     ({"client_assertion": "not.a.jwt"}, 400, 50027),
     ({"client_id": "11111111-2222-3333-4444-555555555555"}, 400, 700016)],
)  # fmt: skip
def test_bad_exchange_parameters(cloud, course, http, over, status, code):
    reply = http.post(TOKEN_URL, data=_form(cloud, course, **over), timeout=10)
    assert reply.status_code == status and reply.json()["error_codes"] == [code]


def test_neither_secret_nor_assertion_is_refused(cloud, course, http):
    form = _form(cloud, course)
    del form["client_assertion"], form["client_assertion_type"]
    reply = http.post(TOKEN_URL, data=form, timeout=10)
    assert reply.status_code == 401
    assert reply.json()["error_description"].startswith(
        "AADSTS7000218: The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'."
    )


def test_an_entra_access_token_is_no_assertion(cloud, course):
    entra = course.issue_token("prod-app", audience=TOKEN_EXCHANGE_AUDIENCE)
    assert refusal(cloud, course, entra)["error_codes"] == [700211]


def test_a_github_token_is_no_key_vault_token(cloud, course):
    token = cloud.oidc.mint(MAIN, "https://vault.azure.net")
    with SecretClient(VAULT_URL, _Static(token)) as client:
        with pytest.raises(ClientAuthenticationError) as info:
            client.get_secret("prod-api-key")
    assert info.value.status_code == 401
    assert "AKV10046: Unable to resolve the key used for signature validation." in str(info.value)


# -- seeding ------------------------------------------------------------------------------------
def test_the_course_seed_makes_federated_credentials(course):
    assert course.federated_credentials("prod-app") == [
        FederatedCredential("github-1", GITHUB, MAIN, (TOKEN_EXCHANGE_AUDIENCE,))
    ]
    assert course.federated_credentials("dev-app") == [
        FederatedCredential("github-1", GITHUB, DEV_ENV, (TOKEN_EXCHANGE_AUDIENCE,))
    ]
    assert course.federated_credentials("ops-app") == []
    assert course.federation_audience("prod-app") == TOKEN_EXCHANGE_AUDIENCE


def test_a_wildcard_subject_is_refused_for_azure_and_changes_nothing(cloud, azure):
    seed = {"secrets": {"x-key": {"value": "demo-x", "readers": ["ci-app"]}},
            "trusts": [{"identity": "ci-app", "subject": "repo:codehive/wallet:*"}]}  # fmt: skip
    with pytest.raises(SeedError, match=r"azure: trusts\[0\]: Entra federated identity "
                       "credentials match the subject exactly"):  # fmt: skip
        cloud.seed(seed)
    assert azure.state.vault("guard-demo").secrets == {}


def test_a_named_audience_replaces_the_default(cloud, azure):
    cloud.seed({**COURSE, "trusts": [{"identity": "prod-app", "subject": MAIN,
                                      "audience": "api://codehive-deploy"}]})  # fmt: skip
    assert exchange(cloud, azure, audience="api://codehive-deploy")
    body = refusal(cloud, azure, cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE))
    assert body["error_codes"] == [700212]


def test_a_kubernetes_service_account_through_its_own_credential(cloud, azure):
    sa = "system:serviceaccount:wallet:api"
    cloud.seed({**COURSE, "trusts": [{"identity": "prod-app", "issuer": "kubernetes",
                                      "subject": sa}]})  # fmt: skip
    assert exchange(cloud, azure, sa, issuer="kubernetes")
    assert refusal(cloud, azure, cloud.oidc.mint(MAIN, TOKEN_EXCHANGE_AUDIENCE))["error_codes"] == [
        700211
    ]


def test_reset_forgets_federated_credentials(cloud, course):
    cloud.reset()
    assert course.federated_credentials("prod-app") == []


# -- the allow matrix in fresh processes ----------------------------------------------------------
SCRIPT = r"""
import os, sys
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

with SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential()) as client:
    for name in sys.argv[1:]:
        try:
            print("read", client.get_secret(name).value)
        except ClientAuthenticationError as exc:
            print("refused", type(exc).__name__, exc.message.replace("\n", " | "))
        except HttpResponseError as exc:
            print("refused", exc.status_code, exc.error.code if exc.error else "")
"""


def test_the_environment_has_no_static_credential(cloud, course):
    env = cloud.federation_env(MAIN)
    azure_vars = {k: v for k, v in env.items() if k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    assert set(azure_vars) == {"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE",
                               "AZURE_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS"}  # fmt: skip
    assert env["AZURE_CLIENT_ID"] == course.principal("prod-app").client_id
    assert env["AZURE_TENANT_ID"] == TENANT_ID
    assert env["AZURE_AUTHORITY_HOST"] == "https://login.microsoftonline.com"
    assert env["VAULT_URL"] == VAULT_URL
    secret = course.service_principal("prod-app")["AZURE_CLIENT_SECRET"]
    assert secret not in json.dumps(env)
    with open(env["AZURE_FEDERATED_TOKEN_FILE"]) as fh:
        claims = jwt.unverified_claims(fh.read())
    assert (claims["sub"], claims["aud"]) == (MAIN, TOKEN_EXCHANGE_AUDIENCE)


def test_main_branch_reads_prod_only_in_a_fresh_process(cloud, course, fresh_python):
    assert fresh_python(SCRIPT, cloud.federation_env(MAIN), "prod-api-key", "dev-api-key") == [
        "read demo-not-a-real-key-prod",
        "refused 403 Forbidden",
    ]


def test_dev_environment_reads_dev_in_a_fresh_process(cloud, course, fresh_python):
    lines = fresh_python(
        SCRIPT, cloud.federation_env(DEV_ENV, identity="dev-app"), "dev-api-key", "prod-api-key"
    )
    assert lines == ["read demo-not-a-real-key-dev", "refused 403 Forbidden"]


@pytest.mark.parametrize("identity", ["prod-app", "dev-app"])
def test_a_pull_request_is_refused_in_a_fresh_process(cloud, course, identity, fresh_python):
    (line,) = fresh_python(SCRIPT, cloud.federation_env(PR, identity=identity), "prod-api-key")
    assert line.startswith("refused ClientAuthenticationError DefaultAzureCredential failed to "
                           "retrieve a token from the included credentials.")  # fmt: skip
    assert ("WorkloadIdentityCredential: Microsoft Entra ID error '(invalid_client) AADSTS700213: "
            f"No matching federated identity record found for presented assertion subject '{PR}'. "
            ) in line  # fmt: skip
    assert "ManagedIdentityCredential" not in line  # the chain stopped at the refusal


class _Static:
    """A credential that hands out one fixed access token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 600)
