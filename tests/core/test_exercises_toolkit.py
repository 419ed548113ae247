"""Chapter 10's exercise check (a reference mapping for the GCP customer), its published
solution, and the chapter's config.py snippet on the path test_snippets.py cannot take (that
test gives the snippet no mapping: here it gets one, and reads through the emulators)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardlib import emulators
from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import toolkit as ex
from guardlib.emulators.seed import DEV_PROD

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "10_putting_it_together.ipynb"
GOOD = """
[dev]
DB_PASSWORD = "dotenv://.env#DB_PASSWORD"
API_KEY = "env://API_KEY"

[prod]
DB_PASSWORD = "gcp-sm://guard-demo/prod-db-creds#password"
API_KEY = "gcp-sm://guard-demo/prod-api-key"
"""
DB_VALUE = "demo-not-a-real-db-password-prod"
SEED = {
    "secrets": {
        **DEV_PROD["secrets"],
        "prod-db-creds": {
            "value": json.dumps({"username": "wallet", "password": DB_VALUE}),
            "readers": ["prod-app"],
            "writers": ["ops-app"],
        },
    }
}


@pytest.fixture
def no_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulators, "current", lambda: None)


@pytest.fixture
def gcp() -> Any:
    try:
        cloud = emulators.start(only=["gcp"])
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(str(exc))
    cloud.reset()
    cloud.seed(SEED)
    return cloud


@pytest.mark.parametrize(
    "answer", [..., "...", GOOD.replace('"env://API_KEY"', "..."), "", None, 7]
)
def test_placeholders_and_non_answers(answer: Any) -> None:
    assert ex.evaluate_gcp_mapping(answer).message == PLACEHOLDER_HINT


def test_the_right_mapping_passes_without_a_cloud(no_cloud: None) -> None:
    verdict = ex.evaluate_gcp_mapping(GOOD)
    assert verdict.ok, verdict.message


def test_latest_is_the_same_reference(no_cloud: None) -> None:
    answer = GOOD.replace('prod-api-key"', 'prod-api-key/latest"')
    assert ex.evaluate_gcp_mapping(answer).ok


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            GOOD.replace('"gcp-sm://guard-demo/prod-api-key"', '"demo-not-a-real-key-prod"'),
            "never a value",
        ),
        (GOOD.replace('"env://API_KEY"', '"demo-not-a-real-key-local"'), "never a value"),
        (GOOD.replace("[prod]", "[production]"), "no [prod] table"),
        (GOOD.replace("[dev]", "[dev"), "not valid TOML"),
        (GOOD.replace('API_KEY = "env://API_KEY"\n', ""), "[dev] has no entry for API_KEY"),
        (GOOD + 'EXTRA = "env://EXTRA"\n', "lists EXTRA"),
        (GOOD.replace('"env://API_KEY"', '"gcp-sm://guard-demo/dev-api-key"'), "in [dev], API_KEY"),
        (GOOD.replace('"gcp-sm://guard-demo/prod-api-key"', '"env://API_KEY"'), "gcp-sm://"),
        (
            GOOD.replace('"gcp-sm://guard-demo/prod-api-key"', '"aws-sm://prod-api-key"'),
            "reads from aws-sm://",
        ),
        (GOOD.replace("guard-demo/prod-api-key", "other-proj/prod-api-key"), "project"),
        (GOOD.replace("prod-api-key", "dev-api-key"), "development secret"),
        (GOOD.replace("prod-api-key", "prod-key"), "the secret is 'prod-api-key'"),
        (GOOD.replace('prod-api-key"', 'prod-api-key/1"'), "pins version 1"),
        (GOOD.replace("prod-db-creds#password", "prod-db-creds"), "#password"),
        (GOOD.replace("prod-db-creds#password", "prod-db-creds#username"), "#password"),
        (GOOD.replace('prod-api-key"', 'prod-api-key#value"'), "drop #value"),
        ("[dev]\nDB_PASSWORD = 3\n", "a reference is a string"),
    ],
)
def test_wrong_mappings_fail_with_a_reason(no_cloud: None, answer: str, expected: str) -> None:
    verdict = ex.evaluate_gcp_mapping(answer)
    assert not verdict.ok
    assert expected in verdict.message, verdict.message
    assert "demo-not-a-real" not in verdict.message
    assert "/tmp" not in verdict.message and "Temp" not in verdict.message


def test_live_check_resolves_prod_and_restores_the_environment(
    gcp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in gcp.env("dev-app").items():
        monkeypatch.setenv(key, value)
    before = dict(os.environ)
    verdict = ex.evaluate_gcp_mapping(GOOD)
    assert verdict.ok, verdict.message
    assert dict(os.environ) == before


def test_live_check_reports_a_missing_secret(gcp: Any) -> None:
    gcp.reset()
    gcp.seed(DEV_PROD)  # no prod-db-creds
    verdict = ex.evaluate_gcp_mapping(GOOD)
    assert not verdict.ok
    assert "prod-app cannot read DB_PASSWORD" in verdict.message, verdict.message


def test_live_check_catches_a_grant_that_lets_dev_read_prod(gcp: Any) -> None:
    gcp.reset()
    leaky = json.loads(json.dumps(SEED))
    leaky["secrets"]["prod-db-creds"]["readers"].append("dev-app")
    gcp.seed(leaky)
    verdict = ex.evaluate_gcp_mapping(GOOD)
    assert not verdict.ok and "dev-app can read DB_PASSWORD" in verdict.message


def test_check_prints_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    ex.check_gcp_mapping("...")
    hint = f"Hint: {ex.HINT_GCP_MAPPING}"
    assert capsys.readouterr().out == f"❌ Not yet: {PLACEHOLDER_HINT}\n{hint}\n"


def test_the_published_solution_passes(gcp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = solution_blocks(NOTEBOOK)
    assert len(blocks) == 1, blocks
    namespace = {"check_gcp_mapping": ex.check_gcp_mapping}
    exec(compile(blocks[0], "10:solution", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.startswith("✅ Correct!")


def _cells() -> list[dict[str, Any]]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]  # type: ignore[no-any-return]


def test_the_committed_exercise_cell_is_unanswered() -> None:
    cells = [c for c in _cells() if c["cell_type"] == "code"]
    exercise = [c for c in cells if "check_gcp_mapping(" in "".join(c["source"])]
    assert len(exercise) == 1
    (output,) = exercise[0]["outputs"]
    text = "".join(output.get("data", {}).get("text/plain", "") or output.get("text", ""))
    assert text == f"❌ Not yet: {PLACEHOLDER_HINT}\nHint: {ex.HINT_GCP_MAPPING}"


def test_the_check_loads_no_cloud_sdk_at_import() -> None:
    code = (
        "import sys, guardlib.course.exercises.toolkit\n"
        "heavy = {'boto3', 'botocore', 'azure', 'google', 'grpc', 'moto', 'hvac', 'msal'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _snippet() -> str:
    found = [c for c in _cells() if "snippet" in c["metadata"].get("tags", [])]
    assert len(found) == 1
    return "".join(found[0]["source"])


def test_snippet_reads_through_a_mapping(emulators_up_env: dict[str, str], tmp_path: Path) -> None:
    """The config.py snippet with a mapping, as dev-app: dev-api-key from OpenBao and AWS
    (stand-ins for the app's two secrets), then the prod table, which dev-app may not read."""
    (tmp_path / "secrets.toml").write_text(
        '[dev]\nDB_PASSWORD = "vault://secret/dev-api-key#value"\n'
        'API_KEY = "aws-sm://dev-api-key"\n'
        '[prod]\nDB_PASSWORD = "aws-sm://prod-api-key"\nAPI_KEY = "aws-sm://prod-api-key"\n',
        encoding="utf-8",
    )
    source = _snippet()
    outputs = {}
    for environment in ("dev", "prod"):
        env = emulators_up_env | {"GUARDLIB_ENV": environment}
        result = subprocess.run(
            [sys.executable, "-c", source], env=env, cwd=tmp_path, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert "demo-not-a-real" not in result.stdout + result.stderr
        outputs[environment] = result.stdout
    assert outputs["dev"] == "DB_PASSWORD  **********\nAPI_KEY      **********\n"
    assert outputs["prod"].startswith("not ready: AccessDenied: DB_PASSWORD: aws-sm://prod-api-key")
