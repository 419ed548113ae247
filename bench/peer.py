"""The peer every emulator benchmark is measured against, in the same run: moto's own
``ThreadedMotoServer`` answering boto3's ``get_secret_value`` on loopback (no auth layer)."""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

PEER_SECRET = "bench-key"


@contextlib.contextmanager
def moto_secretsmanager() -> Iterator[Any]:
    """A boto3 Secrets Manager client on a fresh moto server holding ``PEER_SECRET``."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing"
        ).client("secretsmanager", region_name="us-east-1", endpoint_url=f"http://{host}:{port}")
        client.create_secret(Name=PEER_SECRET, SecretString="demo-not-a-real-bench-key")
        yield client
    finally:
        server.stop()


def median_ms(call: Callable[[], object], n: int, warmup: int = 20) -> float:
    """Median wall time of ``call`` in milliseconds, after ``warmup`` unmeasured calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def moto_get_secret_value_ms(n: int) -> float:
    """The peer's median ``get_secret_value`` round trip."""
    with moto_secretsmanager() as client:
        return median_ms(lambda: client.get_secret_value(SecretId=PEER_SECRET), n)
