"""Check for chapter 11 (Keyless deploys): the narrowest trust for a CI job.

The learner writes the trust that lets **only deploy jobs from the main branch of
codehive/wallet** become ``prod-app``, in the seed's shape (``guardlib.emulators.seed.TrustSpec``):
an ``issuer`` (the URL a token's ``iss`` claim holds, exactly), a ``subject`` (exact, or a
prefix ending in one ``*``) and an ``audience``.

The check mints a matrix of tokens with the offline OIDC issuers (the running cloud's, when the
chapter started one; otherwise a private pair of issuers that never listens on a socket): the
main branch, another branch, a look-alike branch, a tag, a pull request, an environment, a
fork, another repository, a look-alike repository, a wrong audience, an expired token and a
token of another issuer that copies main's subject. Each token is verified as a cloud does
(signature, issuer, times) and then matched against the learner's trust with
:meth:`TrustSpec.matches` and the audience. The verdict names every token that was let in or
kept out wrongly, by its description and subject; it never shows a token.

Nothing here imports a cloud SDK, at import or when a check runs.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder
from guardlib.course.panel import show

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
IDENTITY = "prod-app"
REPOSITORY = "codehive/wallet"
MAIN = f"repo:{REPOSITORY}:ref:refs/heads/main"
#: the audience the wallet's deploy job asks GitHub for (aws-actions/configure-aws-credentials'
#: default, and what the role's trust policy checks)
AUDIENCE = "sts.amazonaws.com"
#: GitHub's own default audience for a token: the owner's URL
GITHUB_DEFAULT_AUDIENCE = "https://github.com/codehive"
_EXPECTED_KEYS = {"issuer", "subject", "audience"}


@dataclasses.dataclass(frozen=True)
class Case:
    """One token of the matrix: what it is, and whether prod-app should accept it."""

    label: str
    subject: str
    admit: bool = False
    audience: str = AUDIENCE
    issuer: str = "github"
    expired: bool = False


#: the matrix, the one token that should pass first
CASES: tuple[Case, ...] = (
    Case("a push to main", MAIN, admit=True),
    Case("a push to another branch", f"repo:{REPOSITORY}:ref:refs/heads/feature-login"),
    Case("a branch whose name starts with main", f"repo:{REPOSITORY}:ref:refs/heads/main-old"),
    Case("a tag", f"repo:{REPOSITORY}:ref:refs/tags/v1.0.0"),
    Case("a pull request", f"repo:{REPOSITORY}:pull_request"),
    Case("a job in the prod environment", f"repo:{REPOSITORY}:environment:prod"),
    Case("a fork's main branch", "repo:ruby-fork/wallet:ref:refs/heads/main"),
    Case("another repository", "repo:codehive/website:ref:refs/heads/main"),
    Case("a look-alike repository", "repo:codehive/wallet-evil:ref:refs/heads/main"),
    Case("a token for another audience", MAIN, audience=GITHUB_DEFAULT_AUDIENCE),
    Case("an expired token", MAIN, expired=True),
    Case("another issuer's token with main's subject", MAIN, issuer="kubernetes"),
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One verdict of the matrix: the case, and whether the trust let its token in."""

    case: Case
    admitted: bool
    why: str  # the reason it was refused ("" if admitted)

    @property
    def wrong(self) -> bool:
        return self.admitted != self.case.admit


# -- issuers ------------------------------------------------------------------------------------
_private: Any = None  # guardlib.emulators.oidc.Issuers, made on first need
_private_lock = threading.Lock()


def _issuers() -> Any:
    """The running offline cloud's OIDC issuers, or a private pair."""
    global _private
    from guardlib import emulators

    cloud = emulators.current()
    if cloud is not None:
        return cloud.oidc
    with _private_lock:
        if _private is None:
            from guardlib.emulators.oidc import Issuers

            _private = Issuers()
        return _private


def _mint(issuers: Any, case: Case) -> str:
    if case.issuer == "kubernetes":  # a cluster whose owner writes any subject it likes
        return str(issuers.mint("system:serviceaccount:ci:deploy", case.audience,
                                issuer="kubernetes", claims={"sub": case.subject}))  # fmt: skip
    if case.expired:  # issued two hours ago, for ten minutes
        issued = int(time.time()) - 7200
        return str(issuers.mint(case.subject, case.audience, issued_at=issued, lifetime=600))
    return str(issuers.mint(case.subject, case.audience))


