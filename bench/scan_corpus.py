"""A labelled corpus for secret scanners: fake credentials of 30 kinds planted where leaks
really land, in 18 file types, plus decoys that look like credentials and are not.

Every value is built at run time from a seeded random generator, into a folder the caller
gives (a temporary one): the values are format-valid (the right prefix, alphabet and length,
a JWT whose parts decode) and fake (random, never issued by anyone). This file holds no
credential-shaped literal (each prefix is split), so the repository's own scan stays clean.

Layout: ``cases/NNNN-<kind>-<type>/<file>``, one planted value per case folder, and
``labels.json``: ``{"cases": [{"id", "folder", "file", "kind", "type", "secret"}]}``. A
scanner *finds* a case when it reports anything under the case's folder; a report under a
decoy's folder is a false positive. ``generate(root, size="small")`` plants every kind once
and every type at least once (a few seconds to scan); ``size="full"`` plants every kind in
every type.

Kinds whose value has no fixed format (a password, a generic API key, an AWS secret access
key) are planted next to the name a developer gives them (``DB_PASSWORD``), as they are.
"""

# ruff: noqa: E501 - tables of value builders and file templates read best one per line
from __future__ import annotations

import base64
import json
import random
import sqlite3
import string
import uuid
from collections.abc import Callable
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


class Values:
    """Fake credentials of each kind, from one seeded generator."""

    def __init__(self, seed: int = 16) -> None:
        self.rng = random.Random(seed)

    def s(self, alphabet: str, n: int) -> str:
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            low = value.lower()
            if not any(w in low for w in ("xxxx", "todo", "your", "example", "changeme")):
                return value

    def pem(self, label: str) -> str:
        body = base64.b64encode(self.rng.randbytes(600)).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        dashes = "-" * 5
        return "\n".join([f"{dashes}BEGIN {label}{dashes}", *lines, f"{dashes}END {label}{dashes}"])

    def jwt(self) -> str:
        def part(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        header = part({"alg": "HS256", "typ": "JWT"})
        claims = part({"sub": self.s(HEX, 12), "iat": 1767225600, "scope": "admin"})
        return f"{header}.{claims}.{self.s(URLSAFE, 43)}"


#: kind -> (variable name, value builder)
KINDS: dict[str, tuple[str, Callable[[Values], str]]] = {
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID", lambda v: "AK" + "IA" + v.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY", lambda v: v.s(B64, 40)),
    "github_classic": ("GITHUB_TOKEN", lambda v: "gh" + "p_" + v.s(ALNUM, 36)),
    "github_fine_grained": ("GH_TOKEN", lambda v: "github" + "_pat_" + v.s(ALNUM, 22) + "_" + v.s(ALNUM, 59)),
    "gitlab": ("GITLAB_TOKEN", lambda v: "gl" + "pat-" + v.s(URLSAFE, 20)),
    "slack_bot": ("SLACK_BOT_TOKEN", lambda v: "xo" + "xb-" + v.s(string.digits, 11) + "-" + v.s(string.digits, 13) + "-" + v.s(ALNUM, 24)),
    "slack_webhook": ("SLACK_WEBHOOK_URL", lambda v: "https://hooks.slack.com/" + "services/T" + v.s(UPPER_DIGITS, 8) + "/B" + v.s(UPPER_DIGITS, 10) + "/" + v.s(ALNUM, 24)),
    "stripe_secret": ("STRIPE_SECRET_KEY", lambda v: "sk" + "_live_" + v.s(ALNUM, 99)),
    "stripe_restricted": ("STRIPE_RESTRICTED_KEY", lambda v: "rk" + "_live_" + v.s(ALNUM, 24)),
    "google_api_key": ("GOOGLE_API_KEY", lambda v: "AI" + "za" + v.s(URLSAFE, 35)),
    "private_key_rsa": ("PRIVATE_KEY", lambda v: v.pem("RSA " + "PRIVATE KEY")),
    "private_key_openssh": ("SSH_PRIVATE_KEY", lambda v: v.pem("OPENSSH " + "PRIVATE KEY")),
    "jwt": ("AUTH_TOKEN", lambda v: v.jwt()),
    "azure_storage": ("AZURE_STORAGE_CONNECTION_STRING", lambda v: "DefaultEndpointsProtocol=https;AccountName=billing" + v.s(string.digits, 4) + ";Account" + "Key=" + v.s(B64, 86) + "==;EndpointSuffix=core.windows.net"),
    "twilio": ("TWILIO_API_KEY", lambda v: "S" + "K" + v.s(HEX, 32)),
    "sendgrid": ("SENDGRID_API_KEY", lambda v: "S" + "G." + v.s(URLSAFE, 22) + "." + v.s(URLSAFE, 43)),
    "npm": ("NPM_TOKEN", lambda v: "np" + "m_" + v.s(ALNUM, 36)),
    "pypi": ("PYPI_TOKEN", lambda v: "py" + "pi-AgEIcHlwaS5vcmc" + v.s(URLSAFE, 70)),
    "openai": ("OPENAI_API_KEY", lambda v: "sk" + "-proj-" + v.s(URLSAFE, 56) + "T3Blbk" + "FJ" + v.s(URLSAFE, 56)),
    "anthropic": ("ANTHROPIC_API_KEY", lambda v: "sk" + "-ant-api03-" + v.s(URLSAFE, 93) + "AA"),
    "huggingface": ("HF_TOKEN", lambda v: "h" + "f_" + v.s(string.ascii_letters, 34)),
    "digitalocean": ("DIGITALOCEAN_TOKEN", lambda v: "do" + "p_v1_" + v.s(HEX, 64)),
    "shopify": ("SHOPIFY_ACCESS_TOKEN", lambda v: "sh" + "pat_" + v.s(HEX, 32)),
    "mailchimp": ("MAILCHIMP_API_KEY", lambda v: v.s(HEX, 32) + "-us" + str(v.rng.randint(1, 20))),
    "telegram": ("TELEGRAM_BOT_TOKEN", lambda v: str(v.rng.randint(10**8, 10**9)) + ":AA" + v.s(URLSAFE, 33)),
    "vault": ("VAULT_TOKEN", lambda v: "hv" + "s." + v.s(URLSAFE, 90)),
    "database_url": ("DATABASE_URL", lambda v: "postgresql://billing:" + v.s(ALNUM, 20) + "@db.prod.internal:5432/billing"),
    "basic_auth_url": ("PIP_INDEX_URL", lambda v: "https://deploy:" + v.s(ALNUM, 24) + "@pypi.corp.internal/simple/"),
    "password": ("DB_PASSWORD", lambda v: v.s(ALNUM, 10) + v.rng.choice("!#%&*+-") + v.s(ALNUM, 6)),
    "generic_api_key": ("PAYMENTS_API_KEY", lambda v: v.s(ALNUM, 40)),
}  # fmt: skip

