"""`guardlib get` and `guardlib run` in a subprocess, against the offline cloud, as an app
identity. Every run also checks that no resolved value reached stdout or stderr unless it
was asked for (`get --reveal`, or the child printing its own environment)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from guardlib.emulators import OfflineCloud
from guardlib.emulators.seed import DEV_PROD

GUARDLIB = [sys.executable, "-m", "guardlib"]
DEV = "demo-not-a-real-key-dev"
PROD = "demo-not-a-real-key-prod"
DB_PASSWORD = "demo-not-a-real-pw-cli-42"
DB_CREDS = json.dumps({"user": "app", "password": DB_PASSWORD})
VALUES = (DEV, PROD, DB_PASSWORD)
BLOB = b"\x00\xffdemo-not-a-real-binary"
SEED = {
    "secrets": {
        **DEV_PROD["secrets"],
        "db-creds": {"value": DB_CREDS, "readers": ["dev-app"], "clouds": ["aws", "gcp"]},
        "blob-key": {"value": BLOB, "readers": ["dev-app"], "clouds": ["aws"]},
    }
}
EVERY_PROVIDER = [
    "aws-sm://dev-api-key",
    "azure-kv://guard-demo/dev-api-key",
    "gcp-sm://guard-demo/dev-api-key",
    "vault://secret/dev-api-key#value",
]
# exit codes, as guardlib/cli/exit_codes.py documents them
INVALID_REFERENCE, NOT_FOUND, UNAVAILABLE, ACCESS_DENIED = 65, 66, 69, 77


@pytest.fixture
def cloud(offline_cloud: OfflineCloud) -> Iterator[OfflineCloud]:
    offline_cloud.seed(SEED)
    yield offline_cloud
    offline_cloud.faults.clear()


@pytest.fixture
def env_as(cloud: OfflineCloud, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``env_as(identity, **extra)``: a fresh process's environment acting as ``identity``:
    PATH, a HOME and TMPDIR of its own, the hygiene variables, and the cloud's variables."""
    home = tmp_path / "home"
    home.mkdir()

    def make(identity: str = "dev-app", **extra: str) -> dict[str, str]:
        base = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(home)}
        for key in ("SYSTEMROOT", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
                    "AWS_EC2_METADATA_DISABLED", "CLOUDSDK_CONFIG", "NO_GCE_CHECK"):  # fmt: skip
            if key in os.environ:
                base[key] = os.environ[key]
        return base | cloud.env(identity) | extra

    return make


