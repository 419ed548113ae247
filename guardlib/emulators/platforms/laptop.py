"""A developer's workstation: the files each SDK's default chain reads from ``HOME``.

- AWS: ``~/.aws/credentials`` (profile ``default``) and ``~/.aws/config`` (its region), as
  ``aws configure`` writes them (botocore ``SharedCredentialProvider``/``ConfigProvider``). The
  profile holds the identity's temporary session credentials (with ``aws_session_token``, as
  ``aws configure export-credentials`` or an SSO login gives them), never a long-lived key.
- Google Cloud: ``~/.config/gcloud/application_default_credentials.json``, an
  ``authorized_user`` file as ``gcloud auth application-default login`` writes it
  (google/auth/_cloud_sdk.py, google/oauth2/credentials.py): a client id and secret (public
  values of gcloud's OAuth client in real life) and a refresh token, which google-auth trades
  at ``https://oauth2.googleapis.com/token`` (served here, behind the gateway) for an access
  token. Offline the user's token acts as the identity's service account (the seed grants
  service accounts only); the developer's shell sets ``GOOGLE_CLOUD_PROJECT``, since without the
  gcloud CLI google-auth cannot ask it for the project.
- OpenBao/Vault: ``~/.vault-token`` as ``bao login``/``vault login`` writes it (hvac's
  ``utils.get_token_from_env`` reads it when ``VAULT_TOKEN`` is unset); ``VAULT_ADDR`` is the
  developer's shell configuration.
- Azure: not reproduced (``az login``; see the platform's offline_note).

``HOME`` is the one platform variable: a private folder with those files.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from ..kit.files import write_private
from ..kit.server import Handler, LoopbackHTTPServer, Response
from .wiring import wiring

if TYPE_CHECKING:
    from .model import Job

OAUTH_HOST = "oauth2.googleapis.com"
_LOCK = threading.Lock()


class OAuthTokenEndpoint:
    """``POST https://oauth2.googleapis.com/token`` with ``grant_type=refresh_token``: the
    refresh token of a laptop's ADC file -> an access token for its account. An unknown
    refresh token or client is Google's ``400 invalid_grant`` (``Token has been expired or
    revoked.``), a wrong client secret ``401 invalid_client``."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self.refresh_tokens: dict[
            str, tuple[str, str, str]
        ] = {}  # token -> (client, secret, email)
        tls = job.cloud.ca.server_context(OAUTH_HOST)
        self._httpd = LoopbackHTTPServer(
            self._respond,
            tls,
            reject=lambda status, message: _json(
                status, {"error": "invalid_request", "error_description": message}
            ),
            max_body=16 * 1024,
            name="guardlib-oauth2",
        ).start()
        self._backend = self.backend  # one object, for gateway.unroute
        job.cloud.gateway.route(f"{OAUTH_HOST}:443", self._backend)

    def backend(self) -> tuple[str, int]:
        return self._httpd.address

    def _respond(self, handler: Handler, body: bytes) -> Response:
        if handler.command != "POST" or handler.path.split("?", 1)[0] != "/token":
            return _json(404, {"error": "not_found"})
        try:
            pairs = parse_qsl(body.decode("utf-8"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return _json(400, {"error": "invalid_request"})
        form = dict(pairs)
        if len(form) != len(pairs):
            return _json(400, {"error": "invalid_request"})
        if form.get("grant_type") != "refresh_token":
            return _json(400, {"error": "unsupported_grant_type",
                               "error_description": "Invalid grant_type: "})  # fmt: skip
        found = self.refresh_tokens.get(form.get("refresh_token", ""))
        if found is None or found[0] != form.get("client_id"):
            refusal = {"error": "invalid_grant",
                       "error_description": "Token has been expired or revoked."}  # fmt: skip
            return _json(400, refusal)
        if not secrets.compare_digest(found[1], form.get("client_secret", "")):
            return _json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        token = self._job.emulator("gcp").auth.issue_token(found[2])
        return _json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                           "scope": "https://www.googleapis.com/auth/cloud-platform"})  # fmt: skip

    def stop(self) -> None:
        self._job.cloud.gateway.unroute(self._backend)
        self._httpd.stop()


def _json(status: int, document: object) -> Response:
    return (
        status,
        {"Content-Type": "application/json; charset=utf-8"},
        json.dumps(document).encode(),
    )


def laptop(job: Job) -> dict[str, str]:
    assert job.identity is not None
    identity = job.identity
    home = Path(tempfile.mkdtemp(prefix="laptop-", dir=job.cloud.workdir))
    for folder in (home / ".aws", home / ".config" / "gcloud"):
        folder.mkdir(mode=0o700, parents=True)
    env = {**wiring(job), "HOME": str(home)}
    if job.served("aws"):
        from ..seed import DEFAULT_REGION

        aws = job.emulator("aws")
        with aws.state.lock:
            key, secret, token = aws.state.role_credentials(identity)
        write_private(home / ".aws" / "credentials", (
            "[default]\n"
            f"aws_access_key_id = {key}\n"
            f"aws_secret_access_key = {secret}\n"
            f"aws_session_token = {token}\n"
        ))  # fmt: skip
        write_private(home / ".aws" / "config", f"[default]\nregion = {DEFAULT_REGION}\n")
    if job.served("gcp"):
        from ..gcp import PROJECT_ID, email_of

        with _LOCK:
            endpoint = job.cloud.platform_servers.get("gcp-oauth2")
            if endpoint is None:
                endpoint = job.cloud.platform_servers["gcp-oauth2"] = OAuthTokenEndpoint(job)
        client_id = (
            f"{secrets.randbelow(10**12):012d}-{secrets.token_hex(16)}.apps.googleusercontent.com"
        )
        client_secret = "d-" + secrets.token_urlsafe(18)
        refresh = "1//" + secrets.token_urlsafe(60)
        endpoint.refresh_tokens[refresh] = (client_id, client_secret, email_of(identity))
        adc = {
            "account": "",
            "client_id": client_id,
            "client_secret": client_secret,
            "quota_project_id": PROJECT_ID,
            "refresh_token": refresh,
            "type": "authorized_user",
            "universe_domain": "googleapis.com",
        }
        write_private(
            home / ".config" / "gcloud" / "application_default_credentials.json",
            json.dumps(adc, indent=2),
        )
        env["GOOGLE_CLOUD_PROJECT"] = PROJECT_ID  # the developer's shell configuration
    if job.served("vault"):
        vault = job.emulator("vault")
        write_private(home / ".vault-token", vault.env(identity)["VAULT_TOKEN"])
        env["VAULT_ADDR"] = vault.addr  # the developer's shell configuration
    return env
