"""An attacker edits an encrypted file in a pull request; a disk or a copy truncates it; a
newer sops writes metadata guardlib does not know. Each is refused with a clear error that
names the file (and key path), never a value, and never a traceback from a parser."""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib.errors import AccessDenied, ResolveError

TEXT = """\
db:
  password: demo-not-a-real-password-1234
  user: demo-not-a-real-user-5678
  host_unencrypted: db.internal
api:
  key: demo-not-a-real-key-abcd
"""
VALUES = ("demo-not-a-real-password-1234", "demo-not-a-real-user-5678", "demo-not-a-real-key-abcd")


@pytest.fixture
def enc(
    sops: Any, tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> Path:
    plain = tmp_path / "app.yaml"
    plain.write_text(TEXT)
    path = tmp_path / "app.enc.yaml"
    path.write_text(sops("encrypt", "--age", age_key[1], str(plain)).stdout)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key[0]))
    return path


def refused(path: Path, field: str = "db.password") -> ResolveError:
    with pytest.raises(ResolveError) as info:
        guardlib.resolve(f"sops://{path}#{field}", cache=None)
    error = info.value
    rendered = "".join(traceback.format_exception(error))
    for value in VALUES:
        assert value not in rendered
    assert str(path) in str(error)
    assert error.__context__ is None or isinstance(error.__context__, ResolveError)
    return error


def sops_refuses(sops: Any, path: Path) -> None:
    assert sops("decrypt", str(path), check=False).returncode != 0


def test_every_flipped_ciphertext_byte_is_refused(enc: Path, sops: Any, tmp_path: Path) -> None:
    text = enc.read_text()
    datas = list(re.finditer(r"ENC\[AES256_GCM,data:([^,]+),iv:([^,]+),tag:([^,]+)", text))
    assert len(datas) == 4  # three values and the MAC
    for match in datas:
        for group in (1, 2, 3):  # the ciphertext, the nonce, the tag
            i = match.start(group) + 1
            flipped = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
            bad = tmp_path / f"bad-{match.start()}-{group}.yaml"
            bad.write_text(flipped)
            error = refused(bad)
            assert "restore it from git" in str(error)
            assert error.cause is not None and error.cause.type == "MacMismatch"
    sops_refuses(sops, bad)


def test_a_changed_plaintext_value_breaks_the_mac(enc: Path, sops: Any, tmp_path: Path) -> None:
    bad = tmp_path / "host.yaml"
    bad.write_text(enc.read_text().replace("db.internal", "evil.example"))
    sops_refuses(sops, bad)
    assert "MAC mismatch" in str(refused(bad))


def test_swapping_two_encrypted_values_is_refused(enc: Path, tmp_path: Path) -> None:
    """Each value's additional data is its key path: moved elsewhere, it no longer opens."""
    lines = enc.read_text().splitlines()
    pw = next(i for i, line in enumerate(lines) if line.strip().startswith("password:"))
    user = next(i for i, line in enumerate(lines) if line.strip().startswith("user:"))
    a, b = lines[pw].split(": ", 1)[1], lines[user].split(": ", 1)[1]
    lines[pw], lines[user] = f"    password: {b}", f"    user: {a}"
    bad = tmp_path / "swapped.yaml"
    bad.write_text("\n".join(lines) + "\n")
    assert "'db.password'" in str(refused(bad))


@pytest.mark.parametrize("edit", ["drop-key", "reorder", "lastmodified", "other-mac", "no-mac"])
def test_structure_edits_are_refused(
    enc: Path, sops: Any, tmp_path: Path, age_key: Any, edit: str
) -> None:
    text = enc.read_text()
    if edit == "drop-key":
        text = re.sub(r"\n    user: [^\n]+", "", text)
    elif edit == "reorder":
        head, rest = text.split("api:\n", 1)
        api, meta = rest.split("sops:\n", 1)
        text = "api:\n" + api + head + "sops:\n" + meta
    elif edit == "lastmodified":
        text = re.sub(r'lastmodified: "[^"]+"', 'lastmodified: "2030-01-01T00:00:00Z"', text)
    elif edit == "other-mac":
        other = tmp_path / "other.yaml"
        other.write_text("x: demo-not-a-real-x-1\n")
        theirs = sops("encrypt", "--age", age_key[1], str(other)).stdout
        mac = re.search(r"mac: (ENC\[[^\]]+\])", theirs).group(1)  # type: ignore[union-attr]
        text = re.sub(r"mac: ENC\[[^\]]+\]", lambda _: f"mac: {mac}", text)
    else:
        text = re.sub(r"\n    mac: [^\n]+", "", text)
    bad = tmp_path / f"{edit}.yaml"
    bad.write_text(text)
    sops_refuses(sops, bad)
    refused(bad)


