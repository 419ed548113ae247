"""guardlib's own detectors and decoy rules (guardlib/scan/patterns.py), and hostile lines.

Every credential here is built at run time from the corpus generator's builders (a split
prefix and random characters), so this file scans clean."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from guardlib.scan import scan_text
from guardlib.scan.detectors import SEGMENT, Engine, segments
from guardlib.scan.patterns import find_patterns, is_decoy

_spec = importlib.util.spec_from_file_location(
    "scan_corpus", Path(__file__).resolve().parents[2] / "bench" / "scan_corpus.py"
)
assert _spec and _spec.loader
scan_corpus = importlib.util.module_from_spec(_spec)
sys.modules["scan_corpus"] = scan_corpus
_spec.loader.exec_module(scan_corpus)

VALUES = scan_corpus.Values(7)


@pytest.mark.parametrize("kind", sorted(scan_corpus.KINDS))
@pytest.mark.parametrize("name", ["settings.py", ".env", "deploy.yaml", "output.txt"])
def test_every_planted_kind_is_found_in_common_files(kind: str, name: str) -> None:
    variable, build = scan_corpus.KINDS[kind]
    value = build(VALUES)
    text = scan_corpus.FILE_TYPES["dotenv"](variable, value)[".env"].decode()
    if name.endswith(".py"):
        text = scan_corpus.FILE_TYPES["py"](variable, value)["settings.py"].decode()
    elif name.endswith(".yaml"):
        text = scan_corpus.FILE_TYPES["yaml"](variable, value)["config.yaml"].decode()
    elif name == "output.txt":
        text = scan_corpus._environ_repr(variable, value)
    with Engine() as engine:
        hits = engine.line_hits(text.splitlines(), name)
    assert hits, f"{kind} not found in {name}"
    assert all(value not in str(h) and value not in repr(h) for h in hits)


@pytest.mark.parametrize("kind", sorted(scan_corpus.DECOYS))
@pytest.mark.parametrize("file_type", ["py", "dotenv", "yaml", "shell", "ci-log"])
def test_decoys_are_not_reported(kind: str, file_type: str) -> None:
    variable, build = scan_corpus.DECOYS[kind]
    files = scan_corpus.FILE_TYPES[file_type](variable, build(VALUES))
    text = next(iter(files.values())).decode()
    name = next(iter(files)).rsplit("/", 1)[-1]
    with Engine() as engine:
        assert engine.line_hits(text.splitlines(), name) == []


@pytest.mark.parametrize(
    ("value", "line", "expected"),
    [
        ("AK" + "IAIOSFODNN7EXAMPLE", "", True),
        ("<your-api-key>", "", True),
        ("changeme", "", True),
        ("${DB_PASSWORD}", "", True),
        ("{{ secrets.TOKEN }}", "", True),
        ("a" * 20, "", True),
        ("0" * 8 + "-0000-4000-8000-" + "0" * 12, "", True),
        ("0123456789abcdef" * 4, "sha256: ...", True),
        ("0123456789abcdef" * 4, "token = ...", False),
        ("Zt5k" * 10, "", False),
        ("AccessDenied`/`ProviderUnavailable` | register it", "", True),
        ("replicated", 'sm.describe_secret(SecretId="replicated")', True),
        ("wallet-db", 'sm.get_secret_value(SecretId="other")  # wallet-db', False),
        ("alias/guard-prod", "KmsKeyId='alias/guard-prod'", True),
        ("aws-sm://qa-api-key", 'GUARDLIB_REF_API_KEY = "aws-sm://qa-api-key"', True),
        # Vault AppRole's secret_id is a value
        ("demo-not-a-real-secret-id", 'secret_id="demo-not-a-real-secret-id"', False),
    ],
)  # fmt: skip
def test_is_decoy(value: str, line: str, expected: bool) -> None:
    assert is_decoy(value, line) is expected


@pytest.mark.parametrize(
    "line",
    [
        "API_KEY=os.environ.get('API_KEY')",
        "password: ${{ secrets.DB_PASSWORD }}",
        "TOKEN=$(cat /run/secrets/token)",
        "SECRET_NAME=prod-api-key-name",
        "secretsmanager:GetSecretValue",
        "credential = ManagedIdentityCredential()",
        "export DB_PASSWORD=",
    ],
)
def test_names_references_and_code_are_not_keyword_findings(line: str) -> None:
    assert [k for _, k, _ in find_patterns([line], ".env")] == []


def test_a_quoted_keyword_in_code_is_left_to_detect_secrets() -> None:
    # unquoted assignments are only read where values go unquoted (.env, YAML, shell, logs)
    assert list(find_patterns(["db_password = something7Xq"], "app.py")) == []
    assert [k for _, k, _ in find_patterns(["DB_PASSWORD=something7Xq"], ".env")] == [
        "Secret Keyword"
    ]


def test_segments_keep_every_character_and_bound_the_length() -> None:
    line = ", ".join(f"'K{i}': 'v{i}'" for i in range(500))
    pieces = segments(line)
    assert "".join(pieces) == line and max(map(len, pieces)) <= SEGMENT
    unbroken = "Q" * 5000
    pieces = segments(unbroken)
    assert max(map(len, pieces)) <= SEGMENT and set("".join(pieces)) == {"Q"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "line",
    ["password" * 3000, "password=" * 3000, "xo" + "xb-" + "1-" * 20000, "aws secret " * 3000,
     "Authorization: Bearer " * 2000, "A_TOKEN " * 5000],
    ids=["keywords", "assignments", "slack-digits", "aws", "auth", "names"],
)  # fmt: skip
def test_hostile_long_lines_finish(line: str) -> None:
    """detect-secrets alone takes minutes on 24 KB of `password` (quadratic): the scan cuts
    long lines and bounds its own patterns, so these finish."""
    scan_text(line)


PASSWORD = VALUES.s(scan_corpus.ALNUM, 12) + "#" + VALUES.s(scan_corpus.ALNUM, 5)
HEX = scan_corpus.HEX


@pytest.mark.parametrize(
    ("name", "line", "kind"),
    [
        ("deploy.sh", f"curl -u admin:{PASSWORD} https://api", "Basic Auth Credentials"),
        ("README.md", f"curl --user admin:{PASSWORD} https://api", "Basic Auth Credentials"),
        ("config.xml", f"  <password>{PASSWORD}</password>", "Secret Keyword"),
        ("cell.py", f"%env DB_PASSWORD={PASSWORD}", "Secret Keyword"),
        ("README.md", f"export DB_PASSWORD={PASSWORD}", "Secret Keyword"),
        ("app.properties", f"db.password={PASSWORD}", "Secret Keyword"),
        (".env", "HEROKU_API_KEY=" + "-".join(VALUES.s(HEX, n) for n in (8, 4, 4, 4, 12)),
         "Heroku API Key"),
    ],
    ids=["curl-u", "curl-user", "xml", "percent-env", "md-export", "properties", "heroku"],
)  # fmt: skip
def test_contexts_outside_the_corpus(name: str, line: str, kind: str) -> None:
    """Held out from the corpus when the detectors were written: other places keys land."""
    with Engine() as engine:
        hits = engine.line_hits([line], name)
    assert [h.kind for h in hits] == [kind]
    if PASSWORD in line:  # the whole value, '#' included, so the fingerprint is the value's
        assert hits[0].fingerprint == hashlib.sha1(PASSWORD.encode()).hexdigest()
