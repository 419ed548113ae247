"""What the issuers say on the wire: OpenID discovery, JWKS, and the tokens' claim sets.

GitHub Actions' token format is documented in "About security hardening with OpenID Connect"
(docs.github.com): ``iss`` https://token.actions.githubusercontent.com, ``sub`` such as
``repo:OWNER/REPO:ref:refs/heads/main``, ``repo:OWNER/REPO:pull_request`` or
``repo:OWNER/REPO:environment:NAME``, the default ``aud`` ``https://github.com/OWNER``, and the
claims ``repository``, ``repository_owner``, ``ref``, ``ref_type``, ``event_name``,
``environment``, ``workflow``, ``job_workflow_ref``, ``run_id``, ``actor`` …
A Kubernetes projected service-account token has ``sub``
``system:serviceaccount:NAMESPACE:NAME`` and a ``kubernetes.io`` claim.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from ..kit.jwt import b64url

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
WORKFLOW_PATH = ".github/workflows/deploy.yml"

_GITHUB_SUBJECT = re.compile(
    r"repo:(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+):"
    r"(?:ref:(?P<ref>refs/[A-Za-z0-9_./-]+)|(?P<pr>pull_request)"
    r"|environment:(?P<env>[A-Za-z0-9_.-]+))"
)
_K8S_SUBJECT = re.compile(
    r"system:serviceaccount:(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?):(?P<sa>[a-z0-9]([-.a-z0-9]*[a-z0-9])?)"
)


class SubjectError(ValueError):
    """A subject this issuer would never put in a token."""


def discovery(issuer_url: str, jwks_uri: str) -> dict[str, Any]:
    return {
        "issuer": issuer_url,
        "jwks_uri": jwks_uri,
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub",
            "aud",
            "exp",
            "iat",
            "iss",
            "jti",
            "nbf",
            "ref",
            "repository",
            "repository_owner",
            "environment",
            "job_workflow_ref",
            "event_name",
        ],  # fmt: skip
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
    }


def jwk(kid: str, public_key: Any) -> dict[str, str]:
    numbers = public_key.public_numbers()

    def _int(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": _int(numbers.n), "e": _int(numbers.e)}  # fmt: skip


def github_claims(subject: str, audience: str) -> dict[str, Any]:
    """The claims GitHub Actions puts in a token for a job whose ``sub`` is ``subject``
    (times are added by the issuer)."""
    found = _GITHUB_SUBJECT.fullmatch(subject) if isinstance(subject, str) else None
    if found is None:
        raise SubjectError(
            "a GitHub Actions subject looks like repo:OWNER/REPO:ref:refs/heads/BRANCH, "
            "repo:OWNER/REPO:pull_request or repo:OWNER/REPO:environment:NAME"
        )
    repository = found["repo"]
    owner = repository.split("/")[0]
    if found["pr"]:
        ref, event, environment = "refs/pull/7/merge", "pull_request", None
    elif found["env"]:
        ref, event, environment = "refs/heads/main", "push", found["env"]
    else:
        ref, event, environment = found["ref"], "push", None
    claims: dict[str, Any] = {
        "jti": secrets.token_hex(16),
        "sub": subject,
        "aud": audience,
        "ref": ref,
        # GitHub's ref_type is "branch" or "tag" (github context, ``github.ref_type``); a pull
        # request's merge ref (refs/pull/N/merge) counts as a branch
        "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
        "repository": repository,
        "repository_owner": owner,
        "repository_visibility": "private",
        "event_name": event,
        "workflow": "deploy",
        "job_workflow_ref": f"{repository}/{WORKFLOW_PATH}@{ref}",
        "workflow_ref": f"{repository}/{WORKFLOW_PATH}@{ref}",
        "run_id": "1",
        "run_number": "1",
        "run_attempt": "1",
        "actor": "ruby",
        "runner_environment": "github-hosted",
    }
    if environment is not None:
        claims["environment"] = environment
    return claims


def kubernetes_claims(subject: str, audience: str) -> dict[str, Any]:
    found = _K8S_SUBJECT.fullmatch(subject) if isinstance(subject, str) else None
    if found is None:
        raise SubjectError("a Kubernetes subject looks like system:serviceaccount:NAMESPACE:NAME")
    return {
        "sub": subject,
        "aud": [audience],
        "kubernetes.io": {
            "namespace": found["ns"],
            "serviceaccount": {"name": found["sa"], "uid": secrets.token_hex(16)},
        },
    }
