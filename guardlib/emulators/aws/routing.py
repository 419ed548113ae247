"""Dispatch and server: a thin WSGI layer in front of moto's own service apps.

Every request goes through, in order: fault switches (kit ``take_fault``) -> the body, its
length checked before reading (``protocol.read_body``) -> SigV4 (who is calling, is the
signature right, ``protocol.verify_signature``; without an ``Authorization`` header only STS
``AssumeRoleWithWebIdentity`` is served, ``protocol.parse_unsigned``) -> the one parse
(``protocol.parse_call``) ->
request validation moto skips (``protocol.validate`` / ``check_against``) -> authorization on
the secret's real ARN (``policy.Authorizer``) -> moto, given a request rebuilt from the parse
(``protocol.inner_environ``), under one lock -> stage invariants, per-secret filtering of
``BatchGetSecretValue``, and error statuses as botocore's model gives them.

moto's own IAM checks stay off: they check Secrets Manager against resource ``"*"`` and answer
denials as XML ``403``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..kit import take_fault
from . import errors, protocol
from .errors import AwsError
from .kms import Kms
from .policy import GLOBAL_ACTIONS, Authorizer, kms_key_of, secret_tags

if TYPE_CHECKING:
    from ..faults import Faults
    from .state import AwsState, Caller

StartResponse = Callable[..., Any]
Answer = tuple[int, list[tuple[str, str]], bytes]

#: actions after which moto's stage bookkeeping must be repaired
WRITES = {
    "CreateSecret", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage",
    "RotateSecret", "RestoreSecret", "CancelRotateSecret",
}  # fmt: skip
#: operations of the model moto does not implement, answered here with the service's own
#: error for the situation (never moto's 500): code, message
UNEMULATED = {
    "AssociateCrossAccountReplica": (
        "InvalidRequestException",
        "Cross-account replicas need a second AWS account, which this offline cloud lacks.",
    ),
    "DisassociateCrossAccountReplica": (
        "InvalidRequestException",
        "This secret has no cross-account replica.",
    ),
    "StopReplicationToReplica": (
        "InvalidRequestException",
        "This secret is not a replica: StopReplicationToReplica is called in a replica's region.",
    ),
}
_SECRET_KEY_RE = re.compile(rb"<SecretAccessKey>[^<]*</SecretAccessKey>")
_KEY_ID_RE = re.compile(rb"<AccessKeyId>([^<]*)</AccessKeyId>")
_SESSION_TOKEN_RE = re.compile(rb"<SessionToken>[^<]*</SessionToken>")


class AwsApp:
    """The WSGI application served on 127.0.0.1."""

    def __init__(self, state: AwsState, faults: Faults | None, service: str = "aws") -> None:
        self.state = state
        self.faults = faults
        self.service = service
        self.authorizer = Authorizer(state)
        self.kms = Kms(state, self.authorizer)
        #: service -> moto's Flask app for it, built once (moto's dispatcher would look it up
        #: anew for each request, stat()ing its package directories)
        self._apps: dict[str, Any] = {}
        self._apps_lock = threading.Lock()

    # -- entry point -------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        json_protocol = protocol.is_json(environ)
        try:
            self._fault(environ)
            try:
                body = protocol.read_body(environ)
            except AwsError as exc:
                # the rest of the stream cannot be trusted: answer, then close (http.server's
                # send_header closes on "Connection: close")
                status, headers, payload = (
                    exc.render_json() if json_protocol else exc.render_query()
                )
                headers = [*headers, ("Connection", "close")]
            else:
                status, headers, payload = self._handle(environ, body)
        except AwsError as exc:
            status, headers, payload = exc.render_json() if json_protocol else exc.render_query()
        except Exception:  # noqa: BLE001 - never a traceback, never a 500 page from werkzeug
            error = AwsError("InternalFailure", "An internal error has occurred", 500)
            status, headers, payload = (
                error.render_json() if json_protocol else error.render_query()
            )
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _fault(self, environ: dict[str, Any]) -> None:
        fault = take_fault(self.faults, self.service)
        if fault is None:
            return
        if fault.kind == "throttle":
            raise errors.throttled()
        if fault.kind == "error":
            raise errors.server_error(fault.status)
        if fault.kind == "reset":
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):  # drop it: the client reads no answer at all
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            raise errors.server_error(500)

    def _handle(self, environ: dict[str, Any], body: bytes) -> Answer:
        if not environ.get("HTTP_AUTHORIZATION"):
            # exactly the STS calls that need no signature (AssumeRoleWithWebIdentity: the
            # token is the credential); anything else: MissingAuthenticationToken
            return self._web_identity(protocol.parse_unsigned(environ, body))
        auth = protocol.parse_authorization(environ.get("HTTP_AUTHORIZATION"))
        token = protocol.header(environ, "x-amz-security-token")
        caller = self.state.caller(auth.access_key_id, token)
        protocol.verify_signature(environ, body, auth, caller.secret_key)
        call = protocol.parse_call(environ, body, auth)
        if call.service in ("secretsmanager", "kms") and not self.state.serves_region(
            call.service, auth.region
        ):
            # what a Regional endpoint answers a request scoped to a Region it does not serve
            raise errors.invalid_signature("Credential should be scoped to a valid region.")
        if call.service == "secretsmanager":
            return self._secretsmanager(call, caller, auth.region, environ)
        if call.service == "kms":
            with self.state.lock:
                return self.kms.handle(
                    call, caller, auth.region, lambda inner: self._forward(inner, environ)
                )
        if call.iam_action == "sts:AssumeRoleWithWebIdentity":
            return self._web_identity(call)  # signed too: the signer does not matter
        with self.state.lock:
            self.authorizer.other(call, caller)
            answer = self._forward(call, environ)
            if call.iam_action == "iam:CreateAccessKey" and answer[0] == 200:
                answer = self._random_key_secret(answer)
            elif call.iam_action == "sts:AssumeRole" and answer[0] == 200:
                answer = self._random_session(answer)
        return answer

    def _random_session(self, answer: Answer) -> Answer:
        """moto's AssumeRole answer with a random access key id, secret and session token
        (moto's are drawn from a generator anyone may seed, so they could be computed)."""
        status, headers, payload = answer
        found = _KEY_ID_RE.search(payload)
        fresh = self.state.randomise_session(found.group(1).decode()) if found else None
        if fresh is None:
            raise AwsError("InternalFailure", "An internal error has occurred", 500)
        key_id, secret, session_token = fresh
        payload = _KEY_ID_RE.sub(f"<AccessKeyId>{key_id}</AccessKeyId>".encode(), payload, count=1)
        payload = _SECRET_KEY_RE.sub(
            f"<SecretAccessKey>{secret}</SecretAccessKey>".encode(), payload, count=1
        )
        payload = _SESSION_TOKEN_RE.sub(
            f"<SessionToken>{session_token}</SessionToken>".encode(), payload, count=1
        )
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return status, [*headers, ("Content-Length", str(len(payload)))], payload

    def _web_identity(self, call: protocol.Call) -> Answer:
        """STS AssumeRoleWithWebIdentity: decided by the authorizer (token, then trust), and
        only then a session of the role, which later calls are evaluated as."""
        from ..kit.credentials import random_uuid

        with self.state.lock:
            grant = self.authorizer.web_identity(call)
            session = self.state.open_session(
                grant.role_arn, grant.session_name, grant.seconds, grant.policy
            )
            return protocol.render_web_identity(
                session,
                subject=grant.subject,
                audience=grant.audience,
                provider=grant.issuer,
                request_id=random_uuid(),
            )

    # -- moto --------------------------------------------------------------------------------
    def _app(self, service: str) -> Any:
        app = self._apps.get(service)
        if app is None:
            from moto.moto_server.werkzeug_app import create_backend_app

            with self._apps_lock:
                app = self._apps.get(service)
                if app is None:
                    app = self._apps[service] = create_backend_app(service)  # type: ignore[arg-type]
        return app

    def _forward(self, call: protocol.Call, environ: dict[str, Any]) -> Answer:
        """moto executes the request rebuilt from ``call``, and nothing else."""
        inner = protocol.inner_environ(call, environ)
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda data: None

        chunks = self._app(call.service)(inner, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status = int(str(captured[0]).split(" ", 1)[0])
        headers = [(k, v) for k, v in captured[1] if k.lower() not in ("content-length", "server")]
        if status >= 500:  # moto failed on something the model allows: not the client's fault
            raise AwsError("InternalFailure", "An internal error has occurred", 500)
        if status >= 400 and call.json_protocol:
            status, payload = _model_error(call.service, status, payload)
        return status, [*headers, ("Content-Length", str(len(payload)))], payload

    def _random_key_secret(self, answer: Answer) -> Answer:
        status, headers, payload = answer
        found = _KEY_ID_RE.search(payload)
        secret = self.state.randomise_access_key(found.group(1).decode()) if found else None
        if secret is None:
            return answer
        payload = _SECRET_KEY_RE.sub(
            f"<SecretAccessKey>{secret}</SecretAccessKey>".encode(), payload, count=1
        )
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return status, [*headers, ("Content-Length", str(len(payload)))], payload

    # -- Secrets Manager ---------------------------------------------------------------------
    def _secretsmanager(
        self, call: protocol.Call, caller: Caller, region: str, environ: dict[str, Any]
    ) -> Answer:
        state = self.state
        with state.lock:
            backend = state.secrets(region)
            resource, secret = self.authorizer.secret_of(call, backend, region)
            context = self.authorizer.context(
                caller, region=region, resource_tags=secret_tags(secret) if secret else {}
            )
            self.authorizer.check(
                caller, call.iam_action, resource, getattr(secret, "policy", None),
                context=context,
            )  # fmt: skip
            protocol.validate(call)  # after authorization: a denied caller learns nothing more
            if call.action in UNEMULATED:
                if secret is None and "SecretId" in call.params:
                    raise AwsError(
                        "ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret.",
                    )
                raise AwsError(*UNEMULATED[call.action])
            if call.action == "ListSecretVersionIds" and secret is not None:
                return _json_answer(_list_secret_version_ids(call, secret))
            if call.action == "ListResourcePolicies":
                return _json_answer(_list_resource_policies(call, secret))
            if call.action == "ValidateResourcePolicy":
                return _json_answer(_validate_resource_policy(call))
            named = call.params.get("SecretId")
            if secret is None and isinstance(named, str) and call.action not in GLOBAL_ACTIONS:
                # as the service resolves names and ARNs (``policy.find_secret``), never as
                # moto's looser lookup would; a forced deletion of nothing succeeds, as in AWS
                if not (
                    call.action == "DeleteSecret" and call.params.get("ForceDeleteWithoutRecovery")
                ):
                    raise AwsError(
                        "ResourceNotFoundException",
                        "Secrets Manager can't find the specified secret.",
                    )
            if secret is not None and isinstance(named, str):
                call = dataclasses.replace(call, params={**call.params, "SecretId": secret.arn})
            protocol.check_against(call, secret)
            self._via_kms(call, caller, region, secret)
            status, headers, payload = self._forward(call, environ)
            if status == 200 and call.action in REPLICATION:
                payload = _replication_answer(call.action, payload, secret, region)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(payload))))
            if call.action in WRITES and status == 200:
                ids = [secret.name] if secret is not None else [str(call.params.get("Name"))]
                state.normalise(ids, region)
            if call.action == "BatchGetSecretValue" and status == 200:
                payload = self.authorizer.filter_batch(caller, payload, backend, self.kms, region)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(payload))))
        return status, headers, payload

    def _via_kms(self, call: protocol.Call, caller: Caller, region: str, secret: Any) -> None:
        """A secret under a customer managed key: Secrets Manager uses the key with the
        caller's own credentials (``kms.Kms.via_secrets_manager``): ``kms:GenerateDataKey``
        to store a value, ``kms:Decrypt`` to read one (and to re-encrypt under a new key)."""
        params = call.params
        action = call.action
        writes_value = "SecretString" in params or "SecretBinary" in params
        current = kms_key_of(secret)
        arn = str(secret.arn) if secret is not None else None
        if action == "CreateSecret":
            name = str(params.get("Name"))
            arn = f"arn:aws:secretsmanager:{region}:{self.state.account}:secret:{name}-??????"
            if writes_value:
                self.kms.via_secrets_manager(
                    caller, "kms:GenerateDataKey", params.get("KmsKeyId"), region, arn
                )
            return
        if secret is None or arn is None:
            return
        if getattr(secret, "deleted_date", None) is not None:
            return  # the service refuses a deleted secret before it touches the key
        if action == "GetSecretValue":
            self.kms.via_secrets_manager(caller, "kms:Decrypt", current, region, arn)
        elif action == "PutSecretValue" or (action == "UpdateSecret" and writes_value):
            target = params.get("KmsKeyId") or current
            self.kms.via_secrets_manager(caller, "kms:GenerateDataKey", target, region, arn)
        if action == "ReplicateSecretToRegions":
            # the value is read here and written there: Decrypt on this key, and
            # GenerateDataKey on each replica's key in its Region (botocore model's docs)
            self.kms.via_secrets_manager(caller, "kms:Decrypt", current, region, arn)
            for replica in params.get("AddReplicaRegions") or []:
                if isinstance(replica, dict) and isinstance(replica.get("Region"), str):
                    there = replica["Region"]
                    self.kms.via_secrets_manager(
                        caller, "kms:GenerateDataKey", replica.get("KmsKeyId"), there,
                        arn.replace(f":{region}:", f":{there}:", 1),
                    )  # fmt: skip
        if action == "UpdateSecret" and params.get("KmsKeyId") not in (None, current):
            # a new key: the current versions are re-encrypted under it
            self.kms.via_secrets_manager(caller, "kms:Decrypt", current, region, arn)
            self.kms.via_secrets_manager(
                caller, "kms:GenerateDataKey", params.get("KmsKeyId"), region, arn
            )


