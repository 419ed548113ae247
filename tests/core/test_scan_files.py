"""guardlib.scan below the CLI: which names are .env files, every kind of notebook output,
and detect-secrets baselines (format, hashes only, errors that name the file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardlib import scan

FAKE_KEY = "AKIADEMONOTAREALKEY0"  # AWS-shaped, allow-listed in .secrets-allowlist


@pytest.mark.parametrize(
    ("name", "expected"),
    [(".env", True), (".env.local", True), (".env.production", True), ("prod.env", True),
     (".env.example", False), (".env.sample", False), (".env.template", False),
     (".env.EXAMPLE", False), ("env", False), (".envrc", False),
     ("environment.yml", False)],
)  # fmt: skip
def test_is_env_file(name: str, expected: bool) -> None:
    assert scan.is_env_file(name) is expected


def _nb(outputs: list[dict]) -> str:
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "x",
            "outputs": outputs}  # fmt: skip
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize(
    "output",
    [
        {"output_type": "stream", "name": "stderr", "text": f"key {FAKE_KEY}\n"},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": [f"'{FAKE_KEY}'"]}},
        {"output_type": "display_data", "metadata": {},
         "data": {"text/html": f"<b>{FAKE_KEY}</b>"}},
        {"output_type": "display_data", "metadata": {},
         "data": {"application/json": {"k": FAKE_KEY}}},
        {"output_type": "error", "ename": "KeyError", "evalue": "x",
         "traceback": ["Traceback", f"KeyError: '{FAKE_KEY}'"]},
    ],
    ids=["stream", "execute_result", "html", "json", "traceback"],
)  # fmt: skip
def test_every_kind_of_notebook_output_is_scanned(tmp_path: Path, output: dict) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(_nb([output]))
    findings = scan.scan_path(path)
    assert [(f.kind, f.where) for f in findings] == [("AWS Access Key", "cell 1 output")]
    assert FAKE_KEY not in str(findings[0]) and FAKE_KEY not in repr(findings[0])
    assert scan.scan_path(path, allow=[FAKE_KEY]) == []


def test_baseline_round_trip_holds_hashes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "settings.py").write_text(f'KEY_ID = "{FAKE_KEY}"\n')
    findings = scan.scan_paths([tmp_path])
    assert [f.kind for f in findings] == ["AWS Access Key"]
    baseline = tmp_path / "base.json"
    assert scan.write_baseline(baseline, findings) == 1
    assert FAKE_KEY not in baseline.read_text()
    known = scan.load_baseline(baseline)
    assert known == {("settings.py", "AWS Access Key", findings[0].fingerprint)}
    # relative and absolute spellings of one file match the same entry
    assert scan.suppress_known(scan.scan_paths(["settings.py"]), known) == []
    assert scan.suppress_known(scan.scan_paths([tmp_path / "settings.py"]), known) == []
    # the baseline's own hashes are not findings when it is excluded
    assert scan.scan_paths([tmp_path], exclude=[baseline]) == findings


@pytest.mark.parametrize(
    ("text", "message"),
    [("{oops", "is not valid JSON"), ("[]", "has no 'results'"),
     ('{"results": {"a.py": {}}}', "are not a list"),
     ('{"results": {"a.py": [{"type": "x"}]}}', "lacks type or hashed_secret")],
)  # fmt: skip
def test_bad_baseline_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(scan.ScanError, match=message) as info:
        scan.load_baseline(path)
    assert str(path) in str(info.value)


def test_importing_the_scanner_loads_no_detect_secrets() -> None:
    """detect-secrets is imported when a scan starts, never by `import guardlib.scan`."""
    import subprocess
    import sys

    code = "import sys, guardlib.scan; print(any('detect_secrets' in m for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    assert result.stdout.strip() == "False"