def test_truncated_files_are_clear_errors(enc: Path, tmp_path: Path) -> None:
    data = enc.read_bytes()
    # the version line is last and outside the MAC (as in sops): a cut inside it still reads
    last = data.rstrip(b"\n").rindex(b"\n") + 1
    assert data[last:].strip().startswith(b"version:")
    for cut in range(0, last - 1, max(1, len(data) // 60)):
        bad = tmp_path / "cut.yaml"
        bad.write_bytes(data[:cut])
        with pytest.raises(ResolveError) as info:  # never a yaml/json/KeyError traceback
            guardlib.resolve(f"sops://{bad}#db.password", cache=None)
        assert "demo-not-a-real" not in str(info.value)


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".env", ".ini", ".bin"])
def test_garbage_in_every_format(tmp_path: Path, home: Path, suffix: str) -> None:
    for blob in (
        b"",
        b"\xff\xfe\x00garbage",
        b"sops: 1\n",
        b'{"sops": []}',
        b"[sops]\nmac=1\n",
        b"sops_mac=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n",
        b"a: !!python/object/apply:os.system ['true']\n",
    ):
        bad = tmp_path / f"garbage{suffix}"
        bad.write_bytes(blob)
        with pytest.raises(ResolveError):
            guardlib.resolve(f"sops://{bad}", cache=None)


def test_missing_file_and_directory(tmp_path: Path, home: Path) -> None:
    with pytest.raises(guardlib.SecretNotFound):
        guardlib.resolve(f"sops://{tmp_path}/nope.yaml#a", cache=None)
    with pytest.raises(guardlib.SecretNotFound):
        guardlib.resolve(f"sops://{tmp_path}#a", cache=None)


def test_newer_sops_metadata_is_refused(enc: Path, tmp_path: Path) -> None:
    bad = tmp_path / "newer.yaml"
    bad.write_text(
        enc.read_text().replace("    version: 3.", "    hash_algo: sha3\n    version: 3.")
    )
    error = refused(bad)
    assert "hash_algo" in str(error) and "newer sops" in str(error) and "sops decrypt" in str(error)
    four = tmp_path / "four.yaml"
    four.write_text(re.sub(r"version: 3\.[0-9.]+", "version: 4.0.0", enc.read_text()))
    assert "newer major version" in str(refused(four))


def test_comment_rules_and_other_key_types_are_named(enc: Path, tmp_path: Path) -> None:
    comments = tmp_path / "comments.yaml"
    comments.write_text(
        enc.read_text().replace(
            "unencrypted_suffix: _unencrypted", "encrypted_comment_regex: sops:enc"
        )
    )
    assert "comment" in str(refused(comments))
    text = enc.read_text()
    start = text.index("    age:")
    end = text.index("    lastmodified:")
    pgp = tmp_path / "pgp.yaml"
    pgp.write_text(
        text[:start] + '    pgp:\n        - created_at: "2024-01-01T00:00:00Z"\n'
        "          enc: AAAA\n          fp: 0123456789ABCDEF\n" + text[end:]
    )
    error = refused(pgp)
    assert "PGP" in str(error) and "sops decrypt" in str(error)


def test_a_tampered_age_stanza_is_not_a_crash(enc: Path, tmp_path: Path) -> None:
    bad = tmp_path / "stanza.yaml"
    bad.write_text(
        enc.read_text().replace(
            "-----BEGIN AGE ENCRYPTED FILE-----\n",
            "-----BEGIN AGE ENCRYPTED FILE-----\n            AAAA\n",
            1,
        )
    )
    with pytest.raises(AccessDenied):
        guardlib.resolve(f"sops://{bad}#db.password", cache=None)


def test_references_parse_and_print(tmp_path: Path) -> None:
    ref = guardlib.parse_reference("sops://config/dev.enc.yaml#db.password")
    assert (ref.scheme, ref.container, ref.field) == ("sops", "config/dev.enc.yaml", "db.password")
    assert str(ref) == "sops://config/dev.enc.yaml#db.password"
    assert str(guardlib.parse_reference("sops:///abs/a.yaml")) == "sops:///abs/a.yaml"
    assert (
        str(guardlib.parse_reference("dotenvx://.env.prod#API_KEY"))
        == "dotenvx://.env.prod#API_KEY"
    )
    for bad in (
        "sops://",
        "sops://a.yaml#",
        "sops://a.yaml#a..b",
        "sops://a b.yaml",
        "dotenvx://.env",
        "dotenvx://.env#1BAD",
        "dotenvx://#A",
    ):
        with pytest.raises(guardlib.InvalidReference):
            guardlib.parse_reference(bad)


def test_alias_bombs_and_deep_nesting_are_refused_quickly(enc: Path, tmp_path: Path) -> None:
    """A pull request adds a few lines of YAML aliases to a real sops file (10**9 values once
    expanded): refused by count before any is decrypted, in well under a second of work."""
    import time

    bomb = ["bomb_a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"bomb_{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text(enc.read_text().replace("sops:\n", "\n".join(bomb) + "\nsops:\n", 1))
    began = time.perf_counter()
    error = refused(path)
    assert time.perf_counter() - began < 10
    assert "more than 100000 values" in str(error)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ResolveError) as info:
        guardlib.resolve(f"sops://{deep}", cache=None)
    assert "nested too deeply" in str(info.value) or "not an object" in str(info.value)
