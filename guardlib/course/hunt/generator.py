"""Build the leak hunt's world: CodeHive's repository with real git history, and the machine
around it, in one folder, offline, deterministic for a seed.

``generate(root, seed=..., key=...)`` writes::

    root/
      codehive/          the git repository (work tree, .git, history with a removed key,
                         a force-pushed branch, notebooks, a checkpoint, a .env.bak)
      origin.git/        its bare "remote", which received the force-push
      home/.ipython/profile_default/history.sqlite   a developer's IPython history
      ci/                a downloaded GitHub Actions log
      var/log/codehive/  the app's log and a requests debug trace
      image/codehive-api.oci.tar   an OCI image layout, built with tarfile/json/hashlib
      run/               the worker's pid file, while :func:`running_worker` runs it

Each planted value is made by its challenge from the learner's flag (see
:mod:`guardlib.course.hunt.flags`), so the world depends on (seed, learner key) only: git
commit dates, names and file contents are fixed, and the same inputs give the same commit ids.
The seed decides the story's details (build numbers, filler lines, which decoys appear).
Nothing planted is written outside ``root``; git runs with ``-c user.name=… -c user.email=…``
and without the user's global configuration.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guardlib.course.hunt import flags
from guardlib.course.hunt.challenges import CHALLENGES
from guardlib.course.hunt.ipython_history import record_sessions

#: AWS's own documentation example key: scanners flag it, it grants nothing (a decoy)
AWS_EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEVELOPERS = (("Ruby", "ruby@codehive.example"), ("Brad", "brad@codehive.example"),
              ("Mo", "mo@codehive.example"))  # fmt: skip
IMAGE_REF = "codehive-api:1.4.2"
WORKER_PID_FILE = "run/codehive-worker.pid"
HISTORY_FILE = "home/.ipython/profile_default/history.sqlite"


@dataclass
class World:
    """Where everything is. ``values`` (challenge id -> planted value) is kept out of repr."""

    root: Path
    seed: int
    values: Mapping[str, str] = field(repr=False)
    decoys: Mapping[str, str] = field(repr=False)
    worker_environment: Mapping[str, str] = field(repr=False, default_factory=dict)
    extra_values: tuple[str, ...] = field(repr=False, default=())  # secrets that are no answer

    @property
    def repo(self) -> Path:
        return self.root / "codehive"

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def history_file(self) -> Path:
        return self.root / HISTORY_FILE

    @property
    def image(self) -> Path:
        return self.root / "image" / "codehive-api.oci.tar"

    @property
    def pid_file(self) -> Path:
        return self.root / WORKER_PID_FILE


def planted_values(key: bytes) -> dict[str, str]:
    """challenge id -> the value planted for the learner whose key is ``key``."""
    return {c.id: c.make(flags.flag(key, c.id)) for c in CHALLENGES}


# -- git --------------------------------------------------------------------------------------
class _Git:
    """git in one repository, with a fixed identity and clock, and no user configuration."""

    def __init__(self, cwd: Path, start: int) -> None:
        self.cwd = cwd
        self.clock = start
        executable = shutil.which("git")
        if executable is None:
            raise RuntimeError("the leak hunt needs git on PATH")
        self.executable = executable

    def environment(self, author: tuple[str, str]) -> dict[str, str]:
        stamp = f"{self.clock} +0000"
        keep = ("PATH", "SYSTEMROOT", "TEMP", "TMP", "LANG", "HOME", "USERPROFILE")
        environ = {k: v for k, v in os.environ.items() if k in keep}
        environ.update(
            GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
            GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp, LC_ALL="C",
            GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1],
            GIT_COMMITTER_NAME=author[0], GIT_COMMITTER_EMAIL=author[1],
        )  # fmt: skip
        return environ

    def __call__(self, *args: str, author: tuple[str, str] = DEVELOPERS[0]) -> str:
        command = [self.executable, "-c", f"user.name={author[0]}", "-c",
                   f"user.email={author[1]}", "-c", "init.defaultBranch=main", "-c",
                   "core.autocrlf=false", "-c", "commit.gpgsign=false", "-c",
                   "core.hooksPath=" + os.devnull, *args]  # fmt: skip
        result = subprocess.run(command, cwd=self.cwd, capture_output=True, text=True,
                                env=self.environment(author), check=False)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed: {result.stderr.strip()[:300]}")
        return result.stdout

    def commit(self, message: str, author: tuple[str, str], *, amend: bool = False) -> None:
        self.clock += 3600 * 7 + 1234
        self("add", "-A", author=author)
        self("commit", "-q", *(["--amend"] if amend else []), "-m", message, author=author)


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


# -- notebooks --------------------------------------------------------------------------------
def _notebook(cells: list[tuple[str, list[str]]], metadata: dict | None = None) -> str:
    """A notebook in nbformat 4.5's on-disk JSON (what nbformat.writes produces): (source,
    stdout lines) per code cell, fixed cell ids. Written without importing nbformat, which
    takes a second to import; the tests validate the result with nbformat."""
    notebook_cells: list[dict[str, object]] = []
    for index, (source, stdout) in enumerate(cells, start=1):
        outputs = [{"name": "stdout", "output_type": "stream", "text": stdout}] if stdout else []
        notebook_cells.append({
            "cell_type": "code", "execution_count": index if stdout else None,
            "id": f"cell-{index}", "metadata": {}, "outputs": outputs,
            "source": source.splitlines(keepends=True),
        })  # fmt: skip
    metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.7"},
        **(metadata or {}),
    }
    document = {"cells": notebook_cells, "metadata": metadata, "nbformat": 4,
                "nbformat_minor": 5}  # fmt: skip
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def password_widget_state(value: str, model_id: str, description: str) -> dict:
    """The ``application/vnd.jupyter.widget-state+json`` metadata JupyterLab saves for one
    ipywidgets 8 ``Password`` (with its layout and style models), value included."""
    layout_id, style_id = f"{model_id}l", f"{model_id}s"
    controls = {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0"}
    base = {"model_module": "@jupyter-widgets/base", "model_module_version": "2.0.0"}
    return {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                model_id: {**controls, "model_name": "PasswordModel", "state": {
                    "_dom_classes": [], "_model_module": "@jupyter-widgets/controls",
                    "_model_module_version": "2.0.0", "_model_name": "PasswordModel",
                    "_view_count": None, "_view_module": "@jupyter-widgets/controls",
                    "_view_module_version": "2.0.0", "_view_name": "PasswordView",
                    "continuous_update": True, "description": description,
                    "description_allow_html": False, "disabled": False,
                    "layout": f"IPY_MODEL_{layout_id}", "placeholder": "\u200b",
                    "style": f"IPY_MODEL_{style_id}", "tabbable": None, "tooltip": None,
                    "value": value}},
                layout_id: {**base, "model_name": "LayoutModel", "state": {}},
                style_id: {**controls, "model_name": "TextStyleModel", "state": {
                    "description_width": "", "font_size": None, "text_color": None}},
            },
        }
    }  # fmt: skip


# -- the OCI image ----------------------------------------------------------------------------
def _layer(files: Mapping[str, bytes], mtime: int) -> tuple[bytes, str]:
    """A gzipped layer tar (deterministic) and its diff id (sha256 of the plain tar)."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), mtime, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(files[name]))
    raw = plain.getvalue()
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, filename="") as zipped:
        zipped.write(raw)
    return packed.getvalue(), "sha256:" + hashlib.sha256(raw).hexdigest()


