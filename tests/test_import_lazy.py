"""`import guardlib` (and the offline-cloud contract) load no cloud SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "boto3",
    "botocore",
    "azure",
    "google",
    "grpc",
    "moto",
    "hvac",
    "trustme",
    "detect_secrets",
    "msal",
)


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"{statement}\nimport sys\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return eval(out.stdout)  # noqa: S307 - our own literal list


def test_import_guardlib_loads_no_cloud_sdk() -> None:
    assert _loaded_after("import guardlib") == []


def test_public_names_resolve_lazily_without_cloud_sdks() -> None:
    statement = (
        "import guardlib\n"
        "for name in getattr(guardlib, '__all__', []):\n"
        "    getattr(guardlib, name)\n"
    )
    assert _loaded_after(statement) == []


def test_emulator_contract_and_plugin_load_no_cloud_sdk() -> None:
    statement = "import guardlib.emulators, guardlib.emulators.seed, guardlib.pytest_plugin"
    assert _loaded_after(statement) == []


@pytest.mark.parametrize(
    "topic", ["identities", "azure", "aws", "gcp", "vault", "toolkit", "keyless"]
)
def test_exercise_checks_load_no_cloud_sdk_until_they_run(topic: str) -> None:
    assert _loaded_after(f"import guardlib.course.exercises.{topic}") == []
