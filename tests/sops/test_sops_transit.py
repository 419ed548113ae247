"""sops files encrypted with OpenBao's transit engine (the real ``bao`` dev server): the
administrator encrypts dev to ``guard-dev`` and prod to ``guard-prod``; ``dev-app``'s policy
lets it decrypt with ``guard-dev`` only, through sops and through guardlib alike."""

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
from guardlib.emulators.seed import DEV_PROD
from guardlib.errors import AccessDenied

SEED = {
    **DEV_PROD,
    "vault": {
        "transit_keys": {
            "guard-dev": {"decrypt": ["dev-app"], "encrypt": ["ops-app"]},
            "guard-prod": {"decrypt": ["prod-app"]},
        }
    },
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    try:
        cloud = emulators.start(only=["vault"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    cloud["vault"].reset()
    cloud.seed(SEED)
    yield cloud
    cloud["vault"].reset()


def as_(cloud: emulators.OfflineCloud, identity: str | None, monkeypatch: Any) -> dict[str, str]:
    for key in REAL_CLOUD_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    env = cloud.env(identity)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def files(
    cloud: emulators.OfflineCloud, sops: Any, tmp_path: Path, monkeypatch: Any
) -> dict[str, Path]:
    env = as_(cloud, None, monkeypatch)  # the administrator encrypts
    out = {}
    for name in ("dev", "prod"):
        plain = tmp_path / f"{name}.yaml"
        plain.write_text(f"db:\n  password: demo-not-a-real-{name}-password\n  port: 5432\n")
        uri = f"{env['VAULT_ADDR']}/v1/transit/keys/guard-{name}"
        enc = tmp_path / f"{name}.enc.yaml"
        enc.write_text(sops("encrypt", "--hc-vault-transit", uri, str(plain)).stdout)
        assert "hc_vault" in enc.read_text() and "demo-not-a-real" not in enc.read_text()
        out[name] = enc
    return out


def test_policy_per_identity(cloud: emulators.OfflineCloud) -> None:
    admin = cloud["vault"].admin
    assert sorted(admin.transit_keys()) == ["guard-dev", "guard-prod"]
    policy = admin.request("GET", "sys/policies/acl/dev-app")["data"]["policy"]
    assert 'path "transit/decrypt/guard-dev"' in policy and "guard-prod" not in policy


def test_dev_app_reads_dev_through_sops_and_guardlib(
    cloud: emulators.OfflineCloud, files: dict[str, Path], sops: Any, monkeypatch: Any
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    expected = json.loads(sops("decrypt", "--output-type", "json", str(files["dev"])).stdout)
    got = json.loads(guardlib.resolve(f"sops://{files['dev']}", cache=None).reveal())
    assert got == expected
    assert guardlib.resolve(f"sops://{files['dev']}#db.password", cache=None).reveal() == (
        "demo-not-a-real-dev-password"
    )


def test_dev_app_is_refused_prod_by_both(
    cloud: emulators.OfflineCloud, files: dict[str, Path], sops: Any, monkeypatch: Any
) -> None:
    as_(cloud, "dev-app", monkeypatch)
    done = sops("decrypt", str(files["prod"]), check=False)
    assert done.returncode != 0 and "permission denied" in done.stderr
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{files['prod']}#db.password", cache=None)
    assert "permission denied" in str(info.value) and "demo" not in str(info.value)
    as_(cloud, "prod-app", monkeypatch)
    assert guardlib.resolve(f"sops://{files['prod']}#db.password", cache=None).reveal()


def test_a_token_goes_only_to_vault_addr(
    cloud: emulators.OfflineCloud, files: dict[str, Path], monkeypatch: Any, tmp_path: Path
) -> None:
    """A pull request that points the file at another server must not get the CI's token."""
    as_(cloud, "dev-app", monkeypatch)
    addr = os.environ["VAULT_ADDR"]
    evil = tmp_path / "evil.enc.yaml"
    evil.write_text(files["dev"].read_text().replace(addr, "http://127.0.0.1:9"))
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{evil}#db.password", cache=None)
    assert "guardlib sends a Vault token only to VAULT_ADDR" in str(info.value)
    assert os.environ["VAULT_TOKEN"] not in str(info.value)


def test_no_token(cloud: emulators.OfflineCloud, files: dict[str, Path], monkeypatch: Any) -> None:
    as_(cloud, "dev-app", monkeypatch)
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{files['dev']}#db.password", cache=None)
    assert "no Vault token" in str(info.value)


def test_seed_is_checked_before_anything_is_sent(cloud: emulators.OfflineCloud) -> None:
    from guardlib.emulators.seed import SeedError

    for bad in (
        {"transit_keys": {"Bad Name": {}}},
        {"transit_keys": {"k": {"read": ["dev-app"]}}},
        {"transit_keys": {"k": {"decrypt": "dev-app"}}},
        {"transit_keys": {"k": {"decrypt": ["root"]}}},
        {"transit_keys": []},
    ):
        with pytest.raises(SeedError):
            cloud.seed({"vault": bad})
    assert sorted(cloud["vault"].admin.transit_keys()) == ["guard-dev", "guard-prod"]


def test_the_course_seed_has_transit_keys_with_a_policy_per_identity() -> None:
    from guardlib.emulators.seed import COURSE

    try:
        cloud = emulators.start(only=["vault"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    cloud["vault"].reset()
    cloud.seed(COURSE)
    try:
        admin = cloud["vault"].admin
        assert sorted(admin.transit_keys()) == ["guard-dev", "guard-prod"]
        for identity, key, other in (
            ("dev-app", "guard-dev", "guard-prod"),
            ("prod-app", "guard-prod", "guard-dev"),
        ):
            policy = admin.request("GET", f"sys/policies/acl/{identity}")["data"]["policy"]
            assert f'path "transit/decrypt/{key}"' in policy and other not in policy
    finally:
        cloud["vault"].reset()
        cloud.seed(SEED)
