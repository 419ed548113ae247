"""A local certificate authority for the offline cloud (built on trustme).

The CA and its leaves live in memory; only the CA certificate is written, into the
lifecycle's temporary work directory, so SDKs can be told to trust it.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path


class LocalCA:
    """Issues leaf certificates for the emulated hosts (``*.vault.azure.net`` …)."""

    def __init__(self, workdir: Path) -> None:
        import trustme

        self._ca = trustme.CA(organization_name="guardlib offline cloud (not a real CA)")
        self.cert_path = Path(workdir) / "guardlib-offline-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.cert_path))
        self._leaves: dict[tuple[str, ...], object] = {}
        self._lock = threading.Lock()

    @property
    def cert_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def _leaf(self, hosts: tuple[str, ...]):  # -> trustme.LeafCert
        with self._lock:
            leaf = self._leaves.get(hosts)
            if leaf is None:
                leaf = self._ca.issue_cert(*hosts)
                self._leaves[hosts] = leaf
            return leaf

    def leaf_pem(self, *hosts: str) -> tuple[bytes, bytes]:
        """(certificate chain PEM, private key PEM) for ``hosts``: the form grpc wants."""
        leaf = self._leaf(tuple(hosts))
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)  # type: ignore[attr-defined]
        return chain, leaf.private_key_pem.bytes()  # type: ignore[attr-defined]

    def server_context(self, *hosts: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a leaf valid for ``hosts`` (wildcards allowed)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaf(tuple(hosts)).configure_cert(ctx)  # type: ignore[attr-defined]
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client-side TLS context that trusts this CA only (for tests and health checks)."""
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=self.cert_pem.decode())
        return ctx
