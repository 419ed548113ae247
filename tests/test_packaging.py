"""The environments agree: environment.yml == binder/environment.yml == guardlib[all]; a learner's
install (course.py's first command) is the light one, without test, docs or hub tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LEARNER = {"aws", "azure", "gcp", "vault", "course"}
DEVELOPER = {"test", "docs"}
OUTSIDE_ALL = {
    "hub"
}  # the facilitator's one-machine hub; Binder's and the chart's hubs are their own


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _all_requirements() -> dict[str, Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra, items in project["optional-dependencies"].items():
        if extra not in {"all"} | OUTSIDE_ALL:
            reqs += [Requirement(r) for r in items]
    out: dict[str, Requirement] = {}
    for req in reqs:
        out[req.name.lower()] = req
    return out


def _environment_entries(path: Path) -> dict[str, Requirement]:
    entries: dict[str, Requirement] = {}
    in_deps = False
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        match = re.match(r"^\s+- (?!pip:)(.+)$", line)
        if in_deps and match:
            spec = match.group(1).strip()
            if spec in ("pip",) or spec.startswith("python="):
                continue
            req = Requirement(spec)
            entries[req.name.lower()] = req
    return entries


def test_binder_environment_is_byte_identical() -> None:
    assert (ROOT / "binder/environment.yml").read_bytes() == (ROOT / "environment.yml").read_bytes()


def test_environment_pins_python_exactly() -> None:
    text = (ROOT / "environment.yml").read_text()
    # Binder: only python=X.Y (or ==) pins Python; anything else silently gives 3.10
    assert re.search(r"^\s+- python=3\.11$", text, re.M)


def test_environment_lists_exactly_guardlib_all_with_the_same_pins() -> None:
    env = _environment_entries(ROOT / "environment.yml")
    project = _all_requirements()
    assert sorted(env) == sorted(project)
    for name, req in project.items():
        assert env[name].specifier == req.specifier, name
        assert env[name].extras == req.extras, name
        assert str(env[name].marker) == str(req.marker), name


def test_every_requirement_is_bounded() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    hub = {Requirement(r).name: Requirement(r) for x in OUTSIDE_ALL for r in extras[x]}
    for name, req in {**_all_requirements(), **hub}.items():
        ops = {spec.operator for spec in req.specifier}
        assert ops & {">=", "~=", "=="} and ops & {"<", "~=", "=="}, f"{name} needs bounds"


def test_all_extra_covers_every_other_extra() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    (all_req,) = extras["all"]
    assert set(Requirement(all_req).extras) == set(extras) - {"all"} - OUTSIDE_ALL
    assert set(extras) == LEARNER | DEVELOPER | OUTSIDE_ALL | {"all"}


def test_the_learner_install_has_no_test_docs_or_hub_tool() -> None:
    """course.py's first command installs the learner extras; what only tests, the site or a hub
    need waits for `course.py test` (or the hub's own install)."""
    extras = _pyproject()["project"]["optional-dependencies"]
    learner = {Requirement(r).name.lower() for x in LEARNER for r in extras[x]}
    for tool in (
        "pytest",
        "nbval",
        "ruff",
        "mypy",
        "hypothesis",
        "playwright",
        "mkdocs",
        "jupyter-repo2docker",
        "jupyterhub",
        "jsonschema",
    ):
        assert tool not in learner, tool
    # moto's server without moto[server]'s cfn-lint, sympy and networkx
    (moto,) = [Requirement(r) for r in extras["aws"] if r.startswith("moto")]
    assert "server" not in moto.extras and "all" not in moto.extras
    assert {"flask", "flask-cors"} <= {Requirement(r).name.lower() for r in extras["aws"]}
    course = (ROOT / "course.py").read_text()
    assert 'LEARNER_EXTRAS = "aws,azure,gcp,vault,course"' in course


def test_spdx_license_and_a_setuptools_that_reads_it() -> None:
    project = _pyproject()
    assert project["project"]["license"] == "MIT"
    (setuptools,) = project["build-system"]["requires"]
    assert Requirement(setuptools).specifier.contains("77.0.3")
    assert not Requirement(setuptools).specifier.contains("76.9")


def test_postbuild_installs_the_package_without_deps() -> None:
    text = (ROOT / "binder/postBuild").read_text()
    assert "set -euo pipefail" in text
    assert "pip install --no-deps -e ." in text


def test_ci_runs_the_readme_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    for command in ("course.py", "course.py test"):
        assert f"python3.11 {command}" in readme
        assert f'"$PY" {command}' in ci


def test_gitignore_keeps_dotenv_out_but_example_in() -> None:
    text = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in text and "!.env.example" in text
    assert (ROOT / ".env.example").exists()


@pytest.mark.parametrize(
    "name",
    ["offline.env", "dev.env", "ci/offline.env", ".env", ".env.local", "gha-creds-1a2b.json"],
)
def test_credentials_files_are_git_ignored(name: str) -> None:
    """`guardlib emulators up --env-file offline.env` (the README's name) or any NAME.env: the
    file holds the running emulators' credentials, and guardlib's own scan flags a tracked one."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, check=False, timeout=30
    )
    assert result.returncode == 0, f"{name} is not git-ignored"
    kept = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", ".env.example"], cwd=ROOT, check=False
    )
    assert kept.returncode == 1, ".env.example must stay tracked"


def test_course_script_explains_itself_on_a_wrong_argument() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "course.py"), "--frobnicate"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "python3.11 course.py test" in result.stdout
