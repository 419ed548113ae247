"""Every RPC the installed client library knows is served, and none leaks across identities.

The method list comes from the package itself, not from the emulator: the package ships no
protobuf service descriptor for ``SecretManagerService`` (proto-plus types only), so the list is
its ``gapic_metadata.json`` (the generator's record of the service's RPCs) plus the gRPC paths
its transport calls (which add the ``google.cloud.location.Locations`` mixin).

Identity rule (https://cloud.google.com/iam/docs/overview and the service's own
"Permission '…' denied for resource '…' (or it may not exist)." text): a caller without the
permission gets PERMISSION_DENIED whether or not the resource exists. ``TestIamPermissions`` is
the exception: it answers OK with the subset held, empty for a missing resource
(iam_policy.proto).
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import grpc
import pytest
from google.cloud import secretmanager_v1
from google.cloud.location import locations_pb2
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import grpc as t
from google.cloud.secretmanager_v1.types import service
from google.iam.v1 import iam_policy_pb2

from .conftest import PROJECT

PROD = f"{PROJECT}/secrets/prod-api-key"


def _methods() -> list[str]:
    meta = json.loads((Path(secretmanager_v1.__file__).parent / "gapic_metadata.json").read_text())
    rpcs = meta["services"]["SecretManagerService"]["clients"]["grpc"]["rpcs"]
    paths = re.findall(r'"/(google\.[\w.]+)/(\w+)"', inspect.getsource(t))
    out = {f"google.cloud.secretmanager.v1.SecretManagerService/{m}" for m in rpcs}
    out |= {f"{svc}/{m}" for svc, m in paths}
    return sorted(out)


METHODS = _methods()


def test_the_walk_covers_the_service():
    names = {m.rsplit("/", 1)[1] for m in METHODS}
    assert {"AccessSecretVersion", "CreateSecret", "TestIamPermissions", "ListLocations"} <= names
    assert len(METHODS) >= 19


def request_for(path: str) -> bytes:
    method = path.rsplit("/", 1)[1]
    cls = getattr(service, f"{method}Request", None)
    if cls is not None:
        req = cls.pb()()
    else:
        module = iam_policy_pb2 if "Iam" in method else locations_pb2
        req = getattr(module, f"{method}Request")()
    fields = req.DESCRIPTOR.fields_by_name
    version = f"{PROD}/versions/1"
    if method == "CreateSecret":
        req.parent, req.secret_id = PROJECT, "new-secret"
        req.secret.replication.automatic.SetInParent()
    elif method == "ListSecrets":
        req.parent = PROJECT
    elif method == "UpdateSecret":
        req.secret.name = PROD
        req.update_mask.paths.append("labels")
    elif method == "GetLocation":
        req.name = f"{PROJECT}/locations/us-central1"
    elif method == "ListLocations":
        req.name = PROJECT
    elif method == "TestIamPermissions":
        req.resource = PROD
        req.permissions.append("secretmanager.versions.access")
    elif "resource" in fields:
        req.resource = PROD
    elif "parent" in fields:
        req.parent = PROD
        if method == "AddSecretVersion":
            req.payload.data = b"demo-not-a-real-key-new"
    elif method.endswith("SecretVersion"):
        req.name = version
    else:
        req.name = PROD
    return req.SerializeToString()


def call(client, path: str) -> tuple[grpc.StatusCode, str, bytes]:
    rpc = client.transport.grpc_channel.unary_unary(
        "/" + path, request_serializer=None, response_deserializer=None
    )
    try:
        return grpc.StatusCode.OK, "", rpc(request_for(path), timeout=5)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or "", b""


@pytest.mark.parametrize("path", METHODS, ids=lambda m: m.rsplit("/", 1)[1])
def test_every_method_is_served(seeded, client, path):
    code, details, _ = call(client, path)
    assert code not in (
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAUTHENTICATED,
    ), (code, details)


@pytest.mark.parametrize("path", METHODS, ids=lambda m: m.rsplit("/", 1)[1])
def test_dev_app_is_denied_everything_on_prod(seeded, client_as, path):
    code, details, body = call(client_as("dev-app"), path)
    if path.endswith("/TestIamPermissions"):
        assert code == grpc.StatusCode.OK
        assert list(iam_policy_pb2.TestIamPermissionsResponse.FromString(body).permissions) == []
        return
    assert code == grpc.StatusCode.PERMISSION_DENIED, (code, details)
    assert "demo-not-a-real-key" not in details


@pytest.mark.parametrize("path", METHODS, ids=lambda m: m.rsplit("/", 1)[1])
def test_dev_app_is_denied_on_a_missing_secret_too(seeded, client_as, path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.PROD", f"{PROJECT}/secrets/no-such-secret")
    code, details, _ = call(client_as("dev-app"), path)
    assert code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.OK), (code, details)
    assert code != grpc.StatusCode.NOT_FOUND


# -- STS: claims Google requires of a subject token (issue 16) ---------------------------------
def _token_with(cloud, subject: str, drop: str = "", **claims) -> str:
    """A token the offline GitHub issuer signs, with ``drop`` removed and ``claims`` set."""
    import time

    from guardlib.emulators.kit import jwt
    from guardlib.emulators.oidc import protocol

    from .test_federation import TOKEN_AUDIENCE

    state = cloud.oidc.issuer("github")
    now = int(time.time())
    body = protocol.github_claims(subject, TOKEN_AUDIENCE)
    body.update(iss=state.url, iat=now, nbf=now, exp=now + 300)
    body.update(claims)
    body.pop(drop, None)
    return jwt.sign(body, state.key.private_key, state.key.kid)


@pytest.fixture
def course(cloud, gcp):
    from guardlib.emulators.seed import COURSE

    cloud.seed(COURSE)
    return gcp


@pytest.mark.parametrize(
    "drop, claims, refused",
    [
        ("", {}, False),
        ("iat", {}, True),  # Google requires iat
        ("", {"iat": None}, True),
        ("", {"iat": "1700000000"}, True),
        ("", {"iat": True}, True),
        ("", {"exp_offset": 48 * 3600}, False),  # exactly 48 hours: still accepted
        ("", {"exp_offset": 48 * 3600 + 1}, True),  # longer: refused
        ("", {"exp_offset": 30 * 24 * 3600}, True),
    ],
    ids=["ok", "no-iat", "iat-null", "iat-string", "iat-bool", "48h", "48h+1s", "30d"],
)
def test_sts_refuses_what_google_refuses(cloud, course, drop, claims, refused):
    import time

    from .test_federation import MAIN, sts_refusal

    claims = dict(claims)
    offset = claims.pop("exp_offset", None)
    if offset is not None:
        now = int(time.time())
        claims.update(iat=now, nbf=now, exp=now + offset)
    token = _token_with(cloud, MAIN, drop, **claims)
    if not refused:
        from google.auth.transport.requests import Request

        from .test_federation import credentials

        creds = credentials(cloud, course, token, impersonate=False)
        creds.refresh(Request())
        assert creds.token.startswith("ya29.d.")
        return
    body = sts_refusal(cloud, course, token)
    assert body["error"] == "invalid_grant", body
    assert (
        "stale to sign-in" in body["error_description"] or "48 hours" in (body["error_description"])
    )