def build_oci_image(path: Path, layers: list[tuple[str, Mapping[str, bytes]]], *,
                    env: list[str], mtime: int) -> Path:  # fmt: skip
    """Write an OCI image layout (image-spec 1.1: oci-layout, index.json, blobs/sha256) as one
    tar file: one gzipped layer per ``(created_by, files)``; a file named ``.wh.NAME``
    deletes NAME of an earlier layer (a whiteout)."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer_descriptors, diff_ids, history = [], [], []
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))
    for created_by, files in layers:
        packed, diff_id = _layer(files, mtime)
        layer_descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  **blob(packed)})  # fmt: skip
        diff_ids.append(diff_id)
        history.append({"created": created, "created_by": created_by})
    config = {
        "created": created, "architecture": "amd64", "os": "linux",
        "config": {"Env": env, "Cmd": ["python", "-m", "codehive.api"], "WorkingDir": "/app"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
    }  # fmt: skip
    config_descriptor = {"mediaType": "application/vnd.oci.image.config.v1+json",
                         **blob(_json(config))}  # fmt: skip
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_descriptor, "layers": layer_descriptors}  # fmt: skip
    annotations = {"org.opencontainers.image.ref.name": IMAGE_REF}
    manifest_descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           **blob(_json(manifest)), "annotations": annotations}  # fmt: skip
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_descriptor]}  # fmt: skip
    entries = {"oci-layout": _json({"imageLayoutVersion": "1.0.0"}), "index.json": _json(index)}
    entries.update({f"blobs/sha256/{d.split(':', 1)[1]}": data for d, data in blobs.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for name in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(entries[name]), mtime, 0o644
            tar.addfile(info, io.BytesIO(entries[name]))
    return path


def _json(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


# -- the world --------------------------------------------------------------------------------
def generate(root: str | os.PathLike[str], *, seed: int, key: bytes) -> World:
    """Build the hunt's world in ``root`` (created; must be empty) for one learner's key."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    rng = random.Random(seed)
    values = planted_values(key)
    start = 1_767_225_600 + rng.randrange(0, 200) * 86_400  # a day in 2026, from the seed
    run_number = rng.randrange(1200, 9800)
    ruby, brad, mo = DEVELOPERS
    decoys = {"aws-docs-example": AWS_EXAMPLE_KEY_ID}

    repo = root / "codehive"
    repo.mkdir()
    git = _Git(repo, start)
    git("init", "-q")
    _write(repo, "README.md", "# CodeHive API\n\nThe payments and notifications API.\n\n"
           "## Configuration\n\nCopy `.env.example` to `.env` and fill it in. For local tests\n"
           "against the AWS emulator, the docs' example key works:\n\n"
           f"    AWS_ACCESS_KEY_ID={AWS_EXAMPLE_KEY_ID}\n")  # fmt: skip
    _write(repo, ".gitignore", ".env\n__pycache__/\n*.pyc\n.ipynb_checkpoints/\n")
    _write(repo, ".env.example", "DATABASE_URL=\nAWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\n"
           "STRIPE_API_KEY=\nSENDGRID_API_KEY=\n")  # fmt: skip
    _write(repo, "codehive/__init__.py", '"""CodeHive API."""\n')
    _write(repo, "codehive/settings.py", 'import os\n\nREGION = "eu-west-1"\n'
           'BUCKET = "codehive-invoices"\n')  # fmt: skip
    git.commit("Initial commit", ruby)

    # 1. a key in history: added in one commit, removed in the next
    secret_key = flags.aws_secret_access_key(flags.flag(key, "git-history"))
    _write(repo, "codehive/settings.py", 'import os\n\nREGION = "eu-west-1"\n'
           'BUCKET = "codehive-invoices"\n'
           f'AWS_ACCESS_KEY_ID = "{values["git-history"]}"\n'
           f'AWS_SECRET_ACCESS_KEY = "{secret_key}"  # TODO move to env\n')  # fmt: skip
    git.commit("Upload invoices to S3", ruby)
    _write(
        repo,
        "codehive/settings.py",
        'import os\n\nREGION = "eu-west-1"\n'
        'BUCKET = "codehive-invoices"\n'
        "# boto3 reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment\n",
    )
    git.commit("Read AWS credentials from the environment", brad)

    # 2. a .env backup the .gitignore does not match
    _write(repo, ".env.bak", "# backup before switching to the staging database\n"
           f"DATABASE_URL=postgres://codehive:{values['env-bak']}@db.codehive.example:5432/app\n"
           "LOG_LEVEL=debug\n")  # fmt: skip
    # 3. a notebook output, and 4. its checkpoint (an earlier save)
    _write(repo, "notebooks/explore.ipynb", _notebook([
        ("import os\nimport requests", []),
        ('token = os.environ["GITHUB_TOKEN"]\nprint("using token", token)',
         [f"using token {values['notebook-output']}\n"]),
        ('stars = {"codehive/api": 42}\nstars', []),
    ]))  # fmt: skip
    _write(repo, "notebooks/.ipynb_checkpoints/explore-checkpoint.ipynb", _notebook([
        ("import os\nimport requests", []),
        ('token = os.environ["GITLAB_TOKEN"]\nprint("token:", token)',
         [f"token: {values['checkpoint']}\n"]),
    ]))  # fmt: skip
    # 5. widget state saved with a Password widget's value
    model_id = hashlib.sha256(f"widget-{seed}".encode()).hexdigest()[:31]
    _write(repo, "notebooks/onboarding.ipynb", _notebook(
        [("import ipywidgets as widgets\nupload_token = widgets.Password(description='PyPI "
          "token')\nupload_token", [])],
        {"widgets": password_widget_state(values["widget-state"], model_id, "PyPI token")},
    ))  # fmt: skip
    git.commit("Notebooks for exploring the API, onboarding notebook", mo)

    # 6. a force-pushed branch, through a real bare remote
    subprocess.run([git.executable, "init", "-q", "--bare", "-b", "main", str(root / "origin.git")],
                   capture_output=True, check=True, env=git.environment(ruby))  # fmt: skip
    git("remote", "add", "origin", str(root / "origin.git"))
    git("push", "-q", "origin", "main")
    git("checkout", "-q", "-b", "feature/stripe-checkout")
    _write(repo, "codehive/payments.py", '"""Stripe checkout."""\n\n'
           f'STRIPE_API_KEY = "{values["force-push"]}"\n')  # fmt: skip
    git.commit("Stripe checkout", ruby)
    git("push", "-q", "-u", "origin", "feature/stripe-checkout")
    _write(repo, "codehive/payments.py", '"""Stripe checkout."""\nimport os\n\n'
           'STRIPE_API_KEY = os.environ["STRIPE_API_KEY"]\n')  # fmt: skip
    git.commit("Stripe checkout", ruby, amend=True)
    git("push", "-q", "--force", "origin", "feature/stripe-checkout")
    git("checkout", "-q", "main")

    # 7. IPython history (a real InteractiveShell records it)
    filler = rng.sample(["import json", "x = [1, 2, 3]", "sum(x)", "len('codehive')",
                         "sorted({'b': 2, 'a': 1})", "2 ** 10"], 3)  # fmt: skip
    record_sessions(root / HISTORY_FILE, [
        filler[:2],
        ["import json", f'SLACK_BOT_TOKEN = "{values["ipython-history"]}"',
         'headers = {"Authorization": "Bearer " + SLACK_BOT_TOKEN}',
         "del SLACK_BOT_TOKEN, headers"],
        [filler[2]],
    ])  # fmt: skip

    # 8. a CI log (GitHub Actions' raw log format)
    _ci_log(root, values["ci-log"], run_number, start, rng)
    # 9. and 10. the app's log and a requests debug trace
    _app_logs(root, values["log-file"], values["debug-trace"], start, rng)
    # 11. a container image whose middle layer holds the storage key
    _image(root, values["image-layer"], start)
    # 12. the worker's environment (the process starts in running_worker)
    environment = {"CODEHIVE_QUEUE": "emails", "SENDGRID_API_KEY": values["process-env"]}
    (root / "run").mkdir()
    return World(root, seed, values, decoys, environment, (secret_key,))


