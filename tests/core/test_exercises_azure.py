"""Chapter 06's exercise check, run against the Azure emulator as the chapter sets it up (dev-app,
seed DEV_PROD, API_KEY_SECRET=dev-api-key), including the solution published in the notebook."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guardlib import emulators
from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import azure as ex
from guardlib.course.progress import output_text
from guardlib.emulators import REAL_CLOUD_VARIABLES
from guardlib.emulators.seed import DEV_PROD, SeedSpec
from guardlib.secret import Secret

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_azure_key_vault.ipynb"
DEV_VALUE = DEV_PROD["secrets"]["dev-api-key"]["value"]
PROD_VALUE = DEV_PROD["secrets"]["prod-api-key"]["value"]


@pytest.fixture(scope="module")
def cloud() -> Iterator[emulators.OfflineCloud]:
    cloud = emulators.start(only=["azure"])
    yield cloud


@pytest.fixture(autouse=True)
def chapter_env(cloud: emulators.OfflineCloud, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The chapter's state: a fresh vault seeded with DEV_PROD, this process as dev-app."""
    azure = cloud["azure"]
    azure.reset()
    azure.apply_seed(SeedSpec.parse(DEV_PROD))
    for key in REAL_CLOUD_VARIABLES:
        monkeypatch.delenv(key, raising=False)
    env = cloud.env("dev-app") | {"API_KEY_SECRET": "dev-api-key"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


# -- readers a learner might write --------------------------------------------------------------
def solution_reader() -> Secret[str]:
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    credential = ManagedIdentityCredential(client_id=os.environ["AZURE_CLIENT_ID"])
    with SecretClient(vault_url=os.environ["VAULT_URL"], credential=credential) as client:
        secret = client.get_secret(os.environ["API_KEY_SECRET"])
    return Secret(secret.value, name=secret.name)


def default_credential_reader() -> Secret[str]:
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    with SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential()) as client:
        return Secret(client.get_secret(os.environ["API_KEY_SECRET"]).value)


def system_assigned_reader() -> Secret[str]:
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    with SecretClient(os.environ["VAULT_URL"], ManagedIdentityCredential()) as client:
        return Secret(client.get_secret(os.environ["API_KEY_SECRET"]).value)


def bare_value_reader() -> Any:
    return solution_reader().reveal()


def printing_reader() -> Secret[str]:
    secret = solution_reader()
    print("got", secret.reveal())
    return secret


def hardcoded_name_reader() -> Secret[str]:
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    credential = ManagedIdentityCredential(client_id=os.environ["AZURE_CLIENT_ID"])
    with SecretClient(os.environ["VAULT_URL"], credential) as client:
        return Secret(client.get_secret("dev-api-key").value)


def swallowing_reader() -> Any:
    try:
        return solution_reader()
    except Exception:  # noqa: BLE001 - the mistake under test
        return None


def placeholder_reader() -> Any:
    credential = ...
    return credential


# -- the verdicts -------------------------------------------------------------------------------
def test_the_solution_passes() -> None:
    verdict = ex.evaluate_deterministic_reader(solution_reader)
    assert verdict.ok, verdict.message


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        (default_credential_reader, "leftover AZURE_CLIENT_SECRET"),
        (system_assigned_reader, "client_id=os.environ['AZURE_CLIENT_ID']"),
        (bare_value_reader, "bare value"),
        (printing_reader, "printed the secret's value"),
        (hardcoded_name_reader, "ignored API_KEY_SECRET"),
        (swallowing_reader, "should raise"),
        (placeholder_reader, PLACEHOLDER_HINT),
        (..., PLACEHOLDER_HINT),
    ],
    ids=lambda v: getattr(v, "__name__", None) or str(v)[:20],
)
def test_wrong_answers_fail_with_a_reason(reader: Any, expected: str) -> None:
    verdict = ex.evaluate_deterministic_reader(reader)
    assert not verdict.ok
    assert expected in verdict.message
    for value in (DEV_VALUE, PROD_VALUE, ex.STRAY_CLIENT_SECRET):
        assert value not in verdict.message


def test_the_check_prints_a_verdict_and_no_value(capsys: pytest.CaptureFixture[str]) -> None:
    ex.check_deterministic_reader(printing_reader)
    out = capsys.readouterr()
    assert out.out.startswith("❌ Not yet:")
    assert DEV_VALUE not in out.out + out.err
    ex.check_deterministic_reader(solution_reader)
    assert capsys.readouterr().out.startswith("✅ Correct!")


def test_the_check_restores_the_environment(chapter_env: dict[str, str]) -> None:
    ex.evaluate_deterministic_reader(default_credential_reader)
    assert "AZURE_CLIENT_SECRET" not in os.environ
    assert "AZURE_TENANT_ID" not in os.environ
    assert os.environ["API_KEY_SECRET"] == "dev-api-key"
    # the check reads the expected value as the administrator, inside cloud.as_identity:
    # afterwards the process is the dev app again, variable for variable
    assert {key: os.environ.get(key) for key in chapter_env} == chapter_env


def test_the_check_reads_through_the_sdk_as_admin(
    cloud: emulators.OfflineCloud, chapter_env: dict[str, str]
) -> None:
    """The expected value comes from the vault through the SDK, as the administrator: the same
    value the dev app reads, and also a secret the dev app may not read."""
    assert ex._expected_value("dev-api-key") == DEV_VALUE
    assert ex._expected_value(ex.FORBIDDEN_NAME) == PROD_VALUE
    assert ex._expected_value("no-such-secret") is None
    assert os.environ["IDENTITY_HEADER"] == chapter_env["IDENTITY_HEADER"]


def test_without_the_emulator_it_says_run_the_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulators, "_current", None)
    verdict = ex.evaluate_deterministic_reader(solution_reader)
    assert not verdict.ok
    assert "emulator setup cell" in verdict.message


def _published_solution() -> str:
    (block,) = solution_blocks(NOTEBOOK)
    return block


def test_the_published_solution_passes(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_published_solution(), "06:solution", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.startswith("✅ Correct!")


def test_the_published_solution_with_default_credential_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = _published_solution()
    wrong = re.sub(
        r"ManagedIdentityCredential\(client_id=os.environ\[\"AZURE_CLIENT_ID\"\]\)",
        "DefaultAzureCredential()",
        source,
    ).replace("import ManagedIdentityCredential", "import DefaultAzureCredential")
    assert wrong != source
    exec(compile(wrong, "06:wrong", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.startswith("❌ Not yet:")


def test_the_notebook_exercise_cell_has_placeholders() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cell = next(
        c for c in nb["cells"] if "check_deterministic_reader(read_api_key)" in "".join(c["source"])
        and c["cell_type"] == "code"
    )  # fmt: skip
    assert "..." in "".join(cell["source"])
    assert output_text(cell["outputs"][0]).startswith("❌ Not yet: " + PLACEHOLDER_HINT)
