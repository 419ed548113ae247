"""Attacks found by review: malformed JWT claims, forged headers, the metadata server's SSRF
guard, garbage on the wire, bad filters and page tokens, seeds that smuggle names. Each goes
in as an attacker would: google-auth signing hand-made claims, a raw gRPC channel, raw HTTP."""

from __future__ import annotations

import base64
import json
import socket
import time
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.auth import crypt
from google.cloud import secretmanager
from google.oauth2 import credentials as oauth2_credentials

from guardlib.emulators.seed import SeedError

from .conftest import PROJECT

AUD = "https://secretmanager.googleapis.com/"
LATEST = f"{PROJECT}/secrets/dev-api-key/versions/latest"
INVALID = "Request had invalid authentication credentials"
SERVICE = "/google.cloud.secretmanager.v1.SecretManagerService/"


def key_info(cloud, identity: str) -> dict:
    return json.loads(Path(cloud.env(identity)["GOOGLE_APPLICATION_CREDENTIALS"]).read_text())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def raw_jwt(header: dict, claims: dict, sign=None) -> str:
    """A JWT with exactly these JSON texts (json.dumps writes NaN/Infinity as given)."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    sig = sign(f"{head}.{body}".encode()) if sign else b""
    return f"{head}.{body}.{b64(sig)}"


def claims_for(info: dict, **extra) -> dict:
    now = int(time.time())
    out = {"iss": info["client_email"], "sub": info["client_email"], "aud": AUD}
    out.update(iat=now, exp=now + 3600)
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def rs256(info: dict):
    signer = crypt.RSASigner.from_service_account_info(info)
    return signer.sign


def with_token(token: str) -> secretmanager.SecretManagerServiceClient:
    return secretmanager.SecretManagerServiceClient(
        credentials=oauth2_credentials.Credentials(token=token)
    )


def refused(token: str) -> exceptions.GoogleAPICallError:
    with pytest.raises(exceptions.Unauthenticated) as info:
        with_token(token).access_secret_version(name=LATEST)
    assert INVALID in info.value.message
    return info.value


def test_control_hand_made_jwt_works(seeded, cloud):
    info = key_info(cloud, "dev-app")
    token = raw_jwt({"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]},
                    claims_for(info), rs256(info))  # fmt: skip
    assert with_token(token).access_secret_version(name=LATEST).payload.data


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"iat": float("nan")},
        {"iat": float("-inf")},
        {"iat": float("-inf"), "exp": float("inf")},
        {"exp": 10**400},
        {"iat": -(10**400)},
        {"exp": "9999999999"},
        {"iat": "0"},
        {"exp": True},
        {"iat": None},
        {"exp": None},
    ],
    ids=lambda c: repr(c)[:40],
)
def test_jwt_with_strange_times_is_refused(seeded, cloud, claims):
    info = key_info(cloud, "dev-app")
    header = {"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}
    refused(raw_jwt(header, claims_for(info, **claims), rs256(info)))


def test_alg_none(seeded, cloud):
    info = key_info(cloud, "dev-app")
    refused(raw_jwt({"alg": "none", "kid": info["private_key_id"]}, claims_for(info)))


def test_hs256_signed_with_the_public_key(seeded, cloud):
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    info = key_info(cloud, "dev-app")
    private = serialization.load_pem_private_key(info["private_key"].encode(), None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": info["private_key_id"]}
    refused(raw_jwt(header, claims_for(info),
                    lambda m: hmac.new(public_pem, m, hashlib.sha256).digest()))  # fmt: skip


def test_kid_of_another_account(seeded, cloud):
    dev, prod = key_info(cloud, "dev-app"), key_info(cloud, "prod-app")
    # signed with prod's key and naming prod's kid, but claiming to be dev
    header = {"alg": "RS256", "kid": prod["private_key_id"]}
    refused(raw_jwt(header, claims_for(dev), rs256(prod)))


def test_iss_differs_from_sub(seeded, cloud):
    info = key_info(cloud, "dev-app")
    header = {"alg": "RS256", "kid": info["private_key_id"]}
    other = "prod-app@guard-demo.iam.gserviceaccount.com"
    refused(raw_jwt(header, claims_for(info, sub=other), rs256(info)))
    refused(raw_jwt(header, claims_for(info, iss=other), rs256(info)))


@pytest.mark.parametrize(
    "aud",
    [
        "https://storage.googleapis.com/",
        "https://secretmanager.googleapis.com.evil.example/",
        "https://secretmanager.evil.rep.googleapis.com.example/",
        "https://secretmanager.a/b.rep.googleapis.com/",
        ["https://storage.googleapis.com/"],
        123,
    ],
)
def test_wrong_audience(seeded, cloud, aud):
    info = key_info(cloud, "dev-app")
    header = {"alg": "RS256", "kid": info["private_key_id"]}
    refused(raw_jwt(header, claims_for(info, aud=aud), rs256(info)))


def test_expired_and_future(seeded, cloud):
    info = key_info(cloud, "dev-app")
    header = {"alg": "RS256", "kid": info["private_key_id"]}
    now = int(time.time())
    refused(raw_jwt(header, claims_for(info, iat=now - 7200, exp=now - 3000), rs256(info)))
    refused(raw_jwt(header, claims_for(info, iat=now + 900, exp=now + 1800), rs256(info)))
    refused(raw_jwt(header, claims_for(info, iat=now, exp=now - 1), rs256(info)))  # exp < iat


def test_token_longer_than_any_real_one(seeded, cloud):
    info = key_info(cloud, "dev-app")
    header = {"alg": "RS256", "kid": info["private_key_id"], "pad": "x" * 9000}
    refused(raw_jwt(header, claims_for(info), rs256(info)))


@pytest.mark.parametrize(
    "token",
    [
        "!!!.@@@.###",
        "e30.e30.e30",
        "a.b",
        "a.b.c.d",
        "W10.W10.",
        "bnVsbA.bnVsbA.",
    ],
)
def test_non_base64_or_non_object_segments(seeded, token):
    refused(token)


def test_key_ids_are_random_not_derived(seeded, cloud, gcp):
    # the key id is the SHA-1 of a freshly generated public key; the client id is random
    info = key_info(cloud, "dev-app")
    assert info["private_key_id"] != key_info(cloud, "prod-app")["private_key_id"]
    assert int(info["client_id"]) != int(info["private_key_id"][:15], 16)


def test_keys_are_new_after_restart(cloud):
    from guardlib.emulators.gcp import GcpEmulator

    first, second = GcpEmulator(), GcpEmulator()
    try:
        first.start(cloud.context)
        a = json.loads(first.key_file("dev-app").read_text())
        first.stop()
        second.start(cloud.context)
        b = json.loads(second.key_file("dev-app").read_text())
    finally:
        first.stop()
        second.stop()
    assert a["private_key_id"] != b["private_key_id"] and a["private_key"] != b["private_key"]


# -- the metadata server --------------------------------------------------------------------
def metadata_request(gcp, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    import http.client

    host, port = gcp.metadata_env("dev-app")["GCE_METADATA_HOST"].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    out = response.status, dict(response.getheaders()), response.read()
    conn.close()
    return out


TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"


def test_metadata_refuses_x_forwarded_for(seeded, gcp):
    status, headers, body = metadata_request(
        gcp, TOKEN_PATH, {"Metadata-Flavor": "Google", "X-Forwarded-For": "203.0.113.7"}
    )
    assert status == 403 and b"X-Forwarded-For" in body and b"access_token" not in body


def test_metadata_requires_flavor_exactly(seeded, gcp):
    for flavor in ({}, {"Metadata-Flavor": "google "}, {"Metadata-Flavor": "Googlex"}):
        status, _, body = metadata_request(gcp, TOKEN_PATH, flavor)
        assert status == 403 and b"access_token" not in body


def test_metadata_tokens_are_random(seeded, gcp):
    tokens = {
        json.loads(metadata_request(gcp, TOKEN_PATH, {"Metadata-Flavor": "Google"})[2])[
            "access_token"
        ]
        for _ in range(3)
    }
    assert len(tokens) == 3 and not any("dev-app" in t for t in tokens)


def test_metadata_strict_content_length(seeded, gcp):
    host, port = gcp.metadata_env("dev-app")["GCE_METADATA_HOST"].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"GET {TOKEN_PATH} HTTP/1.1\r\nHost: x\r\nMetadata-Flavor: Google\r\n"
            "Content-Length: 1, 2\r\n\r\n".encode()
        )
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 400") and b"access_token" not in data


def test_metadata_forged_token_is_refused(seeded):
    refused("ya29.guardlib-offline-" + "A" * 43)


# -- garbage on the wire --------------------------------------------------------------------
def raw_call(client, method: str, payload: bytes):
    call = client.transport.grpc_channel.unary_unary(
        SERVICE + method, request_serializer=None, response_deserializer=None
    )
    return call(payload, timeout=5)


@pytest.mark.parametrize(
    "method", ["AccessSecretVersion", "GetSecret", "ListSecrets", "SetIamPolicy"]
)
@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff", b"\x0a\xff", b"\x0a\x05ab"])
def test_garbage_payload_is_invalid_argument(seeded, client, method, payload, capfd):
    with pytest.raises(grpc.RpcError) as info:
        raw_call(client, method, payload)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert "Traceback" not in capfd.readouterr().err


def test_invalid_utf8_in_a_name_field(seeded, client, capfd):
    # field 1 (name), length 3, bytes that are not UTF-8
    with pytest.raises(grpc.RpcError) as info:
        raw_call(client, "GetSecret", b"\x0a\x03\xc3\x28\xff")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Traceback" not in capfd.readouterr().err


def test_unknown_method_is_unimplemented(seeded, client):
    with pytest.raises(grpc.RpcError) as info:
        raw_call(client, "StealEverything", b"")
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(
    "name",
    [
        f"{PROJECT}/secrets/dev-api-key\n",
        f"{PROJECT}/secrets/dev-api-key/versions/1\n",
    ],
)
def test_trailing_newline_in_names(seeded, client, name):
    with pytest.raises(exceptions.InvalidArgument):
        if "/versions/" in name:
            client.access_secret_version(name=name)
        else:
            client.get_secret(name=name)


def test_trailing_newline_in_secret_id(seeded, client):
    with pytest.raises(exceptions.InvalidArgument, match="does not match the expected format"):
        client.create_secret(
            parent=PROJECT, secret_id="evil\n", secret={"replication": {"automatic": {}}}
        )


@pytest.mark.parametrize(
    "filter_",
    [
        'name:"unterminated',
        'name:"bad \\escape"',
        "labels.env=(",
        "(name:a",
        "name:a)",
        "AND",
        "name:a OR",
        "NOT",
        "name",
        "create_time>",
        "bogus_field:x",
        '"\\ud800"',
        'name:"\\ud800"',
    ],
)
def test_bad_filters_are_invalid_argument(seeded, client, filter_):
    with pytest.raises(exceptions.InvalidArgument) as info:
        list(client.list_secrets(request={"parent": PROJECT, "filter": filter_}))
    assert "filter" in info.value.message.lower()


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        "bm90LWpzb24",  # "not-json"
        b64(b'{"o": 1e999, "q": ""}'),
        b64(b'{"o": "x", "q": ""}'),
        b64(b'{"o": -1, "q": ""}'),
        b64(b'{"o": 1, "q": "other"}'),
        b64(b"[1, 2]"),
        b64(b'{"o": NaN, "q": ""}'),
        b64(b"\xff\xfe"),
    ],
)
def test_bad_page_tokens_are_invalid_argument(seeded, client, token):
    with pytest.raises(exceptions.InvalidArgument):
        list(client.list_secrets(request={"parent": PROJECT, "page_token": token}))
    with pytest.raises(exceptions.InvalidArgument):
        list(client.list_secret_versions(
            request={"parent": f"{PROJECT}/secrets/dev-api-key", "page_token": token}
        ))  # fmt: skip


# -- fidelity -------------------------------------------------------------------------------
def test_test_iam_permissions_on_a_missing_secret_is_empty(seeded, client):
    # iam_policy.proto (and the client's docstring): "If the resource does not exist, this will
    # return an empty set of permissions, not a NOT_FOUND error."
    response = client.test_iam_permissions(
        request={
            "resource": f"{PROJECT}/secrets/no-such-secret",
            "permissions": ["secretmanager.secrets.get", "secretmanager.versions.access"],
        }
    )
    assert list(response.permissions) == []


def test_rotation_without_topics_is_invalid(seeded, client):
    # resources.proto, Rotation: "Secret.topics must be set to configure rotation."
    from google.protobuf import timestamp_pb2

    soon = timestamp_pb2.Timestamp()
    soon.FromSeconds(int(time.time()) + 7200)
    with pytest.raises(exceptions.InvalidArgument, match="topics"):
        client.create_secret(
            parent=PROJECT,
            secret_id="rotating",
            secret={"replication": {"automatic": {}}, "rotation": {"next_rotation_time": soon}},
        )
    with pytest.raises(exceptions.InvalidArgument, match="topics"):
        client.update_secret(
            secret={
                "name": f"{PROJECT}/secrets/dev-api-key",
                "rotation": {"next_rotation_time": soon},
            },
            update_mask={"paths": ["rotation"]},
        )


def test_rotation_period_needs_next_rotation_time(seeded, client):
    with pytest.raises(exceptions.InvalidArgument, match="next_rotation_time"):
        client.create_secret(
            parent=PROJECT,
            secret_id="rotating",
            secret={
                "replication": {"automatic": {}},
                "topics": [{"name": "projects/guard-demo/topics/rotate"}],
                "rotation": {"rotation_period": {"seconds": 7200}},
            },
        )


# -- seeds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["a/b", "bad\n", "x?y", "", "a" * 256])
def test_bad_seed_name_changes_nothing(cloud, client, bad):
    spec = {
        "secrets": {
            "good-one": {
                "value": "demo-not-a-real-key-g",
                "readers": ["seed-app"],
                "clouds": ["gcp"],
            },
            bad: {"value": "demo-not-a-real-key-b", "clouds": ["gcp"]},
        }
    }
    with pytest.raises(SeedError) as info:
        cloud.seed(spec)
    assert "demo-not-a-real-key" not in str(info.value)
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=f"{PROJECT}/secrets/good-one")
