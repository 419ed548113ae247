"""Chapter 11's exercise check: the narrowest trust for the wallet's deploy job, evaluated
against a matrix of freshly minted tokens (the running cloud's issuers, or a private pair)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardlib import emulators
from guardlib.course.exercises import PLACEHOLDER_HINT, solution_blocks
from guardlib.course.exercises import keyless as ex
from guardlib.emulators.kit import jwt
from guardlib.emulators.oidc import Issuers

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11_keyless_deploys.ipynb"
GOOD = {"issuer": ex.GITHUB_ISSUER, "subject": ex.MAIN, "audience": "sts.amazonaws.com"}


@pytest.fixture
def no_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emulators, "current", lambda: None)


def test_the_matrix_has_one_token_to_admit() -> None:
    admit = [c for c in ex.CASES if c.admit]
    assert [c.subject for c in admit] == [ex.MAIN]
    labels = [c.label for c in ex.CASES]
    assert len(labels) == len(set(labels))
    subjects = {c.subject for c in ex.CASES}
    for needed in ("repo:codehive/wallet:pull_request", "repo:ruby-fork/wallet:ref:refs/heads/main",
                   "repo:codehive/wallet-evil:ref:refs/heads/main"):  # fmt: skip
        assert needed in subjects
    assert any(c.expired for c in ex.CASES) and any(c.audience != ex.AUDIENCE for c in ex.CASES)


@pytest.mark.parametrize(
    "answer",
    [
        ...,
        {"issuer": ..., "subject": ex.MAIN, "audience": ex.AUDIENCE},
        {"issuer": ex.GITHUB_ISSUER, "subject": "...", "audience": ex.AUDIENCE},
        {"issuer": ex.GITHUB_ISSUER, "subject": ex.MAIN, "audience": ...},
        None,
    ],
)
def test_placeholders(no_cloud: None, answer: Any) -> None:
    assert ex.evaluate_narrowest_trust(answer).message == PLACEHOLDER_HINT


def test_the_narrowest_trust_passes(no_cloud: None) -> None:
    verdict = ex.evaluate_narrowest_trust(GOOD)
    assert verdict.ok, verdict.message
    assert f"other {len(ex.CASES) - 1} tokens are refused" in verdict.message


@pytest.mark.parametrize(
    "issuer",
    ["github", "kubernetes", "GitHub", f"{ex.GITHUB_ISSUER}/", ex.GITHUB_ISSUER.upper(),
     "token.actions.githubusercontent.com", f" {ex.GITHUB_ISSUER}", None, 7],
)  # fmt: skip
def test_only_the_exact_issuer_url_passes(no_cloud: None, issuer: Any) -> None:
    """A cloud compares the token's iss claim with the trust's issuer, exactly: the offline
    seed's short name 'github' (or a near miss of the URL) matches no real token."""
    verdict = ex.evaluate_narrowest_trust({**GOOD, "issuer": issuer})
    assert not verdict.ok, issuer
    assert ex.GITHUB_ISSUER in verdict.message and "exactly" in verdict.message


def test_naming_the_identity_is_allowed(no_cloud: None) -> None:
    assert ex.evaluate_narrowest_trust({**GOOD, "identity": "prod-app"}).ok
    verdict = ex.evaluate_narrowest_trust({**GOOD, "identity": "dev-app"})
    assert not verdict.ok and "prod-app" in verdict.message


@pytest.mark.parametrize(
    ("subject", "let_in"),
    [
        ("repo:codehive/wallet:*", ["another branch", "pull request", "prod environment", "a tag"]),
        ("repo:codehive/wallet:ref:refs/heads/*", ["another branch", "starts with main"]),
        ("repo:codehive/wallet:ref:refs/heads/main*", ["starts with main"]),
        ("repo:codehive/wallet:ref:*", ["a tag", "another branch"]),
    ],
)
def test_broad_subjects_name_what_they_let_in(no_cloud: None, subject: str,
                                              let_in: list[str]) -> None:  # fmt: skip
    verdict = ex.evaluate_narrowest_trust({**GOOD, "subject": subject})
    assert not verdict.ok
    assert verdict.message.startswith("it also lets in "), verdict.message
    for label in let_in:
        assert label in verdict.message, verdict.message
    assert "refuses the deploy job" not in verdict.message
    assert "fork" not in verdict.message  # no pattern of codehive's matches ruby-fork


@pytest.mark.parametrize("subject", ["repo:codehive/wallet*", "repo:codehive/*", "repo:c*"])
def test_patterns_that_reach_other_repositories_are_refused_as_written(
    no_cloud: None, subject: str
) -> None:
    """The seed's own rule: a pattern names an exact owner and repository before its '*'
    (a look-alike repository such as codehive/wallet-evil would match otherwise)."""
    verdict = ex.evaluate_narrowest_trust({**GOOD, "subject": subject})
    assert not verdict.ok and "would also match other repositories" in verdict.message


