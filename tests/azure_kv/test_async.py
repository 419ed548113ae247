"""The same operations through ``azure.keyvault.secrets.aio`` with ``azure.identity.aio``
credentials (aiohttp transport: HTTPS_PROXY via trust_env, the CA via SSL_CERT_FILE)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from .conftest import VAULT_URL


def run(factory: Callable[[Any], Awaitable[Any]], credential: str = "default") -> Any:
    """Run ``factory(client)`` with an aio SecretClient built from the current env."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential
    from azure.keyvault.secrets.aio import SecretClient

    async def main() -> Any:
        cred = DefaultAzureCredential() if credential == "default" else ManagedIdentityCredential()
        async with cred, SecretClient(vault_url=os.environ["VAULT_URL"], credential=cred) as client:
            return await factory(client)

    return asyncio.run(main())


@pytest.fixture
def as_admin(use_identity) -> None:
    use_identity(None)


@pytest.mark.usefixtures("as_admin")
def test_async_set_get_versions_update() -> None:
    async def flow(client: Any) -> None:
        v1 = await client.set_secret("a-key", "demo-not-a-real-v1", content_type="text/plain")
        v2 = await client.set_secret("a-key", "demo-not-a-real-v2", tags={"k": "v"})
        assert (await client.get_secret("a-key")).value == "demo-not-a-real-v2"
        got = await client.get_secret("a-key", v1.properties.version)
        assert got.value == "demo-not-a-real-v1"
        assert got.properties.content_type == "text/plain"
        updated = await client.update_secret_properties("a-key", enabled=False)
        assert updated.enabled is False and updated.version == v2.properties.version
        with pytest.raises(HttpResponseError) as err:
            await client.get_secret("a-key")
        assert err.value.status_code == 403
        assert err.value.error.message == "Operation get is not allowed on a disabled secret."

    run(flow)


@pytest.mark.usefixtures("as_admin")
def test_async_listing_with_paging() -> None:
    async def flow(client: Any) -> None:
        for i in range(5):
            await client.set_secret(f"page-{i}", "demo-not-a-real-value")
            await client.set_secret("versioned", f"demo-not-a-real-{i}")
        names = [p.name async for p in client.list_properties_of_secrets(max_page_size=2)]
        assert sorted(names) == sorted([f"page-{i}" for i in range(5)] + ["versioned"])
        versions = [
            p.version
            async for p in client.list_properties_of_secret_versions("versioned", max_page_size=2)
        ]
        assert len(set(versions)) == 5

    run(flow)


@pytest.mark.usefixtures("as_admin")
def test_async_delete_recover_purge_backup_restore() -> None:
    async def flow(client: Any) -> None:
        await client.set_secret("cycle", "demo-not-a-real-value")
        deleted = await client.delete_secret("cycle")
        assert deleted.recovery_id.endswith("/deletedsecrets/cycle")
        assert (await client.get_deleted_secret("cycle")).name == "cycle"
        assert [d.name async for d in client.list_deleted_secrets()] == ["cycle"]
        with pytest.raises(ResourceExistsError):
            await client.set_secret("cycle", "demo-not-a-real-other")
        await client.recover_deleted_secret("cycle")
        assert (await client.get_secret("cycle")).value == "demo-not-a-real-value"
        backup = await client.backup_secret("cycle")
        await client.delete_secret("cycle")
        await client.purge_deleted_secret("cycle")
        with pytest.raises(ResourceNotFoundError):
            await client.get_deleted_secret("cycle")
        restored = await client.restore_secret_backup(backup)
        assert restored.name == "cycle"
        assert (await client.get_secret("cycle")).value == "demo-not-a-real-value"

    run(flow)


def test_async_restricted_identity_gets_403(cloud, use_identity) -> None:
    cloud.seed(
        {
            "secrets": {
                "dev-k": {"value": "demo-not-a-real-dev", "readers": ["dev-app"]},
                "prod-k": {"value": "demo-not-a-real-prod", "readers": ["prod-app"]},
            }
        }
    )
    use_identity("dev-app")

    async def flow(client: Any) -> None:
        assert (await client.get_secret("dev-k")).value == "demo-not-a-real-dev"
        with pytest.raises(HttpResponseError) as err:
            await client.get_secret("prod-k")
        assert err.value.status_code == 403
        assert err.value.error.code == "Forbidden"

    run(flow)


def test_async_managed_identity_credential(cloud, azure, use_identity) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity.aio import ManagedIdentityCredential
    from azure.keyvault.secrets.aio import SecretClient

    cloud.seed({"secrets": {"mi-k": {"value": "demo-not-a-real-mi", "readers": ["web-app"]}}})
    use_identity("web-app")

    async def main(client_id: str | None) -> str:
        cred = ManagedIdentityCredential(client_id=client_id)
        async with cred, SecretClient(VAULT_URL, cred) as client:
            return (await client.get_secret("mi-k")).value

    # user-assigned: by client id (ManagedIdentityCredential does not read AZURE_CLIENT_ID)
    assert asyncio.run(main(os.environ["AZURE_CLIENT_ID"])) == "demo-not-a-real-mi"
    # web-app's site has no system-assigned identity, as on App Service
    with pytest.raises(ClientAuthenticationError):
        asyncio.run(main(None))


def test_async_client_secret_credential(cloud, azure, use_identity) -> None:
    from azure.identity.aio import ClientSecretCredential
    from azure.keyvault.secrets.aio import SecretClient

    cloud.seed({"secrets": {"sp-k": {"value": "demo-not-a-real-sp", "readers": ["ci-app"]}}})
    use_identity("ci-app")
    sp = azure.service_principal("ci-app")

    async def main() -> str:
        cred = ClientSecretCredential(
            sp["AZURE_TENANT_ID"], sp["AZURE_CLIENT_ID"], sp["AZURE_CLIENT_SECRET"]
        )
        async with cred, SecretClient(VAULT_URL, cred) as client:
            return (await client.get_secret("sp-k")).value

    assert asyncio.run(main()) == "demo-not-a-real-sp"
