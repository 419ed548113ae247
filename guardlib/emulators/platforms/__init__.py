"""Platforms: what a real runtime (or an official GitHub Action's step) gives a process.

A snippet that "runs on EC2" or "runs after ``aws-actions/configure-aws-credentials``" must be
tested with exactly what that platform gives a process, and nothing a real process there would
not have. So each platform is data with its sources, and :func:`environment` builds its
environment against a running :class:`~guardlib.emulators.OfflineCloud`::

    from guardlib.emulators import platforms
    env = platforms.environment(cloud, "ec2", identity="dev-app")
    env = platforms.environment(cloud, "github-actions+configure-aws-credentials",
                                subject="repo:codehive/wallet:ref:refs/heads/main")

A spec is ``NAME`` (a key of :data:`PLATFORMS`) or ``github-actions+STEP`` (a key of
:data:`STEPS`: the runner's job, after that official action's step ran, with what the step
exported through ``GITHUB_ENV``).

What an environment holds, in three kinds (each builder says which variable is which):

1. **offline wiring**: the gateway (``HTTPS_PROXY``...), the local CA (``REQUESTS_CA_BUNDLE``...),
   the AWS endpoint (``AWS_ENDPOINT_URL``) and the override variables an SDK reads to find a
   metadata endpoint (``AWS_EC2_METADATA_SERVICE_ENDPOINT``, ``GCE_METADATA_HOST``,
   ``AZURE_POD_IDENTITY_AUTHORITY_HOST``). Offline they point at loopback; on the real platform
   they are absent and the SDK uses the link-local address. Nothing else about the process
   changes with them.
2. **the platform's own variables**: what the runtime, its agent or webhook, or the action sets
   (cited per variable).
3. **application configuration** the deployment sets for the app, which no platform invents:
   ``VAULT_URL`` (the Key Vault), ``VAULT_ADDR`` (OpenBao), ``AZURE_CLIENT_ID`` to pick a
   user-assigned identity, and for GitHub Actions the workflow's ``env:`` (from ``vars``).

Importing this package loads no SDK; builders import what they need when called.
"""

from __future__ import annotations

from typing import Any

from .model import RUNNER, Job, Platform, PlatformError, PlatformUnavailable, UnknownPlatform

_K8S = "kubernetes"
_GH = "github"

#: The course cluster's pods (namespace ``wallet``): service account ``prod-app`` may become
#: ``prod-app`` and ``dev-app`` ``dev-app`` on AWS (IRSA, Pod Identity) and Azure (AKS
#: workload identity). GKE pods need no trust (the GKE metadata server). ``emulators up``'s
#: ``course`` seed adds these to ``seed.COURSE``'s CI trusts.
POD_TRUSTS: list[dict[str, Any]] = [
    {"identity": name, "issuer": _K8S, "subject": f"system:serviceaccount:wallet:{name}",
     "clouds": ["aws", "azure"]}
    for name in ("prod-app", "dev-app")
]  # fmt: skip

PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "github-actions",
            (),
            "A GitHub Actions job with `permissions: id-token: write`: the runner's "
            "ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN and GITHUB_* context variables, no cloud "
            "credential",
            (
                "actions/toolkit packages/core/src/oidc-utils.ts (@actions/core 3.0.1)",
                "actions/runner PR #1287 (the variables in `run` steps)",
                "docs.github.com: Variables reference, Default environment variables",
            ),
            builder="github:runner_environment",
            subject_issuer=_GH,
        ),
        Platform(
            "eks-irsa",
            ("aws",),
            "An EKS pod with IAM roles for service accounts: AWS_ROLE_ARN and a projected "
            "service-account token in AWS_WEB_IDENTITY_TOKEN_FILE (botocore's "
            "AssumeRoleWithWebIdentityProvider)",
            (
                "aws/amazon-eks-pod-identity-webhook pkg/handler/handler.go (the variables)",
                "botocore/credentials.py AssumeRoleWithWebIdentityProvider",
                "docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html",
            ),
            builder="aws:eks_irsa",
            subject_issuer=_K8S,
        ),
        Platform(
            "eks-pod-identity",
            ("aws",),
            "An EKS pod with EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI and "
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (botocore's ContainerProvider)",
            (
                "docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html",
                "botocore/credentials.py ContainerProvider, botocore/utils.py "
                "ContainerMetadataFetcher",
            ),
            offline_note="the agent listens on 169.254.170.23:80; offline on 127.0.0.1 "
            "(botocore accepts any loopback FULL_URI), the token path is a temporary file",
            builder="aws:eks_pod_identity",
            subject_issuer=_K8S,
        ),
        Platform(
            "ecs-task",
            ("aws",),
            "An ECS task with a task role: the container credentials endpoint "
            "(botocore's ContainerProvider)",
            (
                "docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
                "botocore/utils.py ContainerMetadataFetcher (IP_ADDRESS 169.254.170.2)",
            ),
            offline_note="the ECS agent sets AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, which "
            "botocore always resolves against http://169.254.170.2 (no variable moves it): "
            "offline the same endpoint and path are given as AWS_CONTAINER_CREDENTIALS_FULL_URI "
            "on 127.0.0.1, which botocore reads with the same ContainerProvider",
            builder="aws:ecs_task",
        ),
        Platform(
            "ec2",
            ("aws",),
            "An EC2 instance with an instance profile, IMDSv2 required: PUT a token first, "
            "then GET the role's credentials (botocore's InstanceMetadataProvider)",
            (
                "botocore/utils.py IMDSFetcher, InstanceMetadataFetcher",
                "docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html",
                "docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-security-credentials.html",
            ),
            offline_note="IMDS is at 169.254.169.254; offline at a loopback port given as "
            "AWS_EC2_METADATA_SERVICE_ENDPOINT (botocore's documented override)",
            builder="aws:ec2",
        ),
        Platform(
            "lambda",
            ("aws",),
            "An AWS Lambda function: the execution role's temporary credentials in "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN and the runtime's "
            "variables (botocore's EnvProvider)",
            (
                "docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html "
                "(Defined runtime environment variables)",
            ),  # fmt: skip
            builder="aws:lambda_function",
        ),
        Platform(
            "aks-workload-identity",
            ("azure",),
            "An AKS pod with Microsoft Entra Workload ID: the webhook's AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST "
            "(azure-identity's WorkloadIdentityCredential)",
            (
                "Azure/azure-workload-identity pkg/webhook/consts.go (the variables)",
                "azure/identity/_credentials/workload_identity.py",
                "learn.microsoft.com/azure/aks/workload-identity-overview",
            ),
            offline_note="the cluster's issuer is an EKS-style URL of the offline issuer (an "
            "AKS issuer is https://<region>.oic.prod-aks.azure.com/<tenant>/<id>/)",
            builder="azure:aks_workload_identity",
            subject_issuer=_K8S,
        ),
        Platform(
            "app-service",
            ("azure",),
            "An App Service or Functions app with a managed identity: IDENTITY_ENDPOINT and "
            "IDENTITY_HEADER (azure-identity's AppServiceCredential)",
            (
                "learn.microsoft.com/azure/app-service/overview-managed-identity "
                "(REST endpoint reference)",
                "azure/identity/_credentials/managed_identity.py, app_service.py",
            ),
            builder="azure:app_service",
        ),
        Platform(
            "azure-functions",
            ("azure",),
            "An Azure Functions app (Python) with a managed identity: App Service's "
            "IDENTITY_ENDPOINT and IDENTITY_HEADER, plus the Functions runtime settings",
            (
                "learn.microsoft.com/azure/app-service/overview-managed-identity (App Service "
                "and Azure Functions)",
                "learn.microsoft.com/azure/azure-functions/functions-app-settings",
            ),
            builder="azure:functions",
        ),
        Platform(
            "azure-vm",
            ("azure",),
            "An Azure VM with a system-assigned managed identity: the Instance Metadata "
            "Service token endpoint with `Metadata: true` (azure-identity's ImdsCredential)",
            (
                "learn.microsoft.com/entra/identity/managed-identities-azure-resources/"
                "how-to-use-vm-token",
                "azure/identity/_credentials/imds.py, msal/managed_identity.py",
            ),
            offline_note="IMDS is at 169.254.169.254; offline at a loopback port given as "
            "AZURE_POD_IDENTITY_AUTHORITY_HOST (the override azure-identity and msal read)",
            builder="azure:azure_vm",
        ),
        Platform(
            "gce",
            ("gcp",),
            "A Compute Engine VM with an attached service account: the metadata server "
            "(google-auth's compute_engine.Credentials)",
            (
                "cloud.google.com/compute/docs/metadata/querying-metadata",
                "google/auth/compute_engine/_metadata.py, credentials.py",
            ),
            offline_note="the metadata server is at 169.254.169.254 (metadata.google.internal); "
            "offline at a loopback port given as GCE_METADATA_HOST/GCE_METADATA_IP "
            "(google-auth's documented override)",
            builder="gcp:gce",
        ),
        Platform(
            "cloud-run",
            ("gcp",),
            "A Cloud Run service: the metadata server, plus the container contract's "
            "K_SERVICE, K_REVISION, K_CONFIGURATION and PORT",
            (
                "cloud.google.com/run/docs/container-contract (environment variables, "
                "metadata server)",
                "google/auth/compute_engine/_metadata.py",
            ),
            offline_note="as gce: the metadata server is on loopback via GCE_METADATA_HOST",
            builder="gcp:cloud_run",
        ),
        Platform(
            "gke",
            ("gcp",),
            "A GKE pod with Workload Identity Federation for GKE: the GKE metadata server "
            "answers for the Kubernetes service account's IAM service account",
            (
                "cloud.google.com/kubernetes-engine/docs/concepts/workload-identity",
                "kubernetes.io/docs/concepts/services-networking/service/#environment-variables",
            ),
            offline_note="as gce: the metadata server is on loopback via GCE_METADATA_HOST",
            builder="gcp:gke",
        ),
        Platform(
            "vault-agent",
            ("vault",),
            "An app beside a Vault Agent (OpenBao's `bao agent`) that logs in with AppRole "
            "and keeps a token in a file sink, here the app user's ~/.vault-token",
            (
                "openbao.org/docs/agent-and-proxy/agent (auto-auth, approle method, file sink)",
                "hvac/utils.py get_token_from_env (~/.vault-token)",
            ),
            offline_note="the agent's configuration is the course's (sink in ~/.vault-token)",
            builder="vault:vault_agent",
        ),
        Platform(
            "laptop",
            ("aws", "gcp", "vault"),
            "A developer's workstation: a HOME with ~/.aws/credentials and ~/.aws/config "
            "(`aws configure`), gcloud's application-default credentials file (`gcloud auth "
            "application-default login`) and ~/.vault-token (`bao login`/`vault login`)",
            (
                "botocore/credentials.py SharedCredentialProvider, ConfigProvider",
                "google/auth/_cloud_sdk.py (application_default_credentials.json), "
                "google/oauth2/credentials.py (authorized_user)",
                "hvac/utils.py get_token_from_env (~/.vault-token)",
            ),
            offline_note="Azure is left out: a workstation signs in with `az login`, and "
            "AzureCliCredential runs the az CLI (`az account get-access-token`), which the "
            "offline cloud cannot be (no az here). The gcloud user account is, offline, the "
            "seeded identity's principal (the seed grants service accounts only)",
            builder="laptop:laptop",
        ),
    )
}

