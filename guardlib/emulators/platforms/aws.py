"""AWS runtimes: EKS (IRSA, Pod Identity), ECS, EC2 (IMDSv2) and Lambda.

Each gives botocore's default chain (``botocore/credentials.py``, ``create_credential_resolver``)
exactly one thing to find: environment credentials (Lambda), a web identity token file (IRSA),
a container credentials endpoint (Pod Identity, ECS) or the instance metadata service (EC2).
The credentials behind them are the seeded role's session in the AWS emulator
(``AwsState.role_credentials``), so IAM there decides what the process may read.

The two endpoint servers here are plain HTTP on 127.0.0.1, as the real ones are plain HTTP on a
link-local address: :class:`InstanceMetadata` (IMDSv2: ``PUT /latest/api/token`` first, then
GETs with ``X-aws-ec2-metadata-token``; a GET without a token is a 401, as on an instance whose
metadata options say ``HttpTokens: required``) and :class:`ContainerCredentials`.
"""

from __future__ import annotations

import datetime
import hmac
import json
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING

from ..kit.server import Handler, LoopbackHTTPServer, Response
from .model import PlatformError
from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job

#: EKS Pod Identity tokens carry this audience (docs: "Understand how EKS Pod Identity works")
POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"
IRSA_AUDIENCE = "sts.amazonaws.com"
#: projected service-account tokens of the IRSA webhook live a day (expirationSeconds 86400)
POD_TOKEN_LIFETIME = 86400
#: how long the served role credentials say they last (IMDS and the container endpoint rotate
#: them well before; botocore refreshes 15 minutes ahead of Expiration)
CREDENTIAL_LIFETIME = 6 * 3600


def _session(job: Job, identity: str) -> tuple[str, str, str]:
    aws = job.emulator("aws")
    with aws.state.lock:
        found: tuple[str, str, str] = aws.state.role_credentials(identity)
    return found


def _expiration() -> str:
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=CREDENTIAL_LIFETIME
    )
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _region_env() -> dict[str, str]:
    from ..seed import DEFAULT_REGION

    return {"AWS_REGION": DEFAULT_REGION, "AWS_DEFAULT_REGION": DEFAULT_REGION}


def _server(job: Job, key: str, factory):  # -> the platform server stored under ``key``
    servers = job.cloud.platform_servers
    with _LOCK:
        server = servers.get(key)
        if server is None:
            server = servers[key] = factory()
    return server


_LOCK = threading.Lock()


# -- EKS: IAM roles for service accounts ---------------------------------------------------
def eks_irsa(job: Job) -> dict[str, str]:
    """The EKS pod identity webhook's variables (aws/amazon-eks-pod-identity-webhook,
    pkg/handler/handler.go): ``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE`` (the projected
    token, audience ``sts.amazonaws.com``, at /var/run/secrets/eks.amazonaws.com/serviceaccount/
    token: here a private temporary file), ``AWS_STS_REGIONAL_ENDPOINTS=regional`` and the
    region variables. botocore's ``AssumeRoleWithWebIdentityProvider`` exchanges the token."""
    assert job.identity is not None and job.subject is not None
    aws = job.emulator("aws")
    with aws.state.lock:
        role_arn = aws.state.role_arn(job.identity)
    token = job.cloud.oidc.mint(
        job.subject, job.audience or IRSA_AUDIENCE, issuer="kubernetes",
        lifetime=POD_TOKEN_LIFETIME,
    )  # fmt: skip
    path = job.cloud.oidc.write_token(token, f"eks-irsa-{job.identity}-{secrets.token_hex(4)}")
    return {
        **wiring(job),
        **_region_env(),
        "AWS_ROLE_ARN": role_arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(path),
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    }


