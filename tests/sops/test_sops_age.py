"""Files the real ``sops`` encrypted to an age key resolve through ``sops://``, and guardlib
agrees with ``sops decrypt`` on every value, in every format and encryption rule."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib.errors import AccessDenied, ResolveError

YAML = """\
db:
  password: demo-not-a-real-password-1234
  port: 5432
  ratio: 1.50
  tls: true
  user_unencrypted: app
  nothing: null
list:
  - demo-not-a-real-item-1
  - 2
  - {nested: demo-not-a-real-nested-1}
empty: ""
# a comment sops encrypts too
when: 2024-01-01T00:00:00Z
"on": yes
octal: 010
"""
JSON = (
    '{"api": {"key": "demo-not-a-real-key-1234", "n": 1.0, "i": 42, "big": 12345678901234567890},'
    ' "l": [1, "x", null, true, false], "s_unencrypted": 7}'
)
DOTENV = "API_KEY=demo-not-a-real-key-1234\n# comment\nMULTI=demo\\nline\nEMPTY=\nEQ=a=b\n"
INI = "top = level\n[db]\npassword = demo-not-a-real-pw-1\nport = 5432\n[other]\nk: v\n"


def encrypt(sops: Any, tmp_path: Path, name: str, text: str, recipient: str, *extra: str) -> Path:
    plain = tmp_path / name
    plain.write_text(text)
    if extra == ("mac_only_encrypted",):  # only a creation rule can ask for it
        config = tmp_path / ".sops.yaml"
        config.write_text(
            "creation_rules:\n  - path_regex: .*\n    mac_only_encrypted: true\n"
            f"    encrypted_regex: '^(password|key|n)$'\n    age: '{recipient}'\n"
        )
        out = sops("--config", str(config), "encrypt", str(plain)).stdout
        assert "mac_only_encrypted" in out
    else:
        out = sops("encrypt", "--age", recipient, *extra, str(plain)).stdout
    enc = tmp_path / f"enc-{name}"
    enc.write_text(out)
    return enc


def sops_plain(sops: Any, path: Path, key: Path, fmt: str) -> Any:
    out = sops(
        "decrypt",
        "--output-type",
        "json",
        "--input-type",
        fmt,
        str(path),
        env={"SOPS_AGE_KEY_FILE": str(key)},
    ).stdout
    return json.loads(out)


def same(a: Any, b: Any) -> bool:
    """Equal as sops' JSON output shows them (numbers compared as numbers)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b)
    return bool(a == b and type(a) is type(b))


CASES = [
    ("secrets.yaml", YAML, "yaml", ()),
    ("secrets.json", JSON, "json", ()),
    ("secrets.env", DOTENV, "dotenv", ()),
    ("secrets.ini", INI, "ini", ()),
    ("rules.yaml", YAML, "yaml", ("--encrypted-regex", "^(password|key)$")),
    ("rules2.yaml", YAML, "yaml", ("--unencrypted-regex", "^(port|ratio)$")),
    ("rules3.yaml", YAML, "yaml", ("--encrypted-suffix", "word")),
    ("maconly.yaml", YAML, "yaml", ("mac_only_encrypted",)),
    ("maconly.json", JSON, "json", ("mac_only_encrypted",)),
]


@pytest.mark.parametrize(("name", "text", "fmt", "extra"), CASES, ids=[c[0] for c in CASES])
def test_agrees_with_sops_decrypt(
    sops: Any,
    tmp_path: Path,
    age_key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    text: str,
    fmt: str,
    extra: tuple[str, ...],
) -> None:
    key, recipient = age_key
    enc = encrypt(sops, tmp_path, name, text, recipient, *extra)
    expected = sops_plain(sops, enc, key, fmt)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    got = json.loads(guardlib.resolve(f"sops://{enc}", cache=None).reveal())
    if fmt == "ini":
        got.pop("DEFAULT", None) if not got.get("DEFAULT") else None
        expected = {k: v for k, v in expected.items() if v or k != "DEFAULT"}
    assert same(got, expected), (got.keys(), expected.keys())


