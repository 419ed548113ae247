"""Chapter 05 (identities and access control): the staging-seed exercise.

The learner writes a seed that adds a ``staging`` environment to the course's DEV_PROD seed:
``staging-app`` reads ``staging-api-key`` and nothing else, ``ops-app`` writes it, and neither
``dev-app`` nor ``prod-app`` can read it. The check parses the seed with :class:`SeedSpec`,
then applies DEV_PROD plus the learner's seed to a *fresh* OpenBao dev server of its own
(started and stopped here, so the notebook's offline cloud is left alone) and asks OpenBao
itself, as each identity, what is allowed. Where no ``bao``/``vault`` binary exists (macOS
without an install), the same rules are checked on the parsed seed instead, and the verdict
says so. No cloud SDK is imported; no secret value is ever printed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guardlib.course.panel import show

from . import PLACEHOLDER_HINT, Verdict, _has_placeholder

STAGING = "staging-api-key"
READER = "staging-app"
WRITER = "ops-app"
OTHERS = ("dev-app", "prod-app")
#: what the published solution must allow (identity, action, secret) -> allowed?
RULES: tuple[tuple[str, str, str, bool], ...] = (
    (READER, "read", STAGING, True),
    (READER, "write", STAGING, False),
    (WRITER, "write", STAGING, True),
    ("dev-app", "read", STAGING, False),
    ("prod-app", "read", STAGING, False),
    (READER, "read", "prod-api-key", False),
    (READER, "read", "dev-api-key", False),
)
_DEMO_PREFIX = "demo-not-a-real-"


def _merged(seed: Mapping[str, Any]) -> dict[str, Any]:
    """DEV_PROD plus the learner's secrets and identities."""
    from guardlib.emulators.seed import DEV_PROD

    identities = list(seed.get("identities", []) or [])
    return {
        "identities": identities,
        "secrets": {**DEV_PROD["secrets"], **dict(seed.get("secrets", {}) or {})},
    }


def _static_answers(spec: Any) -> dict[tuple[str, str, str], bool]:
    """Who may do what, read off the parsed seed (the fallback without OpenBao)."""
    out: dict[tuple[str, str, str], bool] = {}
    by_name = {s.name: s for s in spec.secrets}
    for identity, action, secret, _ in RULES:
        record = by_name.get(secret)
        if record is None:
            out[(identity, action, secret)] = False
        elif action == "read":  # a writer may read too in OpenBao, Azure and AWS
            out[(identity, action, secret)] = identity in record.readers + record.writers
        else:
            out[(identity, action, secret)] = identity in record.writers
    return out


def _openbao_answers(spec: Any) -> dict[tuple[str, str, str], bool] | None:
    """Apply ``spec`` to a fresh OpenBao dev server and ask it, as each identity. None when
    no server binary is available here."""
    from guardlib.emulators import EmulatorUnavailable

    try:
        from guardlib.emulators.vault.admin import Admin, VaultApiError
        from guardlib.emulators.vault.binary import locate
        from guardlib.emulators.vault.server import DevServer

        binary = locate()
    except EmulatorUnavailable:
        return None
    token = "demo-not-a-real-exercise-root-token"  # noqa: S105 - a throwaway dev server's
    out: dict[tuple[str, str, str], bool] = {}
    with tempfile.TemporaryDirectory(prefix="guardlib-ex05-", ignore_cleanup_errors=True) as tmp:
        server = DevServer(binary, token, Path(tmp))
        server.start()
        try:
            admin = Admin(server.addr, token)
            admin.setup()
            admin.apply_seed(spec)
            tokens: dict[str, str | None] = {}
            for identity, action, secret, _ in RULES:
                if identity not in tokens:
                    try:
                        tokens[identity] = admin.login(identity)
                    except VaultApiError:  # not in the seed: no AppRole, so no access at all
                        tokens[identity] = None
                if tokens[identity] is None:
                    out[(identity, action, secret)] = False
                    continue
                try:
                    if action == "read":
                        admin.request("GET", f"secret/data/{secret}", token=tokens[identity])
                    else:
                        body = {"data": {"value": "demo-not-a-real-key-staging-rotated"}}
                        admin.request("POST", f"secret/data/{secret}", body, tokens[identity])
                    out[(identity, action, secret)] = True
                except VaultApiError as exc:
                    if exc.status != 403:
                        raise
                    out[(identity, action, secret)] = False
        finally:
            server.stop()
    return out


def evaluate_staging_seed(seed: Any, *, live: bool = True) -> Verdict:
    """``seed`` adds ``staging-api-key`` to DEV_PROD with the rules of :data:`RULES`.

    ``live=False`` skips the OpenBao run and checks the parsed seed only (the tests use both).
    """
    from guardlib.emulators.seed import SeedError, SeedSpec

    if not isinstance(seed, Mapping) or _has_placeholder(seed):
        return Verdict(False, PLACEHOLDER_HINT)
    secrets = seed.get("secrets")
    if not isinstance(secrets, Mapping) or STAGING not in secrets:
        return Verdict(False, f"add a secret named {STAGING!r} under 'secrets'.")
    extra = sorted(set(secrets) - {STAGING})
    if extra:
        return Verdict(False, f"add only {STAGING!r}; DEV_PROD already has the rest ({extra[0]}).")
    entry = secrets[STAGING]
    value = entry.get("value") if isinstance(entry, Mapping) else None
    if not isinstance(value, str) or not value.startswith(_DEMO_PREFIX):
        return Verdict(False, f"give it an obviously fake value starting with {_DEMO_PREFIX!r}.")
    try:
        spec = SeedSpec.parse(_merged(seed))
    except SeedError as exc:
        return Verdict(False, f"SeedSpec rejects it: {exc}")

    answers = _openbao_answers(spec) if live else None
    where = "OpenBao, asked as each identity, agrees"
    if answers is None:
        answers = _static_answers(spec)
        where = "the seed says so" + (" (no OpenBao binary here to ask)" if live else "")
    for identity, action, secret, expected in RULES:
        if answers[(identity, action, secret)] != expected:
            can = "can" if answers[(identity, action, secret)] else "cannot"
            why = "it should" if expected else "it must not (least privilege)"
            return Verdict(False, f"{identity} {can} {action} {secret}, but {why}.")
    return Verdict(
        True,
        f"staging-app reads only {STAGING}, ops-app writes it, dev-app and prod-app are "
        f"denied: {where}.",
    )


HINT_STAGING_SEED = (
    "add one secret, staging-api-key, with staging-app as its only reader and ops-app as its "
    "writer; DEV_PROD already has the other identities."
)


def check_staging_seed(seed: Any) -> None:
    show(evaluate_staging_seed(seed), HINT_STAGING_SEED)


__all__ = ["RULES", "check_staging_seed", "evaluate_staging_seed"]
