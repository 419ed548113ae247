"""Who a platform's process is: the identity it acts as and its OIDC subject, checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import PlatformError

if TYPE_CHECKING:
    from .model import Platform

#: the Kubernetes namespace of the course's pods: a pod's subject is
#: ``system:serviceaccount:wallet:<identity>`` unless one is given
NAMESPACE = "wallet"
EXAMPLE_SUBJECT = "repo:codehive/wallet:ref:refs/heads/main"


def pod_subject(identity: str) -> str:
    return f"system:serviceaccount:{NAMESPACE}:{identity}"


def known_identities(cloud: Any) -> list[str]:
    names = set(cloud.identities) | {t.identity for t in cloud.trusts}
    return sorted(names)


def check_identity(cloud: Any, identity: str) -> None:
    """A clear error for an identity the seed never named (a typo), listing the known ones."""
    known = known_identities(cloud)
    if identity != "admin" and identity not in known:
        listed = ", ".join(known) if known else "none: the seed names no identity"
        raise PlatformError(f"unknown identity {identity[:60]!r}; the seed's identities: {listed}")


def resolve(
    cloud: Any, platform: Platform, identity: str | None, subject: str | None
) -> tuple[str | None, str | None]:
    """(identity, subject) for ``platform``, with defaults filled in and typos refused."""
    if identity is not None:
        check_identity(cloud, identity)
    issuer = platform.subject_issuer
    if issuer is None:
        if subject is not None:
            raise PlatformError(
                f"{platform.name} holds no OIDC token: drop the subject, or choose a platform "
                "whose workloads have one (github-actions..., eks-irsa, aks-workload-identity)"
            )
        if identity is None:
            listed = ", ".join(i for i in known_identities(cloud) if i != "admin") or "none"
            raise PlatformError(
                f"{platform.name}: name the identity its process runs as (--identity); "
                f"the seed's identities: {listed}"
            )
        return identity, None
    if identity == "admin":
        raise PlatformError("no workload may become the administrator")
    if subject is None:
        if issuer == "github":
            raise PlatformError(
                f"{platform.name}: give the job's OIDC subject (--oidc-subject), e.g. "
                f"{EXAMPLE_SUBJECT}"
            )
        if identity is None:
            trusted = [t for t in cloud.trusts if t.issuer == issuer and "*" not in t.subject]
            if not trusted:
                raise PlatformError(
                    f"{platform.name}: name the identity (--identity) or the pod's subject "
                    "(--oidc-subject system:serviceaccount:NAMESPACE:NAME)"
                )
            identity, subject = trusted[0].identity, trusted[0].subject
        else:
            subject = pod_subject(identity)
    cloud.oidc.check_subject(subject, issuer)  # SubjectError (a ValueError) says the shape
    if identity is None:
        matching = [t for t in cloud.trusts if t.issuer == issuer and t.matches(subject)]
        same_issuer = [t for t in cloud.trusts if t.issuer == issuer]
        pick = (matching or same_issuer or list(cloud.trusts))[:1]
        identity = pick[0].identity if pick else None
    return identity, subject
