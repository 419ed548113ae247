"""The pytest plugin as a user meets it: a test file of theirs, run by pytest in a subprocess."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import os

def test_env_points_at_the_gateway(offline_cloud, offline_env):
    assert os.environ["HTTPS_PROXY"] == offline_cloud.gateway.url == offline_env["HTTPS_PROXY"]
    assert "AWS_ACCESS_KEY_ID" not in os.environ or os.environ["AWS_ACCESS_KEY_ID"] != "leaked"

def test_faults_reset_between_tests_part1(offline_cloud):
    offline_cloud.faults.inject("throttle")
    assert offline_cloud.faults.active()

def test_faults_reset_between_tests_part2(offline_cloud):
    assert offline_cloud.faults.active() == []

def test_one_server_per_session(offline_cloud):
    from guardlib import emulators
    assert emulators.current() is offline_cloud
"""


def test_fixtures_apply_env_reset_state_and_share_servers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:nbval", "-p", "no:cacheprovider", "--guardlib-emulators=none", "-q",
        "-W", "error",
    )  # fmt: skip
    result.assert_outcomes(passed=4)


def test_real_credentials_are_hidden_from_user_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "leaked")
    pytester.makepyfile(
        test_user="""
import os
def test_hidden(offline_cloud):
    assert "AWS_ACCESS_KEY_ID" not in os.environ
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:nbval", "-p", "no:cacheprovider", "--guardlib-emulators=none", "-q"
    )  # fmt: skip
    result.assert_outcomes(passed=1)


def test_a_test_that_stops_the_cloud_does_not_break_the_next(pytester: pytest.Pytester) -> None:
    """Code under test (or another module's fixture) may call emulators.stop(): the next test's
    offline_cloud is a running cloud again, not the stopped one."""
    pytester.makepyfile(
        test_user="""
from guardlib import emulators

def test_stops_it(offline_cloud):
    emulators.stop()
    assert emulators.current() is None

def test_next_one_gets_a_running_cloud(offline_cloud):
    assert emulators.current() is offline_cloud
    assert offline_cloud.env()["HTTPS_PROXY"] == offline_cloud.gateway.url
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:nbval", "-p", "no:cacheprovider", "--guardlib-emulators=none", "-q"
    )  # fmt: skip
    result.assert_outcomes(passed=2)