#: the official actions' steps on top of ``github-actions`` (spec ``github-actions+STEP``)
STEPS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "configure-aws-credentials",
            ("aws",),
            "aws-actions/configure-aws-credentials with role-to-assume: fetches the runner "
            "token for sts.amazonaws.com, calls AssumeRoleWithWebIdentity itself (session "
            "GitHubActions) and exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
            "AWS_SESSION_TOKEN, AWS_REGION and AWS_DEFAULT_REGION",
            (
                "aws-actions/configure-aws-credentials v6.2.3 src/index.ts, src/helpers.ts "
                "(exportCredentials, exportRegion, exportAccountId), src/assumeRole.ts",
            ),
            builder="github:configure_aws_credentials",
            subject_issuer=_GH,
        ),
        Platform(
            "google-github-actions-auth",
            ("gcp",),
            "google-github-actions/auth with workload_identity_provider and service_account: "
            "writes gha-creds-*.json (an external_account file whose credential_source is the "
            "runner's token URL plus its Authorization header) into GITHUB_WORKSPACE and "
            "exports GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE, "
            "GOOGLE_GHA_CREDS_PATH and the project variables",
            (
                "google-github-actions/auth v3.0.0 src/main.ts, "
                "src/client/workload_identity_federation.ts (createCredentialsFile)",
            ),
            builder="github:google_github_actions_auth",
            subject_issuer=_GH,
        ),
        Platform(
            "vault-action",
            ("vault",),
            "hashicorp/vault-action with method jwt: logs in itself with the runner's token "
            "and exportToken: true (VAULT_TOKEN for later steps); its `secrets:` input would "
            "export each secret's value to every later step (a leak), so it is not used",
            (
                "hashicorp/vault-action v3.4.0 src/action.js (exportToken, outputToken, "
                "exportEnv), src/auth.js (retrieveToken, method jwt)",
            ),  # fmt: skip
            builder="github:vault_action",
            subject_issuer=_GH,
        ),
        Platform(
            "azure-client-assertion",
            ("azure",),
            "No action: the workflow sets AZURE_CLIENT_ID and AZURE_TENANT_ID (from `vars`) "
            "and the code uses azure-identity's ClientAssertionCredential with a function "
            "that asks the runner for a token with audience api://AzureADTokenExchange",
            (
                "azure/identity/_credentials/client_assertion.py",
                "docs.github.com: OpenID Connect reference (requesting the token with curl)",
            ),
            builder="github:azure_client_assertion",
            subject_issuer=_GH,
        ),
        Platform(
            "azure-login",
            ("azure",),
            "azure/login with client-id/tenant-id: runs `az login --federated-token` and "
            "exports nothing; later code uses AzureCliCredential",
            ("Azure/login v3.0.0 src/Cli/AzureCliLogin.ts",),
            offline_reason="it runs the az CLI (`az login --federated-token ...`), and "
            "AzureCliCredential runs `az account get-access-token` afterwards: the offline cloud "
            "has no az CLI. Use github-actions+azure-client-assertion",
            subject_issuer=_GH,
        ),
    )
}


