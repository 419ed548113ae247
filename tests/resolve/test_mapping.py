from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import guardlib
from guardlib.errors import MappingError

TOML = """
[dev]
API_KEY = "aws-sm://dev-api-key"
DB_PASSWORD = "gcp-sm://guard-demo/db-creds#password"
[prod]
API_KEY = "aws-sm://prod-api-key"
"""


def test_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(TOML)
    assert guardlib.load_mapping(path, "prod", environ={}) == {"API_KEY": "aws-sm://prod-api-key"}
    env = {"GUARDLIB_ENV": "dev", "GUARDLIB_REF_API_KEY": "vault://secret/dev-api-key#value"}
    got = guardlib.load_mapping(path, environ=env)
    assert got == {"API_KEY": "vault://secret/dev-api-key#value",
                   "DB_PASSWORD": "gcp-sm://guard-demo/db-creds#password"}  # fmt: skip


def test_any_table_is_an_environment(tmp_path: Path) -> None:
    """Issue 17: -e takes any table of the mapping, not only dev/test/prod."""
    path = tmp_path / "refs.toml"
    path.write_text(TOML + '[staging-eu]\nAPI_KEY = "aws-sm://staging-api-key"\n')
    got = guardlib.load_mapping(path, "staging-eu", environ={})
    assert got == {"API_KEY": "aws-sm://staging-api-key"}
    assert guardlib.load_mapping(path, environ={"GUARDLIB_ENV": "staging-eu"}) == got
    # without a file, the name only labels the GUARDLIB_REF_* variables
    env = {"GUARDLIB_REF_API_KEY": "aws-sm://qa-api-key"}
    assert guardlib.load_mapping(None, "qa", environ=env) == {"API_KEY": "aws-sm://qa-api-key"}


def test_unknown_environment_names_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(TOML)
    with pytest.raises(MappingError, match=r"no \[staging\] table \(it has: dev, prod\)"):
        guardlib.load_mapping(path, "staging", environ={})
    with pytest.raises(MappingError, match=r"no \[test\] table \(it has: dev, prod\)"):
        guardlib.load_mapping(path, "test", environ={})


@pytest.mark.parametrize("name", ["", " ", "dev\nprod", "a" * 65, "../prod", "dev.x"])
def test_a_malformed_environment_name_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(TOML)
    with pytest.raises(MappingError, match="environment name") as info:
        guardlib.load_mapping(path, name, environ={})
    assert "\n" not in str(info.value)


def test_bad_entry_names_the_key_never_the_value(tmp_path: Path) -> None:
    pasted = "demo-not-a-real-pasted-secret-5555"
    path = tmp_path / "refs.toml"
    path.write_text(f'[dev]\nTOKEN = "{pasted}"\n')
    with pytest.raises(MappingError) as info:
        guardlib.load_mapping(path, environ={})
    assert "TOKEN" in str(info.value) and pasted not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    with pytest.raises(MappingError) as info:
        guardlib.resolve_mapping({"TOKEN": pasted})
    assert "TOKEN" in str(info.value) and pasted not in str(info.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read"):
        guardlib.load_mapping(tmp_path / "none.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[dev\n")
    with pytest.raises(MappingError, match="not valid TOML"):
        guardlib.load_mapping(bad, environ={})


def test_resolve_mapping(seeded: Any, tmp_path: Path) -> None:
    path = tmp_path / "refs.toml"
    path.write_text(TOML)
    secrets = guardlib.resolve_mapping(guardlib.load_mapping(path, "dev", environ={}))
    assert secrets["API_KEY"] == "demo-not-a-real-key-dev"
    assert secrets["DB_PASSWORD"] == "demo-not-a-real-pw-123"
    assert secrets["API_KEY"].name == "API_KEY"


def test_resolve_mapping_errors_name_the_logical_name(seeded: Any) -> None:
    mapping = {"API_KEY": "aws-sm://dev-api-key", "PAYMENTS_KEY": "aws-sm://prod-api-key"}
    with pytest.raises(guardlib.AccessDenied) as caught:
        guardlib.resolve_mapping(mapping)
    error = caught.value
    assert str(error).startswith("PAYMENTS_KEY: ") and error.name == "PAYMENTS_KEY"
    assert error.reference == "aws-sm://prod-api-key" and error.cause is not None
    assert error.__context__ is None or error.__suppress_context__
    assert "demo-not-a-real" not in repr(error) + str(error)
