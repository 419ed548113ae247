"""Conformance: secrets (create, get, list, update, delete) through the real sync client."""

from __future__ import annotations

import time

import pytest
from google.api_core import exceptions
from google.protobuf import duration_pb2, field_mask_pb2

from .conftest import PROJECT, PROJECT_NUMBER, VALUE


def test_create_and_get_automatic(client):
    created = client.create_secret(
        request={
            "parent": PROJECT,
            "secret_id": "api-key",
            "secret": {"replication": {"automatic": {}}, "labels": {"env": "dev"}},
        }
    )
    assert created.name == f"projects/{PROJECT_NUMBER}/secrets/api-key"
    assert created.create_time.timestamp() == pytest.approx(time.time(), abs=5)
    assert created.etag.startswith('"') and created.etag.endswith('"')
    assert "automatic" in created.replication
    got = client.get_secret(name=f"{PROJECT}/secrets/api-key")
    assert got.name == created.name and dict(got.labels) == {"env": "dev"}
    # the project number is accepted as well as the id
    assert client.get_secret(name=created.name).etag == created.etag


def test_create_user_managed(client):
    secret = {
        "replication": {
            "user_managed": {"replicas": [{"location": "us-east1"}, {"location": "europe-west1"}]}
        }
    }
    created = client.create_secret(parent=PROJECT, secret_id="eu-us", secret=secret)
    locations = [r.location for r in created.replication.user_managed.replicas]
    assert locations == ["us-east1", "europe-west1"]
    version = client.add_secret_version(parent=created.name, payload={"data": VALUE})
    statuses = [r.location for r in version.replication_status.user_managed.replicas]
    assert statuses == ["us-east1", "europe-west1"]


@pytest.mark.parametrize(
    "replication",
    [
        {},
        {"user_managed": {"replicas": []}},
        {"user_managed": {"replicas": [{"location": "a"}] * 2}},
    ],
)
def test_create_bad_replication(client, replication):
    with pytest.raises(exceptions.InvalidArgument):
        client.create_secret(
            parent=PROJECT,
            secret_id="x",
            secret={"replication": replication} if replication else {},
        )


def test_create_twice_already_exists(client, make_secret):
    make_secret("api-key")
    with pytest.raises(exceptions.AlreadyExists, match=r"Secret \[.*api-key\] already exists"):
        make_secret("api-key")


def test_get_missing_not_found(client):
    with pytest.raises(exceptions.NotFound, match="not found"):
        client.get_secret(name=f"{PROJECT}/secrets/nope")


def test_list_pages(client, make_secret):
    for i in range(5):
        make_secret(f"s{i}")
    pager = client.list_secrets(request={"parent": PROJECT, "page_size": 2})
    pages = list(pager.pages)
    assert [len(page.secrets) for page in pages] == [2, 2, 1]
    assert pages[0].total_size == 5
    names = [s.name.rsplit("/", 1)[1] for page in pages for s in page.secrets]
    assert names == ["s0", "s1", "s2", "s3", "s4"]


def test_list_bad_page_token(client):
    with pytest.raises(exceptions.InvalidArgument, match="page token"):
        list(client.list_secrets(request={"parent": PROJECT, "page_token": "garbage!"}))


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("labels.env=prod", {"prod-db", "prod-api"}),
        ("labels.env:*", {"prod-db", "prod-api", "dev-db"}),
        ("name:db", {"prod-db", "dev-db"}),
        ("name:prod-* AND labels.team=core", {"prod-api"}),
        ("labels.env=prod OR labels.env=dev", {"prod-db", "prod-api", "dev-db"}),
        ("NOT labels.env:*", {"plain"}),
        ("-name:db", {"prod-api", "plain"}),
        ("labels.env=prod labels.team=core", {"prod-api"}),
        ('(labels.env="dev") OR name=plain', {"dev-db", "plain"}),
    ],
)
def test_list_filters(client, make_secret, filter_, expected):
    make_secret("prod-db", labels={"env": "prod"})
    make_secret("prod-api", labels={"env": "prod", "team": "core"})
    make_secret("dev-db", labels={"env": "dev"})
    make_secret("plain")
    found = {
        s.name.rsplit("/", 1)[1]
        for s in client.list_secrets(request={"parent": PROJECT, "filter": filter_})
    }
    assert found == expected


@pytest.mark.parametrize("filter_", ["labels.env=", "colour=red", "(name:a", "AND"])
def test_list_bad_filter(client, filter_):
    with pytest.raises(exceptions.InvalidArgument):
        list(client.list_secrets(request={"parent": PROJECT, "filter": filter_}))


def test_update_labels_annotations(client, make_secret):
    name = make_secret("api-key", labels={"env": "dev"})
    before = client.get_secret(name=name)
    updated = client.update_secret(
        secret={"name": name, "labels": {"env": "prod"}, "annotations": {"owner": "Team A"}},
        update_mask=field_mask_pb2.FieldMask(paths=["labels", "annotations"]),
    )
    assert dict(updated.labels) == {"env": "prod"}
    assert dict(updated.annotations) == {"owner": "Team A"}
    assert updated.etag != before.etag
    # a field not named in the mask is left alone
    again = client.update_secret(
        secret={"name": name, "labels": {}, "annotations": {"k": "v"}},
        update_mask={"paths": ["annotations"]},
    )
    assert dict(again.labels) == {"env": "prod"}


