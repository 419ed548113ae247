"""The leak hunt's challenges: where each value is planted, its shape, and what it teaches.

Each challenge is one *channel* a credential leaks through. When a find is accepted the learner
sees the fix and the tool that would have caught it. Points follow the level; each of the two
hints costs a quarter of the points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guardlib.course.hunt import flags

LEVELS = ("easy", "normal", "hard")
POINTS = {"easy": 100, "normal": 200, "hard": 300}
HINT_COST_SHARE = 4  # a hint costs points // 4
FALSE_POSITIVE_PENALTY = 50


@dataclass(frozen=True)
class Challenge:
    id: str
    title: str
    level: str  # easy, normal, hard
    kind: str  # what the value is, in the scanner's words
    where: str  # where it was planted (shown once found)
    fix: str  # what would have prevented it
    tool: str  # what would have caught it
    hints: tuple[str, str]
    make: Callable[[bytes], str]
    fold: str | None = None  # "upper"/"lower": the value's alphabet has one case

    @property
    def points(self) -> int:
        return POINTS[self.level]

    @property
    def hint_cost(self) -> int:
        return self.points // HINT_COST_SHARE


CHALLENGES: tuple[Challenge, ...] = (
    Challenge(
        "notebook-output",
        "A notebook output",
        "easy",
        "GitHub Token",
        "notebooks/explore.ipynb: a cell printed the token, and the output was committed",
        "print a Secret (it shows a mask), clear outputs before committing, and let nbstripout "
        "strip them as a git filter",
        "guardlib scan (it reads cell outputs); nbstripout as a git filter or pre-commit hook",
        (
            "A notebook in the repository printed more than it should have.",
            "guardlib scan codehive/notebooks",
        ),
        lambda raw: flags.github_token(raw, "ghp"),
    ),
    Challenge(
        "env-bak",
        "A .env backup",
        "easy",
        "Basic Auth Credentials",
        ".env.bak: a copy of .env that .gitignore's '.env' line does not match, committed",
        "ignore '.env*' with '!.env.example' in .gitignore; keep no copies of .env in the "
        "repository; rotate the database password",
        "guardlib scan (it reports .env files git tracks, .env.bak included)",
        (
            "Someone made a backup before editing their settings.",
            "guardlib scan codehive (look for a tracked .env file)",
        ),
        flags.database_password,
    ),
    Challenge(
        "log-file",
        "An application log",
        "easy",
        "JSON Web Token",
        "var/log/codehive/app.log: a DEBUG line logged a user's session token",
        "log the Secret, not its value, and attach guardlib's redact_logger to the logger",
        "guardlib scan over log folders; a redacting log filter",
        ("The app writes more at DEBUG level than anyone reads.", "guardlib scan var/log"),
        flags.session_jwt,
    ),
    Challenge(
        "debug-trace",
        "A requests debug trace",
        "easy",
        "GitHub Token",
        "var/log/codehive/requests-debug.log: http.client's debuglevel printed the request "
        "headers, Authorization included",
        "never enable http.client/urllib3 debug output in production; if you must, redact "
        "the Authorization header",
        "guardlib scan; reviewing debug switches (HTTPConnection.debuglevel) in code review",
        (
            "Someone debugged an HTTP call and kept the trace.",
            "guardlib scan var/log, then read the 'send:' lines",
        ),
        lambda raw: flags.github_token(raw, "gho"),
    ),
    Challenge(
        "ci-log",
        "A CI log",
        "easy",
        "NPM tokens",
        "ci/: a deploy job decoded a base64 secret into .npmrc and printed it; GitHub masks "
        "registered secrets, not values derived from them",
        "mask derived values ('::add-mask::'), never cat credential files in a job, run tools "
        "through 'guardlib run --mask'",
        "guardlib scan over the downloaded logs; GitHub's secret masking",
        ("A deploy job said too much.", "guardlib scan ci"),
        flags.npm_token,
    ),
    Challenge(
        "git-history",
        "A commit in history",
        "normal",
        "AWS Access Key",
        "codehive's git history: app/settings.py held an access key for one commit, removed "
        "by the next; every clone still has it",
        "rotate the key first, then rewrite history (git filter-repo) if you must; a "
        "pre-commit scan stops the commit",
        "guardlib scan --history; git log -p -S AKIA",
        (
            "The current files are clean. Were they always?",
            "guardlib scan --history codehive, or git log -p -S AKIA",
        ),
        flags.aws_access_key_id,
        fold="upper",
    ),
    Challenge(
        "checkpoint",
        "A notebook checkpoint",
        "normal",
        "GitLab Token",
        "notebooks/.ipynb_checkpoints/: Jupyter's copy of an earlier save still holds the "
        "output that was cleared",
        "ignore .ipynb_checkpoints/ in git and delete checkpoints after a leak; clear "
        "outputs before the first save",
        "guardlib scan (it reads .ipynb_checkpoints/ and other hidden folders)",
        (
            "Jupyter keeps a copy of what you saved before.",
            "look inside notebooks/.ipynb_checkpoints",
        ),
        flags.gitlab_token,
    ),
    Challenge(
        "ipython-history",
        "IPython history",
        "normal",
        "Slack Token",
        "home/.ipython/profile_default/history.sqlite: a token pasted into IPython, kept "
        "after the cell was deleted",
        "getpass instead of pasting; delete the rows and VACUUM; start sessions that handle "
        "secrets with --HistoryManager.enabled=False",
        "guardlib scan (it reads history.sqlite by session and line)",
        (
            "Someone typed a token into IPython once.",
            "guardlib scan home, or sqlite3 on home/.ipython/profile_default/history.sqlite",
        ),
        flags.slack_bot_token,
        fold="lower",
    ),
    Challenge(
        "widget-state",
        "Saved widget state",
        "normal",
        "PyPI upload token",
        "notebooks/onboarding.ipynb: a Password widget's value, saved in the notebook's "
        "widget-state metadata",
        "use getpass, or never save widget state for a notebook with a Password widget; "
        "nbstripout removes metadata.widgets",
        "guardlib scan (it reads notebook metadata); nbstripout",
        (
            "A password box does not forget what you typed.",
            "look at metadata.widgets in codehive/notebooks/onboarding.ipynb",
        ),
        flags.pypi_token,
    ),
    Challenge(
        "force-push",
        "A force-pushed branch",
        "hard",
        "Stripe Access Key",
        "feature/stripe-checkout: the key was amended away and force-pushed, but the old "
        "commit is in the reflog and still on the remote as an unreachable commit",
        "rotate the key: a force-push hides a commit from the branch, not from the remote "
        "(GitHub serves it by SHA) or from anyone who fetched it",
        "git reflog, and git fsck --unreachable on the remote: a scan of the branches' "
        "history (guardlib scan --history, gitleaks) sees reachable commits only",
        (
            "The branch's history looks clean now. What did it look like before the push?",
            "git -C codehive reflog show feature/stripe-checkout, then git show that commit",
        ),
        flags.stripe_live_key,
    ),
    Challenge(
        "image-layer",
        "A container image layer",
        "hard",
        "Azure Storage Account access key",
        "image/codehive-api.oci.tar: a layer COPYs the storage connection string; a later "
        "layer deletes it, but every layer ships",
        "pass build secrets with 'RUN --mount=type=secret' (BuildKit), never COPY or ARG "
        "them; rotate the key",
        "listing and scanning each layer (tarfile here; trivy or trufflehog on real images)",
        (
            "Deleting a file in a Dockerfile does not delete it from the image.",
            "open the OCI tarball with tarfile, read index.json, the manifest, then each layer",
        ),
        flags.azure_storage_key,
    ),
    Challenge(
        "process-env",
        "A running process",
        "hard",
        "SendGrid API Key",
        "the codehive-worker process (pid in run/codehive-worker.pid) has the key in its "
        "environment, readable by any process of the same user",
        "read the key from a secret manager at start-up into a Secret and keep it out of "
        "os.environ; give child processes an explicit env",
        "/proc/<pid>/environ on Linux (ps eww on macOS); chapter 04",
        (
            "A service is running right now.",
            "read /proc/<pid>/environ with the pid in run/codehive-worker.pid",
        ),
        flags.sendgrid_key,
    ),
)

BY_ID = {challenge.id: challenge for challenge in CHALLENGES}


def in_level(level: str) -> tuple[Challenge, ...]:
    """The challenges played at ``level``: easy ones; easy and normal; or all of them."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    allowed = LEVELS[: LEVELS.index(level) + 1]
    return tuple(c for c in CHALLENGES if c.level in allowed)
