"""The shared machinery: gateway, lifecycle, seed form, fault switches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from guardlib import emulators
from guardlib.emulators.faults import Faults
from guardlib.emulators.gateway import Gateway
from guardlib.emulators.seed import SeedError, SeedSpec


@pytest.fixture(autouse=True)
def detached_session_cloud():
    """These tests start and stop the process's offline cloud themselves. A cloud that other
    test folders' session fixtures are using is set aside (still running) and put back."""
    saved = emulators._current
    emulators._current = None
    yield
    emulators.stop()
    emulators._current = saved


def _connect(port: int, target: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return sock.recv(4096)


@pytest.fixture
def gateway():
    gw = Gateway()
    gw.start()
    yield gw
    gw.stop()


def test_gateway_refuses_hosts_it_does_not_emulate(gateway: Gateway) -> None:
    for target in ("pypi.org:443", "vault.azure.net.evil.example:443", "169.254.169.254:80"):
        answer = _connect(gateway.port, target)
        assert answer.startswith(b"HTTP/1.1 403 "), answer
        assert b"reaches only the emulated services" in answer
    assert gateway.tunnels == {}
    assert list(gateway.refused) == [f"CONNECT {t}" for t in ("pypi.org:443",
        "vault.azure.net.evil.example:443", "169.254.169.254:80")]  # fmt: skip


def test_gateway_refuses_plain_proxy_requests(gateway: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 403 ")


def test_gateway_tunnels_a_matching_host_to_its_loopback_backend(gateway: Gateway) -> None:
    backend = socket.create_server(("127.0.0.1", 0))
    port = backend.getsockname()[1]
    gateway.route("*.vault.azure.net:443", lambda: ("127.0.0.1", port))
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as client:
        client.sendall(b"CONNECT demo.vault.azure.net:443 HTTP/1.1\r\n\r\n")
        assert client.recv(4096).startswith(b"HTTP/1.1 200 ")
        conn, _ = backend.accept()
        client.sendall(b"ping")
        assert conn.recv(4) == b"ping"
        conn.sendall(b"pong")
        assert client.recv(4) == b"pong"
        conn.close()
    backend.close()
    assert gateway.tunnels == {("127.0.0.1", port): 1}


def test_gateway_never_tunnels_to_a_non_loopback_backend(gateway: Gateway) -> None:
    gateway.route("sneaky.example:443", lambda: ("192.0.2.1", 443))  # TEST-NET-1
    assert _connect(gateway.port, "sneaky.example:443").startswith(b"HTTP/1.1 403 ")


NO_ESCAPE = textwrap.dedent(
    """
    import json, socket, sys, urllib.request
    connects = []
    def hook(event, args):
        if event == "socket.connect":
            connects.append(args[1])
    sys.addaudithook(hook)
    from guardlib import emulators
    cloud = emulators.start(only=[])
    cloud.apply_env()
    results = {}
    for url in ("https://pypi.org/simple/", "https://management.azure.com/",
                "https://sts.amazonaws.com/", "http://example.com/"):
        try:
            urllib.request.urlopen(url, timeout=5)
            results[url] = "reached"
        except Exception as exc:
            results[url] = type(exc).__name__
    emulators.stop()
    hosts = sorted({str(a[0]) if isinstance(a, tuple) else str(a) for a in connects})
    print(json.dumps({"results": results, "hosts": hosts}))
    """
)


def test_no_request_leaves_loopback() -> None:
    """Every socket the process opens, gateway included, goes to loopback; nothing is reached."""
    out = subprocess.run(
        [sys.executable, "-c", NO_ESCAPE], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "reached" not in report["results"].values(), report
    assert report["hosts"] and set(report["hosts"]) <= {"127.0.0.1", "::1"}, report


def test_start_is_idempotent_and_keeps_one_ca_per_process() -> None:
    first = emulators.start(only=[])
    again = emulators.start(only=[])
    assert again is first
    ca_path = first.ca.cert_path
    emulators.stop()
    emulators.stop()  # safe twice
    restarted = emulators.start(only=[])
    assert restarted is not first and restarted.ca.cert_path == ca_path
    emulators.stop()


def test_env_is_explicit_about_every_ca_variable() -> None:
    cloud = emulators.start(only=[])
    try:
        env = cloud.env()
        for key in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE",
                    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"):  # fmt: skip
            assert env[key] == str(cloud.ca.cert_path)
        assert env["HTTPS_PROXY"] == cloud.gateway.url
        assert "127.0.0.1" in env["NO_PROXY"]
    finally:
        emulators.stop()


def test_apply_env_removes_real_cloud_credentials() -> None:
    cloud = emulators.start(only=[])
    environ = {"AWS_ACCESS_KEY_ID": "demo-real-looking-key", "AZURE_CLIENT_SECRET": "demo-x"}
    try:
        cloud.apply_env(environ=environ)
    finally:
        emulators.stop()
    assert "AWS_ACCESS_KEY_ID" not in environ and "AZURE_CLIENT_SECRET" not in environ


def test_offline_cloud_context_manager_restores_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "demo-profile")
    with emulators.offline_cloud(only=[]) as cloud:
        import os

        assert "AWS_PROFILE" not in os.environ
        assert os.environ["HTTPS_PROXY"] == cloud.gateway.url
    assert os.environ["AWS_PROFILE"] == "demo-profile"
    assert "HTTPS_PROXY" not in os.environ or os.environ["HTTPS_PROXY"] != cloud.gateway.url
    assert emulators.current() is None


def test_unknown_emulator_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown emulator 'oracle'; choose from azure"):
        emulators.start(only=["oracle"])


def test_seed_short_form_creates_identities_from_readers() -> None:
    spec = SeedSpec.parse(
        {
            "secrets": {
                "dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]},
                "prod-api-key": {"value": "demo-not-a-real-key-prod", "readers": ["prod-app"]},
            }
        }
    )
    assert set(spec.identities) == {"dev-app", "prod-app"}
    assert [s.readers for s in spec.secrets] == [("dev-app",), ("prod-app",)]
    assert all(s.for_cloud("aws") for s in spec.secrets)


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"secrets": {"k": {"value": 3}}}, "'value' must be a string or bytes"),
        ({"secrets": {"k": {"value": "demo-v", "readers": ["Bad_Name"]}}}, "identity names"),
        ({"secrets": {"k": {"value": "demo-v", "clouds": ["oracle"]}}}, "unknown cloud"),
        ({"secrets": {"k": {"value": "demo-v", "colour": "red"}}}, "unknown field(s) colour"),
        ({"buckets": {}}, "unknown seed section(s): buckets"),
    ],
)
def test_seed_errors_name_the_field_never_the_value(seed, message) -> None:
    with pytest.raises(SeedError) as info:
        SeedSpec.parse(seed)
    assert message in str(info.value)
    assert "demo-v" not in str(info.value)