def test_update_needs_mask_and_mutable_paths(client, make_secret):
    name = make_secret("api-key")
    with pytest.raises(exceptions.InvalidArgument, match="update_mask"):
        client.update_secret(secret={"name": name, "labels": {"a": "b"}})
    with pytest.raises(exceptions.InvalidArgument, match="replication"):
        client.update_secret(
            secret={"name": name, "replication": {"automatic": {}}},
            update_mask={"paths": ["replication"]},
        )


def test_update_with_stale_etag_aborted(client, make_secret):
    name = make_secret("api-key")
    etag = client.get_secret(name=name).etag
    client.update_secret(
        secret={"name": name, "labels": {"a": "1"}}, update_mask={"paths": ["labels"]}
    )
    with pytest.raises(exceptions.Aborted, match="etag"):
        client.update_secret(
            secret={"name": name, "labels": {"a": "2"}, "etag": etag},
            update_mask={"paths": ["labels"]},
        )


def test_ttl_sets_expire_time_and_expiry_deletes(client, make_secret):
    name = make_secret("short-lived", VALUE, ttl=duration_pb2.Duration(seconds=1))
    secret = client.get_secret(name=name)
    assert secret.expire_time.timestamp() == pytest.approx(time.time() + 1, abs=2)
    time.sleep(1.05)
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=name)


def test_update_ttl_and_clear(client, make_secret):
    name = make_secret("api-key")
    updated = client.update_secret(
        secret={"name": name, "ttl": duration_pb2.Duration(seconds=3600)},
        update_mask={"paths": ["ttl"]},
    )
    assert updated.expire_time.timestamp() == pytest.approx(time.time() + 3600, abs=5)
    cleared = client.update_secret(secret={"name": name}, update_mask={"paths": ["ttl"]})
    assert "expire_time" not in cleared
    with pytest.raises(exceptions.InvalidArgument, match="future"):
        client.update_secret(
            secret={"name": name, "expire_time": {"seconds": 1}},
            update_mask={"paths": ["expire_time"]},
        )


def test_version_destroy_ttl_delays_destruction(client, make_secret):
    name = make_secret("api-key", VALUE)
    client.update_secret(
        secret={"name": name, "version_destroy_ttl": duration_pb2.Duration(seconds=86400)},
        update_mask={"paths": ["version_destroy_ttl"]},
    )
    version = client.destroy_secret_version(name=f"{name}/versions/1")
    assert version.state.name == "DISABLED"
    assert version.scheduled_destroy_time.timestamp() == pytest.approx(time.time() + 86400, abs=5)
    restored = client.enable_secret_version(name=f"{name}/versions/1")
    assert restored.state.name == "ENABLED" and "scheduled_destroy_time" not in restored
    assert client.access_secret_version(name=f"{name}/versions/1").payload.data == VALUE


def test_delete_with_etag(client, make_secret):
    name = make_secret("api-key", VALUE)
    etag = client.get_secret(name=name).etag
    with pytest.raises(exceptions.Aborted):
        client.delete_secret(request={"name": name, "etag": '"0"'})
    client.delete_secret(request={"name": name, "etag": etag})
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=name)
    with pytest.raises(exceptions.NotFound):
        client.access_secret_version(name=f"{name}/versions/latest")
    with pytest.raises(exceptions.NotFound):
        client.delete_secret(name=name)
    # the id can be used again, and numbering starts afresh
    make_secret("api-key", VALUE)
    assert client.get_secret_version(name=f"{name}/versions/latest").name.endswith("/versions/1")


def test_regional_secret(client):
    parent = f"{PROJECT}/locations/us-central1"
    created = client.create_secret(parent=parent, secret_id="regional", secret={})
    assert created.name == f"projects/{PROJECT_NUMBER}/locations/us-central1/secrets/regional"
    client.add_secret_version(parent=created.name, payload={"data": VALUE})
    assert (
        client.access_secret_version(name=f"{created.name}/versions/latest").payload.data == VALUE
    )
    assert [s.name for s in client.list_secrets(parent=parent)] == [created.name]
    assert list(client.list_secrets(parent=PROJECT)) == []


def test_regional_endpoint(client):
    from google.cloud import secretmanager

    regional = secretmanager.SecretManagerServiceClient(
        client_options={"api_endpoint": "secretmanager.us-east1.rep.googleapis.com"}
    )
    parent = f"{PROJECT}/locations/us-east1"
    created = regional.create_secret(parent=parent, secret_id="regional", secret={})
    regional.add_secret_version(parent=created.name, payload={"data": VALUE})
    latest = regional.access_secret_version(name=f"{parent}/secrets/regional/versions/latest")
    assert latest.payload.data == VALUE