# -- container credentials (EKS Pod Identity, ECS) -------------------------------------------
class ContainerCredentials:
    """The container credentials endpoint: ``GET <path>`` answers the role's credentials.

    - EKS Pod Identity (``/v1/credentials``): the ``Authorization`` header must be the pod's
      projected token (audience ``pods.eks.amazonaws.com``), which the agent exchanges
      (``eks-auth:AssumeRoleForPodIdentity``) for the role its pod identity association names;
      here the token is verified against the cluster issuer and its ``sub`` looked up in the
      associations made by :func:`eks_pod_identity`. A missing or bad token is a 400 with
      the agent's JSON error (its exact text is not documented).
    - ECS (``/v2/credentials/<id>``): the path itself is the capability (the agent hands each
      task a random id), no header.
    """

    def __init__(self, job: Job) -> None:
        self._cloud = job.cloud
        self._job = job
        self.associations: dict[str, str] = {}  # pod subject -> identity
        self.tasks: dict[str, str] = {}  # /v2/credentials/<id> -> identity
        self._httpd = LoopbackHTTPServer(
            self._respond,
            reject=lambda status, message: _json(status, {"message": message}),
            max_body=0,
            name="guardlib-container-credentials",
        ).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.address[1]}"

    def _respond(self, handler: Handler, body: bytes) -> Response:
        if handler.command != "GET":
            return _json(405, {"message": "Method Not Allowed"})
        path = handler.path.split("?", 1)[0]
        if path == "/v1/credentials":
            identity = self._pod(handler.headers.get_all("Authorization") or [])
            if identity is None:
                message = "the service account token is missing or invalid"
                refusal = {"code": "InvalidTokenException", "message": message}
                return _json(400, refusal)
        else:
            identity = self.tasks.get(path)
            if identity is None:
                return _json(404, {"message": "Not Found"})
        key, secret, token = _session(self._job, identity)
        aws = self._job.emulator("aws")
        with aws.state.lock:
            role_arn = aws.state.role_arn(identity)
        document = {
            "AccessKeyId": key,
            "SecretAccessKey": secret,
            "Token": token,
            "Expiration": _expiration(),
        }
        if path == "/v1/credentials":
            document["AccountId"] = role_arn.split(":")[4]
        else:
            document["RoleArn"] = role_arn
        return _json(200, document)

    def _pod(self, authorization: list[str]) -> str | None:
        from ..kit.jwt import TokenError

        if len(authorization) != 1:
            return None
        try:
            issuer, claims = self._cloud.oidc.verify(
                authorization[0].strip(), audiences=[POD_IDENTITY_AUDIENCE]
            )
        except (TokenError, ValueError):
            return None
        if issuer.name != "kubernetes":
            return None
        return self.associations.get(str(claims.get("sub")))

    def stop(self) -> None:
        self._httpd.stop()


def _json(status: int, document: object) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


def eks_pod_identity(job: Job) -> dict[str, str]:
    """What the EKS Pod Identity webhook injects (docs: "Understand how EKS Pod Identity
    works"): ``AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials`` and
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (a projected token, audience
    ``pods.eks.amazonaws.com``); botocore's ``ContainerProvider`` sends the file's content as
    ``Authorization``. Offline the agent is on 127.0.0.1 (see the platform's offline_note)."""
    assert job.identity is not None and job.subject is not None
    server: ContainerCredentials = _server(job, "aws-container", lambda: ContainerCredentials(job))
    # the pod identity association (cluster, namespace, service account) -> role
    server.associations[job.subject] = job.identity
    token = job.cloud.oidc.mint(
        job.subject, POD_IDENTITY_AUDIENCE, issuer="kubernetes", lifetime=POD_TOKEN_LIFETIME
    )
    path = job.cloud.oidc.write_token(token, f"eks-pod-identity-{secrets.token_hex(4)}")
    return {
        **wiring(job),
        **_region_env(),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{server.base}/v1/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path),
    }


def ecs_task(job: Job) -> dict[str, str]:
    """An ECS task's role (docs: "Amazon ECS task IAM role"): the agent sets
    ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/<id>``, resolved by botocore against
    169.254.170.2 (``ContainerMetadataFetcher.IP_ADDRESS``); offline the same path is given as
    ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` on 127.0.0.1 (the only difference; see offline_note).
    ECS also sets ``AWS_REGION``/``AWS_DEFAULT_REGION`` on Fargate (platform 1.4)."""
    assert job.identity is not None
    server: ContainerCredentials = _server(job, "aws-container", lambda: ContainerCredentials(job))
    path = f"/v2/credentials/{uuid.uuid4()}"
    server.tasks[path] = job.identity
    return {
        **wiring(job),
        **_region_env(),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{server.base}{path}",
    }


