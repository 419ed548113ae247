"""Every challenge solved with the tools the course teaches: ``guardlib scan`` in a fresh
process (it names a place, never a value), then reading that place; git for history and the
force-pushed branch; tarfile for the image; /proc for the running worker."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from guardlib.course.hunt import CHALLENGES, Hunt

from .conftest import ROOM_SECRET, guardlib_scan

FINDING = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+)(?: \((?P<where>[^)]*)\))?: (?P<kind>[^\[\n]+?) \[sha1 "
)
SHAPES = {  # what a learner recognises once the scanner has pointed at a line
    "AWS Access Key": r"AKIA[0-9A-Z]{16}",
    "Stripe Access Key": r"sk_live_[0-9a-zA-Z]{24}",
    "GitHub Token": r"gh[po]_[A-Za-z0-9]{36}",
    "GitLab Token": r"glpat-[A-Za-z0-9_-]{20}",
    "Slack Token": r"xoxb-[0-9-]+[a-z0-9]+",
    "NPM tokens": r"npm_[A-Za-z0-9]+",
    "Basic Auth Credentials": r"(?<=://codehive:)[^@\s]+",
    "Azure Storage Account access key": r"(?<=AccountKey=)[A-Za-z0-9+/=]{88}",
    "SendGrid API Key": r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    "JSON Web Token": r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
}


@pytest.fixture(scope="module")
def hunt(tmp_path_factory: pytest.TempPathFactory):
    board = tmp_path_factory.mktemp("board")
    environ = {"GUARDLIB_HUNT_ROOM_SECRET": ROOM_SECRET, "GUARDLIB_HUNT_BOARD": str(board)}
    with Hunt(level="hard", learner="ruby", environ=environ) as hunt:
        yield hunt


@pytest.fixture(scope="module")
def findings(hunt: Hunt) -> list[dict[str, str]]:
    """``guardlib scan .`` over the whole world, parsed (the values are not in it)."""
    result = guardlib_scan(".", cwd=hunt.root)
    assert result.returncode == 1, result.stderr
    for value in hunt.world.values.values():
        assert value not in result.stdout + result.stderr
    return [m.groupdict() for m in map(FINDING.match, result.stdout.splitlines()) if m]


def accept(hunt: Hunt, candidates: list[str], challenge: str) -> None:
    """Submit what was read at the place a tool pointed to; exactly one must count."""
    assert candidates, f"nothing found for {challenge}"
    outcomes = [hunt.check(candidate) for candidate in dict.fromkeys(candidates)]
    accepted = [o for o in outcomes if o.status in ("accepted", "again")]
    assert accepted and all(o.challenge.id == challenge for o in accepted), outcomes
    assert not [o for o in outcomes if o.status == "false-positive"], outcomes
    assert challenge in hunt.ledger.found


def the_finding(findings: list[dict[str, str]], path_part: str, kind: str) -> dict[str, str]:
    matches = [f for f in findings if path_part in f["path"] and f["kind"] == kind]
    assert matches, f"guardlib scan reported no {kind} in {path_part}: {findings}"
    return matches[0]


def shapes(text: str, kind: str) -> list[str]:
    return re.findall(SHAPES[kind], text)


@pytest.mark.parametrize(
    ("challenge", "path_part", "kind"),
    [
        ("ci-log", "ci/", "NPM tokens"),
        ("env-bak", ".env.bak", "Basic Auth Credentials"),
        ("log-file", "app.log", "JSON Web Token"),
        ("debug-trace", "requests-debug.log", "GitHub Token"),
    ],
)
def test_text_files_found_by_the_scanner(hunt, findings, challenge, path_part, kind) -> None:
    finding = the_finding(findings, path_part, kind)
    line = (hunt.root / finding["path"]).read_text().splitlines()[int(finding["line"]) - 1]
    accept(hunt, shapes(line, kind), challenge)


@pytest.mark.parametrize(
    ("challenge", "path_part"),
    [("notebook-output", "notebooks/explore.ipynb"), ("checkpoint", "explore-checkpoint.ipynb")],
)
def test_notebook_outputs_found_by_the_scanner(hunt, findings, challenge, path_part) -> None:
    finding = next(f for f in findings if f["path"].endswith(path_part))
    cell_number = int(re.match(r"cell (\d+) output", finding["where"]).group(1))
    notebook = json.loads((hunt.root / finding["path"]).read_text())
    cell = notebook["cells"][cell_number - 1]
    text = "".join("".join(o.get("text", "")) for o in cell["outputs"])
    accept(hunt, shapes(text, finding["kind"]), challenge)


def test_widget_state_found_by_the_scanner(hunt, findings) -> None:
    finding = next(f for f in findings if "onboarding.ipynb" in f["path"]
                   and "widget" in f["where"])  # fmt: skip
    notebook = json.loads((hunt.root / finding["path"]).read_text())
    state = notebook["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    values = [model["state"]["value"] for model in state["state"].values()
              if model["model_name"] == "PasswordModel"]  # fmt: skip
    accept(hunt, values, "widget-state")


def test_ipython_history_found_by_the_scanner(hunt, findings) -> None:
    finding = the_finding(findings, "history.sqlite", "Slack Token")
    session = int(re.match(r"session (\d+)", finding["where"]).group(1))
    with sqlite3.connect(hunt.root / finding["path"]) as db:
        (source,) = db.execute("SELECT source_raw FROM history WHERE session = ? AND line = ?",
                               (session, int(finding["line"]))).fetchone()  # fmt: skip
    accept(hunt, shapes(source, "Slack Token"), "ipython-history")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def test_git_history_with_git_log(hunt) -> None:
    """``git log -p -S AKIA``: the commit that added the key and the one that removed it."""
    patch = git("log", "-p", "-S", "AKIA", "--all", cwd=hunt.world.repo)
    added = [line for line in patch.splitlines() if line.startswith("+") and "AKIA" in line]
    keys = [v for line in added for v in shapes(line, "AWS Access Key")]
    assert any(k.endswith("EXAMPLE") for k in keys)  # the README's docs example, a decoy
    accept(hunt, [k for k in keys if not k.endswith("EXAMPLE")], "git-history")


def test_git_history_with_guardlib_scan_history(hunt) -> None:
    result = guardlib_scan("--history", ".", cwd=hunt.world.repo)
    if "unrecognized arguments: --history" in result.stderr:
        pytest.skip("guardlib scan --history has not landed")
    assert result.returncode == 1, result.stderr
    assert hunt.world.values["git-history"] not in result.stdout
    finding = the_finding(
        [m.groupdict() for m in map(FINDING.match, result.stdout.splitlines()) if m],
        "settings.py", "AWS Access Key",
    )  # fmt: skip
    commit = re.search(r"\b[0-9a-f]{7,40}\b", result.stdout[result.stdout.index("settings.py") :])
    assert commit, result.stdout
    content = git("show", f"{commit.group(0)}:codehive/settings.py", cwd=hunt.world.repo)
    line = content.splitlines()[int(finding["line"]) - 1]
    accept(hunt, shapes(line, "AWS Access Key"), "git-history")


def test_force_pushed_branch_with_the_reflog(hunt) -> None:
    commits = git("reflog", "show", "--format=%H", "feature/stripe-checkout",
                  cwd=hunt.world.repo).split()  # fmt: skip
    tip = git("rev-parse", "feature/stripe-checkout", cwd=hunt.world.repo).strip()
    assert "sk_live_" not in git("show", tip, cwd=hunt.world.repo)  # the branch looks clean
    found = [v for c in commits for v in shapes(git("show", c, cwd=hunt.world.repo),
                                                "Stripe Access Key")]  # fmt: skip
    accept(hunt, found, "force-push")


def test_force_pushed_commit_is_still_on_the_remote(hunt) -> None:
    report = git("fsck", "--unreachable", "--no-reflogs", cwd=hunt.world.origin)
    commits = re.findall(r"unreachable commit ([0-9a-f]{40})", report)
    assert commits
    shown = "".join(git("show", c, cwd=hunt.world.origin) for c in commits)
    accept(hunt, shapes(shown, "Stripe Access Key"), "force-push")


def test_image_layer_with_tarfile_and_the_scanner(hunt, tmp_path: Path) -> None:
    """index.json -> manifest -> each layer; the deleted file is in the layer that added it."""
    listing = []
    with tarfile.open(hunt.world.image) as image:
        index = json.load(image.extractfile("index.json"))
        blob = lambda digest: image.extractfile("blobs/sha256/" + digest.split(":")[1]).read()  # noqa: E731
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        for number, layer in enumerate(manifest["layers"], start=1):
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as tar:
                listing += [(number, name) for name in tar.getnames()]
                tar.extractall(tmp_path / f"layer{number}", filter="data")
    assert any(name.endswith(".wh.storage.env") for _, name in listing)  # deleted later ...
    result = guardlib_scan(".", cwd=tmp_path)  # ... but still in layer 2
    finding = the_finding(
        [m.groupdict() for m in map(FINDING.match, result.stdout.splitlines()) if m],
        "storage.env", "Azure Storage Account access key",
    )  # fmt: skip
    assert finding["path"].startswith("layer2/")
    text = (tmp_path / finding["path"]).read_text()
    accept(hunt, shapes(text, "Azure Storage Account access key"), "image-layer")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_running_process_through_proc(hunt) -> None:
    pid = int((hunt.root / "run" / "codehive-worker.pid").read_text())
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"SENDGRID_API_KEY=")]
    accept(hunt, found, "process-env")


def test_all_found_and_on_the_board(hunt) -> None:
    """Runs last (pytest keeps file order): every challenge counted, the board says so."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the process challenge is solved through /proc")
    assert set(hunt.ledger.found) == {c.id for c in CHALLENGES}
    assert hunt.ledger.false_positives == 0
    row = json.loads(next(hunt.board.glob("*.json")).read_text())
    assert row["found"] == row["total"] == len(CHALLENGES)
    assert row["score"] == sum(c.points for c in CHALLENGES)
    board_text = "".join(p.read_text() for p in hunt.board.iterdir())
    assert not any(v in board_text for v in hunt.world.values.values())
    assert os.environ.get("SENDGRID_API_KEY") != hunt.world.values["process-env"]