def _ci_log(root: Path, token: str, run_number: int, start: int, rng: random.Random) -> None:
    clock = start + 86_400

    def stamp(offset: float) -> str:
        seconds = clock + offset
        return (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            + f".{rng.randrange(10**7):07d}Z"
        )

    lines = [
        "##[group]Run actions/checkout@v4", "with:", "  repository: codehive/api", "##[endgroup]",
        "##[group]Run actions/setup-node@v4", "with:", "  node-version: 20", "##[endgroup]",
        "##[group]Run echo \"$NPMRC_B64\" | base64 -d > .npmrc && cat .npmrc",
        "env:", "  NPMRC_B64: ***", "##[endgroup]",
        "registry=https://registry.npmjs.org/",
        f"//registry.npmjs.org/:_authToken={token}",
        "always-auth=true",
        "##[group]Run npm publish --access public", "##[endgroup]",
        "npm notice Publishing to https://registry.npmjs.org/ with tag latest",
        "+ @codehive/client@1.4.2",
    ]  # fmt: skip
    text = "".join(f"{stamp(i * 1.7)} {line}\n" for i, line in enumerate(lines))
    _write(root, f"ci/deploy-run-{run_number}/2_publish.txt", text)


def _app_logs(root: Path, jwt: str, token: str, start: int, rng: random.Random) -> None:
    clock = start + 2 * 86_400
    routes = ["/health", "/v1/invoices", "/v1/payments", "/v1/users/me", "/v1/notifications"]
    lines = []
    leak_at = 17 + rng.randrange(10)
    for i in range(40):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(clock + i * 13))
        route = rng.choice(routes)
        lines.append(f"{when},{rng.randrange(1000):03d} INFO codehive.api: GET {route} 200")
        if i == leak_at:
            lines.append(f"{when},{rng.randrange(1000):03d} DEBUG codehive.auth: session for ruby"
                         f" token={jwt}")  # fmt: skip
    _write(root, "var/log/codehive/app.log", "\n".join(lines) + "\n")
    request = (
        "GET /repos/codehive/api/actions/runs HTTP/1.1\\r\\nHost: api.github.com\\r\\n"
        "User-Agent: python-requests/2.32.3\\r\\nAccept-Encoding: gzip, deflate\\r\\n"
        f"Accept: application/vnd.github+json\\r\\nConnection: keep-alive\\r\\n"
        f"Authorization: token {token}\\r\\n\\r\\n"
    )
    trace = [
        "DEBUG:urllib3.connectionpool:Starting new HTTPS connection (1): api.github.com:443",
        f"send: b'{request}'",
        "reply: 'HTTP/1.1 200 OK\\r\\n'",
        "header: Content-Type: application/json; charset=utf-8",
        "header: X-RateLimit-Remaining: 4999",
        'DEBUG:urllib3.connectionpool:https://api.github.com:443 "GET '
        '/repos/codehive/api/actions/runs HTTP/1.1" 200 None',
    ]
    _write(root, "var/log/codehive/requests-debug.log", "\n".join(trace) + "\n")


