"""Caches keyed by who asks (issue 16): the SDK client cache and the secret cache key on the
caller's credential source (a fingerprint of the identity inputs), so in one process switching
between ``prod-app`` and ``dev-app``, or between the main-branch and pull-request workloads,
never returns the other identity's value or metadata -- with or without the cache, on all four
clouds. A refusal is AccessDenied on every cloud (a refused GCP federation too: exit 77, never
retried), and stale-if-error never serves a caller whose own request was refused.

Through guardlib's real sources and the real SDKs against the emulators; the CLI in a
subprocess for the exit code."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib import resolver
from guardlib.emulators.seed import COURSE
from guardlib.errors import AccessDenied
from guardlib.resolver import SecretCache

from .conftest import SEED

MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PULL_REQUEST = "repo:codehive/wallet:pull_request"
PROD = COURSE["secrets"]["prod-api-key"]["value"]
DEV = COURSE["secrets"]["dev-api-key"]["value"]
CLOUD_OF = {"aws-sm": "aws", "azure-kv": "azure", "gcp-sm": "gcp", "vault": "vault"}
PROD_REFS = [
    "aws-sm://prod-api-key",
    "azure-kv://guard-demo/prod-api-key",
    "gcp-sm://guard-demo/prod-api-key",
    "vault://secret/prod-api-key#value",
]
CACHES = ["default", "none", "own"]


@pytest.fixture
def world(cloud: Any, use: Any) -> Iterator[Any]:
    cloud.reset()
    cloud.seed({**SEED, "trusts": COURSE["trusts"]})
    resolver.default_cache.clear()
    yield cloud
    cloud.faults.clear()
    resolver.default_cache.clear()


def _cache(kind: str) -> Any:
    return {"default": resolver._DEFAULT, "none": None, "own": SecretCache()}[kind]


def _skip_without_federation(cloud: Any, ref: str) -> None:
    if not hasattr(cloud[CLOUD_OF[ref.split(":")[0]]], "federation_env"):
        pytest.skip(f"{ref}: this emulator has no workload identity federation")


@pytest.mark.parametrize("kind", CACHES)
@pytest.mark.parametrize("ref", PROD_REFS)
def test_switching_identity_never_serves_the_other(
    world: Any, use: Any, ref: str, kind: str
) -> None:
    cache = _cache(kind)
    use("prod-app")
    assert guardlib.resolve(ref, cache=cache) == PROD
    assert guardlib.describe(ref, cache=cache)["length"] == len(PROD)
    use("dev-app")
    with pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=cache)
    with pytest.raises(AccessDenied):  # not even the version or the length
        guardlib.describe(ref, cache=cache)
    use("prod-app")  # and back: prod-app still reads it
    assert guardlib.resolve(ref, cache=cache) == PROD


@pytest.mark.parametrize("ref", [r.replace("prod", "dev") for r in PROD_REFS])
def test_a_value_cached_for_one_identity_is_not_a_hit_for_another(
    world: Any, use: Any, calls: collections.Counter[str], ref: str
) -> None:
    cache = SecretCache()
    use("dev-app")
    guardlib.resolve(ref, cache=cache)
    guardlib.resolve(ref, cache=cache)
    source = str(guardlib.parse_reference(ref).source)
    assert calls[source] == 1
    use("prod-app")  # cannot read dev-api-key: it must ask, and be refused
    with pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=cache)
    assert calls[source] == 2


@pytest.mark.parametrize("kind", CACHES)
@pytest.mark.parametrize("ref", PROD_REFS)
def test_switching_workload_never_serves_the_other(world: Any, ref: str, kind: str) -> None:
    _skip_without_federation(world, ref)
    cache = _cache(kind)
    with world.as_workload(MAIN, identity="prod-app"):
        assert guardlib.resolve(ref, cache=cache) == PROD
    with world.as_workload(PULL_REQUEST, identity="prod-app"), pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=cache)
    with world.as_workload(PULL_REQUEST, identity="prod-app"), pytest.raises(AccessDenied):
        guardlib.describe(ref, cache=cache)
    with world.as_workload(MAIN, identity="prod-app"):  # a fresh main job still reads it
        assert guardlib.resolve(ref, cache=cache) == PROD


@pytest.mark.parametrize("ref", PROD_REFS)
def test_a_refused_workload_is_access_denied_and_never_retried(
    world: Any, calls: collections.Counter[str], ref: str
) -> None:
    _skip_without_federation(world, ref)
    with world.as_workload(PULL_REQUEST, identity="prod-app"), pytest.raises(AccessDenied) as info:
        guardlib.resolve(ref, cache=None)
    assert calls[str(guardlib.parse_reference(ref).source)] == 1
    assert PROD not in str(info.value)


@pytest.mark.parametrize("ref", PROD_REFS)
def test_stale_if_error_never_serves_a_refused_workload(world: Any, clock: Any, ref: str) -> None:
    _skip_without_federation(world, ref)
    cache = SecretCache(ttl=10, grace=3600, clock=clock)
    with world.as_workload(MAIN, identity="prod-app"):
        assert guardlib.resolve(ref, cache=cache) == PROD
    clock.advance(11)  # expired, well inside the grace period
    with world.as_workload(PULL_REQUEST, identity="prod-app"), pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=cache)
    assert cache.stats.stale_served == 0


@pytest.mark.parametrize("ref", PROD_REFS)
def test_stale_if_error_never_serves_a_refused_identity(
    world: Any, use: Any, clock: Any, ref: str
) -> None:
    cache = SecretCache(ttl=10, grace=3600, clock=clock)
    use("prod-app")
    assert guardlib.resolve(ref, cache=cache) == PROD
    clock.advance(11)
    use("dev-app")
    with pytest.raises(AccessDenied):
        guardlib.resolve(ref, cache=cache)
    assert cache.stats.stale_served == 0


@pytest.mark.parametrize("ref", PROD_REFS)
def test_a_refused_workload_exits_77_from_the_cli(world: Any, ref: str) -> None:
    _skip_without_federation(world, ref)
    env = world.federation_env(PULL_REQUEST, identity="prod-app")
    env.update(PATH=os.environ["PATH"], HOME=os.environ.get("HOME", "/tmp"))
    out = subprocess.run([sys.executable, "-m", "guardlib", "get", ref], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 77, out.stderr
    assert "AccessDenied" in out.stderr and "Traceback" not in out.stderr
    assert PROD not in out.stdout + out.stderr


def test_cache_keys_hold_no_credential(world: Any, use: Any) -> None:
    """Keys are fingerprints (hashes) of the identity inputs, never the inputs themselves."""
    from guardlib.sources import aws, azure, gcp, vault

    use("prod-app")
    for ref in PROD_REFS:
        guardlib.resolve(ref)
    with world.as_workload(MAIN, identity="prod-app") as env:
        for ref in PROD_REFS:
            try:
                guardlib.resolve(ref)
            except AccessDenied:
                pass  # a cloud without federation
        tokens = [Path(p).read_text() for k, p in env.items() if k.endswith("TOKEN_FILE")]
    credentials = [v for k, v in world.env("prod-app").items()
                   if k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "IDENTITY_HEADER",
                            "VAULT_TOKEN", "AWS_ACCESS_KEY_ID")]  # fmt: skip
    assert credentials and tokens
    keys = repr(list(resolver.default_cache._entries)) + "".join(
        repr(list(module.clients._clients)) for module in (aws, azure, gcp, vault)
    )
    for value in credentials + tokens:
        assert value not in keys
    for token in tokens:
        for part in token.split("."):
            assert part not in keys


def test_dotenv_relative_path_is_keyed_with_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".env").write_text(f"API_KEY=demo-not-a-real-key-{name}\n")
    cache = SecretCache()
    monkeypatch.chdir(tmp_path / "one")
    assert guardlib.resolve("dotenv://.env#API_KEY", cache=cache) == "demo-not-a-real-key-one"
    monkeypatch.chdir(tmp_path / "two")
    assert guardlib.resolve("dotenv://.env#API_KEY", cache=cache) == "demo-not-a-real-key-two"
    assert guardlib.describe("dotenv://.env#API_KEY", cache=cache)["length"] == len(
        "demo-not-a-real-key-two"
    )


# -- the fingerprint itself ---------------------------------------------------------------------
def test_fingerprint_follows_variables_and_file_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardlib.sources import Fingerprint

    token = tmp_path / "token"
    token.write_text("demo-token-aaaa")
    old = 1_600_000_000
    os.utime(token, (old, old))
    monkeypatch.setenv("GL_FP_ROLE", "role-a")
    monkeypatch.setenv("GL_FP_TOKEN_FILE", str(token))
    who = Fingerprint(("GL_FP_ROLE", "GL_FP_TOKEN_FILE"), files=("GL_FP_TOKEN_FILE",))
    first = who()
    assert who() == first and len(first) == 32
    assert "role-a" not in first and "demo-token" not in first
    with token.open("r+") as fh:  # same inode, same size, same mtime: only ctime and content
        fh.write("demo-token-bbbb")
    os.utime(token, (old, old))
    second = who()
    assert second != first
    monkeypatch.setenv("GL_FP_ROLE", "role-b")
    assert who() not in (first, second)
    monkeypatch.setenv("GL_FP_ROLE", "role-a")
    assert who() == second
    token.unlink()
    assert who() not in (first, second)


def test_fingerprint_falls_through_when_the_first_source_is_incomplete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from guardlib.sources import Fingerprint

    chain = Fingerprint(("GL_FP_PROFILE",))
    keys = Fingerprint(("GL_FP_KEY", "GL_FP_SECRET", "GL_FP_REGION"),
                       required=("GL_FP_KEY", "GL_FP_SECRET"), otherwise=chain.fast)  # fmt: skip
    monkeypatch.setenv("GL_FP_PROFILE", "one")
    monkeypatch.delenv("GL_FP_KEY", raising=False)
    assert keys() == chain()
    monkeypatch.setenv("GL_FP_PROFILE", "two")
    assert keys() == chain()
    monkeypatch.setenv("GL_FP_KEY", "demo-key-id")
    monkeypatch.setenv("GL_FP_SECRET", "demo-secret-value")
    with_keys = keys()
    assert with_keys != chain()
    monkeypatch.setenv("GL_FP_PROFILE", "three")  # the env keys win: the profile is moot
    assert keys() == with_keys


def test_fingerprint_survives_a_replaced_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardlib.sources import Fingerprint

    who = Fingerprint(("GL_FP_ROLE",))
    monkeypatch.setattr(os, "environ", {"GL_FP_ROLE": "role-a"})
    a = who()
    monkeypatch.setattr(os, "environ", {"GL_FP_ROLE": "role-b"})
    assert who() != a


@pytest.mark.parametrize("ref", PROD_REFS)
@pytest.mark.parametrize("how", ["audience", "expired"])
def test_every_refused_exchange_is_access_denied(
    world: Any,
    calls: collections.Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    ref: str,
    how: str,
) -> None:
    """A token for another audience, or an expired one, whatever code the cloud answers
    (STS InvalidIdentityToken/ExpiredTokenException, AADSTS, invalid_grant, Vault's claim
    check): AccessDenied, one request, never a stale value."""
    _skip_without_federation(world, ref)
    if how == "audience":
        env = world.federation_env(MAIN, identity="prod-app", audience="https://elsewhere.example")
    else:
        env = world.federation_env(MAIN, identity="prod-app", lifetime=-120)
    from guardlib.emulators import REAL_CLOUD_VARIABLES

    for key in set(REAL_CLOUD_VARIABLES) | set(world.env()):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(ref, cache=None)
    assert calls[str(guardlib.parse_reference(ref).source)] == 1
    assert PROD not in str(info.value)


def test_no_credentials_at_all_is_access_denied_not_unavailable(
    world: Any,
    use: Any,
    calls: collections.Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    use("dev-app")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-either"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve("aws-sm://dev-api-key", cache=None)
    assert info.value.cause is not None and info.value.cause.type == "NoCredentialsError"
    assert calls["aws-sm://dev-api-key"] == 1


def test_a_source_without_its_own_fingerprint_is_keyed_by_cwd_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardlib.resolver import fingerprint
    from guardlib.sources import MODULES

    schemes = [s for s in MODULES if s not in ("env", "dotenv", "aws-sm", "azure-kv", "gcp-sm",
                                                "vault")]  # fmt: skip
    for scheme in schemes:
        module = __import__(MODULES[scheme], fromlist=["_"])
        if hasattr(module, "fingerprint"):
            continue
        who = fingerprint(scheme, guardlib.parse_reference(f"{scheme}://x.env#KEY"))
        first = who()
        monkeypatch.setenv("GL_FP_SOME_KEY", "demo-key-material")
        assert who() != first
        monkeypatch.delenv("GL_FP_SOME_KEY")
        assert who() == first
        (tmp_path / scheme).mkdir()
        monkeypatch.chdir(tmp_path / scheme)
        assert who() != first


@pytest.mark.parametrize(
    ("service", "ref"), [(CLOUD_OF[r.split(":")[0]], r) for r in PROD_REFS[:3]]
)  # OpenBao is a real server: no fault injection
def test_stale_if_error_serves_only_the_callers_own_entry(
    world: Any, use: Any, clock: Any, service: str, ref: str
) -> None:
    from guardlib.errors import ProviderUnavailable
    from guardlib.resolver.retry import NO_RETRY

    cache = SecretCache(ttl=10, grace=3600, clock=clock)
    use("prod-app")
    assert guardlib.resolve(ref, cache=cache) == PROD
    clock.advance(11)
    world.faults.inject("error", service=service, status=503)
    assert guardlib.resolve(ref, cache=cache, retry=NO_RETRY) == PROD  # its own, stale
    assert cache.stats.stale_served == 1
    use("dev-app")  # the same outage: dev-app has no entry of its own, and gets none
    with pytest.raises((ProviderUnavailable, AccessDenied)):
        guardlib.resolve(ref, cache=cache, retry=NO_RETRY)
    assert cache.stats.stale_served == 1


def test_a_refusal_inside_grpcs_auth_plugin_is_access_denied(world: Any) -> None:
    """When google-auth refreshes inside the gRPC auth plugin (not in guardlib's own refresh),
    grpc reports the refused exchange as UNAVAILABLE: classified by cause, AccessDenied."""
    from guardlib.sources import gcp

    ref = guardlib.parse_reference("gcp-sm://guard-demo/prod-api-key")
    with world.as_workload(PULL_REQUEST, identity="prod-app"):
        client = gcp._build()  # the SDK's own client; guardlib's ready() is not called
        name = "projects/guard-demo/secrets/prod-api-key/versions/latest"
        with pytest.raises(Exception) as info:
            client.api.access_secret_version(request={"name": name}, retry=None, timeout=10)
    from google.api_core.exceptions import ServiceUnavailable

    assert isinstance(info.value, ServiceUnavailable)  # what the transport calls it
    error = gcp.classify(ref, info.value)
    assert isinstance(error, AccessDenied)
    assert PROD not in str(error)


@pytest.mark.parametrize("ref", PROD_REFS)
def test_aresolve_never_serves_another_identity(world: Any, use: Any, ref: str) -> None:
    import asyncio

    use("prod-app")
    assert asyncio.run(guardlib.aresolve(ref)) == PROD
    use("dev-app")
    with pytest.raises(AccessDenied):
        asyncio.run(guardlib.aresolve(ref))
