"""Concurrency (16 writers lose no version) and the shared fault switches."""

from __future__ import annotations

import os
import threading
import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

THREADS = 16
PER_THREAD = 5


def test_16_threads_setting_versions_lose_none(use_identity) -> None:
    use_identity(None)
    clients = [
        SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential()) for _ in range(THREADS)
    ]
    clients[0].set_secret("shared", "demo-not-a-real-initial")
    barrier = threading.Barrier(THREADS)
    versions: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        try:
            barrier.wait()
            for j in range(PER_THREAD):
                s = clients[i].set_secret("shared", f"demo-not-a-real-{i}-{j}")
                with lock:
                    versions.append(s.properties.version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert len(set(versions)) == THREADS * PER_THREAD
    listed = {p.version for p in clients[0].list_properties_of_secret_versions("shared")}
    assert set(versions) <= listed and len(listed) == THREADS * PER_THREAD + 1
    values = {clients[0].get_secret("shared", v).value for v in versions}
    assert values == {f"demo-not-a-real-{i}-{j}" for i in range(THREADS) for j in range(PER_THREAD)}
    latest = clients[0].get_secret("shared")
    assert latest.properties.version in versions
    for c in clients:
        c.close()


@pytest.fixture
def warm_admin(admin: SecretClient) -> SecretClient:
    admin.set_secret("f", "demo-not-a-real-value")  # token and challenge cached
    return admin


def test_latency_fault(cloud, warm_admin: SecretClient) -> None:
    with cloud.faults.injected("latency", service="azure", latency_ms=150, times=1):
        start = time.perf_counter()
        warm_admin.get_secret("f")
        assert time.perf_counter() - start >= 0.15


def test_throttle_fault_429_retry_after(cloud, use_identity, warm_admin: SecretClient) -> None:
    no_retry = SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential(), retry_total=0)
    no_retry.get_secret("f")
    cloud.faults.inject("throttle", service="azure", retry_after=1, times=1)
    with pytest.raises(HttpResponseError) as err:
        no_retry.get_secret("f")
    assert err.value.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert err.value.error.code == "Throttled"
    # the SDK's retry policy honours Retry-After, then succeeds
    cloud.faults.inject("throttle", service="azure", retry_after=1, times=1)
    start = time.perf_counter()
    assert warm_admin.get_secret("f").value == "demo-not-a-real-value"
    assert time.perf_counter() - start >= 1.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_fault(cloud, warm_admin: SecretClient, status: int) -> None:
    no_retry = SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential(), retry_total=0)
    no_retry.get_secret("f")
    cloud.faults.inject("error", service="azure", status=status, times=1)
    with pytest.raises(HttpResponseError) as err:
        no_retry.get_secret("f")
    assert err.value.status_code == status
    cloud.faults.inject("error", service="azure", status=status, times=1)
    assert warm_admin.get_secret("f").value == "demo-not-a-real-value"  # retried


def test_connection_reset_fault(cloud, warm_admin: SecretClient) -> None:
    no_retry = SecretClient(os.environ["VAULT_URL"], DefaultAzureCredential(), retry_total=0)
    no_retry.get_secret("f")
    cloud.faults.inject("reset", service="azure", times=1)
    # through a proxy, urllib3 reports the dropped tunnel as a proxy (request) error
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        no_retry.get_secret("f")
    cloud.faults.inject("reset", service="azure", times=1)
    assert warm_admin.get_secret("f").value == "demo-not-a-real-value"


def test_faults_for_other_services_do_not_hit_azure(cloud, warm_admin: SecretClient) -> None:
    cloud.faults.inject("error", service="gcp", status=503)
    assert warm_admin.get_secret("f").value == "demo-not-a-real-value"
