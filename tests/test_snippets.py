"""Every notebook cell tagged ``snippet`` runs on its own, outside the notebook, in a fresh
process, once for each platform its cell metadata names (``"platforms": [...]``), with only
what that platform gives a process (``guardlib.emulators.platforms.environment``) plus the
application's own configuration (``API_KEY_SECRET``). That is what a reader who copies it into
a project gets on that platform; it must never print a secret value.

Who the process is: on a compute platform (App Service, EC2, Cloud Run, a laptop ...) the dev
app, reading ``dev-api-key``; as a GitHub Actions job on ``main`` after an official action's
step (``github-actions+STEP``), or as the EKS pod of ``prod-app`` (``eks-irsa``), the production
app, reading ``prod-api-key``. The same job as a pull request is refused.

Snippets teach the vendor SDK, not this course's package: outside chapter 10 (which teaches
guardlib's resolver) a snippet imports only the standard library and the SDK."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from guardlib.emulators import platforms
from guardlib.emulators.seed import COURSE

ROOT = Path(__file__).resolve().parents[1]
MAIN = "repo:codehive/wallet:ref:refs/heads/main"
PULL_REQUEST = "repo:codehive/wallet:pull_request"
#: the production app's EKS pod (platforms' default pod subject for identity prod-app)
POD = "system:serviceaccount:wallet:prod-app"
#: the course's world, plus the EKS cluster's trust for prod-app's pod (chapter 11's eks-irsa)
SEED = {
    **COURSE,
    "trusts": [
        *COURSE["trusts"],
        {"identity": "prod-app", "issuer": "kubernetes", "subject": POD, "clouds": ["aws"]},
    ],
}
DEMO_VALUES = [spec["value"] for spec in COURSE["secrets"].values()]
#: the top-level packages a snippet may import besides the standard library: the vendor SDKs
#: and what they use themselves (google-crc32c for Secret Manager's checksums, requests, grpc,
#: PyJWT for decoding a token's claims)
VENDOR = {
    "boto3", "botocore", "azure", "google", "hvac", "requests", "google_crc32c", "grpc", "jwt"
}  # fmt: skip
#: the one chapter that teaches guardlib itself
GUARDLIB_CHAPTERS = ("10_",)
#: chapter 11's snippets run after the official action's step for their cloud (and AWS's also
#: in an EKS pod, where the same code finds IRSA's variables)
CI_STEPS = {
    "aws": {"github-actions+configure-aws-credentials", "eks-irsa"},
    "azure": {"github-actions+azure-client-assertion"},
    "gcp": {"github-actions+google-github-actions-auth"},
    "vault": {"github-actions+vault-action"},
}


class Snippet(NamedTuple):
    name: str  # notebook stem and cell number
    source: str
    platforms: tuple[str, ...]


def _snippets() -> list[Snippet]:
    found = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells, start=1):
            metadata = cell.get("metadata", {})
            if "snippet" in metadata.get("tags", []):
                names = tuple(metadata.get("platforms") or ())
                found.append(Snippet(f"{path.stem}-cell{index}", "".join(cell["source"]), names))
    return found


SNIPPETS = _snippets()
RUNS = [(s, spec) for s in SNIPPETS for spec in s.platforms]


def _imports(source: str) -> set[str]:
    """The top-level package of every import in ``source`` (relative imports as ``.``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level else (node.module or "").split(".")[0])
    return names


def _who(spec: str) -> tuple[str | None, str | None, str]:
    """(identity, OIDC subject, the secret it reads) of the process on ``spec``."""
    if spec.startswith(f"{platforms.RUNNER}+") or spec == platforms.RUNNER:
        return None, MAIN, "prod-api-key"  # the deploy job on main: the seed trusts prod-app
    if spec == "eks-irsa":
        return "prod-app", POD, "prod-api-key"
    return "dev-app", None, "dev-api-key"


