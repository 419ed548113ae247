"""The runner's token endpoint of a GitHub Actions job, as ``@actions/core`` calls it.

A job with ``permissions: id-token: write`` gets two variables (actions/runner PR #1287 and
#1234; GitHub docs, "OpenID Connect reference", "Methods for requesting the OIDC token"):

- ``ACTIONS_ID_TOKEN_REQUEST_URL``: a URL of the Actions service that already carries a query
  string (``...?api-version=2.0``), because the toolkit appends ``&audience=`` as text
  (actions/toolkit ``packages/core/src/oidc-utils.ts``, ``OidcClient.getIDToken``, @actions/core
  3.0.1: ``id_token_url = `${id_token_url}&audience=${encodeURIComponent(audience)}```);
- ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``: the bearer token for that URL
  (``new BearerCredentialHandler(OidcClient.getRequestToken())``).

``GET URL&audience=AUD`` with ``Authorization: Bearer TOKEN`` answers ``{"value": "<JWT>"}``
(``res.result?.value``); without ``audience`` the token's ``aud`` is the repository owner's
URL, ``https://github.com/OWNER`` (docs, "About security hardening with OpenID Connect").

Here the URL is ``https://pipelines.actions.githubusercontent.com/<id>/.../idtoken?api-version=2.0``,
the shape the hosted runners hand out (no client parses it; the path is per job), served by the
issuers' TLS server behind the gateway, so the actions' HTTP clients, google-auth's ``url``
credential source and a plain ``curl`` reach it exactly as on a runner (``HTTPS_PROXY``).

Refusals: a missing or wrong bearer token, or another job's token on this job's URL, is a 401
(the service answers 401 Unauthorized; its body is not documented, ours is a short JSON
message); a URL of no job is a 404; anything but GET/HEAD a 405; two ``audience`` parameters a
400 (which one would count?). A job's request token works for that job only, for as long as
the job runs (here: until the offline cloud stops or :meth:`RunnerJobs.end` is called).
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import protocol

RUNNER_HOST = "pipelines.actions.githubusercontent.com"
API_VERSION = "2.0"
#: the ID tokens live five minutes (exp - iat in the example token of GitHub's docs, "About
#: security hardening with OpenID Connect"): a step asks for a fresh one when it needs one
ID_TOKEN_LIFETIME = 300


@dataclasses.dataclass(frozen=True)
class RunnerJob:
    """One job: its subject, the claims its tokens carry, and the two runner variables."""

    subject: str
    url: str  # ACTIONS_ID_TOKEN_REQUEST_URL
    request_token: str = dataclasses.field(repr=False)  # ACTIONS_ID_TOKEN_REQUEST_TOKEN
    path: str = dataclasses.field(repr=False, default="")
    claims: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def env(self) -> dict[str, str]:
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }


class RunnerJobs:
    """The jobs of one offline cloud, by URL path."""

    def __init__(self, mint: Callable[..., str]) -> None:
        """``mint(subject, audience, issuer=, lifetime=, claims=)``: the issuers' signer."""
        self._mint = mint
        self._jobs: dict[str, RunnerJob] = {}
        self._lock = threading.Lock()

    def new(self, subject: str) -> RunnerJob:
        claims = protocol.github_claims(subject, "check")  # SubjectError for a bad subject
        # a run id of its own per job: GITHUB_RUN_ID and the token's run_id agree
        run_id = str(secrets.randbelow(9 * 10**9) + 10**9)
        claims.update(run_id=run_id)
        plan, job = uuid.uuid4(), uuid.uuid4()
        scope = secrets.token_urlsafe(24)
        path = (
            f"/{scope}/00000000-0000-0000-0000-000000000000/_apis/distributedtask/hubs/Actions/"
            f"plans/{plan}/jobs/{job}/idtoken"
        )
        found = RunnerJob(
            subject=subject,
            url=f"https://{RUNNER_HOST}{path}?api-version={API_VERSION}",
            request_token=secrets.token_urlsafe(48),
            path=path,
            claims={k: v for k, v in claims.items() if k not in ("aud", "jti")},
        )
        with self._lock:
            self._jobs[path] = found
        return found

    def end(self, job: RunnerJob) -> None:
        """The job is over: its URL and request token stop working."""
        with self._lock:
            self._jobs.pop(job.path, None)

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()

    def answer(self, method: str, target: str, authorization: list[str]) -> tuple[int, object]:
        """(status, JSON document) for one request to the runner's host."""
        if method not in ("GET", "HEAD"):
            return 405, {"message": "The requested resource does not support this method."}
        parts = urlsplit(target)
        with self._lock:
            job = self._jobs.get(parts.path)
        if job is None:
            return 404, {"message": "Not found."}
        presented = authorization[0] if len(authorization) == 1 else ""
        scheme, _, token = presented.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), job.request_token.encode()
        ):
            return 401, {"message": "Unauthorized: the bearer token is missing or not this job's."}
        query = parse_qsl(parts.query, keep_blank_values=True)
        audiences = [value for key, value in query if key == "audience"]
        if len(audiences) > 1:
            return 400, {"message": "The audience parameter may be given once."}
        owner = job.claims["repository_owner"]
        audience = audiences[0] if audiences and audiences[0] else f"https://github.com/{owner}"
        extra = {k: v for k, v in job.claims.items() if k != "sub"}
        value = self._mint(
            job.subject, audience, issuer="github", lifetime=ID_TOKEN_LIFETIME, claims=extra
        )
        return 200, {"value": value}
