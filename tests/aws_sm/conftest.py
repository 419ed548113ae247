"""One AWS emulator per session (moto + guardlib's authorization layer), reset per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD

REGION = "us-east-1"
ACCOUNT = "123456789012"

#: dev reads dev, prod reads prod, ops writes both, nobody reads nothing
SEED = {**DEV_PROD, "identities": ["nobody-app"]}


@pytest.fixture(scope="session")
def cloud() -> emulators.OfflineCloud:
    try:
        return emulators.start(only=["aws"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def aws(cloud: emulators.OfflineCloud) -> Iterator[Any]:
    """The AwsEmulator, freshly reset."""
    cloud["aws"].reset()
    cloud.faults.clear("aws")
    yield cloud["aws"]
    cloud.faults.clear("aws")


@pytest.fixture
def seeded(cloud: emulators.OfflineCloud, aws: Any) -> Any:
    cloud.seed(SEED)
    return aws


@pytest.fixture
def client(
    cloud: emulators.OfflineCloud, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """``client(identity, service="secretsmanager")``: a boto3 client built the way the course
    builds it (``boto3.session.Session().client(...)``), with os.environ pointed at the
    emulator as ``identity`` (None: the administrator) while it is created."""
    import boto3

    def make(identity: str | None = None, service: str = "secretsmanager", **env: str) -> Any:
        for key in REAL_CLOUD_VARIABLES:
            monkeypatch.delenv(key, raising=False)
        for key, value in {**cloud.env(identity), **env}.items():
            monkeypatch.setenv(key, value)
        return boto3.session.Session().client(service, region_name=REGION)

    return make


def error_code(exc: BaseException) -> str:
    return str(exc.response["Error"]["Code"])  # type: ignore[attr-defined]


def current_versions(sm: Any, secret_id: str) -> dict[str, list[str]]:
    out = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)
    return {v["VersionId"]: sorted(v["VersionStages"]) for v in out["Versions"]}


def holders(sm: Any, secret_id: str, stage: str) -> list[str]:
    return [vid for vid, stages in current_versions(sm, secret_id).items() if stage in stages]


# -- raw requests, signed as an attacker with only the written environment would sign them ----
JSON_TYPE = "application/x-amz-json-1.1"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def sign(
    env: dict[str, str],
    service: str,
    body: bytes | str = b"",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[str, dict[str, str], bytes]:
    """(path?query, headers, body) of a request SigV4-signed with ``env``'s credentials,
    exactly as botocore signs (its own ``SigV4Auth``), whatever the body and query say."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = body.encode() if isinstance(body, str) else body
    url = env["AWS_ENDPOINT_URL"] + "/" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=data, headers=dict(headers or {}))
    creds = Credentials(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
    )
    SigV4Auth(creds, service, REGION).add_auth(request)
    path = "/" + (f"?{query}" if query else "")
    return path, dict(request.headers.items()), data


def send(
    env: dict[str, str],
    path: str,
    headers: dict[str, str],
    body: bytes,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(env["AWS_ENDPOINT_URL"])
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if not any(key.lower() == "host" for key in headers):
            conn.putheader("Host", where.netloc)
        for key, value in headers.items():
            conn.putheader(key, value)
        if "Content-Length" not in headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def raw(env: dict[str, str], data: bytes, *, half_close: bool = True) -> bytes:
    """Send bytes on a fresh socket and read the whole answer (the server must close)."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(env["AWS_ENDPOINT_URL"])
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
