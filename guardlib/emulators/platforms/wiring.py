"""The offline wiring every platform's process gets: how it reaches the offline cloud.

None of it is a platform's variable; on the real platform each is absent (or, for the CA
variables, the system's bundle) and the SDK reaches the real service:

- the gateway: ``HTTPS_PROXY``/``HTTP_PROXY`` (and lower case), ``NO_PROXY`` for loopback;
- the local CA: ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``, ``AWS_CA_BUNDLE``,
  ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` (and ``GRPC_VERBOSITY``): ``OfflineCloud._shared_env``;
- AWS: ``AWS_ENDPOINT_URL`` (botocore's documented endpoint override, to the moto-based
  emulator on loopback) and, except on ``ec2``, ``AWS_EC2_METADATA_DISABLED=true``: the last
  link of botocore's chain would otherwise ask 169.254.169.254, which offline is refused by the
  gateway; off EC2 the real chain finds nothing there either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Job


def wiring(job: Job, *, all_clouds: bool = False, imds: bool = False) -> dict[str, str]:
    """Shared wiring plus the endpoint wiring of each cloud the platform serves (every running
    cloud with ``all_clouds``: a runner job may call any of them later)."""
    env = job.cloud._shared_env()
    aws: Any = job.cloud.emulators.get("aws")  # the AwsEmulator, when it runs
    if aws is not None and (all_clouds or "aws" in job.platform.clouds):
        env["AWS_ENDPOINT_URL"] = aws.endpoint_url
        if not imds:
            env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env
