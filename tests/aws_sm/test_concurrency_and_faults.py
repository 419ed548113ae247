"""Sixteen writers lose nothing; faults come back the way AWS sends them."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from .conftest import current_versions, error_code, holders


def test_sixteen_threads_putting_values_lose_none(seeded, client):
    sm = client(None)  # botocore clients are thread-safe
    start = threading.Barrier(16)
    written: dict[str, str] = {}
    failures: list[BaseException] = []

    def put(i: int) -> None:
        try:
            start.wait()
            value = f"demo-not-a-real-key-{i:02d}"
            out = sm.put_secret_value(SecretId="dev-api-key", SecretString=value)
            written[out["VersionId"]] = value
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(written) == 16
    versions = current_versions(sm, "dev-api-key")
    assert set(written) <= set(versions)
    for version_id, value in written.items():
        got = sm.get_secret_value(SecretId="dev-api-key", VersionId=version_id)
        assert got["SecretString"] == value
    (current,) = holders(sm, "dev-api-key", "AWSCURRENT")
    assert len(holders(sm, "dev-api-key", "AWSPREVIOUS")) == 1
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"] == written[current]


def test_throttling(cloud, seeded, client):
    sm = client("dev-app", AWS_MAX_ATTEMPTS="1")
    with cloud.faults.injected("throttle", service="aws"):
        with pytest.raises(ClientError) as caught:
            sm.get_secret_value(SecretId="dev-api-key")
    assert error_code(caught.value) == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(cloud, seeded, client, status):
    sm = client("dev-app", AWS_MAX_ATTEMPTS="1")
    with cloud.faults.injected("error", service="aws", status=status):
        with pytest.raises(ClientError) as caught:
            sm.get_secret_value(SecretId="dev-api-key")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_sdk_retries_through_one_transient_fault(cloud, seeded, client):
    sm = client("dev-app")  # default retry policy
    cloud.faults.inject("error", service="aws", status=503, times=1)
    assert sm.get_secret_value(SecretId="dev-api-key")["SecretString"].endswith("dev")
    assert cloud.faults.active() == []


def test_connection_reset(cloud, seeded, client):
    sm = client("dev-app", AWS_MAX_ATTEMPTS="1")
    with cloud.faults.injected("reset", service="aws"):
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            sm.get_secret_value(SecretId="dev-api-key")


def test_latency(cloud, seeded, client):
    sm = client("dev-app")
    sm.get_secret_value(SecretId="dev-api-key")
    with cloud.faults.injected("latency", service="aws", latency_ms=300):
        began = time.perf_counter()
        sm.get_secret_value(SecretId="dev-api-key")
        assert time.perf_counter() - began >= 0.3