#: decoys: documentation examples, placeholders, references, checksums and ids
DECOYS: dict[str, tuple[str, Callable[[Values], str]]] = {
    "aws_doc_key_id": ("AWS_ACCESS_KEY_ID", lambda v: "AK" + "IAIOSFODNN7EXAMPLE"),
    "aws_doc_secret": ("AWS_SECRET_ACCESS_KEY", lambda v: "wJalrXUtnFEMI/" + "K7MDENG/" + "bPxRfiCY" + "EXAMPLEKEY"),
    "angle_placeholder": ("API_KEY", lambda v: "<your-api-key>"),
    "x_placeholder": ("GITHUB_TOKEN", lambda v: "gh" + "p_" + "x" * 36),
    "changeme": ("DB_PASSWORD", lambda v: "changeme"),
    "env_reference": ("DB_PASSWORD", lambda v: "${DB_PASSWORD}"),
    "redacted": ("API_KEY", lambda v: "*" * 12),
    "your_token_here": ("SLACK_BOT_TOKEN", lambda v: "your-slack-token-here"),
    "sha256_checksum": ("ARTIFACT_SHA256", lambda v: v.s(HEX, 64)),
    "git_commit": ("GIT_COMMIT_SHA", lambda v: v.s(HEX, 40)),
    "uuid": ("REQUEST_ID", lambda v: str(uuid.UUID(int=v.rng.getrandbits(128), version=4))),
    "integrity": ("PACKAGE_INTEGRITY", lambda v: "sha512-" + base64.b64encode(v.rng.randbytes(64)).decode()),
}  # fmt: skip


