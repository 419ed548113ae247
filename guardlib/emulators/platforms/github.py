"""The GitHub Actions runner: one job's environment, and official actions' steps run in it.

:class:`Runner` makes a job (the runner's token endpoint serves it, ``oidc/runner.py``), the
job's folders and file-command files, and the default variables of every step
(docs.github.com, "Variables reference", "Default environment variables"). :meth:`Runner.step`
runs an action (``steps.py``) as its own process with ``INPUT_*`` variables, then reads what it
wrote to ``GITHUB_ENV`` and ``GITHUB_OUTPUT`` and consumes its ``::add-mask::`` lines, as the
runner does; the next step gets fresh file-command files and the exported variables.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .model import PlatformError
from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job

_FILE_COMMANDS = {
    "GITHUB_ENV": "set_env",
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_PATH": "add_path",
    "GITHUB_STATE": "save_state",
    "GITHUB_STEP_SUMMARY": "step_summary",
}
#: what the runner refuses in GITHUB_ENV (actions/runner SetEnvFileCommand: NODE_OPTIONS)
_BLOCKED_EXPORTS = {"NODE_OPTIONS"}


class StepFailed(PlatformError):
    """An action's step failed (as the job would stop there); the message is the step's own
    ``::error::`` line, with every masked value replaced by ``***``."""


def parse_file_command(text: str) -> dict[str, str]:
    """``NAME=value`` lines and ``NAME<<DELIMITER`` heredocs, as the runner reads
    ``GITHUB_ENV``/``GITHUB_OUTPUT`` after a step (later lines win)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            body: list[str] = []
            while i < len(lines) and lines[i].rstrip("\r") != delimiter:
                body.append(lines[i].rstrip("\r"))
                i += 1
            if i >= len(lines):
                raise PlatformError(f"Matching delimiter not found '{delimiter[:40]}'")
            i += 1
            out[name] = "\n".join(body)
        else:
            name, eq, value = line.partition("=")
            if not eq:
                raise PlatformError(f"Invalid format '{name[:40]}'")
            out[name] = value
    return out


