"""Official GitHub Actions' steps, as real code: what each action does, run as its own process.

``python -m guardlib.emulators.platforms.steps ACTION`` runs one action in the job's
environment, as the runner runs a JavaScript action: its inputs in ``INPUT_<NAME>`` variables
(``core.getInput``: ``INPUT_`` + the name upper-cased, spaces as ``_``; dashes stay), its
exports appended to the file ``GITHUB_ENV`` names and its outputs to ``GITHUB_OUTPUT``
(``core.exportVariable``/``core.setOutput``: ``NAME<<ghadelimiter_<uuid>`` heredocs,
actions/toolkit ``packages/core/src/file-command.ts``), masks as ``::add-mask::`` lines on
stdout and a failure as ``::error::`` and exit code 1 (``core.setFailed``). The runner
(``github.py``) reads those files after the step, as the real runner does.

It uses only the standard library and the vendor SDK the action itself uses (the AWS SDK for
``configure-aws-credentials``; the other two speak plain HTTPS), through ``HTTPS_PROXY`` and the
CA bundle of the environment, as the actions do. Nothing here prints a credential: values go to
the files and to ``::add-mask::`` lines, which the runner consumes.

ACTION is one of ``configure-aws-credentials``, ``google-github-actions-auth``, ``vault-action``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any


class StepError(Exception):
    """The action fails with this message (``core.setFailed``)."""


# -- @actions/core ---------------------------------------------------------------------------
def get_input(name: str, *, required: bool = False) -> str:
    """``core.getInput``: ``INPUT_<NAME>``, trimmed (actions/toolkit packages/core/src/core.ts)."""
    value = os.environ.get(f"INPUT_{name.replace(' ', '_').upper()}", "").strip()
    if required and not value:
        raise StepError(f"Input required and not supplied: {name}")
    return value


def set_secret(value: str) -> None:
    """``core.setSecret``: the runner masks it in every later log line."""
    if value:
        sys.stdout.write(f"::add-mask::{value}\n")


def _file_command(variable: str, key: str, value: str) -> None:
    """``issueFileCommand`` + ``prepareKeyValueMessage``: a heredoc appended to the file."""
    path = os.environ.get(variable, "")
    if not path:
        raise StepError(f"Unable to find environment variable for file command {variable[7:]}")
    if not Path(path).exists():
        raise StepError(f"Missing file at path: {path}")
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")


def export_variable(name: str, value: str) -> None:
    """``core.exportVariable``: this process and every later step (``GITHUB_ENV``)."""
    os.environ[name] = value
    _file_command("GITHUB_ENV", name, value)


def set_output(name: str, value: str) -> None:
    """``core.setOutput``: ``steps.<id>.outputs.<name>`` for later steps (``GITHUB_OUTPUT``)."""
    _file_command("GITHUB_OUTPUT", name, value)


def info(message: str) -> None:
    sys.stdout.write(message + "\n")


def _context() -> ssl.SSLContext:
    # Node's TLS trusts NODE_EXTRA_CA_CERTS; here the job's CA bundle, as a Python tool would
    cafile = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    return ssl.create_default_context(cafile=cafile or None)


def _http(
    method: str, url: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, Any]:
    """(status, parsed JSON or None) through the environment's proxy (``HTTPS_PROXY``)."""
    if not url.startswith(("https://", "http://")):
        raise StepError("only http(s) URLs are fetched")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=_context())
    )
    try:
        with opener.open(request, timeout=30) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def get_id_token(audience: str | None = None) -> str:
    """``core.getIDToken`` (actions/toolkit packages/core/src/oidc-utils.ts, @actions/core
    3.0.1): ``${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${encodeURIComponent(audience)}`` with
    ``Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}``; the answer's ``value``."""
    token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not token:
        raise StepError("Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_TOKEN env variable")
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    if not url:
        raise StepError("Error message: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable")
    if audience:
        url = f"{url}&audience={urllib.parse.quote(audience, safe=_URI_COMPONENT_SAFE)}"
    status, document = _http(
        "GET", url, {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    if status != 200:
        raise StepError(
            f"Error message: Failed to get ID Token. Error Code : {status} "
            f"Error Message: {(document or {}).get('message', '')}"
        )
    value = (document or {}).get("value")
    if not value:
        raise StepError("Error message: Response json body do not have ID Token field")
    set_secret(value)
    return str(value)


#: the characters JavaScript's encodeURIComponent leaves alone
_URI_COMPONENT_SAFE = "-_.!~*'()"


# -- aws-actions/configure-aws-credentials (v6.2.3) ------------------------------------------
def configure_aws_credentials() -> None:
    """src/index.ts ``run()`` with ``role-to-assume`` and the GitHub OIDC provider: export the
    region first (``exportRegion``), get the runner token for ``audience`` (default
    ``sts.amazonaws.com``, action.yml), call ``AssumeRoleWithWebIdentity`` (src/assumeRole.ts
    ``assumeRoleWithOIDC``: RoleArn, RoleSessionName default ``GitHubActions``, DurationSeconds
    default 3600), export the three credential variables (``exportCredentials``, each masked),
    then ``GetCallerIdentity`` and the outputs ``aws-account-id`` and ``authenticated-arn``
    (``exportAccountId``). Access keys and the ``aws-profile`` mode are not reproduced."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    region = get_input("aws-region", required=True)
    if not re.fullmatch(r"[a-z0-9-]+", region):
        raise StepError(f"Region is not valid: {region}")
    role = get_input("role-to-assume")
    if not role:
        raise StepError("role-to-assume is required here (access keys are not reproduced)")
    audience = get_input("audience") or "sts.amazonaws.com"
    session_name = get_input("role-session-name") or "GitHubActions"
    if not re.fullmatch(r"[\w+=,.@-]*", session_name):
        raise StepError(
            f"Role session name is not valid: '{session_name}'. Must satisfy regular "
            "expression pattern: [\\w+=,.@-]*"
        )
    duration = int(get_input("role-duration-seconds") or 0) or 3600
    export_variable("AWS_DEFAULT_REGION", region)
    export_variable("AWS_REGION", region)
    try:
        web_identity_token = get_id_token(audience)
    except StepError as error:
        raise StepError(f"getIDToken call failed: {error}") from None
    if not role.startswith("arn:aws"):
        raise StepError(
            "Source Account ID is needed if the Role Name is provided and not the Role Arn."
        )
    session = boto3.session.Session(region_name=region)
    sts = session.client("sts")
    info("Assuming role with OIDC")
    try:
        answer = sts.assume_role_with_web_identity(
            RoleArn=role,
            RoleSessionName=session_name,
            DurationSeconds=duration,
            WebIdentityToken=web_identity_token,
        )
    except (ClientError, BotoCoreError) as error:
        raise StepError(f"Could not assume role with OIDC: {_aws_message(error)}") from None
    credentials = answer["Credentials"]
    info(f"Authenticated as assumedRoleId {answer['AssumedRoleUser']['AssumedRoleId']}")
    for name in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
        set_secret(credentials[name])
    export_variable("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    export_variable("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    export_variable("AWS_SESSION_TOKEN", credentials["SessionToken"])
    checked = session.client(
        "sts",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).get_caller_identity()
    set_output("aws-account-id", checked["Account"])
    set_output("authenticated-arn", checked["Arn"])


def _aws_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        found = response.get("Error", {})
        return f"{found.get('Code', '')}: {found.get('Message', '')}".strip(": ")
    return type(error).__name__


# -- google-github-actions/auth (v3.0.0) -----------------------------------------------------
def google_github_actions_auth() -> None:
    """src/main.ts with ``workload_identity_provider`` (+ ``service_account``): the token for
    ``audience`` (default ``https://iam.googleapis.com/<provider>``), then the credentials file
    ``gha-creds-<16 hex>.json`` in ``GITHUB_WORKSPACE`` (``createCredentialsFile`` in
    src/client/workload_identity_federation.ts: ``credential_source`` is the runner's URL with
    ``audience`` set, the ``Authorization: Bearer <request token>`` header and the JSON format),
    the output ``credentials_file_path`` and the exports ``CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE``,
    ``GOOGLE_APPLICATION_CREDENTIALS``, ``GOOGLE_GHA_CREDS_PATH``; the project outputs and
    exports; then ``getToken()`` (the STS exchange) and the masked output ``auth_token``."""
    provider = get_input("workload_identity_provider")
    if not provider or get_input("credentials_json"):
        raise StepError(
            'The GitHub Action workflow must specify exactly one of "workload_identity_provider" '
            'or "credentials_json"! (credentials_json, a key, is not reproduced)'
        )
    service_account = get_input("service_account")
    audience = get_input("audience") or f"https://iam.googleapis.com/{provider}"
    create_file = get_input("create_credentials_file").lower() != "false"
    export = get_input("export_environment_variables").lower() != "false"
    request_url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not request_url or not request_token:
        raise StepError(
            "GitHub Actions did not inject $ACTIONS_ID_TOKEN_REQUEST_TOKEN or "
            '$ACTIONS_ID_TOKEN_REQUEST_URL into this job. Add "id-token: write" to permissions.'
        )
    oidc_token = get_id_token(audience)
    sts_audience = f"//iam.googleapis.com/{provider}"
    if create_file:
        workspace = os.environ.get("GITHUB_WORKSPACE")
        if not workspace:
            raise StepError("$GITHUB_WORKSPACE is not set")
        # new URL(...).searchParams.set('audience', ...): the query re-serialized, form-encoded
        parts = urllib.parse.urlsplit(request_url)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "audience"]
        query.append(("audience", audience))
        url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        data: dict[str, Any] = {
            "type": "external_account",
            "audience": sts_audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {
                "url": url,
                "headers": {"Authorization": f"Bearer {request_token}"},
                "format": {"type": "json", "subject_token_field_name": "value"},
            },
        }
        if service_account:
            data["service_account_impersonation_url"] = (
                "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
                f"{service_account}:generateAccessToken"
            )
        path = Path(workspace) / f"gha-creds-{secrets.token_hex(8)}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))
        info(f'Created credentials file at "{path}"')
        set_output("credentials_file_path", str(path))
        if export:
            export_variable("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", str(path))
            export_variable("GOOGLE_APPLICATION_CREDENTIALS", str(path))
            export_variable("GOOGLE_GHA_CREDS_PATH", str(path))
    project = get_input("project_id") or _project_of(service_account)
    if project:
        set_output("project_id", project)
        if export:
            for name in ("CLOUDSDK_CORE_PROJECT", "CLOUDSDK_PROJECT", "GCLOUD_PROJECT",
                         "GCP_PROJECT", "GOOGLE_CLOUD_PROJECT"):  # fmt: skip
                export_variable(name, project)
    status, answer = _http(
        "POST",
        "https://sts.googleapis.com/v1/token",
        {"Content-Type": "application/json", "Accept": "application/json"},
        json.dumps(
            {
                "audience": sts_audience,
                "grantType": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requestedTokenType": "urn:ietf:params:oauth:token-type:access_token",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "subjectTokenType": "urn:ietf:params:oauth:token-type:jwt",
                "subjectToken": oidc_token,
            }
        ).encode(),  # fmt: skip
    )
    if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        code = (answer or {}).get("error", status) if isinstance(answer, dict) else status
        raise StepError(
            f"Failed to generate Google Cloud federated token for {sts_audience}: {code}"
        )
    set_secret(answer["access_token"])
    set_output("auth_token", answer["access_token"])


def _project_of(email: str) -> str:
    """``projectIDFromServiceAccountEmail``: the project of a user-managed service account."""
    found = re.fullmatch(r"[^@]+@([^.]+)\.iam\.gserviceaccount\.com", email or "")
    return found.group(1) if found else ""


# -- hashicorp/vault-action (v3.4.0) ---------------------------------------------------------
def vault_action() -> None:
    """src/action.js with ``method: jwt`` (src/auth.js ``retrieveToken``: the runner token for
    ``jwtGithubAudience``, none by default, so ``aud`` is ``https://github.com/OWNER``; POST
    ``{url}/v1/auth/{path}/login`` with ``{jwt, role}``): the token is masked, exported as
    ``VAULT_TOKEN`` only with ``exportToken: true`` and output as ``vault_token`` only with
    ``outputToken: true``. Each ``secrets:`` line (``PATH KEY | NAME``) is read, masked, output
    as NAME and, with ``exportEnv`` (default true), exported to EVERY later step's environment:
    the action's own README calls these environment variables; the course calls it a leak."""
    url = get_input("url", required=True).rstrip("/")
    method = (get_input("method") or "token").lower()
    if method != "jwt":
        raise StepError("only method: jwt is reproduced offline")
    role = get_input("role")
    mount = get_input("path") or method
    audience = get_input("jwtGithubAudience") or None
    export_env = get_input("exportEnv") != "false"
    output_token = (get_input("outputToken") or "false").lower() != "false"
    export_token = (get_input("exportToken") or "false").lower() != "false"
    jwt = get_id_token(audience)
    status, answer = _http(
        "POST",
        f"{url}/v1/auth/{mount}/login",
        {"Content-Type": "application/json"},
        json.dumps({"jwt": jwt, "role": role}).encode(),
    )
    auth = (answer or {}).get("auth") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(auth, dict) or not auth.get("client_token"):
        errors = (answer or {}).get("errors") if isinstance(answer, dict) else None
        raise StepError(f"Response code {status} ({'; '.join(errors or [])})")
    token = str(auth["client_token"])
    set_secret(token)
    if output_token:
        set_output("vault_token", token)
    if export_token:
        export_variable("VAULT_TOKEN", token)
    for line in re.split(r"[;\n]", get_input("secrets")):
        if not line.strip():
            continue
        spec, _, rename = line.partition("|")
        path, _, selector = spec.strip().partition(" ")
        selector = selector.strip()
        status, answer = _http("GET", f"{url}/v1/{path.strip()}", {"X-Vault-Token": token})
        data = (answer or {}).get("data") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(data, dict):
            raise StepError(f"Response code {status}")
        if isinstance(data.get("data"), dict) and "metadata" in data:  # KV v2
            data = data["data"]
        if selector not in data:
            raise StepError(f'Unable to retrieve result for "{path.strip()}"')
        value = str(data[selector])
        for part in value.replace("\r", "").split("\n"):
            set_secret(part)
        name = rename.strip() or re.sub(r"[^\w]", "_", selector)
        if export_env:
            export_variable(name if rename.strip() else name.upper(), value)
        set_output(name, value)


ACTIONS = {
    "configure-aws-credentials": configure_aws_credentials,
    "google-github-actions-auth": google_github_actions_auth,
    "vault-action": vault_action,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ACTIONS:
        sys.stderr.write(f"usage: python -m {__name__} {{{','.join(ACTIONS)}}}\n")
        return 2
    try:
        ACTIONS[argv[0]]()
    except StepError as error:
        sys.stdout.write(f"::error::{error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
