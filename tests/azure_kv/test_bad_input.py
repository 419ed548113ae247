"""The bad-input matrix: names and sizes, bad tokens, a wrong X-IDENTITY-HEADER, unknown
versions, disabled and deleted secrets. Every case goes through the real SDK."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.keyvault.secrets import SecretClient

from .conftest import VAULT_URL


class StaticToken:
    """A TokenCredential (the SDK's public protocol) that hands out one fixed token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


# -- names and sizes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["under_score", "dot.ted", "spa ce", "a" * 128, "ünïcode", "semi;colon"]
)
def test_invalid_names_are_bad_parameter(admin: SecretClient, name: str) -> None:
    with pytest.raises(HttpResponseError) as err:
        admin.set_secret(name, "demo-not-a-real-value")
    assert err.value.status_code == 400
    assert err.value.error.code == "BadParameter"
    with pytest.raises(HttpResponseError) as err:
        admin.get_secret(name)
    assert err.value.status_code == 400


def test_an_empty_name_puts_to_the_collection_which_is_405(admin: SecretClient) -> None:
    """``set_secret("", value)`` PUTs to ``/secrets/``: the collection takes GET only, so the
    service answers 405 MethodNotAllowed (issue 16), not an invalid name."""
    with pytest.raises(HttpResponseError) as err:
        admin.set_secret("", "demo-not-a-real-value")
    assert err.value.status_code == 405
    assert err.value.error.code == "MethodNotAllowed"
    assert "demo-not-a-real-value" not in str(err.value)
    with pytest.raises(HttpResponseError) as err:
        admin.get_secret("")
    assert err.value.status_code == 400


def test_an_empty_value_is_a_value(admin: SecretClient) -> None:
    """Key Vault stores an empty string (SecretSetParameters.value is any string)."""
    assert admin.set_secret("empty", "").value == ""
    assert admin.get_secret("empty").value == ""


@pytest.mark.parametrize("name", ["a", "A-1", "x" * 127, "0-9"])
def test_valid_names(admin: SecretClient, name: str) -> None:
    admin.set_secret(name, "demo-not-a-real-value")
    assert admin.get_secret(name).value == "demo-not-a-real-value"