# -- file types: (name, value) -> {relative path: bytes} -------------------------------------
def _lower(name: str) -> str:
    return name.lower()


def _py(name: str, value: str) -> dict[str, bytes]:
    quoted = f'"""{value}"""' if "\n" in value else json.dumps(value)
    text = f'import os\n\nREGION = "eu-west-1"\n{name} = {quoted}\n\n\ndef connect():\n    return {name}\n'
    return {"settings.py": text.encode()}


def _js(name: str, value: str) -> dict[str, bytes]:
    camel = "".join(p.capitalize() for p in name.lower().split("_"))
    literal = "`" + value + "`" if "\n" in value else json.dumps(value)
    text = f"const region = 'eu-west-1';\nconst {camel[0].lower() + camel[1:]} = {literal};\nmodule.exports = {{ region }};\n"
    return {"config.js": text.encode()}


def _yaml(name: str, value: str) -> dict[str, bytes]:
    if "\n" in value:
        block = "\n".join("    " + line for line in value.splitlines())
        text = f"service:\n  name: billing\n  {_lower(name)}: |\n{block}\n"
    else:
        text = f"service:\n  name: billing\n  replicas: 2\n  {_lower(name)}: {value}\n"
    return {"config.yaml": text.encode()}


def _json_one_line(name: str, value: str) -> dict[str, bytes]:
    settings = {f"feature_{i:03d}": {"enabled": i % 2 == 0, "weight": i} for i in range(60)}
    settings["credentials"] = {_lower(name): value}
    settings |= {f"limit_{i:03d}": i * 10 for i in range(60)}
    text = json.dumps(settings)  # one line of several thousand characters
    assert len(text) > 2000
    return {"config.json": text.encode()}


def _dotenv(name: str, value: str) -> dict[str, bytes]:
    shown = '"' + value.replace("\n", "\\n") + '"' if "\n" in value else value
    return {".env": f"DEBUG=false\nREGION=eu-west-1\n{name}={shown}\n".encode()}


def _ini(name: str, value: str) -> dict[str, bytes]:
    shown = value.replace("\n", "\n    ")
    return {"settings.ini": f"[default]\nregion = eu-west-1\n{_lower(name)} = {shown}\n".encode()}


def _toml(name: str, value: str) -> dict[str, bytes]:
    literal = f"'''{value}'''" if "\n" in value else json.dumps(value)
    return {
        "config.toml": f'[service]\nregion = "eu-west-1"\n{_lower(name)} = {literal}\n'.encode()
    }


def _dockerfile(name: str, value: str) -> dict[str, bytes]:
    shown = '"' + value.replace("\n", "\\n") + '"' if "\n" in value else value
    text = f'FROM python:3.12-slim\nWORKDIR /app\nENV {name}={shown}\nCOPY . .\nCMD ["python", "app.py"]\n'
    return {"Dockerfile": text.encode()}


def _shell(name: str, value: str) -> dict[str, bytes]:
    text = f"#!/bin/sh\nset -eu\nexport {name}='{value}'\n./deploy --region eu-west-1\n"
    return {"deploy.sh": text.encode()}


def _markdown(name: str, value: str) -> dict[str, bytes]:
    text = f'# Billing service\n\nSet up your shell:\n\n```bash\nexport {name}="{value}"\n```\n\nThen run `make deploy`.\n'
    return {"README.md": text.encode()}


def _ci_log(name: str, value: str) -> dict[str, bytes]:
    indented = value.replace("\n", "\n                                 ")
    text = (
        "2026-03-02T10:15:01.1234567Z ##[group]Run ./deploy\n"
        "2026-03-02T10:15:01.1234890Z ./deploy --region eu-west-1\n"
        "2026-03-02T10:15:01.1235012Z shell: /usr/bin/bash -e {0}\n"
        "2026-03-02T10:15:01.1235100Z env:\n"
        f"2026-03-02T10:15:01.1235200Z   {name}: {indented}\n"
        "2026-03-02T10:15:01.1235300Z ##[endgroup]\n"
    )
    return {"ci-build.log": text.encode()}


