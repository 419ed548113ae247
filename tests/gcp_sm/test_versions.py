"""Conformance: versions (add, get, list, access, disable/enable/destroy) and the limits."""

from __future__ import annotations

import google_crc32c
import pytest
from google.api_core import exceptions

from .conftest import PROJECT, PROJECT_NUMBER, VALUE


def crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


def test_add_and_access_by_number_and_latest(client, make_secret):
    name = make_secret("api-key")
    v1 = client.add_secret_version(parent=name, payload={"data": b"demo-not-a-real-key-v1"})
    v2 = client.add_secret_version(parent=name, payload={"data": b"demo-not-a-real-key-v2"})
    assert v1.name == f"projects/{PROJECT_NUMBER}/secrets/api-key/versions/1"
    assert v2.name.endswith("/versions/2") and v2.state.name == "ENABLED"
    assert not v1.client_specified_payload_checksum
    first = client.access_secret_version(name=f"{name}/versions/1")
    assert first.payload.data == b"demo-not-a-real-key-v1"
    latest = client.access_secret_version(request={"name": f"{name}/versions/latest"})
    assert latest.name == v2.name
    assert latest.payload.data == b"demo-not-a-real-key-v2"
    # Google's own sample: verify the checksum before using the data
    assert latest.payload.data_crc32c == crc(latest.payload.data)


def test_add_with_checksum(client, make_secret):
    name = make_secret("api-key")
    version = client.add_secret_version(
        parent=name, payload={"data": VALUE, "data_crc32c": crc(VALUE)}
    )
    assert version.client_specified_payload_checksum


def test_add_with_bad_checksum_is_data_loss(client, make_secret):
    name = make_secret("api-key")
    with pytest.raises(exceptions.DataLoss) as info:
        client.add_secret_version(
            parent=name, payload={"data": VALUE, "data_crc32c": crc(VALUE) ^ 1}
        )
    assert VALUE.decode() not in str(info.value)
    assert list(client.list_secret_versions(parent=name)) == []


@pytest.mark.parametrize(("size", "ok"), [(65536, True), (65537, False), (0, True)])
def test_payload_limit(client, make_secret, size, ok):
    name = make_secret("api-key")
    data = b"x" * size
    if ok:
        client.add_secret_version(parent=name, payload={"data": data})
        assert client.access_secret_version(name=f"{name}/versions/latest").payload.data == data
    else:
        with pytest.raises(exceptions.InvalidArgument, match="65536"):
            client.add_secret_version(parent=name, payload={"data": data})


def test_get_and_list_versions(client, make_secret):
    name = make_secret("api-key", b"demo-1", b"demo-2", b"demo-3")
    got = client.get_secret_version(name=f"{name}/versions/2")
    assert got.name.endswith("/versions/2") and got.etag
    latest = client.get_secret_version(name=f"{name}/versions/latest")
    assert latest.name.endswith("/versions/3")
    listed = [v.name.rsplit("/", 1)[1] for v in client.list_secret_versions(parent=name)]
    assert listed == ["3", "2", "1"]  # newest first
    pages = list(client.list_secret_versions(request={"parent": name, "page_size": 2}).pages)
    assert [len(p.versions) for p in pages] == [2, 1] and pages[0].total_size == 3
    client.disable_secret_version(name=f"{name}/versions/2")
    enabled = client.list_secret_versions(request={"parent": name, "filter": "state:ENABLED"})
    assert [v.name.rsplit("/", 1)[1] for v in enabled] == ["3", "1"]


def test_disable_enable_destroy(client, make_secret):
    name = make_secret("api-key", VALUE)
    v1 = f"{name}/versions/1"
    disabled = client.disable_secret_version(name=v1)
    assert disabled.state.name == "DISABLED"
    with pytest.raises(exceptions.FailedPrecondition, match=r"is in DISABLED state"):
        client.access_secret_version(name=v1)
    with pytest.raises(exceptions.FailedPrecondition, match="DISABLED"):
        client.access_secret_version(name=f"{name}/versions/latest")
    assert client.enable_secret_version(name=v1).state.name == "ENABLED"
    assert client.access_secret_version(name=v1).payload.data == VALUE
    destroyed = client.destroy_secret_version(name=v1)
    assert destroyed.state.name == "DESTROYED" and destroyed.destroy_time
    with pytest.raises(exceptions.FailedPrecondition, match=r"is in DESTROYED state"):
        client.access_secret_version(name=v1)
    for action in (client.enable_secret_version, client.disable_secret_version):
        with pytest.raises(exceptions.FailedPrecondition, match="DESTROYED"):
            action(name=v1)


