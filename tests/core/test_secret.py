"""Unit tests for guardlib.Secret: every rendering channel shows the mask, never the value."""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle

import pytest

from guardlib import MASK, Secret, reveal

VALUE = "demo-not-a-real-key-1234"


@pytest.fixture
def secret() -> Secret[str]:
    return Secret(VALUE, name="API_KEY")


def test_reveal_returns_the_value(secret: Secret[str]) -> None:
    assert secret.reveal() == VALUE
    assert reveal(secret) == VALUE
    assert reveal("plain") == "plain"


def test_repr_shows_the_name_and_the_mask(secret: Secret[str]) -> None:
    assert repr(secret) == "Secret(name='API_KEY', value='**********')"
    assert repr(Secret(VALUE)) == "Secret('**********')"


def test_str_is_the_mask(secret: Secret[str]) -> None:
    assert str(secret) == MASK


@pytest.mark.parametrize(
    "template",
    ["{}", "{!s}", "{!r}", "{!a}", "{:>20}", "{:<40}", "{:^30}", "{:.3}", "{:.2f}", "{:d}", "{:x}"],
)
def test_format_specs_never_show_the_value(secret: Secret[str], template: str) -> None:
    rendered = template.format(secret)
    assert VALUE not in rendered
    assert "*" in rendered


def test_fstrings(secret: Secret[str]) -> None:
    assert f"{secret}" == MASK
    assert f"{secret:>12}" == "  " + MASK
    assert f"{secret!r}" == repr(secret)


def test_percent_formatting(secret: Secret[str]) -> None:
    assert "%s" % secret == MASK  # noqa: UP031
    assert "%r" % (secret,) == repr(secret)  # noqa: UP031
    with pytest.raises(TypeError) as info:
        _ = "%d" % secret  # noqa: UP031
    assert VALUE not in str(info.value)


def test_containers_show_the_mask(secret: Secret[str]) -> None:
    assert VALUE not in str([secret, {"k": secret}, (secret,)])


def test_len_hash_iteration_are_refused(secret: Secret[str]) -> None:
    with pytest.raises(TypeError):
        len(secret)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hash(secret)
    with pytest.raises(TypeError):
        iter(secret)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        {secret}  # noqa: B018


def test_bool_reveals_nothing() -> None:
    assert bool(Secret("")) is True
    assert bool(Secret(False)) is True


def test_equality_is_by_value_and_constant_time(secret: Secret[str]) -> None:
    assert secret == Secret(VALUE)
    assert secret == VALUE
    assert VALUE == secret
    assert secret != Secret(VALUE + "x")
    assert secret != VALUE.encode()
    assert Secret(b"demo-bytes") == b"demo-bytes"
    assert Secret("démo-ünïcode") == "démo-ünïcode"  # compare_digest alone rejects non-ASCII str
    assert Secret(8080) == Secret(8080)
    assert Secret(8080) != Secret("8080")
    assert (secret == 42) is False


def test_pickle_is_refused_without_the_value(secret: Secret[str]) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError) as info:
            pickle.dumps(secret, protocol=protocol)
        assert VALUE not in str(info.value)
        assert "pickle" in str(info.value)
    with pytest.raises(TypeError):
        pickle.dumps({"nested": [secret]})


def test_copy_and_deepcopy_return_secrets(secret: Secret[str]) -> None:
    for clone in (copy.copy(secret), copy.deepcopy(secret), copy.deepcopy({"k": secret})["k"]):
        assert isinstance(clone, Secret)
        assert clone.reveal() == VALUE
        assert clone.name == "API_KEY"


def test_json_dumps_refuses_without_the_value(secret: Secret[str]) -> None:
    with pytest.raises(TypeError) as info:
        json.dumps({"key": secret})
    assert VALUE not in str(info.value)


def test_ipython_display(secret: Secret[str]) -> None:
    from IPython.lib.pretty import pretty

    assert pretty(secret) == repr(secret)
    assert VALUE not in secret._repr_html_()
    assert MASK in secret._repr_html_()


def test_ipython_display_formatter(secret: Secret[str]) -> None:
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(secret)
    assert data  # at least text/plain
    for rendered in data.values():
        assert VALUE not in str(rendered)


