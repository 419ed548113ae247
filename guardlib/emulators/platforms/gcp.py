"""Google Cloud runtimes: Compute Engine, Cloud Run and GKE, all through the metadata server.

google-auth's ``google.auth.default()`` finds no credentials file and asks the metadata server
(google/auth/compute_engine/_metadata.py: ``ping`` at ``GCE_METADATA_IP`` with
``Metadata-Flavor: Google``, then ``/computeMetadata/v1/instance/service-accounts/default/``).
The server is the GCP emulator's own (``gcp/metadata.py``: one per service account, tokens
IAM there checks). Its address is wiring: ``GCE_METADATA_HOST`` and ``GCE_METADATA_IP``, the
variables google-auth reads in place of metadata.google.internal / 169.254.169.254, at import.

``credentials.service_account_email`` is ``"default"`` until ``refresh()`` on all three, as on
the real platforms (google/auth/compute_engine/credentials.py). The project comes from the
metadata server, so no ``GOOGLE_CLOUD_PROJECT`` is set: none of the three sets it.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job


def _metadata(job: Job) -> dict[str, str]:
    assert job.identity is not None
    found = job.emulator("gcp").metadata_env(job.identity)
    return {
        **wiring(job),
        # wiring: the metadata server of this VM/service/pod on loopback
        "GCE_METADATA_HOST": found["GCE_METADATA_HOST"],
        "GCE_METADATA_IP": found["GCE_METADATA_IP"],
    }


def gce(job: Job) -> dict[str, str]:
    """A VM whose attached service account is the identity's. GCE sets no variable."""
    return _metadata(job)


def cloud_run(job: Job) -> dict[str, str]:
    """A Cloud Run service running as the identity's service account, with the container
    contract's variables (cloud.google.com/run/docs/container-contract): ``PORT``,
    ``K_SERVICE``, ``K_REVISION``, ``K_CONFIGURATION``."""
    service = f"{job.identity}-svc"
    return {
        **_metadata(job),
        "PORT": "8080",
        "K_SERVICE": service,
        "K_REVISION": f"{service}-00001-{secrets.token_hex(2)[:3]}",
        "K_CONFIGURATION": service,
    }


def gke(job: Job) -> dict[str, str]:
    """A pod whose Kubernetes service account is bound to the identity's IAM service account
    (Workload Identity Federation for GKE: the GKE metadata server answers for it). The
    kubelet's service-discovery variables (``KUBERNETES_SERVICE_HOST``/``_PORT``) are left out:
    they name the cluster's API server, which the offline cloud does not run."""
    return _metadata(job)