def known() -> list[str]:
    """Every spec string :func:`environment` accepts (and those it explains it cannot)."""
    return [*PLATFORMS, *(f"{RUNNER}+{step}" for step in STEPS)]


def parse(spec: str) -> Platform:
    """The platform (or step) a spec string names; :class:`UnknownPlatform` lists the known."""
    text = spec.strip() if isinstance(spec, str) else ""
    base, plus, step = text.partition("+")
    found = STEPS.get(step) if plus and base == RUNNER else None if plus else PLATFORMS.get(text)
    if found is None:
        raise UnknownPlatform(
            f"unknown platform {text[:80]!r}; known platforms: {', '.join(known())}"
        )
    return found


def environment(
    cloud: Any,
    spec: str,
    *,
    identity: str | None = None,
    subject: str | None = None,
    audience: str | None = None,
    inputs: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a process on platform ``spec`` (see the module docstring) of the
    running ``cloud`` (an :class:`~guardlib.emulators.OfflineCloud`), acting as
    ``identity`` (a seeded identity; for OIDC platforms the default is the identity the seed
    trusts for ``subject``). ``subject`` is the job's or pod's OIDC ``sub`` (required for
    ``github-actions``; a pod's default is ``system:serviceaccount:wallet:<identity>``);
    ``audience`` overrides the token audience of ``eks-irsa``/``aks-workload-identity``;
    ``inputs`` overrides a step's ``with:`` inputs."""
    platform = parse(spec)
    if platform.offline_reason is not None:
        raise PlatformUnavailable(f"{platform.name} cannot run offline: {platform.offline_reason}")
    running = [name for name in platform.clouds if name in cloud.emulators]
    if platform.name == "laptop" and platform.clouds and not running:
        raise PlatformUnavailable(
            f"laptop needs one of the {', '.join(platform.clouds)} emulators; none is running"
        )
    if platform.name != "laptop" and len(running) < len(platform.clouds):
        needed = ", ".join(platform.clouds)
        raise PlatformUnavailable(
            f"{platform.name} needs the {needed} emulator, which is not running here "
            "(start it: drop --only, or add it there)"
        )
    if audience is not None and (platform.subject_issuer is None or platform.name == RUNNER):
        raise PlatformError(
            f"{platform.name} takes no token audience: "
            + ("a step asks the runner for one per request (&audience=)"
               if platform.name == RUNNER else "its process holds no OIDC token")
        )  # fmt: skip
    from ._people import resolve

    identity, subject = resolve(cloud, platform, identity, subject)
    job = Job(cloud, platform, identity, subject, audience, dict(inputs or {}))
    return platform.build(job)


__all__ = [
    "PLATFORMS",
    "POD_TRUSTS",
    "STEPS",
    "Job",
    "Platform",
    "PlatformError",
    "PlatformUnavailable",
    "UnknownPlatform",
    "environment",
    "known",
    "parse",
]