def _workflow(name: str, value: str) -> dict[str, bytes]:
    if "\n" in value:
        block = "\n".join("      " + line for line in value.splitlines())
        env = f"      {name}: |\n{block}\n"
    else:
        env = f"      {name}: {value}\n"
    text = f"name: deploy\non: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n{env}    steps:\n      - run: ./deploy\n"
    return {".github/workflows/deploy.yml": text.encode()}


def _notebook(cells: list[dict], metadata: dict | None = None) -> bytes:
    for index, cell in enumerate(cells, start=1):
        cell.setdefault("id", f"cell-{index}")
        cell.setdefault("metadata", {})
        if cell["cell_type"] == "code":
            cell.setdefault("execution_count", index)
            cell.setdefault("outputs", [])
    nb = {"cells": cells, "metadata": metadata or {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    return (json.dumps(nb, indent=1) + "\n").encode()


def _code(source: str, outputs: list[dict] | None = None) -> dict:
    return {
        "cell_type": "code",
        "source": source.splitlines(keepends=True),
        "outputs": outputs or [],
    }


def _nb_source(name: str, value: str) -> dict[str, bytes]:
    literal = f'"""{value}"""' if "\n" in value else json.dumps(value)
    cells = [{"cell_type": "markdown", "source": ["# Exploring the billing API"]},
             _code("import requests"), _code(f"{_lower(name)} = {literal}\nsession = requests.Session()")]  # fmt: skip
    return {"analysis.ipynb": _notebook(cells)}


def _environ_repr(name: str, value: str) -> str:
    environ = {f"VAR_{i:02d}": f"value-{i:02d}-" + "ab" * 8 for i in range(60)}
    environ |= {"HOME": "/home/jovyan", "PATH": "/opt/conda/bin:/usr/bin", name: value}
    return str(environ)  # print(dict(os.environ)): one line, thousands of characters


def _nb_output(name: str, value: str) -> dict[str, bytes]:
    stream = {
        "output_type": "stream",
        "name": "stdout",
        "text": [_environ_repr(name, value) + "\n"],
    }
    cells = [_code("import os"), _code("print(dict(os.environ))", [stream])]
    return {"analysis.ipynb": _notebook(cells)}


def _nb_papermill(name: str, value: str) -> dict[str, bytes]:
    # papermill/execute.py records the parameters it injected in metadata.papermill.parameters
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3"},
                "papermill": {"parameters": {_lower(name): value, "rows": 1000},
                              "environment_variables": {}, "version": "2.6.0"}}  # fmt: skip
    cells = [_code("import pandas as pd"), _code("df = load(rows)")]
    return {"report.ipynb": _notebook(cells, metadata)}


def _nb_widget(name: str, value: str) -> dict[str, bytes]:
    # "Save Widget State": ipywidgets' Widget.get_manager_state() under metadata.widgets
    model_id = uuid.uuid5(uuid.NAMESPACE_URL, name + value).hex
    state = {"version_major": 2, "version_minor": 0, "state": {model_id: {
        "model_name": "PasswordModel", "model_module": "@jupyter-widgets/controls",
        "model_module_version": "2.0.0",
        "state": {"_model_name": "PasswordModel", "_view_name": "PasswordView",
                  "description": name.replace("_", " ").title(), "value": value}}}}  # fmt: skip
    metadata = {"widgets": {"application/vnd.jupyter.widget-state+json": state}}
    view = {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json":
                     {"model_id": model_id, "version_major": 2, "version_minor": 0},
                     "text/plain": ["Password(description='...')"]}}  # fmt: skip
    cells = [_code("import ipywidgets as widgets"), _code("box = widgets.Password()\nbox", [view])]
    return {"login.ipynb": _notebook(cells, metadata)}


def _checkpoint(name: str, value: str) -> dict[str, bytes]:
    clean = [_code("import os"), _code(f"{_lower(name)} = os.environ[{name!r}]")]
    return {
        "analysis.ipynb": _notebook(clean),
        ".ipynb_checkpoints/analysis-checkpoint.ipynb": _nb_source(name, value)["analysis.ipynb"],
    }


