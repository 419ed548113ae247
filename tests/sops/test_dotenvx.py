"""Files the dotenvx CLI encrypted resolve through ``dotenvx://``, with the private key found
where dotenvx finds it; guardlib agrees with ``dotenvx get`` on every value."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import guardlib
from guardlib.errors import AccessDenied, ResolveError
from guardlib.sources import dotenvx as source

from .conftest import dotenvx_cli

PLAIN = (
    "API_KEY=demo-not-a-real-key-1234\n"
    'DB_PASSWORD="demo-not-a-real password with spaces"\n'
    'MULTI="demo line one\\nline two"\n'
    "UNICODE=demo-ключ-✓\n"
    "# a comment\n"
    "PORT=5432\n"
)
VALUES = ("demo-not-a-real-key-1234", "demo-not-a-real password with spaces", "demo-ключ-✓")


@pytest.fixture(scope="module")
def encrypted_by_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One folder the CLI encrypted (node is slow to start: once per module), and what
    ``dotenvx get`` says it holds."""
    run = dotenvx_cli()
    folder = tmp_path_factory.mktemp("dotenvx")
    (folder / ".env.production").write_text(PLAIN)
    (folder / ".env").write_text("API_KEY=demo-not-a-real-dev-key-1\n")
    run("encrypt", "-f", ".env.production", "-f", ".env", cwd=folder)
    text = (folder / ".env.production").read_text()
    assert "DOTENV_PUBLIC_KEY_PRODUCTION" in text and "demo-not-a-real-key" not in text
    return folder, run("get", "-f", ".env.production", cwd=folder).stdout


@pytest.fixture
def project(encrypted_by_cli: tuple[Path, str], tmp_path: Path, home: Path) -> Path:
    folder = tmp_path / "app"
    shutil.copytree(encrypted_by_cli[0], folder)
    return folder


def keys_of(folder: Path) -> dict[str, str]:
    return dict(
        re.findall(r"^(DOTENV_PRIVATE_KEY\w*)=(\w+)$", (folder / ".env.keys").read_text(), re.M)
    )


def test_agrees_with_dotenvx_get(
    project: Path, encrypted_by_cli: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = json.loads(encrypted_by_cli[1])
    monkeypatch.chdir(project.parent)  # .env.keys is found next to the file, not in the cwd
    checked = 0
    for name, value in expected.items():
        if name.startswith("DOTENV_PUBLIC_KEY"):
            continue
        got = guardlib.resolve(f"dotenvx://{project}/.env.production#{name}", cache=None)
        assert got.reveal() == value, name
        checked += 1
    assert checked == 5


def test_key_from_the_environment_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = keys_of(project)
    (project / ".env.keys").unlink()
    ref = f"dotenvx://{project}/.env.production#API_KEY"
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(ref, cache=None)
    assert "DOTENV_PRIVATE_KEY_PRODUCTION" in str(info.value) and "demo" not in str(info.value)
    monkeypatch.setenv("DOTENV_PRIVATE_KEY_PRODUCTION", keys["DOTENV_PRIVATE_KEY_PRODUCTION"])
    assert guardlib.resolve(ref, cache=None).reveal() == "demo-not-a-real-key-1234"
    # several keys, comma-separated, as dotenvx accepts during a rotation
    monkeypatch.setenv(
        "DOTENV_PRIVATE_KEY_PRODUCTION",
        f"{keys['DOTENV_PRIVATE_KEY']},{keys['DOTENV_PRIVATE_KEY_PRODUCTION']}",
    )
    assert guardlib.resolve(ref, cache=None).reveal() == "demo-not-a-real-key-1234"


def test_another_environments_key_is_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = keys_of(project)
    monkeypatch.setenv("DOTENV_PRIVATE_KEY_PRODUCTION", keys["DOTENV_PRIVATE_KEY"])
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"dotenvx://{project}/.env.production#API_KEY", cache=None)
    text = str(info.value)
    assert "wrong private key" in text
    assert keys["DOTENV_PRIVATE_KEY"] not in text and "demo" not in text


