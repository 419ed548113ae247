"""The async client (grpc.aio) against the same emulator, unchanged."""

from __future__ import annotations

import asyncio

import pytest
from google.api_core import exceptions

from .conftest import PROJECT, VALUE


def test_async_conformance(run_async):
    async def scenario(client):
        created = await client.create_secret(
            request={
                "parent": PROJECT,
                "secret_id": "async-key",
                "secret": {"replication": {"automatic": {}}},
            }
        )
        await client.add_secret_version(parent=created.name, payload={"data": VALUE})
        response = await client.access_secret_version(name=f"{created.name}/versions/latest")
        names = [s.name async for s in await client.list_secrets(parent=PROJECT)]
        versions = [v.name async for v in await client.list_secret_versions(parent=created.name)]
        await client.disable_secret_version(name=f"{created.name}/versions/1")
        with pytest.raises(exceptions.FailedPrecondition):
            await client.access_secret_version(name=f"{created.name}/versions/1")
        policy = await client.get_iam_policy(request={"resource": created.name})
        await client.delete_secret(name=created.name)
        with pytest.raises(exceptions.NotFound):
            await client.get_secret(name=created.name)
        return response, names, versions, policy

    response, names, versions, policy = run_async(scenario)
    assert response.payload.data == VALUE
    assert names == [response.name.split("/versions/")[0]]
    assert versions == [response.name]
    assert list(policy.bindings) == []


def test_async_identities(seeded, run_async):
    async def read(client):
        return await client.access_secret_version(
            name=f"{PROJECT}/secrets/dev-api-key/versions/latest"
        )

    assert run_async(read, "dev-app").payload.data == b"demo-not-a-real-key-dev"
    with pytest.raises(exceptions.PermissionDenied, match="secretmanager.versions.access"):
        run_async(read, "prod-app")
    with pytest.raises(exceptions.Unauthenticated):
        run_async(read, "ghost-app")


def test_async_concurrent_adds(run_async, make_secret):
    name = make_secret("gather")

    async def add_many(client):
        await asyncio.gather(
            *(
                client.add_secret_version(parent=name, payload={"data": f"demo-{i}".encode()})
                for i in range(20)
            )
        )
        return [v.name async for v in await client.list_secret_versions(parent=name)]

    versions = run_async(add_many)
    assert sorted(int(v.rsplit("/", 1)[1]) for v in versions) == list(range(1, 21))