def _image(root: Path, account_key: str, start: int) -> None:
    connection = (
        "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;"
        f"AccountName=codehivedemo;AccountKey={account_key};EndpointSuffix=core.windows.net\n"
    )
    layers: list[tuple[str, Mapping[str, bytes]]] = [
        ("COPY requirements.txt app/ /app/ # buildkit", {
            "app/requirements.txt": b"requests==2.32.3\nazure-storage-blob==12.23.0\n",
            "app/codehive/__init__.py": b'"""CodeHive API."""\n',
            "app/codehive/api.py": b"import os\n\nCONNECTION = os.environ.get("
                                   b"'AZURE_STORAGE_CONNECTION_STRING')\n"}),
        ("COPY config/storage.env /app/config/storage.env # buildkit", {
            "app/config/storage.env": connection.encode()}),
        ("RUN /bin/sh -c pip install -r requirements.txt && rm /app/config/storage.env "
         "# buildkit", {"app/config/.wh.storage.env": b"",
                        "usr/local/lib/python3.11/site-packages/requests/__init__.py": b"#\n"}),
    ]  # fmt: skip
    build_oci_image(root / "image" / "codehive-api.oci.tar", layers, mtime=start + 3 * 86_400,
                    env=["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1"])  # fmt: skip


# -- the running worker -----------------------------------------------------------------------
_WORKER = r"""
import os, sys, time
parent = os.getppid()
deadline = time.monotonic() + float(sys.argv[1])
sys.stdout.write("ready\n"); sys.stdout.flush()
while time.monotonic() < deadline and os.getppid() == parent:
    time.sleep(0.2)
"""


@contextlib.contextmanager
def running_worker(world: World, *, lifetime: float = 7200.0) -> Iterator[int]:
    """Run the codehive worker (a Python process holding the planted key in its environment)
    while the block runs; its pid is in ``run/codehive-worker.pid``. The worker exits on its
    own when this process dies or after ``lifetime`` seconds."""
    keep = ("PATH", "SYSTEMROOT", "TEMP", "TMP", "LANG")
    environ = {k: v for k, v in os.environ.items() if k in keep}
    environ.update(world.worker_environment)
    process = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(lifetime)], env=environ, cwd=world.root,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()  # started: its environment is readable from now on
        world.pid_file.write_text(f"{process.pid}\n", encoding="ascii")
        yield process.pid
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        with contextlib.suppress(OSError):
            world.pid_file.unlink()
