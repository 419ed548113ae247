"""AWS Secrets Manager and KMS (plus the IAM and STS they need) on moto, with moto's gaps closed.

Wiring: ``AWS_ENDPOINT_URL=http://127.0.0.1:PORT``, plain http on loopback. botocore reads it
officially (``AWS_ENDPOINT_URL_SECRETS_MANAGER``, then ``AWS_ENDPOINT_URL``), it covers STS and
IAM too (so ``assume_role`` in user code reaches the same identities), needs no certificate,
and adds no TLS handshake to every connection. The alternative, the gateway at the real
``secretsmanager.<region>.amazonaws.com`` with ``AWS_CA_BUNDLE``, would make the endpoint
invisible, but every other service's host would need routing too, and the only thing it buys
is hiding one variable that AWS itself documents. So ``hosts`` is empty.

Identities:

- ``env(None)``: the IAM user ``admin`` (AdministratorAccess), with an access key minted at
  random when the emulator starts;
- ``env("dev-app")``: the temporary credentials of a session of the IAM role ``dev-app``
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, exactly what Lambda,
  ECS and CodeBuild put in a role's environment), obtained through STS ``AssumeRole``. So
  ``boto3.session.Session().client("secretsmanager", region_name=...)`` runs unchanged and
  calls are evaluated as ``arn:aws:sts::123456789012:assumed-role/dev-app/guardlib``.
  The session lasts 12 hours. Its credentials (and the admin's) are random per start, held by
  the kit's ``CredentialBook``, reachable only through ``env(identity)``; within one start they
  stay the same, so an applied environment survives ``reset()`` + re-seed.
- ``federation_env("prod-app", token_file)`` (keyless deploys, ``cloud.federation_env``): no
  key at all, only ``AWS_ROLE_ARN`` and ``AWS_WEB_IDENTITY_TOKEN_FILE``; botocore's
  ``AssumeRoleWithWebIdentityProvider`` sends the token to STS unsigned. Each seeded trust is
  an IAM OIDC provider for its issuer (client id ``sts.amazonaws.com``) and a statement in the
  role's trust policy (``{"Federated": <provider ARN>}``, ``StringEquals``/``StringLike`` on
  ``<issuer host>:sub`` and ``:aud``). STS verifies the token against the provider
  (``OidcIssuers.verify``: signature, issuer, audience, expiry) and then the trust policy with
  its conditions (``policy.Authorizer.web_identity``) before a session is opened.

KMS (``kms.py``): keys, aliases and key policies in moto's store, decided by the same IAM layer
(key policy + identity policies, as KMS evaluates them) and encrypted by the layer itself. The
same ``AWS_ENDPOINT_URL`` reaches it: botocore reads ``AWS_ENDPOINT_URL_KMS`` then
``AWS_ENDPOINT_URL`` (``botocore/configprovider.py``), and so does the AWS SDK for Go v2 that
the ``sops`` binary is built with; a secret created with ``KmsKeyId`` then needs
``kms:Decrypt``/``kms:GenerateDataKey`` on that key for its readers/writers. The course seed's
keys: ``alias/guard-dev`` (``dev-app`` decrypts) and ``alias/guard-prod`` (``prod-app``
decrypts); ``key_arn(alias)`` gives a key's ARN.

Determinism: moto's random generator is reseeded at ``reset()``; the same calls in the same
order give the same ARN suffixes. Version ids are the request's ``ClientRequestToken``, which
boto3 generates (uuid4) when the caller passes none, as against AWS: pass one to print stable
ids. ``arn(name)`` returns a secret's full ARN.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

try:
    import moto  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    from .. import EmulatorUnavailable

    raise EmulatorUnavailable(
        "the aws emulator needs moto[server] and boto3: pip install 'guardlib[aws]'"
    ) from exc

from ..kit import require_running
from ..seed import DEFAULT_REGION
from .routing import AwsApp, Server
from .state import WEB_IDENTITY_AUDIENCE, AwsState

if TYPE_CHECKING:
    from ..base import CloudContext
    from ..seed import SeedSpec


class AwsEmulator:
    name = "aws"
    hosts: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.state = AwsState()
        self._server: Server | None = None

    def start(self, ctx: CloudContext | None) -> None:
        if self._server is not None:
            return
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.state.oidc = ctx.oidc if ctx is not None else None
        self.state.ca = ctx.ca if ctx is not None else None
        self.state.new_start()  # new credentials for every start
        self.state.reset()
        app = AwsApp(self.state, ctx.faults if ctx is not None else None, self.name)
        self._server = Server(app)
        self._server.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def backend(self) -> tuple[str, int]:
        return require_running(self.name, self._server).address

    @property
    def endpoint_url(self) -> str:
        host, port = self.backend()
        return f"http://{host}:{port}"

    def env(self, identity: str | None = None) -> dict[str, str]:
        require_running(self.name, self._server)
        if identity is None:
            key, secret = self.state.admin_credentials()
            token = None
        else:
            with self.state.lock:
                key, secret, token = self.state.role_credentials(identity)
        env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_REGION": DEFAULT_REGION,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if token is not None:
            env["AWS_SESSION_TOKEN"] = token
        return env

    # -- workload identity federation (base.FederatedEmulator) ----------------------------------
    def federation_audience(self, identity: str) -> str:
        """``sts.amazonaws.com``: the audience aws-actions/configure-aws-credentials requests
        and the client id the IAM OIDC provider is created with."""
        return WEB_IDENTITY_AUDIENCE

    def federation_env(self, identity: str, token_file: Path) -> dict[str, str]:
        """What a CI job or pod has: the role to assume and the token file, which botocore's
        ``AssumeRoleWithWebIdentityProvider`` exchanges through STS (unsigned), re-reading the
        file at every refresh. The endpoint variables of :meth:`env`, and no access key."""
        require_running(self.name, self._server)
        with self.state.lock:
            role_arn = self.state.role_arn(identity)
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_REGION": DEFAULT_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ROLE_ARN": role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_ROLE_SESSION_NAME": "github-actions",
        }

    def reset(self) -> None:
        self.state.reset()

    def apply_seed(self, spec: SeedSpec) -> None:
        self.state.apply_seed(spec)

    def arn(self, name: str) -> str:
        """The full ARN (with its suffix) of the secret ``name`` in the default region."""
        with self.state.lock:
            secret = self.state.secrets().secrets.get(name)
        if secret is None:
            raise KeyError(f"no secret named {name!r} in {DEFAULT_REGION}")
        arn: str = secret.arn
        return arn

    def key_arn(self, alias: str) -> str:
        """The ARN of the KMS key that ``alias`` (``guard-dev`` or ``alias/guard-dev``) names in
        the default region: what a ``.sops.yaml`` rule or ``sops --kms`` takes."""
        with self.state.lock:
            arn = self.state.key_arn(alias)
        if arn is None:
            raise KeyError(f"no KMS key with the alias {alias!r} in {DEFAULT_REGION}")
        return arn


__all__ = ["AwsEmulator"]