def test_state_changes_check_etag(client, make_secret):
    name = make_secret("api-key", VALUE)
    v1 = f"{name}/versions/1"
    etag = client.get_secret_version(name=v1).etag
    with pytest.raises(exceptions.Aborted, match="etag"):
        client.disable_secret_version(request={"name": v1, "etag": '"123"'})
    disabled = client.disable_secret_version(request={"name": v1, "etag": etag})
    with pytest.raises(exceptions.Aborted):
        client.enable_secret_version(request={"name": v1, "etag": etag})  # now stale
    client.enable_secret_version(request={"name": v1, "etag": disabled.etag})
    with pytest.raises(exceptions.Aborted):
        client.destroy_secret_version(request={"name": v1, "etag": disabled.etag})


def test_missing_versions(client, make_secret):
    name = make_secret("empty")
    with pytest.raises(exceptions.NotFound, match="not found or has no versions"):
        client.access_secret_version(name=f"{name}/versions/latest")
    make_secret("one", VALUE)
    with pytest.raises(exceptions.NotFound, match=r"Secret Version \[.*/versions/7\] not found"):
        client.access_secret_version(name=f"{PROJECT}/secrets/one/versions/7")
    with pytest.raises(exceptions.NotFound):
        client.get_secret_version(name=f"{PROJECT}/secrets/nope/versions/1")
    with pytest.raises(exceptions.NotFound):
        client.add_secret_version(parent=f"{PROJECT}/secrets/nope", payload={"data": VALUE})


def test_version_alias(client, make_secret):
    name = make_secret("api-key", b"demo-1", b"demo-2")
    client.update_secret(
        secret={"name": name, "version_aliases": {"stable": 1}},
        update_mask={"paths": ["version_aliases"]},
    )
    assert client.access_secret_version(name=f"{name}/versions/stable").payload.data == b"demo-1"
    with pytest.raises(exceptions.InvalidArgument):
        client.update_secret(
            secret={"name": name, "version_aliases": {"future": 9}},
            update_mask={"paths": ["version_aliases"]},
        )


@pytest.mark.parametrize(
    "secret_id", ["bad name", "dots.not.allowed", "a" * 256, "slash/es", "ümlaut", "semi;colon"]
)
def test_bad_secret_ids(client, secret_id):
    with pytest.raises(exceptions.InvalidArgument):
        client.create_secret(
            parent=PROJECT, secret_id=secret_id, secret={"replication": {"automatic": {}}}
        )


@pytest.mark.parametrize("secret_id", ["a", "A_b-9", "x" * 255])
def test_good_secret_ids(client, secret_id):
    created = client.create_secret(
        parent=PROJECT, secret_id=secret_id, secret={"replication": {"automatic": {}}}
    )
    assert created.name.endswith(f"/secrets/{secret_id}")


@pytest.mark.parametrize(
    "name",
    [
        "api-key",
        "projects/guard-demo/secrets",
        "projects/guard-demo/api-key/versions/1",
        "projects/guard-demo/secrets/api-key/versions",
        "projects//secrets/api-key/versions/1",
    ],
)
def test_malformed_version_names(client, make_secret, name):
    make_secret("api-key", VALUE)
    with pytest.raises(exceptions.InvalidArgument, match="expected format"):
        client.access_secret_version(name=name)


@pytest.mark.parametrize(
    "labels",
    [{"Env": "dev"}, {"env": "Dev"}, {"1env": "dev"}, {"e" * 64: "x"}, {"env": "has space"}],
)
def test_bad_labels(client, labels):
    with pytest.raises(exceptions.InvalidArgument, match="Label"):
        client.create_secret(
            parent=PROJECT,
            secret_id="labelled",
            secret={"replication": {"automatic": {}}, "labels": labels},
        )
