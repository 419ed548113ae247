"""What a hostile client on the same machine tries against the OpenBao server: computed
credentials, path tricks, privilege escalation, seeds that widen an ACL, values in errors."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest

from guardlib.emulators.seed import SeedError, SeedSpec

from .conftest import SEED, raw, read

PROD_VALUE = SEED["secrets"]["prod-api-key"]["value"]
#: what the source used to hand out: a constant root token, AppRole ids from sha256 of the name
OLD_ROOT_TOKEN = "demo-not-a-real-root-token"  # noqa: S105


def _old_uuid(kind: str, name: str) -> str:
    h = hashlib.sha256(f"guardlib-vault-{kind}-{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class _Ctx:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir


def _denied(status: int, body: bytes) -> bool:
    return status >= 300 and PROD_VALUE.encode() not in body


# -- 1. credentials ---------------------------------------------------------------------------
def test_two_starts_give_different_root_tokens_and_approle_ids(seeded, cloud, tmp_path):
    from guardlib.emulators.vault import VaultEmulator

    other = VaultEmulator()
    other.start(_Ctx(tmp_path))  # type: ignore[arg-type]
    try:
        other.apply_seed(cloud.seed(SEED))
        mine, theirs = seeded.env("dev-app"), other.env("dev-app")
        assert seeded.env(None)["VAULT_TOKEN"] != other.env(None)["VAULT_TOKEN"]
        for key in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
            assert mine[key] != theirs[key], key
    finally:
        other.stop()


def test_credentials_are_not_computable_from_the_source(seeded, cloud):
    env = seeded.env("dev-app")
    assert env["VAULT_ROLE_ID"] != _old_uuid("role", "dev-app")
    assert env["VAULT_SECRET_ID"] != _old_uuid("secret", "dev-app")
    assert seeded.env(None)["VAULT_TOKEN"] != OLD_ROOT_TOKEN
    ghost = seeded.env("ghost-app")["VAULT_TOKEN"]
    assert "ghost-app" not in ghost


def test_the_old_constant_root_token_is_refused(seeded, cloud):
    status, _, body = raw(cloud, "GET", "/v1/secret/data/prod-api-key", OLD_ROOT_TOKEN)
    assert status == 403 and b"permission denied" in body
    assert PROD_VALUE.encode() not in body


@pytest.mark.parametrize("identity", ["dev-app", "prod-app", "ops-app"])
def test_the_old_computed_approle_ids_are_refused(seeded, cloud, identity):
    body = {"role_id": _old_uuid("role", identity), "secret_id": _old_uuid("secret", identity)}
    status, _, answer = raw(cloud, "POST", "/v1/auth/approle/login", None, body)
    assert status == 400 and b"invalid role or secret ID" in answer
    assert b"client_token" not in answer


def test_the_written_environment_logs_in_and_survives_reset_and_reseed(seeded, cloud):
    env = seeded.env("dev-app")
    seeded.reset()
    cloud.seed(SEED)
    again = seeded.env("dev-app")
    assert {k: again[k] for k in env} == env
    client = hvac.Client(url=env["VAULT_ADDR"])
    client.auth.approle.login(role_id=env["VAULT_ROLE_ID"], secret_id=env["VAULT_SECRET_ID"])
    assert read(client, "dev-api-key")["value"] == "demo-not-a-real-key-dev"
    assert read(hvac.Client(url=env["VAULT_ADDR"], token=env["VAULT_TOKEN"]), "dev-api-key")


def test_the_root_token_is_not_on_the_command_line_nor_in_a_token_file(seeded):
    root = seeded.env(None)["VAULT_TOKEN"]
    proc = seeded._server.proc
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    if cmdline.exists():  # world-readable on Linux, unlike the process's environment
        assert root.encode() not in cmdline.read_bytes()
    workdir = seeded.workdir
    assert not (workdir / ".vault-token").exists()
    if os.name == "posix":
        assert workdir.stat().st_mode & 0o077 == 0
        assert (workdir / "bao.log").stat().st_mode & 0o077 == 0


# -- 1. a dev-app token against prod ------------------------------------------------------------
READ_TRICKS = [
    ("GET", "/v1/secret/data/prod-api-key"),
    ("GET", "/v1/secret/data/./prod-api-key"),
    ("GET", "/v1/secret/data//prod-api-key"),
    ("GET", "/v1/secret//data/prod-api-key"),
    ("GET", "/v1//secret/data/prod-api-key"),
    ("GET", "/v1/secret/data/dev-api-key/../prod-api-key"),
    ("GET", "/v1/secret/data/dev-api-key/%2e%2e/prod-api-key"),
    ("GET", "/v1/secret/data/dev-api-key/%2E%2E/prod-api-key"),
    ("GET", "/v1/secret/data/dev-api-key%2f..%2fprod-api-key"),
    ("GET", "/v1/secret/data/%2e%2e/data/prod-api-key"),
    ("GET", "/v1/secret/data/prod%2dapi-key"),
    ("GET", "/v1/secret/data/prod-api-key?version=1"),
    ("GET", "/v1/secret/metadata/prod-api-key"),
    ("GET", "/v1/secret/subkeys/prod-api-key"),
    ("LIST", "/v1/secret/metadata/"),
    ("GET", "/v1/secret/metadata/?list=true"),
    ("GET", "/v1/secret/metadata/dev-api-key/..?list=true"),
    ("GET", "/v1/sys/raw/logical"),
    ("GET", "/v1/sys/policies/acl/prod-app"),
    ("LIST", "/v1/sys/policies/acl"),
    ("GET", "/v1/sys/mounts"),
    ("GET", "/v1/auth/approle/role/prod-app/role-id"),
    ("LIST", "/v1/auth/approle/role/prod-app/secret-id"),
    ("LIST", "/v1/auth/token/accessors"),
]


@pytest.mark.parametrize(("method", "path"), READ_TRICKS)
def test_dev_token_cannot_read_or_list_prod_by_any_path(seeded, cloud, method, path):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    status, headers, body = raw(cloud, method, path, token)
    assert _denied(status, body), (status, body[:200])
    if status in (301, 302, 307, 308):  # Go cleans the path and redirects: follow it
        location = headers["location"]
        assert location.startswith("/v1/")
        status, _, body = raw(cloud, method, location, token)
        assert status == 403 and _denied(status, body)
    assert b"prod-api-key" not in body or status >= 400


def test_a_query_cannot_redirect_a_read_to_prod(seeded, cloud):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    for query in ("path=prod-api-key", "path=../prod-api-key", "version=1&path=prod-api-key"):
        status, _, body = raw(cloud, "GET", f"/v1/secret/data/dev-api-key?{query}", token)
        assert status == 200 and PROD_VALUE.encode() not in body
        assert json.loads(body)["data"]["data"] == {"value": "demo-not-a-real-key-dev"}


def test_response_wrapping_does_not_unlock_prod(seeded, cloud):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    headers = {"X-Vault-Wrap-TTL": "60s"}
    status, _, body = raw(cloud, "GET", "/v1/secret/data/prod-api-key", token, None, headers)
    assert status == 403 and b"wrap_info" not in body


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/secret/data/prod-api-key", {"data": {"value": "demo-evil"}}),
        ("PUT", "/v1/secret/data/./prod-api-key", {"data": {"value": "demo-evil"}}),
        ("POST", "/v1/secret/data//prod-api-key", {"data": {"value": "demo-evil"}}),
        ("POST", "/v1/secret/data/dev-api-key/%2e%2e/prod-api-key", {"data": {"value": "x"}}),
        ("PATCH", "/v1/secret/data/prod-api-key", {"data": {"value": "demo-evil"}}),
        ("DELETE", "/v1/secret/data/prod-api-key", None),
        ("POST", "/v1/secret/delete/prod-api-key", {"versions": [1]}),
        ("POST", "/v1/secret/destroy/prod-api-key", {"versions": [1]}),
        ("POST", "/v1/secret/metadata/prod-api-key", {"max_versions": 1}),
        ("DELETE", "/v1/secret/metadata/prod-api-key", None),
        ("POST", "/v1/sys/remount", {"from": "secret", "to": "stolen"}),
        ("DELETE", "/v1/sys/mounts/secret", None),
        ("POST", "/v1/sys/seal", {}),
    ],
)
def test_dev_token_cannot_write_or_remove_prod(seeded, cloud, method, path, body):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    status, _, answer = raw(cloud, method, path, token, body)
    assert status >= 300, (status, answer[:200])
    admin = hvac.Client(**_client_args(seeded.env(None)))
    got = admin.secrets.kv.v2.read_secret_version(
        path="prod-api-key", mount_point="secret", raise_on_deleted_version=True
    )
    assert got["data"]["data"]["value"] == PROD_VALUE
    assert got["data"]["metadata"]["version"] == 1


def _client_args(env: dict[str, str]) -> dict[str, Any]:
    return {"url": env["VAULT_ADDR"], "token": env["VAULT_TOKEN"]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/auth/token/create", {"policies": ["prod-app"]}),
        ("/v1/auth/token/create", {"policies": ["dev-app", "prod-app"], "no_parent": True}),
        ("/v1/auth/token/create-orphan", {"policies": ["prod-app"]}),
        ("/v1/auth/token/create/prod-app", {}),
        ("/v1/auth/approle/role/prod-app/secret-id", {}),
        ("/v1/auth/approle/role/prod-app/custom-secret-id", {"secret_id": "demo-mine"}),
        ("/v1/auth/approle/role/dev-app", {"token_policies": ["dev-app", "prod-app"]}),
        ("/v1/auth/approle/role/dev-app/secret-id", {}),
        ("/v1/sys/policies/acl/dev-app", {"policy": 'path "secret/*" {capabilities=["read"]}'}),
        ("/v1/sys/policy/default", {"policy": 'path "secret/*" {capabilities=["read"]}'}),
        ("/v1/auth/token/lookup", {"token": "s.guessed"}),
        ("/v1/sys/mounts/stolen", {"type": "kv"}),
    ],
)
def test_dev_token_cannot_mint_or_widen_credentials(seeded, cloud, path, body):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    status, _, answer = raw(cloud, "POST", path, token, body)
    assert status == 403, (status, answer[:200])
    assert b"client_token" not in answer and b'secret_id"' not in answer


def test_token_self_renew_keeps_its_policies(seeded, cloud):
    token = seeded.env("dev-app")["VAULT_TOKEN"]
    status, _, answer = raw(cloud, "POST", "/v1/auth/token/renew-self", token, {})
    assert status == 200
    assert json.loads(answer)["auth"]["policies"] == ["default", "dev-app"]
    status, _, answer = raw(cloud, "GET", "/v1/secret/data/prod-api-key", token)
    assert status == 403


@pytest.mark.parametrize(
    "path", ["./prod-api-key", "dev-api-key/../prod-api-key", "PROD-API-KEY", "prod-api-key/"]
)
def test_hvac_path_tricks_are_refused(seeded, hvac_client, path):
    dev = hvac_client("dev-app")
    with pytest.raises(hvac.exceptions.VaultError):
        read(dev, path)


# -- 2. seed names -----------------------------------------------------------------------------
BAD_NAMES = [
    "prod*",
    "prod-api-*",
    "+",
    "prod+key",
    "prod-api-key?version=2",
    "prod-api-key#x",
    "prod%2dapi-key",
    "prod api key",
    "prod-api-key\t",
    " prod-api-key",
    "prod-api-key\n",
    "..",
    "../prod-api-key",
    "dev/../prod-api-key",
    "a..b",
    "/prod-api-key",
    "prod-api-key/",
    "team//key",
    ".hidden",
    'x" {} path "secret/data/prod-api-key',
    "{{identity.entity.id}}",
    "prodé-key",
    "k" * 300,
]


def _server_state(vault: Any) -> tuple[list[str], list[str], list[str]]:
    admin = vault.admin
    keys = admin.request("LIST", "secret/metadata/").get("data", {}).get("keys", [])
    policies = admin.request("LIST", "sys/policies/acl").get("data", {}).get("keys", [])
    roles = admin.request("LIST", "auth/approle/role").get("data", {}).get("keys", [])
    return sorted(keys), sorted(policies), sorted(roles)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_seed_with_one_bad_name_writes_nothing(vault, cloud, name):
    before = _server_state(vault)
    seed = {
        "secrets": {
            "dev-api-key": {"value": "demo-not-a-real-key-dev", "readers": ["dev-app"]},
            name: {"value": "demo-not-a-real-VALUE-x", "readers": ["dev-app"]},
        }
    }
    with pytest.raises(SeedError) as info:
        cloud.seed(seed)
    message = str(info.value)
    assert "secret name" in message and repr(name) in message
    assert "demo-not-a-real" not in message
    assert _server_state(vault) == before
    assert vault.admin.grants == {}


def test_a_glob_or_fragment_name_cannot_reach_prod(seeded, cloud, hvac_client):
    for name in ("prod*", "prod-api-key#x", "prod-api-key?x=1", "+"):
        with pytest.raises(SeedError):
            cloud.seed({"secrets": {name: {"value": "demo-evil", "readers": ["dev-app"]}}})
    with pytest.raises(hvac.exceptions.Forbidden):
        read(hvac_client("dev-app"), "prod-api-key")
    assert read(hvac_client(None), "prod-api-key") == {"value": PROD_VALUE}


@pytest.mark.parametrize("name", ["team/app/api-key", "Key_1.v2", "a", "x" * 255])
def test_good_names_are_literal_in_the_policy(vault, cloud, hvac_client, name):
    # straight to OpenBao: in a full run the session cloud also holds Azure, whose names are
    # narrower ('/', '_' and '.' are refused there)
    vault.apply_seed(
        SeedSpec.parse(
            {
                "secrets": {
                    name: {"value": "demo-not-a-real-key-a", "readers": ["dev-app"]},
                    name + "2": {"value": "demo-not-a-real-key-b", "readers": ["prod-app"]},
                }
            }
            if len(name) < 255
            else {"secrets": {name: {"value": "demo-not-a-real-key-a", "readers": ["dev-app"]}}}
        )
    )
    dev = hvac_client("dev-app")
    assert read(dev, name) == {"value": "demo-not-a-real-key-a"}
    if len(name) < 255:
        with pytest.raises(hvac.exceptions.Forbidden):
            read(dev, name + "2")


@pytest.mark.parametrize("identity", ["default", "root", "response-wrapping", "control-group"])
def test_identities_named_like_builtin_policies_are_refused(vault, cloud, hvac_client, identity):
    before = _server_state(vault)
    seed = {"secrets": {"prod-api-key": {"value": PROD_VALUE, "readers": ["prod-app", identity]}}}
    with pytest.raises(SeedError, match=identity):
        cloud.seed(seed)
    assert _server_state(vault) == before
    default = vault.admin.request("GET", "sys/policies/acl/default")["data"]["policy"]
    assert "prod-api-key" not in default


# -- 3. errors ---------------------------------------------------------------------------------
VALUE = "demo-not-a-real-VALUE-in-an-error"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("secret/metadata/some-key", {"delete_version_after": VALUE}),
        ("auth/approle/role/dev-app/custom-secret-id", {"secret_id": VALUE, "cidr_list": VALUE}),
        ("secret/data/some-key", {"data": {"value": VALUE}, "options": VALUE}),
    ],
)
def test_admin_errors_never_carry_a_value(seeded, path, body):
    from guardlib.emulators.vault.admin import VaultApiError

    with pytest.raises(VaultApiError) as info:
        seeded.admin.request("POST", path, body)
    assert info.value.status in (400, 500)
    text = str(info.value) + repr(info.value) + repr(info.value.errors)
    assert VALUE not in text
    assert seeded.env(None)["VAULT_TOKEN"] not in text
    assert path in text  # it still says where


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("FETCH", "secret/data/x", None),
        ("GET", "secret/data/x?list=true", None),
        ("GET", "secret/data/x#y", None),
        ("GET", "/secret/data/x", None),
        ("GET", "secret/data/../x", None),
        ("GET", "secret/data/x\n", None),
        ("GET", "secret//data", None),
        ("GET", 42, None),
        ("POST", "secret/data/x", ["not", "an", "object"]),
        ("POST", "secret/data/x", {"data": {"value": b"demo-not-a-real-bytes"}}),
    ],
)
def test_bad_input_to_the_admin_helpers_is_a_clear_error(seeded, method, path, body):
    from guardlib.emulators.vault.admin import VaultInputError

    with pytest.raises(VaultInputError) as info:
        seeded.admin.request(method, path, body)
    assert isinstance(info.value, ValueError)
    assert "demo-not-a-real" not in str(info.value)


@pytest.mark.parametrize("name", ["", "Dev App", "dev-app\n", "../x", None])
def test_bad_identity_names_to_the_admin_helpers(seeded, name):
    from guardlib.emulators.vault.admin import VaultInputError

    with pytest.raises(VaultInputError, match="identity"):
        seeded.admin.approle(name)
    with pytest.raises(VaultInputError, match="identity"):
        seeded.admin.login(name)


def test_an_unreachable_server_is_a_clear_error():
    from guardlib.emulators.vault.admin import Admin
    from guardlib.emulators.vault.server import free_port

    admin = Admin(f"http://127.0.0.1:{free_port()}", "s.demo-not-a-real-token")
    with pytest.raises(ConnectionError, match="not reachable"):
        admin.request("GET", "sys/health")


# -- 4. lifecycle ------------------------------------------------------------------------------
def test_storage_and_log_live_in_the_clouds_work_folder(seeded, cloud):
    workdir = seeded.workdir
    assert workdir.parent == cloud.workdir
    assert (workdir / "bao.log").is_file()


def test_a_started_emulator_leaves_no_folder_after_stop(tmp_path):
    from guardlib.emulators.vault import VaultEmulator

    emu = VaultEmulator()
    emu.start(_Ctx(tmp_path))  # type: ignore[arg-type]
    workdir = emu.workdir
    assert workdir.parent == tmp_path and workdir.is_dir()
    emu.stop()
    assert not workdir.exists()
    assert list(tmp_path.iterdir()) == []


def test_without_a_context_the_private_folder_goes_at_stop():
    from guardlib.emulators.vault import VaultEmulator

    emu = VaultEmulator()
    emu.start(None)
    workdir = emu.workdir
    assert workdir.is_dir()
    emu.stop()
    assert not workdir.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_the_server_dies_with_a_killed_parent(tmp_path):
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from guardlib.emulators.vault import VaultEmulator\n"
        "class Ctx: workdir = Path(sys.argv[1])\n"
        "emu = VaultEmulator(); emu.start(Ctx())\n"
        "print(emu._server.proc.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == -signal.SIGKILL, out.stderr
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the OpenBao server outlived its parent")


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a container's pid 1 to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