def _conflicted_notebook(name: str, value: str) -> dict[str, bytes]:
    ours = _nb_source(name, value)["analysis.ipynb"].decode()
    marker = '   "execution_count": 2\n'  # git writes its markers at the start of a line
    conflicted = ours.replace(marker, "<<<<<<< HEAD\n" + marker + "=======\n"
                              '   "execution_count": 7\n>>>>>>> feature\n', 1)  # fmt: skip
    assert conflicted != ours
    return {"analysis.ipynb": conflicted.encode()}


def _history(name: str, value: str) -> dict[str, bytes]:
    """IPython's history.sqlite, with the schema of IPython/core/history.py."""
    import tempfile

    literal = f'"""{value}"""' if "\n" in value else json.dumps(value)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "history.sqlite"
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TABLE sessions (session integer primary key autoincrement, "
                "start timestamp, end timestamp, num_cmds integer, remark text)"
            )
            db.execute(
                "CREATE TABLE history (session integer, line integer, source text, "
                "source_raw text, PRIMARY KEY (session, line))"
            )
            db.execute("CREATE TABLE output_history (session integer, line integer, "
                       "output text, PRIMARY KEY (session, line))")  # fmt: skip
            db.execute("INSERT INTO sessions VALUES (1, NULL, NULL, 3, NULL)")
            for line, text in enumerate(
                ["import os", f"{_lower(name)} = {literal}", "client = connect()"], 1
            ):
                db.execute("INSERT INTO history VALUES (1, ?, ?, ?)", (line, text, text))
        db.close()
        return {".ipython/profile_default/history.sqlite": path.read_bytes()}


FILE_TYPES: dict[str, Callable[[str, str], dict[str, bytes]]] = {
    "py": _py, "js": _js, "yaml": _yaml, "json-one-line": _json_one_line, "dotenv": _dotenv,
    "ini": _ini, "toml": _toml, "dockerfile": _dockerfile, "shell": _shell,
    "markdown": _markdown, "ci-log": _ci_log, "gh-workflow": _workflow,
    "nb-source": _nb_source, "nb-output": _nb_output, "nb-papermill": _nb_papermill,
    "nb-widget": _nb_widget, "nb-checkpoint": _checkpoint, "ipython-history": _history,
    "nb-conflicted": _conflicted_notebook,
}  # fmt: skip
#: the parts of a notebook only a notebook-aware scanner reads
NOTEBOOK_TYPES = frozenset({"nb-papermill", "nb-widget", "nb-checkpoint", "ipython-history"})


def generate(root: Path, size: str = "small", seed: int = 16) -> list[dict]:
    """Write the corpus under ``root`` and return its labels (also in ``labels.json``)."""
    values = Values(seed)
    types = list(FILE_TYPES)
    plan: list[tuple[str, str, bool]] = []
    for table, secret in ((KINDS, True), (DECOYS, False)):
        for index, kind in enumerate(table):
            chosen = (
                types if size == "full" else [types[(index + (0 if secret else 7)) % len(types)]]
            )
            plan += [(kind, file_type, secret) for file_type in chosen]
    if size != "full":  # every type at least once among the secrets
        planted = {t for _, t, s in plan if s}
        kinds = list(KINDS)
        plan += [(kinds[i % len(kinds)], t, True) for i, t in enumerate(types) if t not in planted]
    labels = []
    for number, (kind, file_type, secret) in enumerate(plan, start=1):
        name, build = (KINDS if secret else DECOYS)[kind]
        folder = f"cases/{number:04d}-{kind}-{file_type}"
        files = FILE_TYPES[file_type](name, build(values))
        for relative, data in files.items():
            path = root / folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        labels.append({"id": number, "folder": folder, "file": list(files)[-1], "kind": kind,
                       "type": file_type, "secret": secret})  # fmt: skip
    (root / "labels.json").write_text(json.dumps({"cases": labels}, indent=1) + "\n")
    return labels


def case_of(path: str) -> str | None:
    """The case folder (``cases/NNNN-...``) a reported path is in, or None."""
    parts = Path(path).as_posix().split("/")
    if "cases" in parts:
        index = parts.index("cases")
        if index + 1 < len(parts):
            return "cases/" + parts[index + 1]
    return None