def test_logging_message_args_and_exc_info(secret: Secret[str]) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("guardlib-test.secret")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key is %s", secret)
        logger.warning("key is %r", secret)
        logger.warning(f"key is {secret}")
        logger.warning("mapping %s", {"k": secret})
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("boom %s", secret)
    finally:
        logger.removeHandler(handler)
    assert VALUE not in stream.getvalue()
    assert stream.getvalue().count("**********") == 6


def test_immutable(secret: Secret[str]) -> None:
    with pytest.raises(AttributeError):
        secret.value = "x"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del secret._secret_value
    with pytest.raises(TypeError):
        vars(secret)


def test_wrapping_a_secret_does_not_nest() -> None:
    inner = Secret(VALUE)
    assert Secret(inner).reveal() == VALUE


def test_name_must_be_text() -> None:
    with pytest.raises(TypeError):
        Secret(VALUE, name=42)  # type: ignore[arg-type]


# -- introspection: the value is in no attribute that a tool enumerates (issue 16) ----------------
HIDDEN = "demo-hidden-from-inspection-77"  # not the docstring's example value


@pytest.fixture
def hidden() -> Secret[str]:
    return Secret(HIDDEN, name="API_KEY")


def _everything(obj: object) -> str:
    """Every attribute a tool that walks ``dir()`` would show, rendered."""
    import inspect

    return repr(inspect.getmembers(obj)) + repr([getattr(obj, n, None) for n in dir(obj)])


def test_inspect_getmembers_shows_no_value(hidden: Secret[str]) -> None:
    assert HIDDEN not in _everything(hidden)
    assert HIDDEN not in _everything(Secret(HIDDEN.encode()))


def test_gc_referents_hold_no_value(hidden: Secret[str]) -> None:
    import gc

    assert all(ref != HIDDEN for ref in gc.get_referents(hidden))


def test_rich_inspect_private_shows_no_value(hidden: Secret[str]) -> None:
    rich = pytest.importorskip("rich")
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    rich.inspect(hidden, console=console, private=True, dunder=True, all=True, value=True)
    assert "reveal" in out.getvalue()  # it did list the members
    assert HIDDEN not in out.getvalue()


def test_ipython_oinspect_shows_no_value(hidden: Secret[str]) -> None:
    from IPython.core.oinspect import Inspector

    inspector = Inspector(theme_name="nocolor")
    for level in (0, 1):
        info = inspector.info(hidden, "secret", detail_level=level)
        assert HIDDEN not in repr(info)
        bundle = inspector._get_info(hidden, "secret", detail_level=level)
        assert HIDDEN not in repr(bundle)


def test_debugpy_variable_view_shows_no_value(hidden: Secret[str]) -> None:
    """What JupyterLab's debugger shows when the variable is expanded: pydevd's resolver."""
    import sys

    vendored = pytest.importorskip("debugpy._vendored")
    root = vendored.project_root("pydevd")
    if root not in sys.path:
        sys.path.append(root)
    pydevd_xml = pytest.importorskip("_pydevd_bundle.pydevd_xml")
    from _pydevd_bundle import pydevd_resolver

    _, _, resolver = pydevd_xml.get_type(hidden)
    contents = resolver.get_dictionary(hidden)
    assert "reveal" in contents
    assert HIDDEN not in repr(contents)
    view = pydevd_resolver.defaultResolver.get_contents_debug_adapter_protocol(hidden)
    assert HIDDEN not in repr(view)
    for value in (hidden, hidden.reveal):  # what the variables pane renders for each row
        assert HIDDEN not in pydevd_xml.var_to_xml(value, "secret")


def test_a_copy_outlives_its_original() -> None:
    import gc

    original = Secret(VALUE, name="API_KEY")
    clone, deep = copy.copy(original), copy.deepcopy(original)
    del original
    gc.collect()
    assert clone.reveal() == VALUE and deep.reveal() == VALUE


def test_init_again_cannot_swap_the_value(secret: Secret[str]) -> None:
    with pytest.raises(AttributeError):
        secret.__init__("demo-another-value-0000")  # type: ignore[misc]
    assert secret.reveal() == VALUE


def test_many_secrets_do_not_mix() -> None:
    secrets = [Secret(f"demo-not-a-real-key-{i:04d}") for i in range(500)]
    del secrets[::2]
    more = [Secret(f"demo-other-key-{i:04d}") for i in range(500)]
    expected = [f"demo-not-a-real-key-{i:04d}" for i in range(1, 500, 2)]
    assert [s.reveal() for s in secrets] == expected
    assert more[7].reveal() == "demo-other-key-0007"
