"""The generator: deterministic per seed, fast, offline, every value fake but findable, and
nothing written outside its folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import nbformat
import pytest

from guardlib.course.hunt import flags
from guardlib.course.hunt.challenges import CHALLENGES
from guardlib.course.hunt.generator import generate, planted_values, running_worker

KEY = flags.learner_key(b"demo-not-a-real-room-secret-0001", "ruby")


def snapshot(root: Path) -> dict[str, object]:
    """Everything a learner can look at, minus what git and SQLite stamp with the clock."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or relative.startswith(("codehive/.git/", "origin.git/")):
            continue
        if path.name == "history.sqlite":
            continue
        files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()

    def git(*args: str, cwd: Path = root / "codehive") -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout

    with sqlite3.connect(root / "home/.ipython/profile_default/history.sqlite") as db:
        history = db.execute("SELECT session, line, source_raw FROM history").fetchall()
    return {
        "files": files,
        "refs": git("show-ref"),
        "reflog": git("reflog", "show", "--format=%H %gs", "--all"),
        "remote": git("show-ref", cwd=root / "origin.git"),
        "history": history,
    }


@pytest.mark.parametrize("seed", [7, 2026])
def test_same_seed_same_world(tmp_path: Path, seed: int) -> None:
    first = snapshot(generate(tmp_path / "a", seed=seed, key=KEY).root)
    second = snapshot(generate(tmp_path / "b", seed=seed, key=KEY).root)
    assert first == second
    assert len(first["files"]) >= 12
    assert "refs/heads/feature/stripe-checkout" in first["refs"]


def test_seeds_and_learners_change_the_world(tmp_path: Path) -> None:
    base = snapshot(generate(tmp_path / "a", seed=7, key=KEY).root)
    other_seed = snapshot(generate(tmp_path / "b", seed=8, key=KEY).root)
    other_key = snapshot(
        generate(tmp_path / "c", seed=7, key=flags.learner_key(b"x" * 32, "mo")).root
    )
    assert base["files"] != other_seed["files"]
    assert base["refs"] != other_key["refs"]  # the commits hold other values


def test_nothing_outside_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IPython, git and the worker write nothing to HOME or the cwd. (Its speed, under 10 s,
    is measured by bench/bench_hunt.py, not asserted here.)"""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv("IPYTHONDIR", raising=False)
    monkeypatch.chdir(tmp_path)
    world = generate(tmp_path / "world", seed=1, key=KEY)
    with running_worker(world):
        pass
    assert list(home.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "world"]


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate(tmp_path, seed=1, key=KEY)


def test_every_value_is_fake_and_in_its_real_format() -> None:
    formats = {
        "git-history": r"AKIA[0-9A-Z]{16}",
        "force-push": r"sk_live_[0-9a-zA-Z]{24}",
        "notebook-output": r"ghp_[A-Za-z0-9]{36}",
        "debug-trace": r"gho_[A-Za-z0-9]{36}",
        "checkpoint": r"glpat-[A-Za-z0-9_-]{20}",
        "ipython-history": r"xoxb-\d+-\d+-[a-z0-9]+",
        "ci-log": r"npm_[A-Za-z0-9]{36}",
        "env-bak": r"demo-[A-Za-z0-9]{20}",
        "image-layer": r"[A-Za-z0-9+/=]{88}",
        "process-env": r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        "log-file": r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        "widget-state": r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{70,}",
    }
    assert set(formats) == {c.id for c in CHALLENGES}
    for cid, value in planted_values(KEY).items():
        assert re.fullmatch(formats[cid], value), cid
        if cid != "log-file":  # a JWT says so in its claims (next test)
            assert flags.looks_like_demo(value), cid


def test_jwt_says_demo_in_its_claims() -> None:
    import base64

    token = planted_values(KEY)["log-file"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["demo"] == "not-a-real-token"


def test_notebooks_are_valid_and_the_image_is_an_oci_layout(tmp_path: Path) -> None:
    world = generate(tmp_path / "w", seed=3, key=KEY)
    for path in world.repo.rglob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))
    with tarfile.open(world.image) as image:
        names = image.getnames()
        assert "oci-layout" in names and "index.json" in names
        index = json.load(image.extractfile("index.json"))
        manifest_digest = index["manifests"][0]["digest"].split(":")[1]
        manifest_bytes = image.extractfile(f"blobs/sha256/{manifest_digest}").read()
        assert hashlib.sha256(manifest_bytes).hexdigest() == manifest_digest
        manifest = json.loads(manifest_bytes)
        for layer in manifest["layers"]:
            blob = image.extractfile(f"blobs/sha256/{layer['digest'].split(':')[1]}").read()
            assert hashlib.sha256(blob).hexdigest() == layer["digest"].split(":")[1]
            assert len(blob) == layer["size"]


def test_the_worker_stops_with_the_block(tmp_path: Path) -> None:
    world = generate(tmp_path / "w", seed=3, key=KEY)
    with running_worker(world) as pid:
        assert int(world.pid_file.read_text()) == pid
    assert not world.pid_file.exists()
    if os.path.isdir("/proc"):
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (
            not Path(f"/proc/{pid}/environ").exists()
            or b"SENDGRID" not in Path(f"/proc/{pid}/environ").read_bytes()
        )
