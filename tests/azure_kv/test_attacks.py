"""What a hostile client on the same machine tries: credentials computed from the source,
forged tokens, and malformed requests over a raw TLS socket through the gateway. Every
refusal must be the real service's error, never a dropped connection, a hang or a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import time
import uuid

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.keyvault.secrets import SecretClient

from guardlib.emulators.seed import SeedSpec

from .conftest import SEED, VAULT_URL

HOST = "guard-demo.vault.azure.net"
#: the uuid5 namespace the emulator once derived every id from (it was in the source)
OLD_NAMESPACE = uuid.UUID("5f0c1d2e-8a4b-4c6d-9e7f-0a1b2c3d4e5f")


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- credentials cannot be computed from the source -------------------------------------------
def test_old_computable_client_secret_is_refused(cloud, azure, use_identity) -> None:
    from azure.identity import ClientSecretCredential

    cloud.seed(SEED)
    use_identity(None)
    sp = azure.service_principal("ops-app")
    assert sp["AZURE_CLIENT_SECRET"] != "demo-not-a-real-client-secret-ops-app"
    old = ClientSecretCredential(
        sp["AZURE_TENANT_ID"], sp["AZURE_CLIENT_ID"], "demo-not-a-real-client-secret-ops-app"
    )
    with pytest.raises(ClientAuthenticationError) as err:
        old.get_token("https://vault.azure.net/.default")
    assert "AADSTS7000215" in str(err.value)
    # the wire answer, as MSAL reads it
    import requests

    form = {
        "grant_type": "client_credentials",
        "client_id": sp["AZURE_CLIENT_ID"],
        "client_secret": "demo-not-a-real-client-secret-ops-app",
        "scope": "https://vault.azure.net/.default",
    }
    url = f"https://login.microsoftonline.com/{sp['AZURE_TENANT_ID']}/oauth2/v2.0/token"
    answer = requests.post(url, data=form, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_codes"] == [7000215]


def test_ids_are_not_derived_from_the_name(cloud, azure, use_identity) -> None:
    from azure.identity import ClientSecretCredential

    cloud.seed(SEED)
    use_identity(None)
    principal = azure.principal("ops-app")
    old_client = str(uuid.uuid5(OLD_NAMESPACE, "client:ops-app"))
    old_object = str(uuid.uuid5(OLD_NAMESPACE, "object:ops-app"))
    assert principal.client_id != old_client
    assert principal.object_id != old_object
    assert cloud.env("ops-app")["AZURE_CLIENT_ID"] == principal.client_id
    for derived in (
        str(uuid.uuid5(uuid.NAMESPACE_DNS, "ops-app")),
        hashlib.sha256(b"ops-app").hexdigest()[:32],
    ):
        assert derived not in (principal.client_id, principal.object_id)
    tenant = azure.service_principal("ops-app")["AZURE_TENANT_ID"]
    guessed = ClientSecretCredential(tenant, old_client, "demo-not-a-real-client-secret-ops-app")
    with pytest.raises(ClientAuthenticationError) as err:
        guessed.get_token("https://vault.azure.net/.default")
    assert "AADSTS700016" in str(err.value)


def test_old_client_id_is_no_managed_identity(cloud, use_identity) -> None:
    from azure.identity import ManagedIdentityCredential

    cloud.seed(SEED)
    use_identity("dev-app")
    cred = ManagedIdentityCredential(client_id=str(uuid.uuid5(OLD_NAMESPACE, "client:dev-app")))
    with pytest.raises(ClientAuthenticationError):
        cred.get_token("https://vault.azure.net/.default")


def test_credentials_are_stable_across_reset_and_reseed(cloud, azure) -> None:
    cloud.seed(SEED)
    before = (azure.service_principal("dev-app"), cloud.env("dev-app"))
    before_oid = azure.principal("dev-app").object_id
    cloud.reset()
    cloud.seed(SEED)
    assert (azure.service_principal("dev-app"), cloud.env("dev-app")) == before
    assert azure.principal("dev-app").object_id == before_oid


def test_credentials_differ_between_two_starts(cloud, azure) -> None:
    from guardlib.emulators.azure import AzureEmulator

    cloud.seed(SEED)
    other = AzureEmulator()
    other.start(cloud.context)
    try:
        other.apply_seed(SeedSpec.parse(SEED))
        mine, theirs = azure.service_principal("dev-app"), other.service_principal("dev-app")
        assert mine["AZURE_CLIENT_ID"] != theirs["AZURE_CLIENT_ID"]
        assert mine["AZURE_CLIENT_SECRET"] != theirs["AZURE_CLIENT_SECRET"]
        assert azure.principal("dev-app").object_id != other.principal("dev-app").object_id
        assert cloud.env("dev-app")["IDENTITY_HEADER"] != other.env("dev-app")["IDENTITY_HEADER"]
    finally:
        other.stop()


def test_identity_header_cannot_be_made_without_the_key(cloud, use_identity, monkeypatch) -> None:
    from azure.identity import ManagedIdentityCredential

    cloud.seed(SEED)
    use_identity("dev-app")
    for guess in (
        "admin." + hmac.new(b"", b"admin", hashlib.sha256).hexdigest()[:32],
        "admin." + hashlib.sha256(b"admin").hexdigest()[:32],
        "admin",
    ):
        monkeypatch.setenv("IDENTITY_HEADER", guess)
        with pytest.raises(ClientAuthenticationError):
            ManagedIdentityCredential().get_token("https://vault.azure.net/.default")


# -- forged and odd tokens: 401 with the real challenge ------------------------------------------
def _expect_401(token: str) -> ClientAuthenticationError:
    from guardlib.emulators.azure import TENANT_ID

    client = SecretClient(VAULT_URL, StaticToken(token), retry_total=0)
    with pytest.raises(ClientAuthenticationError) as err:
        client.get_secret("prod-api-key")
    assert err.value.status_code == 401
    assert err.value.error.code == "Unauthorized"
    assert err.value.response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
        'resource="https://vault.azure.net"'
    )
    assert "demo-not-a-real" not in str(err.value)
    return err.value


@pytest.fixture
def seeded_admin(cloud, use_identity) -> None:
    cloud.seed(SEED)
    use_identity(None)


@pytest.mark.usefixtures("seeded_admin")
def test_signed_token_with_edited_claims_still_works_only_when_genuine(azure) -> None:
    # the control: the emulator's own token with default claims reads the secret
    client = SecretClient(VAULT_URL, StaticToken(azure.issue_token(None)))
    assert client.get_secret("prod-api-key").value == "demo-not-a-real-key-prod"


@pytest.mark.usefixtures("seeded_admin")
@pytest.mark.parametrize(
    "claims",
    [
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": "99999999999"},
        {"exp": 10**30},
        {"exp": True},
        {"exp": None},
        {"nbf": float("nan")},
        {"nbf": "0"},
        {"nbf": int(time.time()) + 7200},
        {"iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000001/"},
        {"tid": "00000000-0000-0000-0000-000000000001"},
        {"aud": "https://management.azure.com"},
        {"aud": ["https://vault.azure.net"]},
        {"oid": None},
    ],
    ids=lambda c: "-".join(f"{k}={v!r}"[:30] for k, v in c.items()),
)
def test_genuinely_signed_token_with_bad_claims(azure, claims) -> None:
    _expect_401(azure.issue_token(None, claims=claims))


@pytest.mark.usefixtures("seeded_admin")
def test_token_with_unknown_kid(azure) -> None:
    exc = _expect_401(azure.issue_token(None, header={"kid": "someone-elses-key"}))
    assert "AKV10046" in exc.message


@pytest.mark.usefixtures("seeded_admin")
def test_alg_none_and_hs256_with_the_public_key(azure) -> None:
    from cryptography.hazmat.primitives import serialization

    genuine = azure.issue_token(None)
    head, body, _ = genuine.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    for alg in ("none", "None", "NONE"):
        forged_head = _b64(json.dumps({**header, "alg": alg}).encode())
        _expect_401(f"{forged_head}.{body}.")
        _expect_401(f"{forged_head}.{body}")
    public = azure.issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = _b64(json.dumps({**header, "alg": "HS256"}).encode())
    mac = hmac.new(public, f"{hs_head}.{body}".encode(), hashlib.sha256).digest()
    _expect_401(f"{hs_head}.{body}.{_b64(mac)}")


@pytest.mark.usefixtures("seeded_admin")
@pytest.mark.parametrize(
    "token",
    ["a.b.c", "..", "e30.e30.", "x" * 20000, "eyJ" + "A" * 50 + ".." + "e30"],
)
def test_garbage_tokens(token) -> None:
    _expect_401(token)


# -- raw TLS through the gateway ------------------------------------------------------------------
def _raw(cloud, request: bytes, host: str = HOST, timeout: float = 3.0) -> tuple[int, dict, bytes]:
    """Send ``request`` on a fresh TLS connection tunnelled by the gateway; read one answer."""
    gw_host, gw_port = cloud.gateway.url.removeprefix("http://").split(":")
    sock = socket.create_connection((gw_host, int(gw_port)), timeout=timeout)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        assert chunk, "the gateway closed the tunnel"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    ctx = ssl.create_default_context(cafile=str(cloud.ca.cert_path))
    tls = ctx.wrap_socket(sock, server_hostname=host)
    try:
        tls.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            assert chunk, f"connection dropped without an answer: {data[:200]!r}"
            data += chunk
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = 0 if request.startswith(b"HEAD ") else int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = tls.recv(65536)
            assert chunk, "connection dropped mid-answer"
            rest += chunk
        return status, headers, rest[:length]
    finally:
        tls.close()


def _request(method: str, path: str, body: bytes = b"", token: str = "", **extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if "content_length" in extra:
        lines.append(f"Content-Length: {extra.pop('content_length')}")
    elif body:
        lines.append(f"Content-Length: {len(body)}")
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _kv_error(status: int, body: bytes) -> dict:
    data = json.loads(body)
    assert set(data) == {"error"}, data
    assert isinstance(data["error"]["code"], str) and isinstance(data["error"]["message"], str)
    assert "Traceback" not in data["error"]["message"]
    return data["error"]


@pytest.fixture
def admin_token(cloud, azure) -> str:
    cloud.seed(SEED)
    return azure.issue_token(None)


PUT = "/secrets/new-one?api-version=7.6"
BAD_BODIES = {
    "malformed": b'{"value": "demo-not-a-real-x"',
    "not-an-object": b'["demo-not-a-real-x"]',
    "lone-surrogate": b'{"value": "\\ud800"}',
    "lone-surrogate-key": b'{"value": "demo-not-a-real-x", "tags": {"\\udfff": "v"}}',
    "nan": b'{"value": "demo-not-a-real-x", "attributes": {"exp": NaN}}',
    "infinity": b'{"value": "demo-not-a-real-x", "attributes": {"exp": Infinity}}',
    "huge-number": b'{"value": "demo-not-a-real-x", "attributes": {"exp": 1e400}}',
    "deep": b'{"value": "x", "tags": ' + b"[" * 50000 + b"]" * 50000 + b"}",
    "deep-objects": b'{"a":' * 50000 + b"1" + b"}" * 50000,
    "invalid-utf8": b'{"value": "\xff\xfe"}',
    "value-not-string": b'{"value": 5}',
    "exp-bool": b'{"value": "demo-not-a-real-x", "attributes": {"exp": true}}',
    "exp-string": b'{"value": "demo-not-a-real-x", "attributes": {"exp": "tomorrow"}}',
    "content-type-number": b'{"value": "demo-not-a-real-x", "contentType": 5}',
    "tags-list": b'{"value": "demo-not-a-real-x", "tags": ["a"]}',
    "enabled-string": b'{"value": "demo-not-a-real-x", "attributes": {"enabled": "yes"}}',
}


SEMANTIC = {
    BAD_BODIES[k]
    for k in (
        "value-not-string",
        "exp-bool",
        "exp-string",
        "content-type-number",
        "tags-list",
        "enabled-string",
    )
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_json_bodies_are_bad_parameter(cloud, admin_token, body) -> None:
    status, headers, payload = _raw(cloud, _request("PUT", PUT, body, admin_token))
    assert status == 400, payload[:300]
    assert _kv_error(status, payload)["code"] == "BadParameter"
    assert headers["content-type"].startswith("application/json")
    if body in SEMANTIC:
        return
    # a body that is not JSON is refused on PATCH and restore too
    for method, path in (
        ("PATCH", "/secrets/prod-api-key/?api-version=7.6"),
        ("POST", "/secrets/restore?api-version=7.6"),
    ):
        status, _, payload = _raw(cloud, _request(method, path, body, admin_token))
        assert status == 400, (method, payload[:300])
        # restore: a body that parses but holds no backup is a malformed backup blob
        wanted = {"BadParameter"} | ({"Malformed backup blob"} if method == "POST" else set())
        assert _kv_error(status, payload)["code"] in wanted


@pytest.mark.parametrize(
    "length", ["-1", "abc", "1, 2", "+5", " ", "0x10", "99999999999999999999", "٣"]
)
def test_bad_content_length_is_answered(cloud, admin_token, length) -> None:
    request = _request("PUT", PUT, b'{"value": "demo-not-a-real-x"}', admin_token,
                       content_length=length)  # fmt: skip
    status, _, payload = _raw(cloud, request)
    assert status in (400, 413)
    assert _kv_error(status, payload)["code"] == "BadParameter"


def test_unauthenticated_bad_body_still_gets_the_challenge(cloud, admin_token) -> None:
    status, headers, payload = _raw(cloud, _request("PUT", PUT, BAD_BODIES["malformed"]))
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer authorization=")


@pytest.mark.parametrize(
    "path",
    [
        "/secrets/prod-api-key%2F..%2Fdev-api-key?api-version=7.6",
        "/secrets/dev-api-key%00?api-version=7.6",
        "/secrets/dev-api-key%0A?api-version=7.6",
        "/secrets/dev-api-key/..?api-version=7.6",
        "/secrets/dev-api-key/%2E%2E?api-version=7.6",
        "/secrets/../secrets/dev-api-key?api-version=7.6",
        "/secrets/dev-api-key/abc%2Fdef?api-version=7.6",
        "/secrets/dev%2Dapi%2Dkey%20?api-version=7.6",
    ],
)
def test_encoded_path_tricks_are_bad_parameter(cloud, admin_token, path) -> None:
    status, _, payload = _raw(cloud, _request("GET", path, token=admin_token))
    assert status == 400, payload[:300]
    assert _kv_error(status, payload)["code"] == "BadParameter"
    assert b"demo-not-a-real" not in payload


def test_trailing_newline_in_a_name_is_invalid(admin) -> None:
    for name in ("abc\n", "abc\r\n", "\nabc"):
        with pytest.raises(HttpResponseError) as err:
            admin.set_secret(name, "demo-not-a-real-value")
        assert err.value.status_code == 400
        assert err.value.error.code == "BadParameter"


@pytest.mark.parametrize(
    "query",
    ["maxresults=%D9%A3", "maxresults=+3", "maxresults=-1", "$skiptoken=-5", "$skiptoken=%D9%A3"],
)
def test_odd_paging_parameters_are_bad_parameter(cloud, admin_token, query) -> None:
    status, _, payload = _raw(cloud, _request("GET", f"/secrets?api-version=7.6&{query}",
                                              token=admin_token))  # fmt: skip
    assert status == 400, payload[:300]
    assert _kv_error(status, payload)["code"] == "BadParameter"


def test_nothing_is_a_500(cloud, admin_token) -> None:
    for method in ("GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        for path in ("/", "/secrets/", "/secrets/a/b/c/d", "/deletedsecrets/x/y/z", "/keys/k"):
            status, _, _ = _raw(cloud, _request(method, f"{path}?api-version=7.6",
                                                token=admin_token))  # fmt: skip
            assert 400 <= status < 500, (method, path, status)


# -- fidelity: headers and api-version ------------------------------------------------------------
def test_service_headers(admin, azure) -> None:
    from azure.core.pipeline.policies import HeadersPolicy  # noqa: F401 - documents the source

    admin.set_secret("h", "demo-not-a-real-value")
    seen = {}

    def hook(response) -> None:
        seen["request"] = dict(response.http_request.headers)
        seen["response"] = dict(response.http_response.headers)

    admin.get_secret("h", raw_response_hook=hook)
    headers = {k.lower(): v for k, v in seen["response"].items()}
    uuid.UUID(headers["x-ms-request-id"])
    assert headers["x-ms-keyvault-service-version"]
    assert headers["x-ms-keyvault-region"]
    assert "x-ms-keyvault-network-info" in headers
    sent = {k.lower(): v for k, v in seen["request"].items()}
    assert headers["x-ms-client-request-id"] == sent["x-ms-client-request-id"]


def test_error_answers_carry_the_request_id_too(cloud, admin_token) -> None:
    status, headers, _ = _raw(
        cloud, _request("GET", "/secrets/nope?api-version=7.6", token=admin_token,
                        x_ms_client_request_id="abc-123")
    )  # fmt: skip
    assert status == 404
    uuid.UUID(headers["x-ms-request-id"])
    assert headers["x-ms-client-request-id"] == "abc-123"


@pytest.mark.parametrize("version", ["7.0", "7.4", "2016-10-01"])
def test_older_api_versions_raw(cloud, admin_token, version) -> None:
    path = f"/secrets/dev-api-key?api-version={version}"
    status, _, payload = _raw(cloud, _request("GET", path, token=admin_token))
    assert status == 200
    assert json.loads(payload)["value"] == "demo-not-a-real-key-dev"


@pytest.mark.parametrize("version", ["7.9", "2099-01-01", "latest", "", "7.6%20"])
def test_unknown_api_version_is_bad_parameter(cloud, admin_token, version) -> None:
    status, _, payload = _raw(
        cloud, _request("GET", f"/secrets/dev-api-key?api-version={version}", token=admin_token)
    )
    assert status == 400
    error = _kv_error(status, payload)
    assert error["code"] == "BadParameter"
    shown = version.replace("%20", " ")
    assert error["message"].startswith(f"The specified version ({shown}) is not recognized.")
    assert "Consider using the latest supported version (" in error["message"]


@pytest.mark.usefixtures("seeded_admin")
@pytest.mark.parametrize("version", ["7.5", "7.6", "2025-07-01", "2026-04-01"])
def test_known_api_versions(azure, version) -> None:
    client = SecretClient(VAULT_URL, StaticToken(azure.issue_token(None)), api_version=version)
    assert client.get_secret("dev-api-key").value == "demo-not-a-real-key-dev"


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/secrets", "/secrets/", "/deletedsecrets", "/deletedsecrets/"])
def test_the_collections_take_get_only(cloud, admin_token, method, path) -> None:
    body = b'{"value": "demo-not-a-real-x"}'
    status, headers, payload = _raw(
        cloud, _request(method, f"{path}?api-version=7.6", body, admin_token)
    )
    assert status == 405, payload[:300]
    assert _kv_error(status, payload)["code"] == "MethodNotAllowed"
    assert headers["allow"] == "GET"
    assert b"demo-not-a-real" not in payload
