"""The leak hunt (chapter 14): find CodeHive's leaked credentials with the course's tools.

>>> from guardlib.course.hunt import Hunt
>>> with Hunt(level="normal") as hunt:        # builds the world in a temp folder, ~1 s
...     hunt.scoreboard()                     # progress and score (a widget, or text)
...     hunt.submit("AKIA…")                  # a value you found: accepted, or a false positive
...     hunt.hint("git-history")              # costs a quarter of the challenge's points

Everything planted lives in the hunt's temporary folder (and in the environment of one child
process, stopped when the ``with`` block ends), and every value is a per-learner flag in a
real credential format with ``DEMO`` in it: see :mod:`~guardlib.course.hunt.flags`.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from guardlib.course.hunt.challenges import BY_ID, CHALLENGES, LEVELS, Challenge, in_level
from guardlib.course.hunt.checking import Ledger, Outcome, judge, normalise
from guardlib.course.hunt.flags import HuntSetupError, learner_id, resolve_learner_key
from guardlib.course.hunt.generator import World, generate, running_worker
from guardlib.course.hunt.scoreboard import BOARD_VARIABLE, leaderboard, publish

__all__ = [
    "CHALLENGES",
    "LEVELS",
    "Challenge",
    "Hunt",
    "HuntSetupError",
    "Outcome",
    "leaderboard",
    "learner_id",
    "normalise",
]

DEFAULT_SEED = 2026


class Hunt:
    """One learner's hunt: the world, the challenges in play at ``level``, and the score.

    ``learner`` defaults to ``JUPYTERHUB_USER`` (on a hub) or a local id; the flags come from
    the room secret (see :mod:`~guardlib.course.hunt.flags`). ``board`` (default:
    ``GUARDLIB_HUNT_BOARD``) is the room's leaderboard folder, updated after every submission.
    """

    def __init__(
        self,
        *,
        level: str = "normal",
        seed: int = DEFAULT_SEED,
        learner: str | None = None,
        root: str | os.PathLike[str] | None = None,
        board: str | os.PathLike[str] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        environ = dict(os.environ) if environ is None else environ
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.learner, key = resolve_learner_key(learner, environ)
        self._owns_root = root is None
        folder = Path(tempfile.mkdtemp(prefix="codehive-hunt-")) if root is None else Path(root)
        try:
            self.world: World = generate(folder, seed=seed, key=key)
        except BaseException:
            if self._owns_root:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        playable = in_level(level)
        if platform.system() == "Windows":  # no /proc, no ps eww: not findable there
            playable = tuple(c for c in playable if c.id != "process-env")
        self.ledger = Ledger(level, playable)
        configured = board if board is not None else environ.get(BOARD_VARIABLE) or None
        self.board = Path(configured) if configured else None
        self._boards: list[Any] = []
        self._board_warned = False
        self._stack = ExitStack()
        self.worker_pid: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Hunt:
        """Start the running process of the ``process-env`` challenge."""
        if self.worker_pid is None:
            self.worker_pid = self._stack.enter_context(running_worker(self.world))
        return self

    def close(self) -> None:
        """Stop the worker and delete the world (when the hunt made its own folder)."""
        self._stack.close()
        self.worker_pid = None
        if self._owns_root:
            shutil.rmtree(self.world.root, ignore_errors=True)

    def __enter__(self) -> Hunt:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Hunt(learner={self.learner!r}, level={self.ledger.level!r})"

    # -- where things are --------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.world.root

    @property
    def challenges(self) -> tuple[Challenge, ...]:
        return self.ledger.challenges

    # -- playing -----------------------------------------------------------------------------
    def check(self, answer: object) -> Outcome:
        """Judge ``answer`` and record it (no display): what :meth:`submit` shows."""
        outcome = judge(answer, self.ledger, self.world.values, self.world.decoys)
        self._after_change()
        return outcome

    def submit(self, answer: object) -> None:
        """Submit a value you found; shows whether it counts, and what it teaches."""
        from guardlib.course.panel import show
        from guardlib.course.verdict import Verdict

        outcome = self.check(answer)
        show(Verdict(outcome.ok, outcome.message))

    def hint(self, challenge_id: str) -> None:
        """Show the next hint of a challenge (two each), for a quarter of its points each."""
        challenge = BY_ID.get(challenge_id)
        if challenge is None or challenge not in self.challenges:
            ids = ", ".join(c.id for c in self.challenges)
            print(f"no challenge {challenge_id!r} at this level; choose one of: {ids}")
            return
        if challenge.id in self.ledger.found:
            print(f"{challenge.title}: already found, no hint needed.")
            return
        taken = self.ledger.hints.get(challenge.id, 0)
        if taken >= len(challenge.hints):
            print(f"{challenge.title}: no more hints. {challenge.hints[-1]}")
            return
        self.ledger.hints[challenge.id] = taken + 1
        self._after_change()
        print(f"Hint {taken + 1} for '{challenge.title}' (-{challenge.hint_cost}): "
              f"{challenge.hints[taken]}")  # fmt: skip

    @property
    def score(self) -> int:
        return self.ledger.score

    def summary(self) -> dict[str, object]:
        return self.ledger.summary()

    def progress(self) -> str:
        """Challenges in play, found or not (titles only, never values)."""
        lines = []
        for challenge in self.challenges:
            mark = "x" if challenge.id in self.ledger.found else " "
            lines.append(f"[{mark}] {challenge.id:<16} {challenge.level:<6} "
                         f"{challenge.points:>3}  {challenge.title}")  # fmt: skip
        return "\n".join(lines)

    def scoreboard(self) -> Any:
        """The scoreboard widget (text in nbconvert/nbval), updated as you play."""
        from guardlib.course.hunt.scoreboard import progress_text, scoreboard

        try:
            board = scoreboard(self.learner, self.summary())
        except ImportError:
            print(progress_text(self.learner, self.summary()))
            return None
        self._boards.append(board)
        return board

    def mask(self, text: str) -> str:
        """``text`` with every planted value replaced by ``<kind>``: for showing a tool's
        output without giving the answers away."""
        for cid, value in self.world.values.items():
            text = re.sub(re.escape(value), f"<{BY_ID[cid].kind}>", text, flags=re.IGNORECASE)
        for value in self.world.extra_values:
            text = text.replace(value, "<hidden>")
        return text

    def _after_change(self) -> None:
        from guardlib.course.hunt.scoreboard import update

        summary = self.summary()
        for board in self._boards:
            update(board, self.learner, summary)
        if self.board is not None:
            try:
                publish(self.board, self.learner, summary)
            except OSError as error:  # a board folder that is gone or read-only: play on
                if not self._board_warned:
                    self._board_warned = True
                    print(f"(the leaderboard row could not be written to {self.board}: "
                          f"{error.strerror or type(error).__name__})")  # fmt: skip


def facilitator_leaderboard(board: str | os.PathLike[str] | None = None) -> str:
    """The room's leaderboard as text (the folder in ``GUARDLIB_HUNT_BOARD`` by default)."""
    from guardlib.course.hunt.scoreboard import leaderboard_text

    folder = board or os.environ.get(BOARD_VARIABLE)
    if not folder:
        return f"no leaderboard folder: pass one or set {BOARD_VARIABLE}"
    return leaderboard_text(folder)


__all__ += ["facilitator_leaderboard", "leaderboard", "publish"]
