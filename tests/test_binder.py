"""Binder builds what we think it builds: repo2docker, asked to render (never to build), picks
the conda build pack, installs binder/environment.yml and runs binder/postBuild.

repo2docker decides from the files of a clone, so the check runs on a copy of the tracked files
(no .venv, no my-work/): what mybinder.org would see. No container engine is needed or used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("repo2docker", reason="jupyter-repo2docker is in guardlib[test]")

from repo2docker.app import Repo2Docker  # noqa: E402
from repo2docker.buildpacks import CondaBuildPack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files as they are in the work tree (a fresh clone in CI)."""
    target = tmp_path_factory.mktemp("binder-clone")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def rendered(clone: Path) -> tuple[object, str]:
    """The build pack repo2docker picks and the Dockerfile it would build, as app.build() does
    them with --no-build, without fetching anything or talking to docker."""
    app = Repo2Docker(repo=str(clone), dry_run=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(clone)  # build packs read the repository from the working directory
        picked = next(bp for bp in (BP(base_image=app.base_image) for BP in app.buildpacks)
                      if bp.detect())  # fmt: skip
        picked.platform = app.platform
        picked.appendix = app.appendix
        dockerfile = picked.render({"NB_USER": "jovyan", "NB_UID": "1000"})
        binder_dir = picked.binder_dir
        python_version = picked.python_version
    assert binder_dir == "binder", "repo2docker should read the binder/ folder"
    assert python_version == "3.11", "environment.yml's python=3.11 must reach Binder"
    return picked, dockerfile


def test_binder_uses_the_conda_build_pack(rendered: tuple[object, str]) -> None:
    picked, _ = rendered
    assert isinstance(picked, CondaBuildPack), type(picked).__name__


def test_build_installs_binder_environment_yml(rendered: tuple[object, str]) -> None:
    _, dockerfile = rendered
    assert "COPY --chown=1000:1000 src/binder/environment.yml" in dockerfile
    assert re.search(r'env update .*--file "binder/environment\.yml"', dockerfile), dockerfile
    # the root copy is for conda users on laptops: Binder ignores it when binder/ exists
    assert "src/environment.yml" not in dockerfile
    assert '--file "environment.yml"' not in dockerfile


def test_build_runs_postbuild_after_the_environment_and_the_repository(
    rendered: tuple[object, str],
) -> None:
    _, dockerfile = rendered
    lines = dockerfile.splitlines()
    run_post = lines.index("RUN ./binder/postBuild")
    env_update = next(i for i, line in enumerate(lines) if "binder/environment.yml" in line)
    repo_copy = next(
        i for i, line in enumerate(lines) if re.match(r"COPY .*src/ \$\{REPO_DIR", line)
    )
    # postBuild runs `pip install --no-deps -e .`: it needs the environment and the whole repo
    assert env_update < run_post and repo_copy < run_post
    assert "RUN chmod +x binder/postBuild" in lines
    # as the notebook user, not root (Binder runs postBuild unprivileged)
    user = [line for line in lines[:run_post] if line.startswith("USER ")][-1]
    assert user == "USER ${NB_USER}", user


def test_postbuild_is_a_script_for_bash(clone: Path) -> None:
    post_build = clone / "binder" / "postBuild"
    assert post_build.read_text().startswith("#!/usr/bin/env bash\n")