def test_the_done_when_example(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, recipient = age_key
    enc = encrypt(sops, tmp_path, "app.yaml", YAML, recipient)
    assert "demo-not-a-real-password" not in enc.read_text()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    secret = guardlib.resolve(f"sops://{enc}#db.password")
    assert secret.reveal() == "demo-not-a-real-password-1234"
    assert "demo" not in repr(secret) and "demo" not in str(secret)
    assert guardlib.resolve(f"sops://{enc}#db.port").reveal() == 5432
    assert guardlib.resolve(f"sops://{enc}#db.tls").reveal() is True
    desc = guardlib.describe(f"sops://{enc}#db.password")
    assert desc["provider"] == "sops" and "demo" not in json.dumps(desc)


def test_dotenv_and_ini_keys(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, recipient = age_key
    env = encrypt(sops, tmp_path, "prod.env", DOTENV, recipient)
    ini = encrypt(sops, tmp_path, "prod.ini", INI, recipient)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    assert guardlib.resolve(f"sops://{env}#API_KEY").reveal() == "demo-not-a-real-key-1234"
    assert guardlib.resolve(f"sops://{env}#MULTI").reveal() == "demo\nline"
    assert guardlib.resolve(f"sops://{env}#EQ").reveal() == "a=b"
    assert guardlib.resolve(f"sops://{ini}#db.password").reveal() == "demo-not-a-real-pw-1"


def test_binary_file(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, recipient = age_key
    enc = encrypt(sops, tmp_path, "cert.pem", "demo-not-a-real-pem\nline two\n", recipient)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    assert guardlib.resolve(f"sops://{enc}").reveal() == "demo-not-a-real-pem\nline two\n"


def test_multi_document_yaml(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, recipient = age_key
    enc = encrypt(sops, tmp_path, "multi.yaml", "a: demo-one-1\n---\nb: demo-two-2\n", recipient)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    got = json.loads(guardlib.resolve(f"sops://{enc}", cache=None).reveal())
    assert got == [{"a": "demo-one-1"}, {"b": "demo-two-2"}]


# --- where the age key comes from: the same places, in the same way, as sops -------------


@pytest.fixture
def encrypted(sops: Any, tmp_path: Path, age_key: tuple[Path, str]) -> Path:
    return encrypt(sops, tmp_path, "app.yaml", YAML, age_key[1])


def test_sops_age_key_variable(
    encrypted: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyrage

    other = pyrage.x25519.Identity.generate()
    wanted = age_key[0].read_text().splitlines()[-1]
    monkeypatch.setenv("SOPS_AGE_KEY", f"{other} {wanted}")  # several per line, as sops allows
    assert guardlib.resolve(f"sops://{encrypted}#db.password", cache=None).reveal()


def test_default_key_file_location(
    encrypted: Path,
    age_key: tuple[Path, str],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    sops: Any,
) -> None:
    default = home / ".config" / "sops" / "age" / "keys.txt"
    default.parent.mkdir(parents=True)
    default.write_text(age_key[0].read_text())
    assert sops("decrypt", str(encrypted), check=False).returncode == 0  # sops finds it too
    assert guardlib.resolve(f"sops://{encrypted}#db.password", cache=None).reveal()
    xdg = home / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))  # Linux: XDG_CONFIG_HOME moves it
    assert sops("decrypt", str(encrypted), check=False).returncode != 0
    with pytest.raises(AccessDenied):
        guardlib.resolve(f"sops://{encrypted}#db.password", cache=None)


def test_key_command(
    encrypted: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_CMD", f"cat {age_key[0]}")
    assert guardlib.resolve(f"sops://{encrypted}#db.password", cache=None).reveal()


def test_missing_key(encrypted: Path, age_key: tuple[Path, str], sops: Any) -> None:
    assert sops("decrypt", str(encrypted), check=False).returncode != 0
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{encrypted}#db.password", cache=None)
    text = str(info.value)
    assert str(encrypted) in text and "SOPS_AGE_KEY_FILE" in text and "demo" not in text
    assert age_key[1][:12] in text  # names the recipient it needs (public, safe to show)


def test_wrong_key(encrypted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyrage

    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(wrong))
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{encrypted}#db.password", cache=None)
    assert "none of the 1 age key" in str(info.value) and "updatekeys" in str(info.value)
    assert "AGE-SECRET-KEY" not in str(info.value)


def test_a_missing_field_names_the_path(
    encrypted: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key[0]))
    with pytest.raises(ResolveError) as info:
        guardlib.resolve(f"sops://{encrypted}#db.passwrod", cache=None)
    assert "db.passwrod" in str(info.value) and "demo" not in str(info.value)


def test_shamir_key_groups(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two key groups, both needed (sops' default threshold): one age key each."""
    import pyrage

    second = pyrage.x25519.Identity.generate()
    config = tmp_path / ".sops.yaml"
    config.write_text(
        "creation_rules:\n  - path_regex: .*\n    key_groups:\n"
        f"      - age: ['{age_key[1]}']\n      - age: ['{second.to_public()}']\n"
    )
    plain = tmp_path / "split.yaml"
    plain.write_text("token: demo-not-a-real-token-9\n")
    enc = tmp_path / "split.enc.yaml"
    enc.write_text(sops("--config", str(config), "encrypt", str(plain), cwd=tmp_path).stdout)
    monkeypatch.setenv("SOPS_AGE_KEY", f"{age_key[0].read_text().splitlines()[-1]}\n{second}")
    assert guardlib.resolve(f"sops://{enc}#token", cache=None).reveal() == "demo-not-a-real-token-9"
    monkeypatch.setenv("SOPS_AGE_KEY", str(second))  # one share is not enough
    with pytest.raises(AccessDenied) as info:
        guardlib.resolve(f"sops://{enc}#token", cache=None)
    assert "1 of the 2 key groups" in str(info.value)


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"HOME": "/home/ruby"}, "/home/ruby/.config/sops/age/keys.txt"),
        ("linux", {"HOME": "/home/ruby", "XDG_CONFIG_HOME": "/cfg"}, "/cfg/sops/age/keys.txt"),
        (
            "linux",
            {"HOME": "/home/ruby", "XDG_CONFIG_HOME": "rel"},
            "None",
        ),
        (
            "darwin",
            {"HOME": "/Users/ruby"},
            "/Users/ruby/Library/Application Support/sops/age/keys.txt",
        ),
        ("darwin", {"HOME": "/Users/ruby", "XDG_CONFIG_HOME": "/cfg"}, "/cfg/sops/age/keys.txt"),
        (
            "win32",
            {"AppData": "C:/Users/ruby/AppData/Roaming"},
            "C:/Users/ruby/AppData/Roaming/sops/age/keys.txt",
        ),
    ],
)
def test_default_key_file_per_os(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str], expected: str
) -> None:
    """sops' getUserConfigDir: Go's os.UserConfigDir, with XDG_CONFIG_HOME honoured on macOS."""
    from guardlib.sources import sops as source

    for key in ("HOME", "XDG_CONFIG_HOME", "AppData", "APPDATA"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(source.sys, "platform", platform)
    assert str(source.default_age_key_file()).replace("\\", "/") == expected