def _run(source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``source`` in a new interpreter whose environment is ``env`` and a bare PATH (the
    platform's HOME if it has one): the refusal tests need the exit code, not just success."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **env}
    return subprocess.run([sys.executable, "-c", source], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture
def seeded(offline_cloud: Any) -> Any:
    offline_cloud.seed(SEED)
    return offline_cloud


def _platform_env(cloud: Any, spec: str, subject: str | None = None) -> tuple[dict[str, str], str]:
    identity, default_subject, secret = _who(spec)
    env = platforms.environment(cloud, spec, identity=identity, subject=subject or default_subject)
    return env | {"API_KEY_SECRET": secret}, secret  # the application's own configuration


def _sops_config(cloud: Any, spec: str, env: dict[str, str], folder: Path) -> dict[str, str]:
    """Chapter 12's app configuration: ``CONFIG_FILE``, a sops file that this platform's
    identity opens (on a laptop: an age key in ``~/.config/sops/age/keys.txt``, where sops
    looks; in the deploy job: the KMS key ``alias/guard-prod`` through the exported session),
    and the ``sops`` command on ``PATH`` (installed next to this interpreter)."""
    plain = folder / "app.yaml"
    plain.write_text("db:\n  host: db.internal\n  password: demo-not-a-real-db-password-snip\n")
    path = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}
    if spec == "laptop":
        import pyrage

        key = pyrage.x25519.Identity.generate()
        keys = Path(env["HOME"]) / ".config" / "sops" / "age" / "keys.txt"
        keys.parent.mkdir(parents=True, exist_ok=True)
        keys.write_text(f"{key}\n", encoding="ascii")
        recipient = ["--age", str(key.to_public())]
    else:  # the administrator encrypts to the production key, as in chapter 12
        recipient = ["--kms", "arn:aws:kms:us-east-1:123456789012:alias/guard-prod"]
    admin = {**cloud.env("admin"), **path, "HOME": str(folder)}
    command = ["sops", "--disable-version-check", "encrypt", "--in-place", *recipient, str(plain)]
    subprocess.run(command, env=admin, check=True, capture_output=True, timeout=60)
    return path | {"CONFIG_FILE": str(plain)}


def _mapping(cloud: Any, spec: str, env: dict[str, str], folder: Path) -> dict[str, str]:
    """Chapter 10's config.py on a developer's laptop: a committed mapping whose dev table
    reads through the laptop's own logins (~/.aws for Secrets Manager, ~/.vault-token for
    OpenBao), named by SECRETS_FILE."""
    mapping = folder / "secrets.toml"
    mapping.write_text(
        '[dev]\nDB_PASSWORD = "vault://secret/dev-api-key#value"\n'
        'API_KEY = "aws-sm://dev-api-key"\n',
        encoding="utf-8",
    )
    return {"SECRETS_FILE": str(mapping)}


#: the application's own configuration a chapter's snippet needs beyond API_KEY_SECRET (files
#: the deployment ships with the app), made for one platform's process
APP_SETUP: dict[str, Callable[[Any, str, dict[str, str], Path], dict[str, str]]] = {
    "10_": _mapping,
    "12_": _sops_config,
}


# -- what every snippet declares --------------------------------------------------------------
def test_cloud_chapters_offer_snippets() -> None:
    chapters = {s.name.split("-")[0] for s in SNIPPETS}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if "06" <= path.name[:2] <= "11":  # 06 Azure ... 09 Vault, 10 the app, 11 keyless
            assert path.stem in chapters, f"{path.name} has no cell tagged snippet"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_snippet_names_known_platforms(snippet: Snippet) -> None:
    assert snippet.platforms, f"{snippet.name}: no 'platforms' in the cell metadata"
    unknown = set(snippet.platforms) - set(platforms.known())
    assert not unknown, f"{snippet.name}: unknown platforms {sorted(unknown)}"
    for spec in snippet.platforms:
        reason = platforms.parse(spec).offline_reason
        assert reason is None, f"{snippet.name}: {spec} cannot run offline: {reason}"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_snippet_imports_only_the_stdlib_and_the_vendor_sdk(snippet: Snippet) -> None:
    assert "import " in snippet.source, f"{snippet.name}: a snippet brings its own imports"
    if snippet.name.startswith(GUARDLIB_CHAPTERS):
        return
    foreign = {
        name for name in _imports(snippet.source)
        if name not in sys.stdlib_module_names and name not in VENDOR
    }  # fmt: skip
    assert not foreign, f"{snippet.name} imports {sorted(foreign)}: not the stdlib or the SDK"


def test_the_import_check_catches_guardlib_and_relative_imports() -> None:
    """The check above can fail: these are the imports it exists to catch."""
    source = "import os\nfrom guardlib import Secret\nfrom . import helpers\nimport boto3.session\n"
    assert _imports(source) == {"os", "guardlib", ".", "boto3"}
    assert "guardlib" not in VENDOR and "guardlib" not in sys.stdlib_module_names


def test_chapter_11_runs_after_each_official_step() -> None:
    named = {spec for s in SNIPPETS if s.name.startswith("11_") for spec in s.platforms}
    for cloud, specs in CI_STEPS.items():
        assert specs <= named, f"chapter 11's {cloud} snippet must run on {sorted(specs - named)}"


# -- every snippet on every platform it names ------------------------------------------------
@pytest.mark.parametrize(("snippet", "spec"), RUNS, ids=[f"{s.name}-{p}" for s, p in RUNS])
def test_snippet_runs_on_its_platform_and_prints_no_secret(
    seeded: Any,
    fresh_python: Callable[..., list[str]],
    tmp_path: Path,
    snippet: Snippet,
    spec: str,
) -> None:
    env, _ = _platform_env(seeded, spec)
    extra = {"HOME": env["HOME"]} if "HOME" in env else {}  # the laptop's HOME is its platform
    for prefix, setup in APP_SETUP.items():
        if snippet.name.startswith(prefix):
            extra |= setup(seeded, spec, env, tmp_path)
    lines = fresh_python(snippet.source, env, **extra)
    output = "\n".join(lines)
    assert "not ready" not in output, f"{snippet.name} on {spec}: {output}"
    for value in DEMO_VALUES:
        assert value not in output, f"{snippet.name} printed a secret on {spec}"


CI_RUNS = [(s, p) for s, p in RUNS if p.startswith(f"{platforms.RUNNER}+") or p == "eks-irsa"]


@pytest.mark.parametrize(("snippet", "spec"), CI_RUNS, ids=[f"{s.name}-{p}" for s, p in CI_RUNS])
def test_a_pull_request_job_is_refused(
    seeded: Any, tmp_path: Path, snippet: Snippet, spec: str
) -> None:
    """The same snippet as a pull request's job (or another pod) reads nothing: it fails with
    the snippet's PermissionError, and prints no value."""
    subject = PULL_REQUEST if spec != "eks-irsa" else "system:serviceaccount:wallet:dev-app"
    identity = None if spec != "eks-irsa" else "prod-app"
    try:
        env = platforms.environment(seeded, spec, identity=identity, subject=subject)
    except platforms.PlatformError as error:  # the action's own step failed: also a refusal
        assert "prod-api-key" not in str(error)
        return
    env |= {"API_KEY_SECRET": "prod-api-key"}
    for prefix, setup in APP_SETUP.items():
        if snippet.name.startswith(prefix):
            env |= setup(seeded, spec, env, tmp_path)
    done = _run(snippet.source, env)
    assert done.returncode != 0, f"{snippet.name} read production as a pull request on {spec}"
    assert "PermissionError" in done.stderr, done.stderr[-2000:]
    for value in DEMO_VALUES:
        assert value not in done.stdout + done.stderr


def test_a_snippet_does_not_run_where_its_cloud_gives_no_identity(seeded: Any) -> None:
    """The runs above can fail: chapter 07's AWS snippet on Cloud Run has no AWS identity."""
    aws = next(s for s in SNIPPETS if s.name.startswith("07_"))
    env = platforms.environment(seeded, "cloud-run", identity="dev-app")
    done = _run(aws.source, env | {"API_KEY_SECRET": "dev-api-key", "AWS_REGION": "us-east-1"})
    assert done.returncode != 0
    assert "PermissionError" in done.stderr or "NoCredentialsError" in done.stderr, done.stderr


# -- chapter 09: a Vault Agent's sink file, and the snippet's own AppRole login ----------------
def _vault_snippet() -> Snippet:
    return next(s for s in SNIPPETS if s.name.startswith("09_"))


def _hvac(cloud: Any, identity: str) -> Any:
    import hvac

    env = cloud.env(identity)
    return hvac.Client(url=env["VAULT_ADDR"], token=env["VAULT_TOKEN"]), env


def _bare_vault_env(cloud: Any) -> dict[str, str]:
    """A server with no token anywhere: the laptop's wiring and VAULT_ADDR, a HOME without
    ~/.vault-token, and the app's own configuration."""
    env = platforms.environment(cloud, "laptop", identity="dev-app")
    return env | {"HOME": "/nonexistent", "API_KEY_SECRET": "dev-api-key"}


def test_vault_snippet_reads_an_agent_sink_file(
    seeded: Any, fresh_python: Callable[..., list[str]], tmp_path: Path
) -> None:
    """The test plays the Agent (auto-auth with AppRole, a file sink); the app reads the file."""
    _, dev = _hvac(seeded, "dev-app")
    import hvac

    agent = hvac.Client(url=dev["VAULT_ADDR"], token="")
    agent.auth.approle.login(role_id=dev["VAULT_ROLE_ID"], secret_id=dev["VAULT_SECRET_ID"])
    sink = tmp_path / "sink"
    sink.write_text(agent.token, encoding="ascii")
    env = _bare_vault_env(seeded) | {"VAULT_TOKEN_FILE": str(sink)}
    assert fresh_python(_vault_snippet().source, env) == ["API key loaded (not printed)"]
    sink.write_text("not-a-token", encoding="ascii")  # read at every call: a stale file fails
    done = _run(_vault_snippet().source, env)
    assert done.returncode != 0 and "PermissionError" in done.stderr, done.stderr[-2000:]


def test_vault_snippet_logs_in_with_approle_and_revokes_its_token(
    seeded: Any, fresh_python: Callable[..., list[str]], tmp_path: Path
) -> None:
    admin, dev = _hvac(seeded, "admin")[0], _hvac(seeded, "dev-app")[1]
    secret_id = tmp_path / "secret-id"
    secret_id.write_text(dev["VAULT_SECRET_ID"], encoding="utf-8")
    env = _bare_vault_env(seeded) | {
        "VAULT_ROLE_ID": dev["VAULT_ROLE_ID"], "VAULT_SECRET_ID_FILE": str(secret_id)
    }  # fmt: skip

    def tokens() -> int:
        return len(admin.list("auth/token/accessors")["data"]["keys"])

    before = tokens()
    assert fresh_python(_vault_snippet().source, env) == ["API key loaded (not printed)"]
    assert tokens() == before, "the snippet's AppRole token outlived its process"
    secret_id.write_text("demo-not-a-real-secret-id", encoding="utf-8")
    done = _run(_vault_snippet().source, env)
    assert done.returncode != 0 and "PermissionError" in done.stderr, done.stderr[-2000:]


def test_snippets_pass_the_projects_own_lint(tmp_path: Path) -> None:
    """A reader pastes a snippet into a project: it must pass the lint this repository's own
    code passes (ruff at line length 100: pyflakes, pycodestyle, isort, bugbear, pyupgrade)."""
    for snippet in SNIPPETS:
        (tmp_path / f"{snippet.name.replace('-', '_')}.py").write_text(snippet.source + "\n")
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run(
        [str(ruff), "check", "--isolated", "--line-length", "100", "--target-version", "py310",
         "--select", "E,F,W,I,B,UP", "--output-format", "concise", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
