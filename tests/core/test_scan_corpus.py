"""The scanner on the labelled corpus of bench/scan_corpus.py, at its small size (every kind
once, every file type at least once): `guardlib scan` (the CLI, in a subprocess) finds
every planted secret detect-secrets finds, plus the notebook metadata, checkpoint and
history ones, flags no decoy, survives the merge-conflicted notebook, and prints no value.
gitleaks and Kingfisher are compared when their binaries are installed (the `test` extra)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


scan_corpus = _load("scan_corpus")
bench_scan = _load("bench_scan")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, scan_corpus.generate(root, "small")


def test_the_corpus_is_what_the_issue_asks_for(corpus: tuple[Path, list[dict]]) -> None:
    root, labels = corpus
    secrets = [c for c in labels if c["secret"]]
    assert len({c["kind"] for c in secrets}) >= 20
    assert len({c["type"] for c in secrets}) >= 10
    assert {"nb-checkpoint", "ipython-history", "json-one-line", "nb-widget",
            "nb-papermill", "nb-conflicted"} <= {c["type"] for c in secrets}  # fmt: skip
    assert any(not c["secret"] for c in labels)
    one_line = next(c for c in secrets if c["type"] == "json-one-line")
    assert len((root / one_line["folder"] / "config.json").read_text().splitlines()[0]) > 2000
    assert json.loads((root / "labels.json").read_text())["cases"] == labels
    # the same seed builds the same corpus
    again = root.parent / "again"
    again.mkdir()
    assert scan_corpus.generate(again, "small") == labels


def test_guardlib_beats_detect_secrets_on_the_corpus(corpus: tuple[Path, list[dict]]) -> None:
    root, labels = corpus
    results = bench_scan.measure(root, labels, tools=["guardlib scan", "detect-secrets"])
    ours, ds = results["guardlib scan"], results["detect-secrets"]
    secrets = {c["folder"] for c in labels if c["secret"]}
    decoys = {c["folder"] for c in labels if not c["secret"]}
    assert ds["found"] & secrets <= ours["found"], "guardlib misses what detect-secrets finds"
    for kind in scan_corpus.NOTEBOOK_TYPES | {"nb-conflicted", "nb-output"}:
        folders = {c["folder"] for c in labels if c["secret"] and c["type"] == kind}
        assert folders <= ours["found"], f"guardlib misses the {kind} case"
    assert ours["found"] & decoys == set(), "guardlib flags a decoy"
    assert ours["recall"] == 1.0 and ours["precision"] >= ds["precision"]


def test_the_cli_survives_the_conflicted_notebook_and_prints_no_value(
    corpus: tuple[Path, list[dict]],
) -> None:
    root, labels = corpus
    result = subprocess.run(
        [sys.executable, "-m", "guardlib", "scan", ".", "--no-allowlist"],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    conflicted = next(c for c in labels if c["type"] == "nb-conflicted" and c["secret"])
    lines = result.stdout.splitlines()
    assert (
        f"{conflicted['folder']}/analysis.ipynb: Unreadable file: not valid notebook JSON "
        "(merge-conflict markers); it was not fully scanned: fix it and scan again" in lines
    )
    # no planted value, nor any 12-character piece of one, appears in the output: rebuild the
    # values as generate() did (one seeded generator, in the order of the cases)
    values = scan_corpus.Values(16)
    table = {**scan_corpus.KINDS, **scan_corpus.DECOYS}
    shown = result.stdout + result.stderr
    for case in labels:
        value = table[case["kind"]][1](values)
        planted = b"".join(
            p.read_bytes() for p in (root / case["folder"]).rglob("*") if p.is_file()
        )
        assert value[-12:].encode() in planted  # rebuilt in step with generate()
        if case["secret"]:
            pieces = {value[i : i + 12] for i in range(len(value) - 11)}
            assert not any(p in shown for p in pieces), f"{case['folder']} shows its value"


@pytest.mark.parametrize("peer", ["gitleaks", "kingfisher"])
def test_guardlib_recall_is_at_least_the_peers(corpus: tuple[Path, list[dict]], peer: str) -> None:
    if not bench_scan._tool(peer):
        pytest.skip(f"{peer} is not installed (pip install -e '.[test]' installs it)")
    root, labels = corpus
    results = bench_scan.measure(root, labels, tools=["guardlib scan", peer])
    assert results["guardlib scan"]["recall"] >= results[peer]["recall"]
    assert results["guardlib scan"]["precision"] >= results[peer]["precision"]


def test_history_finds_every_deleted_case(tmp_path: Path) -> None:
    """The corpus committed, then deleted: `guardlib scan --history` finds every case, and at
    least what gitleaks' history mode finds when gitleaks is installed."""
    labels = scan_corpus.generate(tmp_path, "small")
    bench_scan.git_history_of(tmp_path)
    tools = ["guardlib scan"] + (["gitleaks"] if bench_scan._tool("gitleaks") else [])
    results = bench_scan.measure(tmp_path, labels, tools=tools, history=True)
    ours = results["guardlib scan"]
    assert ours["recall"] == 1.0 and ours["fp"] == 0
    if "gitleaks" in results:
        assert results["gitleaks"]["found"] <= ours["found"] | {
            c["folder"] for c in labels if not c["secret"]
        }


def test_the_fast_plugin_loop_finds_what_detect_secrets_own_loop_finds(
    corpus: tuple[Path, list[dict]],
) -> None:
    """guardlib skips detect-secrets' plugin calls that cannot match a line; on every corpus
    file (and this repository's scanner sources) the findings are detect-secrets' own."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import default_settings

    from guardlib.scan.detectors import Engine

    root, _ = corpus
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix != ".sqlite"]
    files += sorted((Path(__file__).resolve().parents[2] / "guardlib" / "scan").glob("*.py"))
    compared = 0
    for path in files:
        with default_settings():
            theirs = sorted((s.line_number, s.type, s.secret_hash) for s in scan_file(str(path)))
        with Engine() as engine:
            ours = sorted(
                (line, kind, hashlib.sha1(value.encode()).hexdigest())
                for line, kind, value in engine._ds_file(path)
            )
        assert ours == theirs, path
        compared += bool(theirs)
    assert compared >= 20
