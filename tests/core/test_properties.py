"""Property tests (hypothesis): for arbitrary values, no channel shows a Secret's value and no
error from the env or .env helpers contains one.

Generated values are "probe" strings: a distinctive prefix plus arbitrary text, at least 8
characters of it. Without the prefix hypothesis would soon try values like "a", "S" or "****",
which occur in any message (or in the mask itself) without anything having leaked: a failing
"value in message" check would then prove nothing. The prefix appears nowhere in guardlib, so
finding the value in an output can only mean the value leaked.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import pickle
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardlib import MASK, GuardlibError, Redactor, Secret, env, load_env_file, redact_logger
from guardlib.redact import format_exception

PREFIX = "probe-7Q"

# any text (including quotes, newlines, emoji, format braces and % signs) ...
any_text = st.text(min_size=8, max_size=40)
# ... for environment variables: no NUL and no lone surrogates (os.environ cannot hold them)
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=8,
    max_size=40,
)
# for .env files: characters that survive an unquoted or single-quoted .env value unchanged
dotenv_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="'\"\\#$="),
    min_size=8,
    max_size=40,
)

probe_values = any_text.map(lambda text: PREFIX + text)
probe_env_values = env_text.map(lambda text: PREFIX + text)
probe_dotenv_values = dotenv_text.map(lambda text: PREFIX + text)

fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _forms(value: str) -> list[str]:
    """The value itself and its escaped spellings (as it would appear inside a repr/JSON)."""
    return [value, repr(value)[1:-1], json.dumps(value)[1:-1]]


def _shows(text: str, value: str) -> bool:
    return any(form in text for form in _forms(value))


def _error_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


@fast
@given(value=probe_values, name=st.none() | st.sampled_from(["API_KEY", "DB_PASSWORD"]))
def test_no_rendering_channel_shows_the_value(value: str, name: str | None) -> None:
    secret = Secret(value, name=name)
    rendered = [
        repr(secret),
        str(secret),
        format(secret),
        format(secret, ">60"),
        format(secret, "^30"),
        f"{secret}|{secret!r}|{secret!s}|{secret!a}|{secret:<50}",
        "%s %r %a" % (secret, secret, secret),  # noqa: UP031 (the channel under test)
        str([secret]),
        repr({"k": (secret,)}),
        secret._repr_html_(),
    ]
    for text in rendered:
        assert not _shows(text, value)
    assert secret.reveal() == value
    assert copy.deepcopy(secret).reveal() == value


@fast
@given(value=probe_values)
def test_pickle_and_json_refuse_without_the_value(value: str) -> None:
    secret = Secret(value)
    with pytest.raises(TypeError) as pickled:
        pickle.dumps(secret)
    with pytest.raises(TypeError) as dumped:
        json.dumps([secret])
    assert not _shows(_error_text(pickled.value) + _error_text(dumped.value), value)


@fast
@given(value=probe_values)
def test_ipython_display_never_shows_the_value(value: str) -> None:
    from IPython.lib.pretty import pretty

    secret = Secret(value, name="API_KEY")
    assert not _shows(pretty(secret), value)
    assert not _shows(pretty({"nested": [secret]}), value)


@fast
@given(value=probe_values)
def test_logging_never_shows_a_secret(value: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("guardlib-test.property-secret")
    logger.propagate = False
    logger.addHandler(handler)
    secret = Secret(value, name="API_KEY")
    try:
        logger.warning("key %s %r", secret, secret)
        logger.warning(f"key {secret}")
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("boom %s", {"k": secret})
    finally:
        logger.removeHandler(handler)
    assert not _shows(stream.getvalue(), value)
    assert MASK in stream.getvalue()


@fast
@given(value=probe_values)
def test_redaction_filter_scrubs_raw_values_everywhere(value: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s [%(ctx)s]"))
    logger = logging.getLogger("guardlib-test.property-filter")
    logger.propagate = False
    logger.addHandler(handler)
    flt = redact_logger(logger, Secret(value))
    try:
        logger.warning("raw " + value.replace("%", "%%"), extra={"ctx": value})
        logger.warning("arg %s %r", value, [value], extra={"ctx": "-"})
        try:
            raise ValueError("bad " + value)
        except ValueError:
            logger.exception("failed", extra={"ctx": "-"})
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(flt)
        handler.removeFilter(flt)
    assert not _shows(stream.getvalue(), value)


@fast
@given(value=probe_values)
def test_format_exception_scrubs(value: str) -> None:
    try:
        raise KeyError(value)
    except KeyError as exc:
        text = format_exception(exc, Redactor([value]))
    assert not _shows(text, value)


@fast
@given(value=probe_env_values)
def test_typed_env_errors_never_contain_the_value(value: str) -> None:
    environ = {"GUARD_PROBE": value}
    for read in (env.integer, env.boolean, env.url, env.json_value):
        with pytest.raises(GuardlibError) as info:
            read("GUARD_PROBE", environ=environ)  # type: ignore[operator]
        assert isinstance(info.value, ValueError)
        assert not _shows(_error_text(info.value), value)
        assert info.value.__context__ is None


@fast
@given(value=probe_env_values)
def test_env_values_round_trip_wrapped(value: str) -> None:
    key = env.require("GUARD_PROBE", environ={"GUARD_PROBE": value})
    assert key.reveal() == value
    assert not _shows(repr(key) + str(key), value)


@fast
@given(
    value=probe_dotenv_values,
    bad=st.sampled_from(["{v} and more", "'{v}", '"{v}', "KEY {v}", "{v}=x y"]),
    line=st.integers(min_value=1, max_value=4),
)
def test_dotenv_errors_never_contain_the_value(
    tmp_path_factory: pytest.TempPathFactory, value: str, bad: str, line: int
) -> None:
    folder = tmp_path_factory.mktemp("probe")
    lines = [f"GUARD_OK_{n}={value}" for n in range(1, 5)]
    lines[line - 1] = bad.format(v=value)
    path = folder / ".env"
    path.write_text("\n".join(lines) + "\n")
    before_disk = path.read_bytes()
    before_env = dict(os.environ)
    try:
        load_env_file(path)
    except GuardlibError as exc:
        assert not _shows(_error_text(exc), value)
    else:  # '"{v}' (a quoted bare key) and "{v}=x y" are valid .env syntax: undo the load
        os.environ.clear()
        os.environ.update(before_env)
        assert bad in ('"{v}', "{v}=x y")
        return
    assert dict(os.environ) == before_env
    assert path.read_bytes() == before_disk


@fast
@given(value=probe_dotenv_values, junk=st.binary(min_size=1, max_size=4))
def test_non_utf8_errors_never_contain_the_value(
    tmp_path_factory: pytest.TempPathFactory, value: str, junk: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("probe") / ".env"
    path.write_bytes(f"GUARD_OK_1={value}\nGUARD_OK_2={value}".encode() + b"\xff" + junk + b"\n")
    before_env = dict(os.environ)
    with pytest.raises(GuardlibError) as info:
        load_env_file(path)
    assert not _shows(_error_text(info.value), value)
    assert dict(os.environ) == before_env
