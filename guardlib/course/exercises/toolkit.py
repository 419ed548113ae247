"""Check for chapter 10 (Putting it together): a reference mapping for the app on Google Cloud.

The learner writes ``secrets.toml`` for the wallet app's Google Cloud customer: a ``[dev]``
table that reads from the developer's machine (``env://``, ``dotenv://``) and a ``[prod]``
table that reads from GCP Secret Manager. The check reads it with ``guardlib.load_mapping``
(exactly what the app does), checks every entry, and, when the chapter's offline cloud runs a
GCP emulator, resolves ``[prod]`` as ``prod-app`` and makes sure ``dev-app`` is denied.
Nothing here imports a cloud SDK until a check runs; no verdict ever contains a value.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder
from guardlib.course.panel import show

NAMES = ("DB_PASSWORD", "API_KEY")
PROJECT = "guard-demo"
#: logical name -> (secret, field) the [prod] table must read in GCP Secret Manager
PROD_TARGETS = {"DB_PASSWORD": ("prod-db-creds", "password"), "API_KEY": ("prod-api-key", None)}
DEV_SCHEMES = ("env", "dotenv")


def _expected(name: str) -> str:
    secret, field = PROD_TARGETS[name]
    return f"gcp-sm://{PROJECT}/{secret}" + (f"#{field}" if field else "")


def _tables(text: str) -> tuple[dict[str, str], dict[str, str]] | Verdict:
    """The [dev] and [prod] mappings, read by guardlib.load_mapping from a temporary file and
    with no GUARDLIB_REF_* variables, or a Verdict saying why not."""
    from guardlib.errors import MappingError
    from guardlib.resolver import load_mapping

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "secrets.toml"
        path.write_text(text, encoding="utf-8")
        tables = []
        for environment in ("dev", "prod"):
            try:
                tables.append(load_mapping(path, environment, environ={}))
            except MappingError as error:
                message = str(error).replace(str(path), "secrets.toml")
                if "not a valid secret reference" in message:
                    message += ': write a reference such as "env://API_KEY", never a value'
                return Verdict(False, message + ".")
    return tables[0], tables[1]


def _check_names(table: dict[str, str], environment: str) -> Verdict | None:
    missing = [name for name in NAMES if name not in table]
    if missing:
        return Verdict(False, f"[{environment}] has no entry for {', '.join(missing)}.")
    extra = sorted(set(table) - set(NAMES))
    if extra:
        return Verdict(False, f"[{environment}] lists {', '.join(extra)}: the app reads only "
                       f"{' and '.join(NAMES)}.")  # fmt: skip
    return None


def _check_dev(dev: dict[str, str]) -> Verdict | None:
    from guardlib.resolver import parse_reference

    for name in NAMES:
        scheme = parse_reference(dev[name]).scheme
        if scheme not in DEV_SCHEMES:
            return Verdict(
                False,
                f"in [dev], {name} reads from {scheme}://: on a laptop the app reads env:// "
                "or dotenv://, and a developer holds no production identity.",
            )
    return None


def _check_prod(prod: dict[str, str]) -> Verdict | None:
    from guardlib.resolver import parse_reference

    for name in NAMES:
        ref = parse_reference(prod[name])
        secret, field = PROD_TARGETS[name]
        if ref.scheme != "gcp-sm":
            return Verdict(False, f"in [prod], {name} reads from {ref.scheme}://: this customer "
                           "keeps its secrets in GCP Secret Manager (gcp-sm://).")  # fmt: skip
        if ref.container != PROJECT:
            return Verdict(False, f"in [prod], {name} looks in project {ref.container!r}: the "
                           f"customer's project is {PROJECT!r}.")  # fmt: skip
        if ref.name.startswith("dev-"):
            return Verdict(False, f"in [prod], {name} reads {ref.name}: production must never "
                           "depend on a development secret.")  # fmt: skip
        if ref.name != secret:
            return Verdict(False, f"in [prod], {name} reads {ref.name!r}; the secret is "
                           f"{secret!r}.")  # fmt: skip
        if ref.pinned:
            return Verdict(False, f"in [prod], {name} pins version {ref.version}: a pinned "
                           "version never sees a rotation. Leave it out (latest).")  # fmt: skip
        if field is not None and ref.field != field:
            return Verdict(False, f"{secret} is a JSON secret: select its {field!r} field with "
                           f"#{field}.")  # fmt: skip
        if field is None and ref.field is not None:
            return Verdict(False, f"{secret} holds the key itself, not JSON: drop #{ref.field}.")
    return None


def _check_live(prod: dict[str, str]) -> Verdict | None:
    """With the chapter's GCP emulator running: prod-app reads [prod], dev-app is denied."""
    from guardlib import emulators

    cloud = emulators.current()
    if cloud is None or "gcp" not in cloud.emulators:
        return None
    from guardlib.errors import ResolveError
    from guardlib.resolver import resolve

    with cloud.as_identity("prod-app"):  # restores this process's identity afterwards
        for name in NAMES:
            try:
                resolve(prod[name], cache=None)
            except ResolveError as error:
                return Verdict(False, f"prod-app cannot read {name} ({error.reference}): "
                               f"{type(error).__name__}. Run the setup cell again?")  # fmt: skip
    with cloud.as_identity("dev-app"):
        for name in NAMES:
            try:
                resolve(prod[name], cache=None)
            except ResolveError:
                continue
            return Verdict(False, f"dev-app can read {name} too: check the secret's grants.")
    return None


def evaluate_gcp_mapping(text: Any) -> Verdict:
    """``text`` (TOML) must map DB_PASSWORD and API_KEY to env/dotenv in [dev] and to the
    customer's GCP Secret Manager secrets in [prod]."""
    if not isinstance(text, str) or _has_placeholder(text) or not text.strip():
        return Verdict(False, PLACEHOLDER_HINT)
    tables = _tables(text)
    if isinstance(tables, Verdict):
        return tables
    dev, prod = tables
    steps = (  # in order, each only once the previous ones passed
        lambda: _check_names(dev, "dev"),
        lambda: _check_names(prod, "prod"),
        lambda: _check_dev(dev),
        lambda: _check_prod(prod),
        lambda: _check_live(prod),
    )
    for step in steps:
        verdict = step()
        if verdict is not None:
            return verdict
    return Verdict(True, "dev reads from your machine, prod from Secret Manager, and the code "
                   "is the same for both.")  # fmt: skip


HINT_GCP_MAPPING = (
    "[dev] reads from your machine: env://NAME or dotenv://.env#NAME. [prod] reads "
    "gcp-sm://PROJECT/SECRET, and #field picks one field of a JSON secret."
)


def check_gcp_mapping(text: Any) -> None:
    show(evaluate_gcp_mapping(text), HINT_GCP_MAPPING)


__all__ = ["HINT_GCP_MAPPING", "NAMES", "PROD_TARGETS", "check_gcp_mapping", "evaluate_gcp_mapping"]