def test_development_file_uses_dotenv_private_key(project: Path) -> None:
    got = guardlib.resolve(f"dotenvx://{project}/.env#API_KEY", cache=None)
    assert got.reveal() == "demo-not-a-real-dev-key-1"


def test_tampered_and_malformed_values(project: Path, tmp_path: Path) -> None:
    text = (project / ".env.production").read_text()
    value = re.search(r"^API_KEY=encrypted:(\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
    for i, bad in enumerate(
        (
            value[:-6] + ("AAAA" if value[-6:-2] != "AAAA" else "BBBB") + value[-2:],
            value[:40],
            "!!!notbase64",
            "",
        )
    ):
        (project / ".env.production").write_text(text.replace(value, bad))
        with pytest.raises(ResolveError) as info:
            guardlib.resolve(f"dotenvx://{project}/.env.production#API_KEY", cache=None)
        assert "demo" not in str(info.value), i


def test_plain_values_and_missing_names(project: Path) -> None:
    (project / ".env.staging").write_text("PLAIN=demo-plain-value-1\n")
    assert guardlib.resolve(f"dotenvx://{project}/.env.staging#PLAIN", cache=None).reveal() == (
        "demo-plain-value-1"
    )
    with pytest.raises(guardlib.SecretNotFound):
        guardlib.resolve(f"dotenvx://{project}/.env.staging#NOPE", cache=None)
    with pytest.raises(guardlib.SecretNotFound):
        guardlib.resolve(f"dotenvx://{project}/.env.none#NOPE", cache=None)


def test_key_names_follow_dotenvx() -> None:
    assert source.private_key_names("/x/.env", []) == ["DOTENV_PRIVATE_KEY"]
    assert source.private_key_names(".env.production", []) == ["DOTENV_PRIVATE_KEY_PRODUCTION"]
    assert source.private_key_names(".env.local.staging.x", []) == [
        "DOTENV_PRIVATE_KEY_LOCAL_STAGING"
    ]
    assert source.private_key_names(".env.CI.txt", []) == ["DOTENV_PRIVATE_KEY_CI"]
    assert source.private_key_names(".env1", []) == ["DOTENV_PRIVATE_KEY_DEVELOPMENT1"]
    assert (
        source.private_key_names("prod.env", ["DOTENV_PUBLIC_KEY_PROD"])[-1]
        == "DOTENV_PRIVATE_KEY_PROD"
    )


def test_a_known_vector_without_the_cli(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ECIES value made here exactly as eciesjs makes it (ephemeral key, HKDF-SHA256 over
    both uncompressed points, AES-256-GCM with a 16-byte nonce): runs without node."""
    import base64
    import os

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret = ec.generate_private_key(ec.SECP256K1())
    eph = ec.generate_private_key(ec.SECP256K1())
    uncompressed = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    eph_pub = eph.public_key().public_bytes(*uncompressed)
    # the shared point, uncompressed: the receiver's public key times the ephemeral scalar
    shared = (
        ec.derive_private_key(
            eph.private_numbers().private_value
            * secret.private_numbers().private_value
            % 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
            ec.SECP256K1(),
        )
        .public_key()
        .public_bytes(*uncompressed)
    )
    key = HKDF(hashes.SHA256(), 32, None, None).derive(eph_pub + shared)
    nonce = os.urandom(16)
    sealed = AESGCM(key).encrypt(nonce, b"demo-not-a-real-vector-1", None)
    value = "encrypted:" + base64.b64encode(eph_pub + nonce + sealed[-16:] + sealed[:-16]).decode()
    env = tmp_path / ".env.ci"
    env.write_text(f"TOKEN={value}\n")
    monkeypatch.setenv("DOTENV_PRIVATE_KEY_CI", f"{secret.private_numbers().private_value:064x}")
    assert (
        guardlib.resolve(f"dotenvx://{env}#TOKEN", cache=None).reveal()
        == "demo-not-a-real-vector-1"
    )