class Runner:
    """One job of a GitHub-hosted runner, with ``permissions: id-token: write``."""

    def __init__(self, job: Job) -> None:
        cloud = job.cloud
        assert job.subject is not None
        self.job = cloud.oidc.runner_job(job.subject)
        claims = self.job.claims
        self.folder = Path(tempfile.mkdtemp(prefix="runner-", dir=cloud.workdir))
        repository = str(claims["repository"])
        name = repository.split("/", 1)[1]
        self.workspace = self.folder / "work" / name / name
        self.temp = self.folder / "temp"
        for path in (self.workspace, self.temp / "_runner_file_commands", self.folder / "home"):
            path.mkdir(parents=True, exist_ok=True)
        ref = str(claims["ref"])
        pull = claims["event_name"] == "pull_request"
        self.masks: set[str] = set()
        self.outputs: dict[str, dict[str, str]] = {}
        #: variables exported by earlier steps (GITHUB_ENV), given to every later step
        self.exported: dict[str, str] = {}
        # docs.github.com "Variables reference" (Default environment variables)
        self.defaults = {
            "CI": "true",
            # the snippet runs as a `run:` step without an id: GitHub names it __run
            "GITHUB_ACTION": "__run",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTOR": str(claims["actor"]),
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_EVENT_NAME": str(claims["event_name"]),
            "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
            "GITHUB_JOB": "deploy",
            "GITHUB_REF": ref,
            "GITHUB_REF_NAME": ref.split("/", 2)[2] if ref.count("/") >= 2 else ref,
            "GITHUB_REF_PROTECTED": "false" if pull else "true",
            "GITHUB_REF_TYPE": "tag" if ref.startswith("refs/tags/") else "branch",
            "GITHUB_REPOSITORY": repository,
            "GITHUB_REPOSITORY_OWNER": str(claims["repository_owner"]),
            "GITHUB_RETENTION_DAYS": "90",
            "GITHUB_RUN_ATTEMPT": str(claims["run_attempt"]),
            "GITHUB_RUN_ID": str(claims["run_id"]),
            "GITHUB_RUN_NUMBER": str(claims["run_number"]),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": secrets.token_hex(20),
            "GITHUB_WORKFLOW": str(claims["workflow"]),
            "GITHUB_WORKFLOW_REF": str(claims["workflow_ref"]),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_ARCH": "X64",
            "RUNNER_ENVIRONMENT": str(claims["runner_environment"]),
            "RUNNER_NAME": "GitHub Actions 2",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
            **self.job.env,  # ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN
        }
        if pull:
            self.defaults["GITHUB_HEAD_REF"] = "feature"
            self.defaults["GITHUB_BASE_REF"] = "main"
        self.wiring = wiring(job, all_clouds=True)
        self._files = self._new_files()

    def _new_files(self) -> dict[str, str]:
        """Fresh file-command files for the next step (the runner makes new ones per step)."""
        folder = self.temp / "_runner_file_commands"
        files = {}
        for variable, prefix in _FILE_COMMANDS.items():
            path = folder / f"{prefix}_{uuid.uuid4()}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            files[variable] = str(path)
        return files

    @property
    def env(self) -> dict[str, str]:
        """What the next step's process gets: wiring, defaults, files, exports so far."""
        return {**self.wiring, **self.defaults, **self._files, **self.exported}

    def step(self, action: str, inputs: dict[str, str], *, step_id: str = "auth") -> None:
        """Run ``action`` (``steps.ACTIONS``) with ``inputs`` (its ``with:``) as the runner
        does; raise :class:`StepFailed` if it fails."""
        env = {**self.env, "HOME": str(self.folder / "home")}
        if "PATH" in os.environ:
            env["PATH"] = os.environ["PATH"]
        if os.name == "nt":
            env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")
        for name, value in inputs.items():
            env[f"INPUT_{name.replace(' ', '_').upper()}"] = value
        done = subprocess.run(
            [sys.executable, "-m", "guardlib.emulators.platforms.steps", action],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        errors = []
        for line in done.stdout.splitlines():
            if line.startswith("::add-mask::"):
                self.masks.add(line[len("::add-mask::") :])
            elif line.startswith("::error::"):
                errors.append(line[len("::error::") :])
        exports = parse_file_command(Path(self._files["GITHUB_ENV"]).read_text(encoding="utf-8"))
        outputs = parse_file_command(Path(self._files["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
        self._files = self._new_files()
        if done.returncode != 0:
            message = "; ".join(errors) or (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise StepFailed(f"the step {action} failed: {self.mask(message)}")
        self.exported.update({k: v for k, v in exports.items() if k not in _BLOCKED_EXPORTS})
        self.outputs[step_id] = outputs

    def mask(self, text: str) -> str:
        for value in sorted(self.masks, key=len, reverse=True):
            if value:
                text = text.replace(value, "***")
        return text


# -- builders (platforms.PLATFORMS / STEPS) ------------------------------------------------
def runner_environment(job: Job) -> dict[str, str]:
    """``github-actions``: a bare job, before any step adds credentials."""
    return Runner(job).env


def _identity(job: Job) -> str:
    if job.identity is None:
        raise PlatformError(
            f"{job.platform.name}: no identity to request: the seed trusts none for this "
            "subject; name one (--identity)"
        )
    return job.identity


def configure_aws_credentials(job: Job) -> dict[str, str]:
    """``github-actions+configure-aws-credentials``: the job after the action's step with
    ``role-to-assume`` (the identity's role) and ``aws-region``."""
    from ..seed import DEFAULT_REGION

    aws = job.emulator("aws")
    with aws.state.lock:
        role_arn = aws.state.role_arn(_identity(job))
    runner = Runner(job)
    inputs = {"role-to-assume": role_arn, "aws-region": DEFAULT_REGION, **job.inputs}
    if job.audience is not None:
        inputs.setdefault("audience", job.audience)
    runner.step("configure-aws-credentials", inputs, step_id="aws")
    return runner.env


def google_github_actions_auth(job: Job) -> dict[str, str]:
    """``github-actions+google-github-actions-auth``: the job after the action's step with
    ``workload_identity_provider`` (the provider the identity's trust uses) and
    ``service_account`` (the identity's)."""
    from ..gcp import email_of

    gcp = job.emulator("gcp")
    identity = _identity(job)
    provider = gcp.federation_audience(identity).removeprefix("https://iam.googleapis.com/")
    runner = Runner(job)
    inputs = {"workload_identity_provider": provider, "service_account": email_of(identity),
              **job.inputs}  # fmt: skip
    if job.audience is not None:
        inputs.setdefault("audience", job.audience)
    runner.step("google-github-actions-auth", inputs, step_id="auth")
    return runner.env


def vault_action(job: Job) -> dict[str, str]:
    """``github-actions+vault-action``: the job after the action's step with ``method: jwt``,
    ``role`` (the identity's JWT role), ``exportToken: true`` and no ``secrets:``; the workflow's
    ``env:`` sets ``VAULT_ADDR`` for the steps that use the token (application configuration:
    vault-action does not export it)."""
    from ..vault.admin import JWT_MOUNTS

    vault = job.emulator("vault")
    identity = _identity(job)
    runner = Runner(job)
    runner.defaults["VAULT_ADDR"] = vault.addr  # workflow `env:` (application configuration)
    inputs = {"url": vault.addr, "method": "jwt", "role": identity, "path": JWT_MOUNTS["github"],
              "exportToken": "true", **job.inputs}  # fmt: skip
    audience = job.audience or vault.federation_audience(identity)
    owner_default = f"https://github.com/{runner.job.claims['repository_owner']}"
    if audience != owner_default:
        inputs.setdefault("jwtGithubAudience", audience)
    runner.step("vault-action", inputs, step_id="vault")
    return runner.env


def azure_client_assertion(job: Job) -> dict[str, str]:
    """``github-actions+azure-client-assertion``: no action runs; the workflow's ``env:`` sets
    ``AZURE_CLIENT_ID`` and ``AZURE_TENANT_ID`` (from ``vars``) and ``VAULT_URL``. The code asks
    the runner for a token (audience ``api://AzureADTokenExchange``) in the function it gives
    ``ClientAssertionCredential``. No token file, no client secret."""
    from ..azure import TENANT_ID
    from ..seed import DEFAULT_VAULT

    azure = job.emulator("azure")
    runner = Runner(job)
    runner.defaults.update(
        AZURE_CLIENT_ID=azure.principal(_identity(job)).client_id,
        AZURE_TENANT_ID=TENANT_ID,
        VAULT_URL=f"https://{DEFAULT_VAULT}.vault.azure.net",
    )
    return runner.env