def test_no_audience_lets_in_a_token_meant_for_someone_else(no_cloud: None) -> None:
    for answer in ({**GOOD, "audience": None}, {"issuer": ex.GITHUB_ISSUER, "subject": ex.MAIN}):
        verdict = ex.evaluate_narrowest_trust(answer)
        assert not verdict.ok
        assert "a token for another audience (aud https://github.com/codehive)" in verdict.message
        assert "'sts.amazonaws.com'" in verdict.message


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({**GOOD, "subject": "repo:ruby-fork/wallet:ref:refs/heads/main"},
         "refuses the deploy job itself: a push to main"),
        ({**GOOD, "subject": "repo:codehive/wallet:pull_request"}, "lets in a pull request"),
        ({**GOOD, "audience": "https://github.com/codehive"}, "by audience"),
        ({**GOOD, "subject": "repo:codehive/wallet:environment:prod"},
         "lets in a job in the prod environment"),
    ],
)  # fmt: skip
def test_wrong_trusts_say_what_went_wrong(no_cloud: None, answer: dict, expected: str) -> None:
    verdict = ex.evaluate_narrowest_trust(answer)
    assert not verdict.ok and expected in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("repo:codehive/wallet", "a dict with issuer, subject and audience"),
        ({"subject": ex.MAIN, "audience": ex.AUDIENCE}, "needs issuer"),
        ({**GOOD, "sub": ex.MAIN}, "unknown key(s) sub"),
        ({**GOOD, "issuer": "https://github.com"}, "token.actions.githubusercontent.com"),
        ({**GOOD, "subject": "repo:*"}, "must name at least a repository"),
        ({**GOOD, "subject": "repo:codehive/*/main"}, "optionally ending in one '*'"),
        ({**GOOD, "subject": "repo:codehive/wallet:ref:refs/heads/ma?n"}, "letters, digits"),
        ({**GOOD, "audience": "sts.*"}, "audience is an exact string"),
        ({**GOOD, "subject": 7}, "subject is 1-255 characters"),
    ],
)
def test_unreadable_trusts(no_cloud: None, answer: Any, expected: str) -> None:
    verdict = ex.evaluate_narrowest_trust(answer)
    assert not verdict.ok and expected in verdict.message, verdict.message


def test_the_expired_token_and_the_other_issuer_are_refused_by_verification(no_cloud: None) -> None:
    rows = ex.trust_matrix({**GOOD, "subject": "repo:codehive/wallet:*", "audience": None})
    assert not isinstance(rows, ex.Verdict)
    by_label = {r.case.label: r for r in rows}
    assert by_label["an expired token"].why == "expired"
    assert by_label["another issuer's token with main's subject"].why == "issuer"
    assert by_label["a fork's main branch"].why == "subject"


def test_matrix_table_marks_wrong_rows(no_cloud: None, capsys: pytest.CaptureFixture[str]) -> None:
    ex.show_matrix({**GOOD, "subject": "repo:codehive/wallet:*"})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ex.CASES)
    assert lines[0].startswith("a push to main") and lines[0].endswith("becomes prod-app")
    assert "pull request" in lines[4] and lines[4].endswith("becomes prod-app  <- wrong")
    assert lines[6].endswith("refused (subject)")
    assert "eyJ" not in "\n".join(lines)  # no token, ever


def test_with_a_running_cloud_the_cloud_issuers_mint(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the chapter the offline cloud's own issuer signs the matrix."""
    minted: list[str] = []

    class Recording:
        def __init__(self, real: Any) -> None:
            self.real = real

        def mint(self, *args: Any, **kwargs: Any) -> str:
            token: str = self.real.mint(*args, **kwargs)
            minted.append(token)
            return token

        def verify(self, token: str, **kwargs: Any) -> Any:
            return self.real.verify(token, **kwargs)

    class FakeCloud:
        oidc = Recording(Issuers())

    monkeypatch.setattr(emulators, "current", lambda: FakeCloud())
    assert ex.evaluate_narrowest_trust(GOOD).ok
    assert len(minted) == len(ex.CASES)
    assert jwt.unverified_claims(minted[0])["iss"] == ex.GITHUB_ISSUER


def test_no_verdict_contains_a_token(no_cloud: None) -> None:
    for answer in (GOOD, {**GOOD, "subject": "repo:codehive/*", "audience": None}):
        assert "eyJ" not in ex.evaluate_narrowest_trust(answer).message


def test_check_prints_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    ex.check_narrowest_trust(...)
    hint = f"Hint: {ex.HINT_NARROWEST_TRUST}"
    assert capsys.readouterr().out == f"❌ Not yet: {PLACEHOLDER_HINT}\n{hint}\n"


def test_the_check_loads_no_cloud_sdk_even_when_it_runs() -> None:
    code = (
        "import sys\nfrom guardlib.course.exercises import keyless\n"
        "keyless.evaluate_narrowest_trust({'issuer': keyless.GITHUB_ISSUER, "
        "'subject': keyless.MAIN, 'audience': keyless.AUDIENCE})\n"
        "heavy = {'boto3', 'botocore', 'azure', 'google', 'grpc', 'moto', 'hvac', 'msal'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the chapter ------------------------------------------------------------------------------
def _cells() -> list[dict[str, Any]]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]  # type: ignore[no-any-return]


def test_the_published_solution_passes(no_cloud: None, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = solution_blocks(NOTEBOOK)
    assert len(blocks) == 1, blocks
    namespace = {"check_narrowest_trust": ex.check_narrowest_trust}
    exec(compile(blocks[0], "11:solution", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.startswith("✅ Correct!")


def test_the_committed_exercise_cell_is_unanswered() -> None:
    cells = [c for c in _cells() if c["cell_type"] == "code"]
    exercise = [c for c in cells if "check_narrowest_trust(" in "".join(c["source"])]
    assert len(exercise) == 1
    (output,) = exercise[0]["outputs"]
    text = "".join(output.get("data", {}).get("text/plain", "") or output.get("text", ""))
    assert text == f"❌ Not yet: {PLACEHOLDER_HINT}\nHint: {ex.HINT_NARROWEST_TRUST}"
