"""The gRPC server: ``google.cloud.secretmanager.v1.SecretManagerService`` over TLS.

Each RPC goes: fault switch -> identity (``authorization`` metadata) -> ``Store`` method (IAM,
then the request). Errors become ``context.abort(code, message)``, which the client maps to
``google.api_core.exceptions`` (NotFound, PermissionDenied, …).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent import futures
from typing import TYPE_CHECKING, Any

import grpc

from ..kit import take_fault
from . import errors
from . import protocol as p

if TYPE_CHECKING:
    from ..faults import Faults
    from .auth import Authenticator
    from .state import Store

NAME = "gcp"


def _dispatch(store: Store) -> dict[str, dict[str, Callable[[str, Any], Any]]]:
    """service -> method -> handler: Secret Manager itself and the Locations mixin."""
    return {p.SERVICE: _secret_manager(store), p.LOCATIONS_SERVICE: {
        "GetLocation": store.get_location,
        "ListLocations": store.list_locations,
    }}  # fmt: skip


def _secret_manager(store: Store) -> dict[str, Callable[[str, Any], Any]]:
    return {
        "ListSecrets": store.list_secrets,
        "CreateSecret": store.create_secret,
        "AddSecretVersion": store.add_version,
        "GetSecret": store.get_secret,
        "UpdateSecret": store.update_secret,
        "DeleteSecret": store.delete_secret,
        "ListSecretVersions": store.list_versions,
        "GetSecretVersion": store.get_version,
        "AccessSecretVersion": store.access_version,
        "DisableSecretVersion": lambda c, r: store.set_version_state(c, r, "disable"),
        "EnableSecretVersion": lambda c, r: store.set_version_state(c, r, "enable"),
        "DestroySecretVersion": lambda c, r: store.set_version_state(c, r, "destroy"),
        "SetIamPolicy": store.set_policy,
        "GetIamPolicy": store.get_policy,
        "TestIamPermissions": store.test_permissions,
        "RotateSecret": store.rotate_secret,
        "EnableManagedRotation": store.enable_managed_rotation,
    }


def _fault(faults: Faults | None) -> errors.RpcError | None:
    fault = take_fault(faults, NAME)  # latency is slept there
    if fault is None:
        return None
    if fault.kind == "throttle":
        return errors.RpcError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per "
            "minute per project' of service 'secretmanager.googleapis.com'.",
        )
    if fault.kind == "error" and fault.status == 500:
        return errors.RpcError(grpc.StatusCode.INTERNAL, "Internal error encountered.")
    if fault.kind == "error":
        return errors.RpcError(grpc.StatusCode.UNAVAILABLE, "The service is currently unavailable.")
    return errors.RpcError(grpc.StatusCode.UNAVAILABLE, "Connection reset by peer")


class _Unparsable:
    """What a request that is not a valid message of its type deserializes to."""


_UNPARSABLE = _Unparsable()


def _safe(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """grpc answers a deserializer's exception with INTERNAL and logs a traceback; Google's
    front end answers a body that is not the request message with INVALID_ARGUMENT."""

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception:  # noqa: BLE001 - DecodeError, UnicodeDecodeError, RecursionError …
            return _UNPARSABLE

    return deserialize


def _handler(
    fn: Callable[[str, Any], Any], auth: Authenticator, faults: Faults | None
) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            fault = _fault(faults)
            if fault is not None:
                raise fault
            authorization = None
            for key, value in context.invocation_metadata():
                if key == "authorization":
                    authorization = value if isinstance(value, str) else value.decode()
                    break
            caller = auth.identify(authorization)
            if request is _UNPARSABLE:
                raise errors.invalid("Invalid request: the message could not be parsed.")
            return fn(caller, request)
        except errors.RpcError as exc:
            context.abort(exc.code, exc.message)
        except Exception:  # noqa: BLE001 - a bug of ours must not print or leak a traceback
            context.abort(grpc.StatusCode.INTERNAL, "Internal error encountered.")

    return handle


class Server:
    """A grpc.Server on 127.0.0.1:0 with a leaf for the real hosts."""

    def __init__(self, store: Store, auth: Authenticator, faults: Faults | None) -> None:
        self.store, self.auth, self.faults = store, auth, faults
        self._server: grpc.Server | None = None
        self.port = 0
        self.calls = 0

    def start(self, chain: bytes, key: bytes) -> None:
        t0 = time.perf_counter()
        generic = []
        for service, methods in _dispatch(self.store).items():
            handlers = {}
            for method, fn in methods.items():
                request_cls, response_cls = p.METHODS[method]
                handlers[method] = grpc.unary_unary_rpc_method_handler(
                    _handler(fn, self.auth, self.faults),
                    request_deserializer=_safe(request_cls.FromString),
                    response_serializer=response_cls.SerializeToString,
                )
            generic.append(grpc.method_handlers_generic_handler(service, handlers))
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="guardlib-gcp"),
            handlers=generic,
            # beyond this many RPCs at once grpc answers RESOURCE_EXHAUSTED instead of queueing
            maximum_concurrent_rpcs=256,
            options=[("grpc.so_reuseport", 0)],
        )
        credentials = grpc.ssl_server_credentials([(key, chain)])
        self.port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        self._server = server
        self.startup_seconds = time.perf_counter() - t0

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0.2).wait(5)
            self._server = None
