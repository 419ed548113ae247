"""sops files encrypted with AWS KMS through the offline cloud (the emulator's KMS behind its
IAM layer), reached by the AWS SDKs' own service endpoint variable ``AWS_ENDPOINT_URL_KMS``:
the real sops (AWS SDK for Go v2) and guardlib (boto3) find the endpoint the same way, agree on
every value, and refuse ``dev-app`` the prod file with KMS's ``AccessDeniedException``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib import emulators
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import COURSE
from guardlib.errors import AccessDenied

DEV_KMS = "arn:aws:kms:us-east-1:123456789012:alias/guard-dev"
PROD_KMS = "arn:aws:kms:us-east-1:123456789012:alias/guard-prod"
TEXT = (
    "db:\n  password: demo-not-a-real-{env}-password\n  port: 5432\n"
    "api:\n  key: demo-not-a-real-{env}-key\n"
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    if "kms_keys" not in str(COURSE.get("aws", {})):
        pytest.skip("the course seed has no KMS keys yet")
    try:
        cloud = emulators.start(only=["aws"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    cloud["aws"].reset()
    cloud.seed(COURSE)
    yield cloud


def as_(cloud: emulators.OfflineCloud, identity: str | None, monkeypatch: Any) -> dict[str, str]:
    """``identity``'s environment, with the endpoint given only as AWS_ENDPOINT_URL_KMS."""
    for key in (*REAL_CLOUD_VARIABLES, "AWS_ENDPOINT_URL_KMS"):
        monkeypatch.delenv(key, raising=False)
    env = cloud.env(identity)
    env["AWS_ENDPOINT_URL_KMS"] = env.pop("AWS_ENDPOINT_URL")
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance metadata to wait for here
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def files(
    cloud: emulators.OfflineCloud, sops: Any, tmp_path: Path, monkeypatch: Any
) -> dict[str, Path]:
    as_(cloud, None, monkeypatch)  # the administrator encrypts with both keys
    out = {}
    for env_name, key in (("dev", DEV_KMS), ("prod", PROD_KMS)):
        plain = tmp_path / f"{env_name}.yaml"
        plain.write_text(TEXT.format(env=env_name))
        context = f"app:wallet,env:{env_name}"  # an encryption context, checked by KMS on decrypt
        enc = tmp_path / f"{env_name}.enc.yaml"
        enc.write_text(
            sops("encrypt", "--kms", key, "--encryption-context", context, str(plain)).stdout
        )
        assert "demo-not-a-real" not in enc.read_text() and "context" in enc.read_text()
        out[env_name] = enc
    return out


def test_dev_app_reads_dev_and_agrees_with_sops(
    cloud: emulators.OfflineCloud, files: dict[str, Path], sops: Any, monkeypatch: Any
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    expected = json.loads(sops("decrypt", "--output-type", "json", str(files["dev"])).stdout)
    got = json.loads(guardlib.resolve(f"sops://{files['dev']}", cache=None).reveal())
    assert got == expected
    assert guardlib.resolve(f"sops://{files['dev']}#api.key", cache=None).reveal() == (
        "demo-not-a-real-dev-key"
    )


def test_dev_app_is_refused_prod_through_sops_and_guardlib(
    cloud: emulators.OfflineCloud, files: dict[str, Path], sops: Any, monkeypatch: Any
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    done = sops("decrypt", str(files["prod"]), check=False)
    said = " ".join(done.stderr.replace("|", " ").split())
    assert done.returncode == 128 and "AccessDeniedException" in said
    assert "not authorized to perform: kms:Decrypt" in said
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{files['prod']}#db.password", cache=None)
    error = info.value
    assert error.cause is not None and error.cause.code == "AccessDeniedException"
    assert str(files["prod"]) in str(error) and "demo" not in str(error)
    as_(cloud, "prod-app", monkeypatch)
    assert guardlib.resolve(f"sops://{files['prod']}#db.password", cache=None).reveal() == (
        "demo-not-a-real-prod-password"
    )


def test_a_changed_encryption_context_is_refused(
    cloud: emulators.OfflineCloud, files: dict[str, Path], monkeypatch: Any, tmp_path: Path
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    bad = tmp_path / "context.yaml"
    bad.write_text(files["dev"].read_text().replace("env: dev", "env: prod"))
    assert bad.read_text() != files["dev"].read_text()
    with pytest.raises(guardlib.ResolveError) as info:
        guardlib.resolve(f"sops://{bad}#db.password", cache=None)
    assert "InvalidCiphertextException" in str(info.value) and "demo" not in str(info.value)


def test_no_credentials_is_a_clear_refusal(
    cloud: emulators.OfflineCloud, files: dict[str, Path], monkeypatch: Any
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{files['dev']}#db.password", cache=None)
    assert "no AWS credentials" in str(info.value)


def test_the_endpoint_comes_from_the_environment(
    cloud: emulators.OfflineCloud, files: dict[str, Path], monkeypatch: Any
) -> None:
    """Without AWS_ENDPOINT_URL_KMS, boto3 would go to the real kms.us-east-1.amazonaws.com,
    which the offline gateway refuses: an unavailable provider, not a silent success."""
    as_(cloud, "dev-app", monkeypatch)
    assert "AWS_ENDPOINT_URL" not in os.environ
    monkeypatch.delenv("AWS_ENDPOINT_URL_KMS")
    with pytest.raises(guardlib.ResolveError):
        guardlib.resolve(
            f"sops://{files['dev']}#db.password",
            cache=None,
            retry=guardlib.RetryPolicy(max_attempts=1),
        )
