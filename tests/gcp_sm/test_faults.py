"""Fault switches map to the real gRPC codes, which the client raises as its exceptions."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions

from .conftest import VALUE


@pytest.mark.parametrize(
    ("kind", "options", "exc"),
    [
        ("throttle", {}, exceptions.ResourceExhausted),
        ("error", {"status": 503}, exceptions.ServiceUnavailable),
        ("error", {"status": 500}, exceptions.InternalServerError),
        ("reset", {}, exceptions.ServiceUnavailable),
    ],
)
def test_fault_kinds(cloud, client, make_secret, kind, options, exc):
    name = make_secret("api-key", VALUE)
    with cloud.faults.injected(kind, service="gcp", **options):
        with pytest.raises(exc):
            # retry=None: see the raw answer, not the client's default retry loop
            client.access_secret_version(name=f"{name}/versions/latest", retry=None)
    assert client.access_secret_version(name=f"{name}/versions/latest").payload.data == VALUE


def test_latency(cloud, client, make_secret):
    name = make_secret("api-key", VALUE)
    with cloud.faults.injected("latency", service="gcp", latency_ms=150):
        start = time.perf_counter()
        client.access_secret_version(name=f"{name}/versions/latest")
        assert time.perf_counter() - start >= 0.15


def test_faults_for_other_services_do_not_apply(cloud, client, make_secret):
    name = make_secret("api-key", VALUE)
    with cloud.faults.injected("throttle", service="aws"):
        assert client.access_secret_version(name=f"{name}/versions/latest").payload.data == VALUE


def test_times_counts_requests(cloud, client, make_secret):
    name = make_secret("api-key", VALUE)
    cloud.faults.inject("throttle", service="gcp", times=1)
    with pytest.raises(exceptions.ResourceExhausted, match="Quota exceeded"):
        client.get_secret(name=name)
    assert client.get_secret(name=name).name.endswith("/secrets/api-key")
