"""Checks for the course's exercises. Each ``check_*`` prints a clear verdict.

The ``evaluate_*`` functions return a :class:`Verdict` (used by the tests); the ``check_*``
wrappers print it, so a notebook cell ends with a readable line rather than a return value.
No check ever prints a secret value. ipywidgets is not needed.

Chapters 00–04 have their checks here; later chapters each have a module of their own in
this package (``guardlib.course.exercises.azure`` …), reusing ``Verdict`` and ``PLACEHOLDER_HINT``.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from guardlib.course.panel import show
from guardlib.course.verdict import Verdict
from guardlib.secret import Secret

PLACEHOLDER_HINT = "replace the ... placeholders with your answer, then run the cell again."


def _has_placeholder(value: Any) -> bool:
    """True if ``value`` (or anything inside a dict, list, tuple or set) is still ``...``."""
    if value is Ellipsis:
        return True
    if isinstance(value, str):
        return "..." in value
    if isinstance(value, Mapping):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_placeholder(v) for v in value)
    return False


def solution_blocks(notebook: str | os.PathLike[str]) -> list[str]:
    """The Python code blocks of a chapter's ``<details><summary>Solution</summary>`` cells,
    in order: what the tests run against each check, and what a facilitator can paste."""
    import json
    import re

    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    blocks: list[str] = []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "<summary>Solution</summary>" in text:
            blocks += re.findall(r"```python\n(.*?)```", text, re.S)
    return blocks


@contextmanager
def _patched_environ(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _plain(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


# -- chapter 00 ------------------------------------------------------------------------------
#: file -> may it be committed? (and why, for the verdict)
MAY_COMMIT: dict[str, tuple[bool, str]] = {
    "app.py": (True, "code, with no secret in it"),
    ".env": (False, "it holds one developer's real values"),
    ".env.example": (True, "it lists which keys exist, with placeholder values"),
    "service-account-key.json": (False, "it is a credential file"),
    "notebooks/00_welcome.ipynb": (True, "its outputs hold fake demo values only"),
}


def evaluate_may_commit(answers: Any) -> Verdict:
    if not isinstance(answers, Mapping) or any(_has_placeholder(v) for v in answers.values()):
        return Verdict(False, PLACEHOLDER_HINT)
    unknown = sorted(set(answers) - set(MAY_COMMIT))
    missing = sorted(set(MAY_COMMIT) - set(answers))
    if unknown or missing:
        return Verdict(False, f"answer exactly these files: {', '.join(MAY_COMMIT)}.")
    if not all(isinstance(v, bool) for v in answers.values()):
        return Verdict(False, "answer each file with True or False.")
    wrong = [name for name, (ok, _) in MAY_COMMIT.items() if answers[name] is not ok]
    if wrong:
        name = wrong[0]
        verb = "may be committed" if MAY_COMMIT[name][0] else "must never be committed"
        return Verdict(False, f"{name} {verb}: {MAY_COMMIT[name][1]}.")
    return Verdict(True, "values stay out of git; code and the list of keys go in.")


HINT_MAY_COMMIT = (
    "ask of each file whether it would give a stranger access: credentials and one "
    "developer's values stay out; code and templates go in."
)


def check_may_commit(answers: Any) -> None:
    show(evaluate_may_commit(answers), HINT_MAY_COMMIT)


# -- chapter 01 ------------------------------------------------------------------------------
def evaluate_no_hardcoded_secret(source: Any) -> Verdict:
    """The rewritten module must read its key from the environment, and detect-secrets must
    find nothing in it."""
    if not isinstance(source, str) or _has_placeholder(source):
        return Verdict(False, PLACEHOLDER_HINT)
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.py"
        path.write_text(source, encoding="utf-8")
        found = SecretsCollection()
        with default_settings():
            found.scan_file(str(path))
        hits = sorted({secret.line_number for _, secret in found})
    if hits:
        lines = ", ".join(str(n) for n in hits)
        return Verdict(False, f"detect-secrets still finds a hardcoded secret on line {lines}.")
    if not any(word in source for word in ("os.environ", "getenv", "guardlib", "require_env")):
        return Verdict(False, "read the key from the environment (os.environ or guardlib).")
    return Verdict(True, "no hardcoded secret left, and the key comes from the environment.")


HINT_NO_HARDCODED_SECRET = (
    "read the key from the environment (os.environ[...] or guardlib's env.require) instead of"
    " writing its value in the source."
)


def check_no_hardcoded_secret(source: Any) -> None:
    show(evaluate_no_hardcoded_secret(source), HINT_NO_HARDCODED_SECRET)


# -- chapter 02 ------------------------------------------------------------------------------
def evaluate_timeout_reader(func: Callable[[], Any], name: str = "TIMEOUT_SECONDS") -> Verdict:
    """``func()`` must return the integer in ``name``, 30 when unset, and raise a ValueError
    (guardlib's InvalidVariableError is one) for a value that is not an integer."""
    if not callable(func):
        return Verdict(False, PLACEHOLDER_HINT)
    cases: list[tuple[str | None, Any]] = [("45", 45), (None, 30), ("7", 7)]
    for raw, expected in cases:
        with _patched_environ({name: raw}):
            try:
                got = _plain(func())
            except Exception as exc:  # report the type only
                return Verdict(False, f"with {name}={raw!r} it raised {type(exc).__name__}.")
        if got is None or got is Ellipsis:
            return Verdict(False, PLACEHOLDER_HINT)
        if got != expected or not isinstance(got, int) or isinstance(got, bool):
            shown = "unset" if raw is None else repr(raw)
            return Verdict(
                False,
                f"with {name} {shown} expected the int {expected}, got a {type(got).__name__}.",
            )
    with _patched_environ({name: "soon"}):
        try:
            func()
        except ValueError:
            pass
        except Exception as exc:
            return Verdict(
                False, f"a non-integer should raise ValueError, not {type(exc).__name__}."
            )
        else:
            return Verdict(False, f"{name}='soon' should raise an error, not return a value.")
    return Verdict(True, "typed, with a default, and a clear error for a bad value.")


HINT_TIMEOUT_READER = (
    "read the variable with a default of 30 when it is unset, convert it with int(), and let "
    "a value that is not a number raise a ValueError naming the variable (guardlib's "
    "env.integer does all three)."
)


def check_timeout_reader(func: Callable[[], Any], name: str = "TIMEOUT_SECONDS") -> None:
    show(evaluate_timeout_reader(func, name), HINT_TIMEOUT_READER)


# -- chapter 03 ------------------------------------------------------------------------------
def evaluate_env_example(example_text: Any, env_path: str | os.PathLike[str]) -> Verdict:
    """``example_text`` must list every key of ``env_path`` and none of its values."""
    if not isinstance(example_text, str) or _has_placeholder(example_text):
        return Verdict(False, PLACEHOLDER_HINT)
    from dotenv import dotenv_values

    real = dotenv_values(env_path, interpolate=False)
    example = dotenv_values(stream=io.StringIO(example_text), interpolate=False)
    missing = [key for key in real if key not in example]
    if missing:
        return Verdict(False, "keys missing from the example: " + ", ".join(missing))
    copied = [
        key
        for key, value in example.items()
        if value and any(value == real_value for real_value in real.values() if real_value)
    ]
    if copied:
        return Verdict(
            False, "the example contains real values (for " + ", ".join(copied) + "): remove them."
        )
    return Verdict(True, "every key is documented and no value is copied.")


HINT_ENV_EXAMPLE = (
    "list every key of brad.env, each with an empty or placeholder value; never copy a real value."
)


def check_env_example(example_text: Any, env_path: str | os.PathLike[str]) -> None:
    show(evaluate_env_example(example_text, env_path), HINT_ENV_EXAMPLE)


# -- chapter 04 ------------------------------------------------------------------------------
def evaluate_redacting_logger(logger: Any, secret: Secret[str]) -> Verdict:
    """Log the secret's value three ways through ``logger``; none may reach the output."""
    if not isinstance(logger, logging.Logger):
        return Verdict(False, PLACEHOLDER_HINT)
    value = secret.reveal()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the test lines must reach only the capture handler
    try:
        logger.info("calling the payment API with key " + value)
        logger.info("retrying with key %s", value)
        try:
            raise ConnectionError("payment API refused key " + value)
        except ConnectionError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    output = stream.getvalue()
    leaks = output.count(value)
    if leaks:
        return Verdict(False, f"the key still appeared {leaks} time(s) in the log output.")
    if "request failed" not in output:
        return Verdict(False, "the log lines themselves disappeared: redact, don't drop.")
    return Verdict(True, "message, arguments and traceback are all redacted.")


HINT_REDACTING_LOGGER = (
    "call redact_logger(logger, secret) (or add a RedactingFilter that knows the secret to "
    "the logger), so every record is scrubbed before a handler formats it."
)


def check_redacting_logger(logger: Any, secret: Secret[str]) -> None:
    show(evaluate_redacting_logger(logger, secret), HINT_REDACTING_LOGGER)
