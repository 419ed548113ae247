"""The chapter 08 check (verify a Secret Manager payload's CRC32C) accepts the published
solution and rejects wrong answers, with real AccessSecretVersionResponse objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google_crc32c
import pytest
from google.api_core import exceptions

from guardlib import Secret
from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import gcp as ex
from guardlib.course.progress import output_text

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_gcp_secret_manager.ipynb"


def _solution() -> str:
    blocks = solution_blocks(NOTEBOOK)
    assert len(blocks) == 1, blocks
    return blocks[0]


def _define(source: str, tmp_path: Path) -> Any:
    """Define a function from source kept in a real file, so inspect.getsource finds it."""
    path = tmp_path / "answer.py"
    path.write_text(source, encoding="utf-8")
    namespace: dict[str, Any] = {"google_crc32c": google_crc32c, "exceptions": exceptions}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    return namespace["verify_payload"]


def test_published_solution_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "solution.py"
    source = _solution()
    path.write_text(source, encoding="utf-8")
    namespace: dict[str, Any] = {
        "google_crc32c": google_crc32c,
        "exceptions": exceptions,
        "check_verify_payload": ex.check_verify_payload,
    }
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert (
        out == "✅ Correct! an intact payload passes; corrupted data or checksum raise DataLoss.\n"
    )


def test_notebook_exercise_cell_is_the_placeholder() -> None:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if "check_verify_payload(verify_payload)" in "".join(c["source"]))
    assert cell["cell_type"] == "code"
    assert output_text(cell["outputs"][0]).startswith(f"❌ Not yet: {PLACEHOLDER_HINT}\nHint: ")


def test_placeholder_is_detected(tmp_path: Path) -> None:
    func = _define("def verify_payload(response):\n    ...\n", tmp_path)
    assert ex.evaluate_verify_payload(func).message == PLACEHOLDER_HINT
    assert ex.evaluate_verify_payload(...).message == PLACEHOLDER_HINT


def test_dots_inside_a_string_are_not_a_placeholder(tmp_path: Path) -> None:
    source = (
        "def verify_payload(response):\n"
        "    data = response.payload.data\n"
        "    if google_crc32c.value(data) != response.payload.data_crc32c:\n"
        "        raise ValueError('corrupted...')\n"
        "    return data\n"
    )
    assert ex.evaluate_verify_payload(_define(source, tmp_path)).ok


def test_no_check_at_all_fails(tmp_path: Path) -> None:
    func = _define("def verify_payload(response):\n    return response.payload.data\n", tmp_path)
    verdict = ex.evaluate_verify_payload(func)
    assert not verdict.ok and "corrupted data" in verdict.message


def test_checking_only_that_a_checksum_is_present_fails(tmp_path: Path) -> None:
    source = (
        "def verify_payload(response):\n"
        "    if not response.payload.data_crc32c:\n"
        "        raise ValueError('no checksum')\n"
        "    return response.payload.data\n"
    )
    assert not ex.evaluate_verify_payload(_define(source, tmp_path)).ok


def test_rejecting_everything_fails(tmp_path: Path) -> None:
    source = "def verify_payload(response):\n    raise exceptions.DataLoss('never')\n"
    verdict = ex.evaluate_verify_payload(_define(source, tmp_path))
    assert not verdict.ok and "intact payload" in verdict.message and "DataLoss" in verdict.message


def test_returning_nothing_fails(tmp_path: Path) -> None:
    source = (
        "def verify_payload(response):\n"
        "    if google_crc32c.value(response.payload.data) != response.payload.data_crc32c:\n"
        "        raise ValueError('bad')\n"
    )
    verdict = ex.evaluate_verify_payload(_define(source, tmp_path))
    assert not verdict.ok and "return the payload" in verdict.message


def test_error_message_with_the_payload_fails(tmp_path: Path) -> None:
    source = (
        "def verify_payload(response):\n"
        "    data = response.payload.data\n"
        "    if google_crc32c.value(data) != response.payload.data_crc32c:\n"
        "        raise ValueError(f'bad payload {data!r}')\n"
        "    return data\n"
    )
    verdict = ex.evaluate_verify_payload(_define(source, tmp_path))
    assert not verdict.ok and "contains the payload" in verdict.message
    assert ex.EXERCISE_VALUE.decode() not in verdict.message


def test_a_secret_or_text_is_an_accepted_return(tmp_path: Path) -> None:
    source = (
        "def verify_payload(response):\n"
        "    data = response.payload.data\n"
        "    if google_crc32c.value(data) != response.payload.data_crc32c:\n"
        "        raise exceptions.DataLoss('checksum mismatch')\n"
        "    return Secret(data.decode())\n"
    )
    path = tmp_path / "answer.py"
    path.write_text(source, encoding="utf-8")
    namespace: dict[str, Any] = {
        "google_crc32c": google_crc32c,
        "exceptions": exceptions,
        "Secret": Secret,
    }
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    assert ex.evaluate_verify_payload(namespace["verify_payload"]).ok


def test_exercise_responses_are_real_sdk_types() -> None:
    from google.cloud.secretmanager_v1.types import AccessSecretVersionResponse

    cases = ex.exercise_responses()
    assert set(cases) == {"good", "corrupted data", "corrupted checksum"}
    for response in cases.values():
        assert isinstance(response, AccessSecretVersionResponse)
    good = cases["good"].payload
    assert good.data_crc32c == google_crc32c.value(good.data)
    for label in ("corrupted data", "corrupted checksum"):
        bad = cases[label].payload
        assert bad.data_crc32c != google_crc32c.value(bad.data)