# -- EC2: the instance metadata service, IMDSv2 ------------------------------------------------
class InstanceMetadata:
    """IMDS of one instance whose instance profile is ``identity``'s role (docs: "Use the
    Instance Metadata Service to access instance metadata", "Retrieve security credentials
    from instance metadata"). IMDSv2 only (``HttpTokens: required``):

    - ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1-21600) gives a
      session token; without the header a 400, with ``X-Forwarded-For`` a 403 (IMDS refuses
      forwarded PUTs, an SSRF guard);
    - every GET needs ``X-aws-ec2-metadata-token`` = a live token, else 401 Unauthorized;
    - ``/latest/meta-data/iam/security-credentials/`` names the role, ``.../<role>`` gives
      ``{"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId", "SecretAccessKey", "Token",
      "Expiration", "LastUpdated"}``; ``placement/availability-zone`` and ``placement/region``
      give where it runs (botocore's ``IMDSRegionProvider`` reads the zone).
    """

    def __init__(self, job: Job, identity: str) -> None:
        from ..seed import DEFAULT_REGION

        self._job = job
        self.identity = identity
        self.region = DEFAULT_REGION
        self.instance_id = "i-" + secrets.token_hex(9)[:17]
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._httpd = LoopbackHTTPServer(
            self._respond,
            reject=lambda status, message: _text(status, message),
            max_body=0,
            name="guardlib-imds",
        ).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.address[1]}/"

    def _respond(self, handler: Handler, body: bytes) -> Response:
        path = handler.path.split("?", 1)[0]
        if handler.command == "PUT":
            if path != "/latest/api/token":
                return _text(405, "Method Not Allowed")
            if handler.headers.get_all("X-Forwarded-For"):
                return _text(403, "Forbidden")
            ttl = handler.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return _text(400, "Bad Request")
            token = secrets.token_urlsafe(42)
            with self._lock:
                now = time.monotonic()
                self._tokens = {t: e for t, e in self._tokens.items() if e > now}
                self._tokens[token] = now + int(ttl)
            return 200, {"Content-Type": "text/plain",
                         "X-Aws-Ec2-Metadata-Token-Ttl-Seconds": ttl}, token.encode()  # fmt: skip
        if handler.command != "GET":
            return _text(405, "Method Not Allowed")
        presented = handler.headers.get("X-aws-ec2-metadata-token", "")
        with self._lock:
            expires = next(
                (e for t, e in self._tokens.items() if hmac.compare_digest(t, presented)), None
            )
        if expires is None or expires <= time.monotonic():
            return _text(401, "Unauthorized")
        return self._metadata(path)

    def _metadata(self, path: str) -> Response:
        aws = self._job.emulator("aws")
        with aws.state.lock:
            role = aws.state.role_arn(self.identity).rsplit("/", 1)[1]
        creds = "/latest/meta-data/iam/security-credentials/"
        if path == creds:
            return _text(200, role)
        if path in (creds + role, creds + role + "/"):
            key, secret, token = _session(self._job, self.identity)
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            document = {"Code": "Success", "LastUpdated": stamp, "Type": "AWS-HMAC",
                        "AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                        "Expiration": _expiration()}  # fmt: skip
            return 200, {"Content-Type": "text/plain"}, json.dumps(document, indent=2).encode()
        simple = {
            "/latest/meta-data/placement/availability-zone": f"{self.region}a",
            "/latest/meta-data/placement/availability-zone/": f"{self.region}a",
            "/latest/meta-data/placement/region": self.region,
            "/latest/meta-data/instance-id": self.instance_id,
        }
        if path in simple:
            return _text(200, simple[path])
        return _text(404, "Not Found")

    def stop(self) -> None:
        self._httpd.stop()


def _text(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/plain"}, text.encode()


def ec2(job: Job) -> dict[str, str]:
    """An instance with ``identity``'s instance profile. EC2 sets no environment variable; the
    wiring points botocore at this instance's IMDS with ``AWS_EC2_METADATA_SERVICE_ENDPOINT``
    (botocore/configprovider.py ``ec2_metadata_service_endpoint``) instead of 169.254.169.254."""
    assert job.identity is not None
    identity = job.identity
    server: InstanceMetadata = _server(
        job, f"aws-imds-{identity}", lambda: InstanceMetadata(job, identity)
    )
    from ..seed import DEFAULT_REGION

    return {
        **wiring(job, imds=True),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint,
        # application configuration: EC2 sets no region variable and botocore does not ask
        # IMDS for one (only its "auto" defaults mode does), so the deployment sets it
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
    }


# -- Lambda ----------------------------------------------------------------------------------
def lambda_function(job: Job) -> dict[str, str]:
    """A Python function's runtime variables (docs: "Working with Lambda environment
    variables", Defined runtime environment variables): the execution role's session in
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, the region, the
    function's name, version, memory, log group/stream, handler and runtime paths."""
    assert job.identity is not None
    key, secret, token = _session(job, job.identity)
    name = f"{job.identity}-fn"
    if not job.emulator("aws").state.role_by_arn(job.emulator("aws").state.role_arn(job.identity)):
        raise PlatformError(f"lambda: the seed has no role for {job.identity!r}")
    return {
        **wiring(job),
        **_region_env(),
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": token,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + secrets.token_hex(16),
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "app.handler",
        "TZ": ":UTC",
    }
