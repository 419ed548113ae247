"""A real OpenBao server through hvac: KV v2, ACL policies, AppRole."""

from __future__ import annotations

import os
import subprocess
import sys

import hvac
import hvac.exceptions
import pytest

from guardlib.emulators import EmulatorUnavailable

from .conftest import read


def test_admin_environment_reads_kv_v2(seeded, hvac_client):
    client = hvac_client(None)
    assert client.is_authenticated()
    assert read(client, "dev-api-key") == {"value": "demo-not-a-real-key-dev"}
    assert os.environ["VAULT_ADDR"].startswith("http://127.0.0.1:")


def test_identity_reads_its_secret_and_is_denied_the_other(seeded, hvac_client):
    dev = hvac_client("dev-app")
    assert read(dev, "dev-api-key") == {"value": "demo-not-a-real-key-dev"}
    with pytest.raises(hvac.exceptions.Forbidden):
        read(dev, "prod-api-key")
    prod = hvac_client("prod-app")
    assert read(prod, "prod-api-key") == {"value": "demo-not-a-real-key-prod"}
    with pytest.raises(hvac.exceptions.Forbidden):
        read(prod, "dev-api-key")


def test_reader_cannot_write_writer_can(seeded, hvac_client):
    with pytest.raises(hvac.exceptions.Forbidden):
        hvac_client("dev-app").secrets.kv.v2.create_or_update_secret(
            path="dev-api-key", secret={"value": "demo-not-a-real-key-x"}, mount_point="secret"
        )
    hvac_client("ops-app").secrets.kv.v2.create_or_update_secret(
        path="dev-api-key", secret={"value": "demo-not-a-real-key-v2"}, mount_point="secret"
    )
    assert read(hvac_client("dev-app"), "dev-api-key") == {"value": "demo-not-a-real-key-v2"}


def test_approle_login(seeded, hvac_client, monkeypatch):
    hvac_client("dev-app")  # applies VAULT_ADDR, VAULT_ROLE_ID, VAULT_SECRET_ID
    monkeypatch.delenv("VAULT_TOKEN")  # what an app has before it logs in
    client = hvac.Client(url=os.environ["VAULT_ADDR"])
    assert not client.is_authenticated()
    client.auth.approle.login(
        role_id=os.environ["VAULT_ROLE_ID"], secret_id=os.environ["VAULT_SECRET_ID"]
    )
    assert client.is_authenticated()
    assert read(client, "dev-api-key")["value"] == "demo-not-a-real-key-dev"
    assert client.lookup_token()["data"]["policies"] == ["default", "dev-app"]
    with pytest.raises(hvac.exceptions.InvalidRequest):
        hvac.Client(url=os.environ["VAULT_ADDR"]).auth.approle.login(
            role_id=os.environ["VAULT_ROLE_ID"], secret_id="demo-not-a-real-secret-id"
        )


def test_approle_bound_to_the_wrong_policy_is_denied(seeded, cloud, hvac_client):
    admin = hvac_client(None)
    admin.auth.approle.create_or_update_approle("misbound-app", token_policies=["prod-app"])
    role_id = admin.auth.approle.read_role_id("misbound-app")["data"]["role_id"]
    secret_id = admin.auth.approle.generate_secret_id("misbound-app")["data"]["secret_id"]
    app = hvac.Client(url=os.environ["VAULT_ADDR"])
    app.auth.approle.login(role_id=role_id, secret_id=secret_id)
    with pytest.raises(hvac.exceptions.Forbidden):
        read(app, "dev-api-key")


def test_reset_wipes_data_and_an_applied_env_works_after_reseed(seeded, cloud, hvac_client):
    dev = hvac_client("dev-app")
    seeded.reset()
    with pytest.raises(hvac.exceptions.InvalidPath):
        read(hvac_client(None), "dev-api-key")
    with pytest.raises(hvac.exceptions.Forbidden):
        read(dev, "dev-api-key")
    cloud.seed({"secrets": {"dev-api-key": {"value": "demo-again", "readers": ["dev-app"]}}})
    assert read(dev, "dev-api-key") == {"value": "demo-again"}


def test_fresh_process_with_only_the_written_env(seeded, cloud):
    code = (
        "import hvac\n"
        "c = hvac.Client()\n"
        "print(c.secrets.kv.v2.read_secret_version(path='dev-api-key', mount_point='secret',"
        " raise_on_deleted_version=True)['data']['data']['value'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=cloud.env("dev-app"), capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "demo-not-a-real-key-dev"


def test_unseeded_identity_is_denied(seeded, hvac_client):
    ghost = hvac_client("ghost-app")
    assert not ghost.is_authenticated()
    with pytest.raises(hvac.exceptions.Forbidden):
        read(ghost, "dev-api-key")


def test_missing_binary_says_how_to_install(monkeypatch, tmp_path):
    from guardlib.emulators.vault import binary

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(binary, "_bundled", lambda: None)
    with pytest.raises(EmulatorUnavailable, match="brew install openbao"):
        binary.locate()


def test_server_process_is_gone_after_stop(tmp_path):
    from guardlib.emulators.vault import VaultEmulator

    emu = VaultEmulator()

    class Ctx:
        workdir = tmp_path

    emu.start(Ctx())  # type: ignore[arg-type]
    proc = emu._server.proc
    assert proc is not None and proc.poll() is None
    emu.stop()
    assert proc.poll() is not None
    emu.stop()  # twice is fine