#: answers that describe a secret's replication (moto leaves out or misnames parts of them)
REPLICATION = {"DescribeSecret", "ReplicateSecretToRegions", "RemoveRegionsFromReplication"}


def _replication_answer(action: str, payload: bytes, secret: Any, region: str) -> bytes:
    """The primary secret's ``PrimaryRegion`` when it has replicas (botocore model,
    DescribeSecretResponse: "The Region the secret is in. If a secret is replicated to other
    Regions, the replicas are listed in ReplicationStatus"), and the secret's full ARN where
    moto echoes the SecretId (ReplicateSecretToRegions, RemoveRegionsFromReplication)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(data, dict) or secret is None:
        return payload
    if action != "DescribeSecret":
        data["ARN"] = secret.arn
    elif data.get("ReplicationStatus") and not data.get("PrimaryRegion"):
        data["PrimaryRegion"] = region
    return json.dumps(data).encode()


def _json_answer(data: dict[str, Any]) -> Answer:
    payload = json.dumps(data).encode()
    return (
        200,
        [
            ("Content-Type", protocol.JSON_CONTENT_TYPE),
            ("Content-Length", str(len(payload))),
        ],
        payload,
    )


def _list_secret_version_ids(call: protocol.Call, secret: Any) -> dict[str, Any]:
    """ListSecretVersionIds as the service answers it (moto ignores both options): versions
    without a staging label only with ``IncludeDeprecated``, newest first, ``MaxResults`` per
    page (1-100, checked in ``protocol.validate``) with an opaque ``NextToken``."""
    import base64

    include = call.params.get("IncludeDeprecated") is True
    versions = [(vid, v) for vid, v in secret.versions.items() if include or v["version_stages"]]
    versions.sort(key=lambda item: item[1].get("createdate", 0), reverse=True)
    start = 0
    token = call.params.get("NextToken")
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("v:"))
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.") from None
        if not 0 <= start <= len(versions):
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.")
    size = call.params.get("MaxResults") or 100
    page = versions[start : start + size]
    out: dict[str, Any] = {
        "ARN": secret.arn,
        "Name": secret.name,
        "Versions": [
            {
                "VersionId": vid,
                "VersionStages": list(v["version_stages"]),
                "CreatedDate": v.get("createdate"),
            }
            for vid, v in page
        ],
    }
    if start + size < len(versions):
        out["NextToken"] = base64.urlsafe_b64encode(f"v:{start + size}".encode()).decode()
    return out


def _list_resource_policies(call: protocol.Call, secret: Any) -> dict[str, Any]:
    if secret is None:
        raise AwsError(
            "ResourceNotFoundException", "Secrets Manager can't find the specified secret."
        )
    policies = []
    if getattr(secret, "policy", None):
        policies.append({"ResourcePolicy": secret.policy})
    return {"ARN": secret.arn, "Name": secret.name, "ResourcePolicies": policies}


def _validate_resource_policy(call: protocol.Call) -> dict[str, Any]:
    """ValidateResourcePolicy: a malformed document is MalformedPolicyDocumentException
    (``protocol.validate``); a well-formed one passes unless it allows broad access, which
    the service reports as a failed check rather than an error."""
    doc = protocol.check_policy_document(call.params.get("ResourcePolicy"))
    if protocol.is_public(doc):
        return {
            "PolicyValidationPassed": False,
            "ValidationErrors": [
                {"CheckName": "PUBLIC_ACCESS_CHECK", "ErrorMessage": errors.MSG_PUBLIC_POLICY}
            ],
        }
    return {"PolicyValidationPassed": True, "ValidationErrors": []}


def _model_error(service: str, status: int, payload: bytes) -> tuple[int, bytes]:
    """moto's JSON error with the status the model gives its code (moto answers some 404)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return status, payload
    code = str(data.get("__type", "")).rpartition("#")[2] if isinstance(data, dict) else ""
    wanted = errors.model_status(service, code)
    message = data.get("message", data.get("Message")) if isinstance(data, dict) else None
    if isinstance(message, str):
        # moto repeats botocore's "An error occurred (…) when calling the … operation: " inside
        # some messages and keeps source indentation in others; the service sends neither
        clean = " ".join(_MOTO_PREFIX.sub("", message).split())
        if clean != message:
            data.pop("message", None)
            data["Message"] = clean
            payload = json.dumps(data).encode()
    return (wanted if wanted is not None else status), payload


_MOTO_PREFIX = re.compile(r"^An error occurred \(\w+\) when calling the \w+ operation: ")


_REASONS = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 411: "Length Required",
    413: "Content Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


class Server:
    """A threaded werkzeug server on 127.0.0.1 with TCP_NODELAY and a read timeout.

    werkzeug keeps only the last of repeated ``Content-Length`` headers in the WSGI environ;
    the handler hands the app all of them (``guardlib.content_length``) so that
    ``protocol.read_body`` can refuse differing ones before reading."""

    IDLE_TIMEOUT = 120.0  # seconds a connection may stay silent (the kit server's default)

    def __init__(self, app: Callable[..., Iterable[bytes]], port: int = 0) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        idle = self.IDLE_TIMEOUT

        class Handler(WSGIRequestHandler):
            timeout = idle

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def make_environ(self) -> dict[str, Any]:
                environ = super().make_environ()
                environ["guardlib.content_length"] = self.headers.get_all("Content-Length") or []
                return environ

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
