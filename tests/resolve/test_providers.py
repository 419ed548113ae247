"""Every provider through its emulator, as the dev-app identity; errors classified."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib.errors import AccessDenied, ProviderCause, SecretNotFound
from guardlib.secret import Secret

from .conftest import BINARY_VALUE

DEV = "demo-not-a-real-key-dev"
EVERY_PROVIDER = [
    "aws-sm://dev-api-key",
    "azure-kv://guard-demo/dev-api-key",
    "gcp-sm://guard-demo/dev-api-key",
    "vault://secret/dev-api-key#value",
]
PROD = [r.replace("dev-api-key", "prod-api-key") for r in EVERY_PROVIDER]
MISSING = [r.replace("dev-api-key", "no-such-key") for r in EVERY_PROVIDER]


@pytest.mark.parametrize("ref", EVERY_PROVIDER)
def test_resolves_through_every_provider(seeded: Any, ref: str) -> None:
    secret = guardlib.resolve(ref)
    assert isinstance(secret, Secret)
    assert secret.reveal() == DEV
    assert secret.name == ref


@pytest.mark.parametrize("ref", PROD)
def test_dev_identity_cannot_read_prod(seeded: Any, ref: str) -> None:
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(ref)
    assert info.value.reference == ref
    assert info.value.__cause__ is not None
    assert isinstance(info.value.cause, ProviderCause)


@pytest.mark.parametrize("ref", MISSING)
def test_missing_secret(seeded: Any, use: Any, ref: str) -> None:
    use(None)  # the administrator: a missing secret is "not found", not "denied"
    with pytest.raises(SecretNotFound) as info:
        guardlib.resolve(ref)
    assert info.value.reference == ref


def test_env_and_dotenv(seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GL_TEST_TOKEN", "demo-not-a-real-env-token")
    assert guardlib.resolve("env://GL_TEST_TOKEN") == "demo-not-a-real-env-token"
    env_file = tmp_path / "app.env"
    env_file.write_text("API_KEY=demo-not-a-real-dotenv-key\n")
    assert guardlib.resolve(f"dotenv://{env_file}#API_KEY") == "demo-not-a-real-dotenv-key"
    with pytest.raises(SecretNotFound):
        guardlib.resolve(f"dotenv://{env_file}#OTHER")
    with pytest.raises(SecretNotFound):
        guardlib.resolve(f"dotenv://{tmp_path}/none.env#API_KEY")
    monkeypatch.delenv("GL_TEST_TOKEN")
    with pytest.raises(SecretNotFound):
        guardlib.resolve("env://GL_TEST_TOKEN")  # env:// is never cached


@pytest.mark.parametrize("scheme", ["aws-sm://db-creds", "azure-kv://guard-demo/db-creds",
                                    "gcp-sm://guard-demo/db-creds"])  # fmt: skip
def test_json_fields_and_typed_conversion(seeded: Any, scheme: str) -> None:
    assert guardlib.resolve(f"{scheme}#password") == "demo-not-a-real-pw-123"
    port = guardlib.resolve(f"{scheme}#db.port", type=int)
    assert port.reveal() == 5432 and type(port.reveal()) is int
    assert guardlib.resolve(f"{scheme}#db.port", type=str).reveal() == "5432"
    assert guardlib.resolve(scheme, type=dict).reveal()["user"] == "app"
    with pytest.raises(SecretNotFound):
        guardlib.resolve(f"{scheme}#db.host")


def test_vault_key_and_version(seeded: Any, use: Any) -> None:
    assert guardlib.resolve("vault://secret/dev-api-key?version=1#value") == DEV
    assert guardlib.resolve("vault://secret/dev-api-key", type=dict).reveal() == {"value": DEV}
    with pytest.raises(SecretNotFound):
        guardlib.resolve("vault://secret/dev-api-key#other")


def test_binary_secret_is_bytes_not_decoded_twice(seeded: Any) -> None:
    value = guardlib.resolve("aws-sm://blob-key").reveal()
    assert value == BINARY_VALUE and isinstance(value, bytes)


def test_stage_and_arn(seeded: Any, cloud: Any) -> None:
    arn = cloud["aws"].arn("dev-api-key")
    assert guardlib.resolve(f"aws-sm://{arn}") == DEV
    assert guardlib.resolve("aws-sm://dev-api-key?stage=AWSCURRENT") == DEV
    with pytest.raises(SecretNotFound):
        guardlib.resolve("aws-sm://dev-api-key?stage=AWSPENDING")


def test_conversion_error_does_not_carry_the_value(seeded: Any) -> None:
    with pytest.raises(guardlib.ResolveError) as info:
        guardlib.resolve("aws-sm://dev-api-key", type=int)
    assert DEV not in str(info.value) and DEV not in repr(info.value)
    assert info.value.__cause__ is None


def test_aresolve_does_not_block_the_loop(seeded: Any, cloud: Any) -> None:
    cloud.faults.inject("latency", service="aws", latency_ms=200, times=1)

    async def main() -> tuple[Any, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        secret = await guardlib.aresolve("aws-sm://dev-api-key")
        task.cancel()
        return secret, ticks

    secret, ticks = asyncio.run(main())
    assert secret == DEV
    assert ticks >= 5  # the loop kept running during the 200 ms provider call


def test_describe_never_returns_the_value(seeded: Any) -> None:
    info = guardlib.describe("aws-sm://db-creds")
    assert info["provider"] == "aws-sm" and info["value_type"] == "json"
    assert info["keys"] == ["db", "password", "user"]
    assert "AWSCURRENT" in info["stages"] and info["version"] and info["created"]
    assert "demo-not-a-real" not in repr(info)
    blob = guardlib.describe("aws-sm://blob-key")
    assert blob["value_type"] == "binary" and blob["length"] == len(BINARY_VALUE)
    plain = guardlib.describe("gcp-sm://guard-demo/dev-api-key")
    assert plain["value_type"] == "string" and plain["length"] == len(DEV)
    assert plain["version"] == "1"