# -- the learner's trust ------------------------------------------------------------------------
def parse_trust(trust: Any) -> Any:
    """The learner's dict as a :class:`~guardlib.emulators.seed.TrustSpec` for ``prod-app``,
    read by the seed's own rules; or a :class:`Verdict` saying why not."""
    from guardlib.emulators.seed import SeedError, SeedSpec

    if not isinstance(trust, Mapping):
        return Verdict(False, "write the trust as a dict with issuer, subject and audience.")
    unknown = sorted(set(map(str, trust)) - _EXPECTED_KEYS - {"identity"})
    if unknown:
        return Verdict(False, f"unknown key(s) {', '.join(unknown)}: a trust has issuer, "
                       "subject and audience.")  # fmt: skip
    missing = sorted({"issuer", "subject"} - set(trust))
    if missing:
        return Verdict(False, f"the trust needs {' and '.join(missing)}.")
    if trust.get("identity", IDENTITY) != IDENTITY:
        return Verdict(False, f"this trust is for {IDENTITY}, the identity that reads prod.")
    issuer = trust["issuer"]
    if issuer != GITHUB_ISSUER:  # a cloud compares the token's iss claim with this, exactly
        shown = repr(issuer)[:80]
        return Verdict(False, f"issuer {shown}: a cloud's trust names the issuer exactly as the "
                       f"token's iss claim says it, {GITHUB_ISSUER} for GitHub Actions (a short "
                       "name such as 'github' matches no token).")  # fmt: skip
    issuer = "github"  # the offline issuer's name for that URL
    item = {"identity": IDENTITY, "issuer": issuer, "subject": trust["subject"]}
    if trust.get("audience") is not None:
        item["audience"] = trust["audience"]
    try:
        spec = SeedSpec.parse({"trusts": [item]})
    except SeedError as error:
        return Verdict(False, str(error).removeprefix("trusts[0]: ") + ".")
    return spec.trusts[0]


def _admits(issuers: Any, trust: Any, token: str) -> tuple[bool, str]:
    """Whether a cloud holding ``trust`` exchanges ``token``; if not, why (in words)."""
    from guardlib.emulators.kit.jwt import TokenError

    try:
        state, claims = issuers.verify(token, audiences=None)
    except TokenError as error:
        return False, {"expired": "expired"}.get(error.reason, error.reason)
    if state.name != trust.issuer:
        return False, "issuer"
    if not trust.matches(str(claims.get("sub", ""))):
        return False, "subject"
    if trust.audience is not None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if trust.audience not in audiences:
            return False, "audience"
    return True, ""


def trust_matrix(trust: Any) -> list[Row] | Verdict:
    """Every token of :data:`CASES`, minted now, against ``trust``."""
    parsed = parse_trust(trust)
    if isinstance(parsed, Verdict):
        return parsed
    issuers = _issuers()
    rows = []
    for case in CASES:
        admitted, why = _admits(issuers, parsed, _mint(issuers, case))
        rows.append(Row(case, admitted, why))
    return rows


def matrix_table(rows: list[Row]) -> str:
    """The matrix as text: each token's description, subject, audience, and the outcome."""
    lines = []
    for row in rows:
        outcome = "becomes prod-app" if row.admitted else f"refused ({row.why})"
        mark = "  <- wrong" if row.wrong else ""
        lines.append(f"{row.case.label:<44} {outcome}{mark}")
    return "\n".join(lines)


def show_matrix(trust: Any) -> None:
    """Print the matrix for ``trust`` (or why it cannot be read)."""
    rows = trust_matrix(trust)
    print(rows.message if isinstance(rows, Verdict) else matrix_table(rows))


def _detail(case: Case) -> str:
    """What sets ``case`` apart: its audience, issuer or age when that is the point, else its
    subject."""
    if case.audience != AUDIENCE:
        return f"aud {case.audience}"
    if case.issuer != "github":
        return "iss: a Kubernetes cluster"
    if case.expired:
        return "expired"
    return case.subject


def _describe(rows: list[Row]) -> str:
    return ", ".join(f"{r.case.label} ({_detail(r.case)})" for r in rows)


def evaluate_narrowest_trust(trust: Any) -> Verdict:
    """``trust`` must admit a push to main of codehive/wallet with audience
    :data:`AUDIENCE`, and nothing else of the matrix."""
    if _has_placeholder(trust) or trust is None:
        return Verdict(False, PLACEHOLDER_HINT)
    rows = trust_matrix(trust)
    if isinstance(rows, Verdict):
        return rows
    let_in = [r for r in rows if r.wrong and r.admitted]
    kept_out = [r for r in rows if r.wrong and not r.admitted]
    problems = []
    if let_in:
        problems.append(f"it also lets in {_describe(let_in)}")
        if any(r.case.audience != AUDIENCE for r in let_in):
            problems.append(f"name the audience the deploy job asks for, {AUDIENCE!r}")
    if kept_out:
        reasons = ", ".join(sorted({r.why for r in kept_out}))
        problems.append(f"it refuses the deploy job itself: {_describe(kept_out)}, by {reasons}")
    if problems:
        return Verdict(False, "; ".join(problems) + ".")
    refused = sum(not r.admitted for r in rows)
    return Verdict(True, f"only a push to main of {REPOSITORY} becomes {IDENTITY}; the other "
                   f"{refused} tokens are refused.")  # fmt: skip


HINT_NARROWEST_TRUST = (
    f"issuer: {GITHUB_ISSUER}; subject: the exact sub of a push to main, "
    "repo:OWNER/REPO:ref:refs/heads/BRANCH, with no '*'; audience: the one the deploy job asks for."
)


def check_narrowest_trust(trust: Any) -> None:
    show(evaluate_narrowest_trust(trust), HINT_NARROWEST_TRUST)


__all__ = [
    "AUDIENCE",
    "CASES",
    "HINT_NARROWEST_TRUST",
    "MAIN",
    "Case",
    "Row",
    "check_narrowest_trust",
    "evaluate_narrowest_trust",
    "matrix_table",
    "parse_trust",
    "show_matrix",
    "trust_matrix",
]