def test_value_size_limit_is_25_kb(admin: SecretClient) -> None:
    limit = 25 * 1024
    admin.set_secret("big", "d" * limit)
    assert len(admin.get_secret("big").value) == limit
    with pytest.raises(HttpResponseError) as err:
        admin.set_secret("big", "d" * (limit + 1))
    assert err.value.status_code == 400
    assert err.value.error.code == "BadParameter"
    assert "d" * 50 not in str(err.value)  # no value in the message
    # multi-byte characters count as bytes
    with pytest.raises(HttpResponseError):
        admin.set_secret("big", "é" * (limit // 2 + 1))


def test_too_many_tags_and_long_content_type(admin: SecretClient) -> None:
    with pytest.raises(HttpResponseError) as err:
        admin.set_secret("t", "demo-not-a-real-value", tags={f"k{i}": "v" for i in range(16)})
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        admin.set_secret("t", "demo-not-a-real-value", content_type="x" * 256)
    assert err.value.status_code == 400


def test_page_size_above_25_is_bad_parameter(admin: SecretClient) -> None:
    admin.set_secret("one", "demo-not-a-real-value")
    with pytest.raises(HttpResponseError) as err:
        list(admin.list_properties_of_secrets(max_page_size=26))
    assert err.value.status_code == 400


# -- versions, disabled and deleted secrets ------------------------------------------------------
def test_unknown_version(admin: SecretClient) -> None:
    admin.set_secret("v", "demo-not-a-real-value")
    with pytest.raises(ResourceNotFoundError) as err:
        admin.get_secret("v", "0" * 32)
    assert err.value.error.code == "SecretNotFound"
    with pytest.raises(ResourceNotFoundError):
        admin.update_secret_properties("v", "f" * 32, enabled=False)


def test_unknown_secret(admin: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        admin.get_secret("never-set")
    assert err.value.status_code == 404
    assert err.value.error.code == "SecretNotFound"
    assert "never-set was not found in this key vault" in err.value.message


def test_disabled_secret_is_forbidden(admin: SecretClient) -> None:
    admin.set_secret("off", "demo-not-a-real-value", enabled=False)
    with pytest.raises(HttpResponseError) as err:
        admin.get_secret("off")
    exc = err.value
    assert exc.status_code == 403
    assert exc.error.code == "Forbidden"
    assert exc.error.message == "Operation get is not allowed on a disabled secret."
    assert "demo-not-a-real-value" not in str(exc)
    # still listed, with enabled False; and can be re-enabled
    assert [p.enabled for p in admin.list_properties_of_secrets()] == [False]
    admin.update_secret_properties("off", enabled=True)
    assert admin.get_secret("off").value == "demo-not-a-real-value"


def test_deleted_secret_operations(admin: SecretClient) -> None:
    admin.set_secret("del", "demo-not-a-real-value")
    admin.begin_delete_secret("del").wait()
    for call in (
        lambda: admin.get_secret("del"),
        lambda: admin.update_secret_properties("del", enabled=False),
        lambda: admin.backup_secret("del"),
        lambda: admin.begin_delete_secret("del"),
    ):
        with pytest.raises(ResourceNotFoundError):
            call()
    assert list(admin.list_properties_of_secret_versions("del")) == []  # no versions listed
    with pytest.raises(ResourceNotFoundError):
        admin.get_deleted_secret("never-deleted")
    with pytest.raises(ResourceNotFoundError):
        admin.begin_recover_deleted_secret("never-deleted")


# -- tokens --------------------------------------------------------------------------------------
def _client(token: str) -> SecretClient:
    return SecretClient(VAULT_URL, StaticToken(token))


def _expect_401(client: SecretClient) -> ClientAuthenticationError:
    with pytest.raises(ClientAuthenticationError) as err:
        client.get_secret("api")
    assert err.value.status_code == 401
    assert err.value.error.code == "Unauthorized"
    challenge = err.value.response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    return err.value


@pytest.fixture
def with_secret(admin: SecretClient, use_identity) -> None:
    admin.set_secret("api", "demo-not-a-real-value")
    use_identity(None)


def test_valid_static_token_works(azure, with_secret) -> None:
    assert _client(azure.issue_token(None)).get_secret("api").value == "demo-not-a-real-value"


def test_expired_token(azure, with_secret) -> None:
    exc = _expect_401(_client(azure.issue_token(None, lifetime=-60)))
    assert "expired" in exc.message


def test_wrong_audience_token_from_managed_identity(azure, with_secret) -> None:
    from azure.identity import ManagedIdentityCredential

    token = ManagedIdentityCredential().get_token("https://management.azure.com/.default").token
    exc = _expect_401(_client(token))
    assert "AKV10022: Invalid audience" in exc.message


def test_wrong_tenant_token(azure, with_secret) -> None:
    token = azure.issue_token(None, tenant="00000000-0000-0000-0000-000000000001")
    exc = _expect_401(_client(token))
    assert "AKV10032: Invalid issuer" in exc.message


def _forge(token: str, **claims: object) -> str:
    head, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    new_body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{new_body}.{sig}"


def test_forged_tokens(azure, cloud, with_secret) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    cloud.seed({"identities": ["nobody-app"]})
    # a nobody's token whose claims were edited to the administrator's object id
    nobody = azure.issue_token("nobody-app")
    exc = _expect_401(_client(_forge(nobody, oid=azure.principal(None).object_id)))
    assert "signature" in exc.message
    # a token signed by another key
    head, body, _ = azure.issue_token(None).split(".")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sig = other.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    forged = f"{head}.{body}." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    _expect_401(_client(forged))
    # not even a JWT
    _expect_401(_client("not-a-jwt"))
    # alg=none
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    _expect_401(_client(f"{none_head}.{body}."))


def test_missing_token_gets_the_challenge(cloud, use_identity) -> None:
    """The first, unauthenticated request: 401 + the exact challenge the SDK parses."""
    from azure.core import PipelineClient
    from azure.core.pipeline.policies import RetryPolicy
    from azure.core.rest import HttpRequest
    from azure.keyvault.secrets._shared.http_challenge import HttpChallenge

    from guardlib.emulators.azure import TENANT_ID

    use_identity(None)
    url = f"{VAULT_URL}/secrets/api?api-version=7.6"
    with PipelineClient(VAULT_URL, policies=[RetryPolicy(retry_total=0)]) as raw:
        response = raw.send_request(HttpRequest("GET", url))
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "Unauthorized",
        "message": "AKV10000: Request is missing a Bearer or PoP token.",
    }
    header = response.headers["WWW-Authenticate"]
    assert header == (
        f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
        'resource="https://vault.azure.net"'
    )
    challenge = HttpChallenge(url, header)
    assert challenge.tenant_id == TENANT_ID
    assert challenge.get_resource() == "https://vault.azure.net"


def test_plain_http_is_refused_by_the_sdk(azure, with_secret) -> None:
    client = SecretClient(
        "http://guard-demo.vault.azure.net", StaticToken(azure.issue_token()), retry_total=0
    )
    with pytest.raises(ServiceRequestError):
        client.get_secret("api")


# -- managed identity endpoint --------------------------------------------------------------------
def test_wrong_identity_header_is_rejected(cloud, use_identity, monkeypatch) -> None:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    use_identity(None)
    genuine = os.environ["IDENTITY_HEADER"]
    monkeypatch.setenv("IDENTITY_HEADER", genuine[:-1] + ("1" if genuine[-1] == "0" else "0"))
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token("https://vault.azure.net/.default")
    with pytest.raises(ClientAuthenticationError):
        SecretClient(VAULT_URL, DefaultAzureCredential()).get_secret("api")
    monkeypatch.setenv("IDENTITY_HEADER", "admin.")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token("https://vault.azure.net/.default")


def test_identity_not_assigned_to_this_site(cloud, azure, use_identity) -> None:
    from azure.identity import ManagedIdentityCredential

    cloud.seed({"identities": ["dev-app", "prod-app"]})
    use_identity("dev-app")
    # another identity's client id, and the (absent) system-assigned identity
    for cred in (
        ManagedIdentityCredential(client_id=azure.principal("prod-app").client_id),
        ManagedIdentityCredential(),
    ):
        with pytest.raises(ClientAuthenticationError):
            cred.get_token("https://vault.azure.net/.default")


def test_service_principal_wrong_secret_and_unknown_client(cloud, azure, use_identity) -> None:
    from azure.identity import ClientSecretCredential

    cloud.seed({"identities": ["ci-app"]})
    use_identity("ci-app")
    sp = azure.service_principal("ci-app")
    wrong = ClientSecretCredential(
        sp["AZURE_TENANT_ID"], sp["AZURE_CLIENT_ID"], "demo-wrong-secret"
    )
    with pytest.raises(ClientAuthenticationError) as err:
        wrong.get_token("https://vault.azure.net/.default")
    assert "AADSTS7000215" in str(err.value)
    assert "demo-wrong-secret" not in str(err.value)
    unknown = ClientSecretCredential(
        sp["AZURE_TENANT_ID"], "11111111-2222-3333-4444-555555555555", "demo-x"
    )
    with pytest.raises(ClientAuthenticationError) as err:
        unknown.get_token("https://vault.azure.net/.default")
    assert "AADSTS700016" in str(err.value)
