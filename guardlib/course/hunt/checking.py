"""Checking a learner's finds: lenient, fair, and never echoing a value.

An answer is *normalised* before it is compared: surrounding whitespace, quotes and
backticks go, so do whitespace inside it (a value wrapped across lines), an ``Authorization``
scheme (``Bearer``/``token``) and a ``NAME=`` in front of it; case is folded only for values
whose alphabet has a single case (an AWS access key id is all capitals, so ``akia…`` is the
same key). A line that *contains* one planted value and little else is accepted: pasting
``DATABASE_URL=postgres://user:PASSWORD@host`` counts as finding the password.

A wrong answer counts as a *false positive*, as in Spot-the-Secrets, and costs
:data:`FALSE_POSITIVE_PENALTY` points: AWS's documentation key is the classic one. Answers
that are no answer at all (empty, not text, a whole file, two values at once, part of a
value) are refused with a reason and cost nothing. An accepted find shows where it was,
the fix, and the tool that would have caught it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from guardlib.course.hunt.challenges import (
    BY_ID,
    FALSE_POSITIVE_PENALTY,
    Challenge,
)

#: how much longer than the value a pasted line may be (``NAME=``, a URL around a password)
SLACK = 128
MIN_PART = 8  # a fragment this long of a planted value is "part of a value", not a wrong guess

_QUOTES = "'\"`"
_PREFIX = re.compile(
    r"^(?:authorization\s*:\s*)?(?:bearer|token|basic)\s+|^[A-Za-z_][A-Za-z0-9_.-]*\s*[=:]\s*",
    re.IGNORECASE,
)


def normalise(answer: str) -> str:
    """The answer as compared: no surrounding quotes, no ``NAME=``/scheme prefix, no
    whitespace anywhere."""
    text = answer.strip()
    for _ in range(3):
        while len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
            text = text[1:-1].strip()
        text = _PREFIX.sub("", text, count=1).strip()
    return re.sub(r"\s+", "", text)


def _fold(text: str, challenge: Challenge) -> str:
    if challenge.fold == "upper":
        return text.upper()
    if challenge.fold == "lower":
        return text.lower()
    return text


@dataclass(frozen=True)
class Outcome:
    """What one submission did. ``status``: accepted, again, false-positive or refused."""

    status: str
    message: str
    points: int = 0
    challenge: Challenge | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("accepted", "again")


@dataclass
class Ledger:
    """The learner's score sheet: finds, hints taken, false positives. No values in it."""

    level: str
    challenges: tuple[Challenge, ...]
    found: dict[str, int] = field(default_factory=dict)  # challenge id -> points earned
    hints: dict[str, int] = field(default_factory=dict)  # challenge id -> hints taken
    false_positives: int = 0

    @property
    def score(self) -> int:
        earned = sum(self.found.values())
        spent = sum(BY_ID[cid].hint_cost * n for cid, n in self.hints.items() if cid not in
                    self.found)  # fmt: skip
        return earned - spent - self.false_positives * FALSE_POSITIVE_PENALTY

    @property
    def hints_taken(self) -> int:
        return sum(self.hints.values())

    def summary(self) -> dict[str, object]:
        return {
            "level": self.level,
            "found": len(self.found),
            "total": len(self.challenges),
            "score": self.score,
            "false_positives": self.false_positives,
            "hints": self.hints_taken,
            "found_ids": sorted(self.found),
        }


def judge(
    answer: object,
    ledger: Ledger,
    values: Mapping[str, str],
    decoys: Mapping[str, str],
) -> Outcome:
    """Score ``answer`` against the planted ``values`` of the challenges in play."""
    if answer is Ellipsis:
        return Outcome("refused", "replace the ... with a value you found, then run the cell.")
    if not isinstance(answer, str):
        return Outcome("refused", f"submit the value you found as text (a str), not a "
                       f"{type(answer).__name__}.")  # fmt: skip
    text = normalise(answer)
    if not text or "..." in answer:
        return Outcome("refused", "replace the ... with a value you found, then run the cell.")
    in_play = {c.id: c for c in ledger.challenges}
    matches = []
    for cid, challenge in in_play.items():
        value = _fold(values[cid], challenge)
        if value in _fold(text, challenge):
            matches.append(challenge)
    if len(matches) > 1:
        return Outcome("refused", "that holds more than one leaked value: submit one at a time.")
    if matches:
        challenge = matches[0]
        value = values[challenge.id]
        if len(text) > len(value) + SLACK:
            return Outcome("refused", "submit the value itself (or the one line holding it), "
                           "not a whole file.")  # fmt: skip
        if challenge.id in ledger.found:
            return Outcome("again", f"already counted: {challenge.title}.", 0, challenge)
        taken = ledger.hints.get(challenge.id, 0)
        points = challenge.points - taken * challenge.hint_cost
        ledger.found[challenge.id] = points
        return Outcome(
            "accepted",
            f"{challenge.title} (+{points}). Where: {challenge.where}. Fix: {challenge.fix}. "
            f"Would have caught it: {challenge.tool}.",
            points,
            challenge,
        )
    for cid, challenge in in_play.items():
        value = _fold(values[cid], challenge)
        folded = _fold(text, challenge)
        if len(folded) >= MIN_PART and folded in value:
            return Outcome("refused", "that is only part of a leaked value: copy all of it.")
    ledger.false_positives += 1
    for name, decoy in decoys.items():
        if normalise(decoy).upper() == text.upper():
            why = {
                "aws-docs-example": "that is AWS's documentation example key: scanners flag it,"
                " but it opens nothing. Check a finding before you report it",
            }.get(name, "that is a decoy")
            return Outcome("false-positive", f"{why} (-{FALSE_POSITIVE_PENALTY}).",
                           -FALSE_POSITIVE_PENALTY)  # fmt: skip
    for cid, challenge in BY_ID.items():
        if cid not in in_play and _fold(values[cid], challenge) in _fold(text, challenge):
            return Outcome("false-positive", f"that one is not in play at level "
                           f"'{ledger.level}' (-{FALSE_POSITIVE_PENALTY}).",
                           -FALSE_POSITIVE_PENALTY)  # fmt: skip
    return Outcome(
        "false-positive",
        f"not a leaked credential of this hunt: a false positive (-{FALSE_POSITIVE_PENALTY}).",
        -FALSE_POSITIVE_PENALTY,
    )
