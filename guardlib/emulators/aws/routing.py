"""Dispatch and server: a thin WSGI layer in front of moto's own WSGI application.

Every request goes through, in order: fault switches -> SigV4 (who is calling, is the signature
right) -> request validation moto skips -> authorization (identity policies + the secret's
resource policy, on the secret's real ARN) -> moto, under one lock -> stage invariants and
per-secret filtering of ``BatchGetSecretValue``. moto's own IAM checks stay off: they check
Secrets Manager against resource ``"*"`` and answer denials as XML ``403``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import errors, policy, protocol
from .errors import AwsError

if TYPE_CHECKING:
    from ..faults import Faults
    from .state import AwsState, Caller

StartResponse = Callable[..., Any]

NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
MAX_SECRET = 65536  # bytes, SecretString and SecretBinary alike

#: actions that act on no particular secret, checked against resource "*"
GLOBAL_ACTIONS = {"ListSecrets", "GetRandomPassword", "BatchGetSecretValue", "CreateSecret"}
#: actions after which moto's stage bookkeeping must be repaired
WRITES = {
    "CreateSecret", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage",
    "RotateSecret", "RestoreSecret", "CancelRotateSecret",
}  # fmt: skip


class AwsApp:
    """The WSGI application served on 127.0.0.1."""

    def __init__(self, state: AwsState, faults: Faults | None, service: str = "aws") -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.state = state
        self.faults = faults
        self.service = service
        self.moto = DomainDispatcherApplication(create_backend_app)
        #: signing service name -> moto's Flask app for it. moto's dispatcher finds the app
        #: anew for each request (stat()ing its package directories); the signature scope
        #: already names the service, so look it up once.
        self._apps: dict[str, Any] = {}

    # -- entry point -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        json_protocol = bool(protocol.header(environ, "x-amz-target"))
        try:
            self._fault(environ)
            return self._handle(environ, body, start_response)
        except AwsError as exc:
            status, headers, payload = exc.render_json() if json_protocol else exc.render_query()
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            return [payload]

    def _fault(self, environ: dict[str, Any]) -> None:
        if self.faults is None:
            return
        fault = self.faults.next(self.service)
        if fault is None:
            return
        if fault.kind == "latency":
            fault.sleep()
        elif fault.kind == "throttle":
            raise errors.throttled()
        elif fault.kind == "error":
            raise errors.server_error(fault.status)
        elif fault.kind == "reset":
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):  # drop it: the client reads no answer at all
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            raise errors.server_error(500)

    def _handle(
        self, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            raise AwsError("AccessDeniedException", "the moto API is not exposed here")
        auth = protocol.parse_authorization(environ.get("HTTP_AUTHORIZATION"))
        token = protocol.header(environ, "x-amz-security-token")
        caller = self.state.caller(auth.access_key_id, token)
        protocol.verify_signature(environ, body, auth, caller.secret_key)
        call = protocol.parse_call(environ, body, auth)
        if call.service == "secretsmanager" and call.json_protocol:
            return self._secretsmanager(call, caller, auth.region, environ, body, start_response)
        self._authorize_other(call, caller)
        status, headers, payload = self._forward(environ, body, call.service)
        start_response(status, headers)
        return [payload]

    # -- moto --------------------------------------------------------------------------------
    def _forward(
        self, environ: dict[str, Any], body: bytes, service: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        inner = dict(environ)
        inner["wsgi.input"] = io.BytesIO(body)
        inner["CONTENT_LENGTH"] = str(len(body))
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        app = self._apps.get(service)
        if app is None:
            app = self._apps[service] = self.moto.get_application(inner)
        chunks = app(inner, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return captured[0], list(captured[1]), payload

    # -- Secrets Manager ---------------------------------------------------------------------
    def _secretsmanager(
        self,
        call: protocol.Call,
        caller: Caller,
        region: str,
        environ: dict[str, Any],
        body: bytes,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        _validate(call)
        state = self.state
        with state.lock:
            backend = state.secrets(region)
            secret = None
            if call.action in GLOBAL_ACTIONS:
                resource = "*"
                if call.action == "CreateSecret":  # the ARN it will have, suffix unknown yet
                    resource = _arn(state.account, region, f"{call.params.get('Name')}-??????")
            else:
                secret_id = str(call.params.get("SecretId", ""))
                secret = backend.secrets.get(secret_id) if secret_id else None
                if secret is not None:
                    resource = secret.arn
                elif secret_id.startswith("arn:"):
                    resource = secret_id
                else:
                    resource = _arn(state.account, region, secret_id)
            self.authorize(caller, call.iam_action, resource, getattr(secret, "policy", None))
            if call.action == "RotateSecret" and secret is not None:
                if not call.params.get("RotationLambdaARN") and not secret.rotation_lambda_arn:
                    raise errors.invalid_request(errors.MSG_NO_LAMBDA)
            if call.action == "UpdateSecretVersionStage" and secret is not None:
                _check_stage_move(call.params, secret)
            status, headers, payload = self._forward(environ, body, call.service)
            if call.action in WRITES and status.startswith("200"):
                ids = [secret.name] if secret is not None else [str(call.params.get("Name"))]
                state.normalise(ids, region)
            if call.action == "BatchGetSecretValue" and status.startswith("200"):
                payload = self._filter_batch(caller, payload, backend)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def authorize(
        self, caller: Caller, action: str, resource: str, resource_policy: str | None = None
    ) -> None:
        identity = policy.evaluate(self.state.identity_policies(caller), action, resource)
        if identity is policy.Decision.DENY:
            raise errors.access_denied(caller.arn, action, resource, "deny-identity")
        granted = identity is policy.Decision.ALLOW
        if resource_policy:
            res = policy.evaluate(
                [resource_policy],
                action,
                resource,
                resource_policy=True,
                principal=caller.arn,
                role_arn=caller.role_arn,
                account=self.state.account,
            )
            if res is policy.Decision.DENY:
                raise errors.access_denied(caller.arn, action, resource, "deny-resource")
            granted = granted or res is policy.Decision.ALLOW
        if not granted:
            raise errors.access_denied(caller.arn, action, resource, "identity")

    def _filter_batch(self, caller: Caller, payload: bytes, backend: Any) -> bytes:
        """Real BatchGetSecretValue also needs GetSecretValue on each secret; the ones the
        caller may not read come back under ``Errors``, never in ``SecretValues``."""
        import json

        data = json.loads(payload)
        kept, denied = [], []
        for value in data.get("SecretValues", []):
            secret = backend.secrets.get(value["ARN"])
            try:
                self.authorize(
                    caller, "secretsmanager:GetSecretValue", value["ARN"], secret and secret.policy
                )
                kept.append(value)
            except AwsError as exc:
                denied.append(
                    {"SecretId": value["ARN"], "ErrorCode": exc.code, "Message": exc.message}
                )
        data["SecretValues"] = kept
        data["Errors"] = list(data.get("Errors") or []) + denied
        if not data.get("NextToken"):
            data.pop("NextToken", None)
        return json.dumps(data).encode()

    # -- STS, IAM and the rest ---------------------------------------------------------------
    def _authorize_other(self, call: protocol.Call, caller: Caller) -> None:
        if call.iam_action == "sts:GetCallerIdentity":
            return  # needs no permission, even under an explicit Deny
        if call.iam_action == "sts:AssumeRole":
            role_arn = str(call.params.get("RoleArn", ""))
            role_name = role_arn.rsplit("/", 1)[-1]
            role = next((r for r in self.state.iam.roles.values() if r.name == role_name), None)
            if role is None:
                raise errors.access_denied(caller.arn, call.iam_action, role_arn, "identity")
            trust = role.assume_role_policy_document
            trust = trust if isinstance(trust, str) else json_dumps(trust)
            named = policy.evaluate(
                [trust], call.iam_action, role_arn, resource_policy=True,
                principal=caller.arn, role_arn=caller.role_arn, account=self.state.account,
            )  # fmt: skip
            if named is policy.Decision.DENY:
                raise errors.access_denied(caller.arn, call.iam_action, role_arn, "deny-resource")
            if named is policy.Decision.ALLOW:
                return
            if not _trusts_account(trust, self.state.account):
                raise errors.access_denied(caller.arn, call.iam_action, role_arn, "identity")
            self.authorize(caller, call.iam_action, role_arn)
            return
        self.authorize(caller, call.iam_action, "*")


def json_dumps(value: Any) -> str:
    import json

    return json.dumps(value)


def _trusts_account(trust: str, account: str) -> bool:
    roots = (account, f"arn:aws:iam::{account}:root")
    for st in policy.statements(trust):
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        entries = principal.get("AWS") if isinstance(principal, dict) else principal
        entries = entries if isinstance(entries, list) else [entries]
        if any(e in roots or e == "*" for e in entries):
            return True
    return False


def _arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"


def _validate(call: protocol.Call) -> None:
    """What the real service refuses and moto accepts."""
    params = call.params
    if call.action == "CreateSecret":
        name = params.get("Name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise errors.invalid_parameter(errors.MSG_BAD_NAME)
    if call.action in ("CreateSecret", "PutSecretValue", "UpdateSecret"):
        string, binary = params.get("SecretString"), params.get("SecretBinary")
        if string is not None and binary is not None:
            raise errors.invalid_parameter(errors.MSG_BOTH_VALUES)
        if isinstance(string, str) and len(string.encode()) > MAX_SECRET:
            raise errors.validation(
                "secretString", f"Member must have length less than or equal to {MAX_SECRET}"
            )
        if isinstance(binary, str):
            try:
                raw = base64.b64decode(binary, validate=True)
            except (binascii.Error, ValueError):
                raise errors.AwsError(
                    "SerializationException", "Invalid base64 in SecretBinary"
                ) from None
            if len(raw) > MAX_SECRET:
                raise errors.validation(
                    "secretBinary", f"Member must have length less than or equal to {MAX_SECRET}"
                )
        if call.action == "PutSecretValue" and string is None and binary is None:
            raise errors.invalid_request("You must provide either SecretString or SecretBinary.")
    if call.action == "GetSecretValue" or call.action == "PutSecretValue":
        version = params.get("VersionId") or params.get("ClientRequestToken")
        if version is not None and not 32 <= len(str(version)) <= 64:
            field = "versionId" if call.action == "GetSecretValue" else "clientRequestToken"
            raise errors.validation(field, "Member must have length between 32 and 64")


def _check_stage_move(params: dict[str, Any], secret: Any) -> None:
    """A label sits on one version at most: moving it off another needs RemoveFromVersionId."""
    stage = params.get("VersionStage")
    move_to = params.get("MoveToVersionId")
    remove_from = params.get("RemoveFromVersionId")
    if not move_to:
        return
    if move_to not in secret.versions:
        raise errors.invalid_parameter(f"Not a valid version: {move_to}")
    holder = next((vid for vid, v in secret.versions.items() if stage in v["version_stages"]), None)
    if holder is not None and holder != move_to and holder != remove_from:
        raise errors.invalid_parameter(
            f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is "
            f"currently attached to version {holder}, so you must explicitly reference that "
            "version in RemoveFromVersionId."
        )
    if holder == move_to and remove_from and remove_from != move_to:
        raise errors.invalid_parameter(f"Version stage {stage} not found in version {remove_from}")


_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


class Server:
    """A threaded werkzeug server on 127.0.0.1 with TCP_NODELAY."""

    def __init__(self, app: Callable[..., Iterable[bytes]], port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        class Handler(MotoRequestHandler):
            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

            def log_error(self, *args: Any) -> None:
                pass

        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Handler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="guardlib-aws", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