def test_seed_file_errors_never_quote_the_file(tmp_path) -> None:
    bad = tmp_path / "seed.json"
    bad.write_text('{"secrets": {"k": {"value": "demo-not-a-real-key-9"')
    with pytest.raises(SeedError) as info:
        SeedSpec.parse(bad)
    assert "not valid JSON" in str(info.value) and "demo-not" not in str(info.value)
    toml = tmp_path / "seed.toml"
    toml.write_text('[secrets.api-key]\nvalue = "demo-not-a-real-key-9"\nreaders = ["dev-app"]\n')
    assert SeedSpec.parse(toml).secrets[0].readers == ("dev-app",)


def test_faults_count_down_and_clear() -> None:
    faults = Faults()
    faults.inject("throttle", service="aws", times=2)
    assert faults.next("azure") is None
    assert faults.next("aws").kind == "throttle"
    assert faults.next("aws").kind == "throttle"
    assert faults.next("aws") is None
    with faults.injected("error", status=503) as fault:
        assert faults.next("gcp") is fault
    assert faults.next("gcp") is None
    with pytest.raises(ValueError, match="needs a 5xx status"):
        faults.inject("error", status=404)
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.inject("meteor")  # type: ignore[arg-type]


AIOHTTP_FIRST = textwrap.dedent(
    """
    import asyncio, os
    import aiohttp.connector  # imported before the emulator setup, as a kernel may have done
    from guardlib import emulators
    cloud = emulators.start(only=["azure"])
    cloud.apply_env()
    cloud.seed({"secrets": {"api-key": {"value": "demo-not-a-real-key-1234"}}})
    from azure.identity.aio import DefaultAzureCredential
    from azure.keyvault.secrets.aio import SecretClient

    async def main():
        async with DefaultAzureCredential() as credential:
            async with SecretClient(os.environ["VAULT_URL"], credential) as client:
                secret = await client.get_secret("api-key")
                print("read", secret.name)

    asyncio.run(main())
    emulators.stop()
    """
)


def test_async_clients_trust_the_ca_even_if_aiohttp_was_imported_first() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    out = subprocess.run(
        [sys.executable, "-c", AIOHTTP_FIRST],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "read api-key"


def test_a_name_one_cloud_cannot_hold_is_a_seed_error_naming_that_cloud() -> None:
    cloud = emulators.start(only=["azure"])
    try:
        with pytest.raises(SeedError, match=r"^azure: .*invalid name") as info:
            cloud.seed({"secrets": {"bad.name": {"value": "demo-not-a-real-key-x"}}})
        assert "demo-not-a-real-key-x" not in str(info.value)
    finally:
        emulators.stop()
