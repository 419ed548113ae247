"""Importing the hunt or chapter 13's check loads no cloud SDK and no scanner (they load when
used), like every other exercise module (tests/test_import_lazy.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "azure", "google", "grpc", "moto", "hvac", "detect_secrets",
         "nbformat", "ipywidgets", "IPython")  # fmt: skip


@pytest.mark.parametrize("module", ["guardlib.course.hunt", "guardlib.course.exercises.notebooks"])
def test_import_is_light(module: str) -> None:
    loaded = "{m.split('.')[0] for m in sys.modules}"
    code = f"import {module}, sys\nprint(sorted({loaded} & set({HEAVY!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