def guardlib(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GUARDLIB, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def assert_no_value(result: subprocess.CompletedProcess[str], *values: str) -> None:
    for value in values or VALUES:
        assert value not in result.stdout, "a value reached stdout"
        assert value not in result.stderr, "a value reached stderr"


# -- get ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", EVERY_PROVIDER)
def test_get_shows_metadata_never_the_value(env_as: Any, ref: str) -> None:
    result = guardlib("get", ref, env=env_as("dev-app"))
    assert result.returncode == 0, result.stderr
    assert_no_value(result)
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert fields["reference"] == ref
    assert fields["provider"] == ref.split("://")[0]
    assert "dev-api-key" in fields["name"]
    assert fields["length"] == str(len(DEV))
    assert fields["type"] == "string"
    assert "version" in fields or "stages" in fields


def test_get_json_lists_keys_of_a_json_secret(env_as: Any) -> None:
    result = guardlib("get", "--json", "aws-sm://db-creds", env=env_as("dev-app"))
    assert result.returncode == 0, result.stderr
    assert_no_value(result)
    info = json.loads(result.stdout)
    assert info["provider"] == "aws-sm" and info["value_type"] == "json"
    assert info["keys"] == ["password", "user"] and info["length"] == len(DB_CREDS)
    assert "AWSCURRENT" in info["stages"]


@pytest.mark.parametrize(
    ("ref", "value"),
    [("aws-sm://dev-api-key", DEV), ("gcp-sm://guard-demo/db-creds#password", DB_PASSWORD)],
)
def test_get_reveal_prints_only_the_value(env_as: Any, ref: str, value: str) -> None:
    result = guardlib("get", "--reveal", ref, env=env_as("dev-app"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == value  # nothing else: no label, no newline on a pipe
    assert result.stderr == ""


def test_get_prod_as_dev_is_access_denied_without_a_value(env_as: Any) -> None:
    for flag in ((), ("--reveal",)):
        result = guardlib("get", *flag, "aws-sm://prod-api-key", env=env_as("dev-app"))
        assert result.returncode == ACCESS_DENIED, result.stderr
        assert_no_value(result)
        assert result.stdout == ""
        assert "AccessDenied" in result.stderr and "aws-sm://prod-api-key" in result.stderr
        assert "Traceback" not in result.stderr


def test_get_vault_prod_as_dev_is_access_denied(env_as: Any) -> None:
    result = guardlib("get", "vault://secret/prod-api-key#value", env=env_as("dev-app"))
    assert result.returncode == ACCESS_DENIED, result.stderr
    assert_no_value(result)


def test_get_missing_secret_is_not_found(env_as: Any) -> None:
    result = guardlib("get", "aws-sm://no-such-secret", env=env_as("admin"))
    assert result.returncode == NOT_FOUND, result.stderr
    assert "SecretNotFound" in result.stderr and "aws-sm://no-such-secret" in result.stderr
    result = guardlib("get", "aws-sm://db-creds#no.such.key", env=env_as("dev-app"))
    assert result.returncode == NOT_FOUND, result.stderr
    assert_no_value(result)


def test_get_bad_reference_is_invalid_reference(env_as: Any) -> None:
    result = guardlib("get", "nope://whatever", env=env_as("dev-app"))
    assert result.returncode == INVALID_REFERENCE, result.stderr
    assert "InvalidReference" in result.stderr and "scheme 'nope' is unknown" in result.stderr
    # a value pasted where a reference belongs is not echoed back
    pasted = "demo-not-a-real-pasted-value"
    result = guardlib("get", pasted, env=env_as("dev-app"))
    assert result.returncode == INVALID_REFERENCE, result.stderr
    assert_no_value(result, pasted)


def test_get_unavailable_provider(cloud: OfflineCloud, env_as: Any) -> None:
    cloud.faults.inject("error", service="aws", status=503)
    result = guardlib("get", "aws-sm://dev-api-key", env=env_as("dev-app"))
    assert result.returncode == UNAVAILABLE, result.stderr
    assert "ProviderUnavailable" in result.stderr and "aws-sm://dev-api-key" in result.stderr
    assert_no_value(result)


def test_get_reveal_and_json_together_is_a_usage_error(env_as: Any) -> None:
    result = guardlib("get", "--reveal", "--json", "aws-sm://dev-api-key", env=env_as())
    assert result.returncode == 2 and "not allowed with" in result.stderr


# -- run ------------------------------------------------------------------------------------
PRINT_ENV = (
    "import base64, json, os; k = os.environ['API_KEY']; p = os.environ['DB_PASSWORD'];"
    "print('key=' + k); print(json.dumps({'pw': p})); print(repr(k));"
    "print('b64=' + base64.b64encode(k.encode()).decode());"
    "import sys; print('err=' + p, file=sys.stderr)"
)


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(
        '[dev]\nAPI_KEY = "aws-sm://dev-api-key"\n'
        'DB_PASSWORD = "gcp-sm://guard-demo/db-creds#password"\n'
        '[prod]\nAPI_KEY = "aws-sm://prod-api-key"\n'
        'DB_PASSWORD = "vault://secret/prod-api-key#value"\n'
    )
    return path


def test_run_gives_the_child_the_values(env_as: Any, mapping: Path) -> None:
    result = guardlib(
        "run", "--map", str(mapping), "--", sys.executable, "-c", PRINT_ENV, env=env_as()
    )
    assert result.returncode == 0, result.stderr
    assert f"key={DEV}" in result.stdout  # what the child printed itself
    assert DB_PASSWORD in result.stdout and f"err={DB_PASSWORD}" in result.stderr


def test_run_mask_scrubs_every_spelling(env_as: Any, mapping: Path) -> None:
    result = guardlib(
        "run", "--mask", "--map", str(mapping), "--", sys.executable, "-c", PRINT_ENV,
        env=env_as(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_no_value(result)
    lines = result.stdout.splitlines()
    assert lines == [
        "key=**********", '{"pw": "**********"}', "'**********'", "b64=**********"
    ], lines  # fmt: skip
    assert "err=**********" in result.stderr


def test_run_mask_catches_a_value_split_across_writes(env_as: Any, mapping: Path) -> None:
    child = (
        "import os, sys, time; k = os.environ['API_KEY'].encode();"
        "sys.stdout.buffer.write(b'[' + k[:7]); sys.stdout.flush(); time.sleep(0.3);"
        "sys.stdout.buffer.write(k[7:] + b']\\n')"
    )
    result = guardlib(
        "run", "--mask", "--map", str(mapping), "--", sys.executable, "-c", child, env=env_as()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[**********]\n"


def test_run_references_from_variables_and_environment(env_as: Any, mapping: Path) -> None:
    child = "import os; print(sorted(k for k in os.environ if k.startswith('GUARDLIB_REF')))"
    env = env_as("dev-app", GUARDLIB_REF_EXTRA="aws-sm://dev-api-key")
    result = guardlib("run", "--mask", "--", sys.executable, "-c", child, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # the child gets values, not references
    show = "import os; print(os.environ['API_KEY'])"
    result = guardlib("run", "--map", str(mapping), "-e", "prod", "--", sys.executable, "-c",
                      show, env=env_as("prod-app"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PROD
    from_env = "env://OTHER"
    env = env_as("prod-app", GUARDLIB_ENV="prod", GUARDLIB_REF_API_KEY=from_env,
                 OTHER="demo-not-a-real-from-env")  # fmt: skip
    result = guardlib("run", "--map", str(mapping), "--", sys.executable, "-c", show, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "demo-not-a-real-from-env"  # a variable wins over the file


def test_run_fails_before_starting_the_command(env_as: Any, mapping: Path,
                                               tmp_path: Path) -> None:  # fmt: skip
    marker = tmp_path / "started"
    child = f"open({str(marker)!r}, 'w').close()"
    # dev-app may read the dev entries, not prod's: nothing starts, and no value is shown
    result = guardlib("run", "--map", str(mapping), "-e", "prod", "--", sys.executable, "-c",
                      child, env=env_as("dev-app"))  # fmt: skip
    assert result.returncode == ACCESS_DENIED, result.stderr
    assert "aws-sm://prod-api-key" in result.stderr and "AccessDenied" in result.stderr
    assert_no_value(result)
    bad = tmp_path / "bad.toml"
    bad.write_text('[dev]\nAPI_KEY = "demo-not-a-real-pasted-value"\n')
    result = guardlib("run", "--map", str(bad), "--", sys.executable, "-c", child, env=env_as())
    assert result.returncode == INVALID_REFERENCE, result.stderr
    assert "API_KEY" in result.stderr and "demo-not-a-real-pasted-value" not in result.stderr
    missing = tmp_path / "missing.toml"
    missing.write_text('[dev]\nAPI_KEY = "aws-sm://no-such-secret"\n')
    result = guardlib("run", "--map", str(missing), "--", sys.executable, "-c", child,
                      env=env_as("admin"))  # fmt: skip
    assert result.returncode == NOT_FOUND, result.stderr
    result = guardlib("run", "--map", str(tmp_path / "nope.toml"), "--", "true", env=env_as())
    assert result.returncode == 2 and "no such mapping file" in result.stderr
    result = guardlib("run", "--", sys.executable, "-c", child, env=env_as())
    assert result.returncode == 2 and "GUARDLIB_REF_" in result.stderr
    assert not marker.exists()


def test_run_passes_the_exit_code_through(env_as: Any, mapping: Path) -> None:
    env = env_as()
    for mask in ((), ("--mask",)):
        result = guardlib("run", *mask, "--map", str(mapping), "--", sys.executable, "-c",
                          "raise SystemExit(42)", env=env)  # fmt: skip
        assert result.returncode == 42, result.stderr
    result = guardlib("run", "--map", str(mapping), "--", "no-such-command-xyz", env=env)
    assert result.returncode == 127 and "command not found" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("mask", [False, True])
def test_run_forwards_signals(env_as: Any, mapping: Path, mask: bool) -> None:
    child = (
        "import os, signal, sys, time\n"
        "def bye(n, f):\n    os.write(1, b'got %d\\n' % n); os._exit(7)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
        "sys.exit(3)\n"
    )
    args = ["run", *(["--mask"] if mask else []), "--map", str(mapping), "--",
            sys.executable, "-c", child]  # fmt: skip
    proc = subprocess.Popen(
        [*GUARDLIB, *args], env=env_as(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 7, err
    assert out == f"got {int(signal.SIGTERM)}\n"


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_run_reports_a_child_killed_by_a_signal(env_as: Any, mapping: Path) -> None:
    child = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = guardlib("run", "--map", str(mapping), "--", sys.executable, "-c", child,
                      env=env_as())  # fmt: skip
    assert result.returncode == 128 + signal.SIGKILL


def test_run_keeps_values_out_of_this_process_and_off_disk(
    cloud: OfflineCloud, mapping: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """In-process, so this process's own os.environ can be inspected afterwards; the child
    proves it had the value by its length, and files written anywhere under the temporary
    folders (HOME, TMPDIR, the working directory) are searched for it."""
    from guardlib import resolver
    from guardlib.cli import main

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for key, value in cloud.env("dev-app").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = dict(os.environ)
    resolver.default_cache.clear()
    child = "import os; print(len(os.environ['API_KEY']), len(os.environ['DB_PASSWORD']))"
    code = main(["run", "--map", str(mapping), "--", sys.executable, "-c", child])
    out, err = capfd.readouterr()
    assert code == 0, err
    assert out.split() == [str(len(DEV)), str(len(DB_PASSWORD))]
    assert dict(os.environ) == before
    assert not any(v in str(before) for v in VALUES)
    assert len(resolver.default_cache) == 0  # run does not keep values in the cache either
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(v.encode() in data for v in VALUES), path


def test_run_mask_names_values_too_short_to_mask(env_as: Any) -> None:
    env = env_as("dev-app", GUARDLIB_REF_PORT="env://GL_PORT", GL_PORT="5432",
                 GUARDLIB_REF_API_KEY="aws-sm://dev-api-key")  # fmt: skip
    child = "import os; print(os.environ['PORT'], os.environ['API_KEY'])"
    result = guardlib("run", "--mask", "--", sys.executable, "-c", child, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "5432 **********\n"
    assert "not masked (shorter than 6 characters): PORT" in result.stderr


def test_get_reveal_writes_binary_as_is_and_run_refuses_it(env_as: Any) -> None:
    result = subprocess.run([*GUARDLIB, "get", "--reveal", "aws-sm://blob-key"], env=env_as(),
                            capture_output=True, timeout=120)  # fmt: skip
    assert result.returncode == 0 and result.stdout == BLOB
    result = guardlib("get", "aws-sm://blob-key", env=env_as())
    fields = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert fields["type"] == "binary" and fields["length"] == str(len(BLOB))
    env = env_as("dev-app", GUARDLIB_REF_BLOB="aws-sm://blob-key")
    result = guardlib("run", "--", sys.executable, "-c", "print('started')", env=env)
    assert result.returncode == INVALID_REFERENCE
    assert "BLOB: a binary secret cannot be an environment variable" in result.stderr
    assert "started" not in result.stdout and "demo-not-a-real" not in result.stderr


# -- run --mask and the Redactor: one implementation of the spellings (issue 16) ------------------
WEIRD = "demo pass/wörd+1&x=y"  # a space, '/', '+', '&', '=', and a non-ASCII letter
CURL_LIKE = (
    "import base64, os, re, sys, urllib.parse as up; v = os.environ['WEIRD'];"
    "basic = base64.b64encode(('app:' + v).encode()).decode();"
    "print('> GET /api HTTP/1.1'); print('> Authorization: Basic ' + basic);"  # curl -v
    "print('form=' + up.urlencode({'password': v}));"  # '+' for spaces
    "print('lower=' + re.sub('%[0-9A-F]{2}', lambda m: m.group().lower(), up.quote(v, safe='')));"
    "print('query=' + up.quote_plus(v))"
)


def test_run_mask_catches_encoded_spellings_inside_longer_text(env_as: Any) -> None:
    env = env_as("dev-app", GUARDLIB_REF_WEIRD="env://GL_WEIRD", GL_WEIRD=WEIRD)
    result = guardlib("run", "--mask", "--", sys.executable, "-c", CURL_LIKE, env=env)
    assert result.returncode == 0, result.stderr
    import base64
    import urllib.parse as up

    basic = base64.b64encode(("app:" + WEIRD).encode()).decode()
    for shown in (WEIRD, basic, basic[6:-2], up.quote_plus(WEIRD), up.quote(WEIRD, safe=""),
                  up.quote(WEIRD, safe="").lower(), up.urlencode({"password": WEIRD})):  # fmt: skip
        assert shown not in result.stdout, shown
    lines = result.stdout.splitlines()
    assert lines[1].startswith("> Authorization: Basic ") and "**********" in lines[1]
    assert lines[2] == "form=password=**********"
    assert lines[3] == "lower=**********" and lines[4] == "query=**********"


def test_run_mask_masks_every_spelling_the_redactor_knows(env_as: Any) -> None:
    """The child prints each spelling guardlib.redact.scrubber.spellings lists: run --mask
    masks them all, because it uses that very function."""
    child = (
        "import os; from guardlib.redact.scrubber import spellings;"
        "[print('<' + s + '>') for s in sorted(spellings(os.environ['WEIRD']))]"
    )
    env = env_as("dev-app", GUARDLIB_REF_WEIRD="env://GL_WEIRD", GL_WEIRD=WEIRD)
    result = guardlib("run", "--mask", "--", sys.executable, "-c", child, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) > 10
    assert all(line == "<**********>" for line in lines), lines


def test_run_takes_any_table_and_names_the_tables_when_absent(env_as: Any, tmp_path: Path) -> None:
    """Issue 17: ``-e NAME`` is any table of the mapping."""
    path = tmp_path / "staging.toml"
    path.write_text('[dev]\nAPI_KEY = "aws-sm://dev-api-key"\n'
                    '[staging]\nAPI_KEY = "gcp-sm://guard-demo/dev-api-key"\n')  # fmt: skip
    show = "import os; print(len(os.environ['API_KEY']))"
    result = guardlib("run", "--map", str(path), "-e", "staging", "--", sys.executable, "-c",
                      show, env=env_as())  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(DEV))
    result = guardlib("run", "--map", str(path), "-e", "qa", "--", sys.executable, "-c", show,
                      env=env_as())  # fmt: skip
    assert result.returncode == INVALID_REFERENCE
    assert "no [qa] table (it has: dev, staging)" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_run_mask_masks_the_fields_of_a_json_value(env_as: Any) -> None:
    """A JSON secret passed whole: the child logs one field; --mask masks it as the
    Redactor would (the field is registered with the document)."""
    env = env_as("dev-app", GUARDLIB_REF_DB_CREDS="aws-sm://db-creds")
    child = "import json, os; print('pw=' + json.loads(os.environ['DB_CREDS'])['password'])"
    result = guardlib("run", "--mask", "--", sys.executable, "-c", child, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pw=**********\n"
    assert_no_value(result)
