"""The in-memory model of Secret Manager, and the rules every RPC applies to it.

Order of checks, as the real service: identity (``auth.py``, done by the router), then IAM on
the resource *as named in the request* (so a caller without access cannot tell a missing
secret from a forbidden one: "… (or it may not exist)."), then the request itself.

Names in responses use the project *number*, as the real API does
(``projects/271828182845/secrets/x/versions/1``); requests may use the id or the number.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from typing import Any

import google_crc32c

from . import errors, iam
from . import protocol as p

PROJECT_ID = "guard-demo"
PROJECT_NUMBER = "271828182845"
_etags = itertools.count(1)


def _etag() -> str:
    # real etags look like "\"16197e0ffcc7c4\"": a quoted hex timestamp
    return f'"{time.time_ns() // 1000 + next(_etags):x}"'


def crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


@dataclasses.dataclass
class Version:
    number: int
    msg: Any  # SecretVersion (canonical name, state, times, etag)
    data: bytes = dataclasses.field(repr=False)
    crc: int = 0


@dataclasses.dataclass
class SecretRecord:
    msg: Any  # Secret
    key: tuple[str, str | None, str]  # (project number, location, secret id)
    versions: dict[int, Version] = dataclasses.field(default_factory=dict)
    next_number: int = 1
    policy: iam.Policy = dataclasses.field(default_factory=iam.Policy)


class Store:
    """All projects, secrets, versions and policies. Thread-safe (one lock; RPCs are short)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.projects: dict[str, str] = {PROJECT_ID: PROJECT_NUMBER}  # id -> number
        self.project_policies: dict[str, iam.Policy] = {}  # number -> policy
        self.secrets: dict[tuple[str, str | None, str], SecretRecord] = {}

    def reset(self) -> None:
        with self._lock:
            self.projects = {PROJECT_ID: PROJECT_NUMBER}
            self.project_policies = {}
            self.secrets = {}

    # -- helpers -------------------------------------------------------------------------------
    def _number(self, project: str) -> str:
        if project in self.projects:
            return self.projects[project]
        return project  # a number, or an unknown project (which nobody has roles on)

    def grant_project(self, project: str, role: str, member: str) -> None:
        with self._lock:
            policy = self.project_policies.setdefault(self._number(project), iam.Policy())
            policy.grant(role, member)

    @staticmethod
    def _canonical(key: tuple[str, str | None, str]) -> str:
        number, location, secret_id = key
        where = f"projects/{number}" + (f"/locations/{location}" if location else "")
        return f"{where}/secrets/{secret_id}"

    def _permissions(self, caller: str, number: str, record: SecretRecord | None) -> set[str]:
        member = iam.member_for(caller)
        perms = set()
        project_policy = self.project_policies.get(number)
        if project_policy is not None:
            perms |= project_policy.permissions_of(member)
        if record is not None:
            perms |= record.policy.permissions_of(member)
        return perms

    def _require(
        self, caller: str, permission: str, resource: str, number: str, record: SecretRecord | None
    ) -> None:
        if permission not in self._permissions(caller, number, record):
            raise errors.permission_denied(permission, resource)

    def _lookup(self, name: str) -> tuple[tuple[str, str | None, str], SecretRecord | None]:
        project, location, secret_id = p.parse_secret(name)
        key = (self._number(project), location, secret_id)
        record = self.secrets.get(key)
        if record is not None and record.msg.HasField("expire_time"):
            if record.msg.expire_time.ToNanoseconds() <= time.time_ns():
                del self.secrets[key]  # expired secrets are deleted, versions and all
                record = None
        return key, record

    def _secret(self, caller: str, permission: str, name: str) -> SecretRecord:
        key, record = self._lookup(name)
        self._require(caller, permission, name, key[0], record)
        if record is None:
            raise errors.secret_not_found(self._canonical(key))
        return record

    def _version(self, caller: str, permission: str, name: str) -> tuple[SecretRecord, Version]:
        project, location, secret_id, ref = p.parse_version(name)
        secret_name = name.rsplit("/versions/", 1)[0]
        key, record = self._lookup(secret_name)
        self._require(caller, permission, name, key[0], record)
        if record is None:
            if ref == "latest":
                raise errors.no_versions(self._canonical(key))
            raise errors.secret_not_found(self._canonical(key))
        canonical = self._canonical(record.key)
        if ref == "latest":
            if not record.versions:
                raise errors.no_versions(canonical)
            number = max(record.versions)
        elif ref.isdigit() and int(ref) in record.versions:
            number = int(ref)
        elif ref in record.msg.version_aliases:
            number = record.msg.version_aliases[ref]
        else:
            raise errors.version_not_found(f"{canonical}/versions/{ref}")
        version = record.versions.get(number)
        if version is None:
            raise errors.version_not_found(f"{canonical}/versions/{number}")
        self._settle(record, version)
        return record, version

    @staticmethod
    def _settle(record: SecretRecord, version: Version) -> None:
        """Apply a delayed destruction whose time has come."""
        msg = version.msg
        if msg.HasField("scheduled_destroy_time") and (
            msg.scheduled_destroy_time.ToNanoseconds() <= time.time_ns()
        ):
            _destroy_now(version)

    @staticmethod
    def _check_etag(given: str, current: str, name: str) -> None:
        if given and given != current:
            raise errors.etag_mismatch(name)

    # -- secrets -------------------------------------------------------------------------------
    def create_secret(self, caller: str, req: Any) -> Any:
        project, location = p.parse_parent(req.parent)
        with self._lock:
            number = self._number(project)
            self._require(caller, "secretmanager.secrets.create", req.parent, number, None)
            if not req.secret_id:
                raise errors.invalid("secret_id must be specified.")
            p.check_secret_id(req.secret_id)
            secret = req.secret
            kind = secret.replication.WhichOneof("replication")
            if location is None and kind is None:
                raise errors.invalid("Secret.replication must be specified.")
            if location is not None and kind is not None:
                raise errors.invalid("Regional secrets must not specify replication.")
            if kind == "user_managed":
                locations = [r.location for r in secret.replication.user_managed.replicas]
                if not locations or any(not loc for loc in locations):
                    raise errors.invalid("UserManaged replication needs at least one location.")
                if len(set(locations)) != len(locations):
                    raise errors.invalid("UserManaged replication lists a location twice.")
            p.check_labels(secret.labels)
            p.check_annotations(secret.annotations)
            _check_rotation(secret, secret.topics)
            key = (number, location, req.secret_id)
            if self._lookup(f"{req.parent}/secrets/{req.secret_id}")[1] is not None:
                raise errors.already_exists(self._canonical(key))
            msg = p.Secret()
            msg.CopyFrom(secret)
            msg.name = self._canonical(key)
            msg.create_time.FromNanoseconds(time.time_ns())
            _check_expiration(secret)
            if secret.HasField("ttl"):
                msg.ClearField("ttl")
                msg.expire_time.FromNanoseconds(time.time_ns() + secret.ttl.ToNanoseconds())
            msg.etag = _etag()
            self.secrets[key] = SecretRecord(msg=msg, key=key)
            return _copy(msg)

    def get_secret(self, caller: str, req: Any) -> Any:
        with self._lock:
            return _copy(self._secret(caller, "secretmanager.secrets.get", req.name).msg)

    def list_secrets(self, caller: str, req: Any) -> Any:
        project, location = p.parse_parent(req.parent)
        with self._lock:
            number = self._number(project)
            self._require(caller, "secretmanager.secrets.list", req.parent, number, None)
            size = p.page_size(req.page_size)
            match = p.compile_filter(req.filter, _secret_fields(None)) if req.filter else None
            offset = p.page_offset(req.page_token, req.filter)
            for key in list(self.secrets):
                self._lookup(self._canonical(key))  # drop expired ones
            rows = [
                r.msg
                for k, r in self.secrets.items()
                if k[0] == number
                and k[1] == location
                and (match is None or match(_secret_fields(r.msg)))
            ]
            out = p.ListSecretsResponse(total_size=len(rows))
            for msg in rows[offset : offset + size]:
                out.secrets.add().CopyFrom(msg)
            if offset + size < len(rows):
                out.next_page_token = p.page_token(offset + size, req.filter)
            return out

    def update_secret(self, caller: str, req: Any) -> Any:
        given = req.secret
        with self._lock:
            record = self._secret(caller, "secretmanager.secrets.update", given.name)
            paths = list(req.update_mask.paths)
            if not paths:
                raise errors.invalid("update_mask must be specified.")
            self._check_etag(given.etag, record.msg.etag, record.msg.name)
            msg = _copy(record.msg)
            for path in paths:
                if path in ("labels", "annotations", "topics", "version_aliases"):
                    if path == "labels":
                        p.check_labels(given.labels)
                    if path == "annotations":
                        p.check_annotations(given.annotations)
                    if path == "version_aliases":
                        for alias, number in given.version_aliases.items():
                            if number not in record.versions or alias == "latest":
                                raise errors.invalid(
                                    f"Version alias [{alias}] must point at an existing version."
                                )
                    msg.ClearField(path)
                    getattr(msg, path).MergeFrom(getattr(given, path))
                elif path in ("ttl", "expire_time"):
                    _check_expiration(given)
                    msg.ClearField("expire_time")
                    msg.ClearField("ttl")
                    if path == "ttl" and given.HasField("ttl"):
                        msg.expire_time.FromNanoseconds(time.time_ns() + given.ttl.ToNanoseconds())
                    elif path == "expire_time" and given.HasField("expire_time"):
                        msg.expire_time.CopyFrom(given.expire_time)
                elif path in ("version_destroy_ttl", "rotation"):
                    msg.ClearField(path)
                    if given.HasField(path):
                        getattr(msg, path).CopyFrom(getattr(given, path))
                else:
                    raise errors.invalid(
                        f"The update_mask path [{path}] is invalid or cannot be updated."
                    )
            if "rotation" in paths or "topics" in paths:
                _check_rotation(msg, msg.topics)
            msg.etag = _etag()
            record.msg = msg
            return _copy(msg)

    def delete_secret(self, caller: str, req: Any) -> Any:
        with self._lock:
            record = self._secret(caller, "secretmanager.secrets.delete", req.name)
            self._check_etag(req.etag, record.msg.etag, record.msg.name)
            del self.secrets[record.key]
            return p.Empty()

    # -- versions ------------------------------------------------------------------------------
    def add_version(self, caller: str, req: Any) -> Any:
        with self._lock:
            record = self._secret(caller, "secretmanager.versions.add", req.parent)
            data = req.payload.data
            p.check_payload(data)
            crc = crc32c(data)
            given = req.payload.HasField("data_crc32c")
            if given and req.payload.data_crc32c != crc:
                raise errors.data_loss()
            number = record.next_number
            record.next_number += 1
            msg = p.SecretVersion(
                name=f"{record.msg.name}/versions/{number}",
                state=p.State.ENABLED,
                etag=_etag(),
                client_specified_payload_checksum=given,
            )
            msg.create_time.FromNanoseconds(time.time_ns())
            replication = record.msg.replication
            if replication.HasField("automatic"):
                msg.replication_status.automatic.SetInParent()
            elif replication.HasField("user_managed"):
                for replica in replication.user_managed.replicas:
                    msg.replication_status.user_managed.replicas.add(location=replica.location)
            record.versions[number] = Version(number, msg, data, crc)
            return _copy(msg)

    def get_version(self, caller: str, req: Any) -> Any:
        with self._lock:
            return _copy(self._version(caller, "secretmanager.versions.get", req.name)[1].msg)

    def access_version(self, caller: str, req: Any) -> Any:
        with self._lock:
            _, version = self._version(caller, "secretmanager.versions.access", req.name)
            state = version.msg.state
            if state != p.State.ENABLED:
                raise errors.bad_state(version.msg.name, p.State.Name(state))
            out = p.AccessSecretVersionResponse(name=version.msg.name)
            out.payload.data = version.data
            out.payload.data_crc32c = version.crc
            return out

    def list_versions(self, caller: str, req: Any) -> Any:
        with self._lock:
            record = self._secret(caller, "secretmanager.versions.list", req.parent)
            size = p.page_size(req.page_size)
            match = p.compile_filter(req.filter, _version_fields(None)) if req.filter else None
            offset = p.page_offset(req.page_token, req.filter)
            rows = []
            for number in sorted(record.versions, reverse=True):  # newest first, as real
                version = record.versions[number]
                self._settle(record, version)
                if match is None or match(_version_fields(version.msg)):
                    rows.append(version.msg)
            out = p.ListSecretVersionsResponse(total_size=len(rows))
            for msg in rows[offset : offset + size]:
                out.versions.add().CopyFrom(msg)
            if offset + size < len(rows):
                out.next_page_token = p.page_token(offset + size, req.filter)
            return out

    def set_version_state(self, caller: str, req: Any, action: str) -> Any:
        with self._lock:
            record, version = self._version(caller, f"secretmanager.versions.{action}", req.name)
            msg = version.msg
            self._check_etag(req.etag, msg.etag, msg.name)
            if msg.state == p.State.DESTROYED:
                raise errors.bad_state(msg.name, "DESTROYED")  # a terminal state
            msg.ClearField("scheduled_destroy_time")  # enable/disable cancel a delayed destroy
            if action == "enable":
                msg.state = p.State.ENABLED
            elif action == "disable":
                msg.state = p.State.DISABLED
            elif record.msg.HasField("version_destroy_ttl"):
                msg.state = p.State.DISABLED
                msg.scheduled_destroy_time.FromNanoseconds(
                    time.time_ns() + record.msg.version_destroy_ttl.ToNanoseconds()
                )
            else:
                _destroy_now(version)
            msg.etag = _etag()
            return _copy(msg)

    # -- IAM -----------------------------------------------------------------------------------
    def get_policy(self, caller: str, req: Any) -> Any:
        with self._lock:
            record = self._secret(caller, "secretmanager.secrets.getIamPolicy", req.resource)
            return _policy_pb(record.policy)

    def set_policy(self, caller: str, req: Any) -> Any:
        with self._lock:
            record = self._secret(caller, "secretmanager.secrets.setIamPolicy", req.resource)
            given = req.policy
            if given.etag and given.etag != record.policy.etag:
                raise errors.policy_conflict()
            bindings = []
            for binding in given.bindings:
                if binding.role not in iam.ROLES:
                    raise errors.invalid(f"Role {binding.role} is not supported for this resource.")
                for member in binding.members:
                    if not iam.valid_member(member):
                        raise errors.invalid(f"Invalid member: {member}")
                condition = (
                    binding.condition.SerializeToString() if binding.HasField("condition") else b""
                )
                bindings.append(iam.Binding(binding.role, set(binding.members), condition))
            record.policy = iam.Policy(
                bindings=bindings,
                version=given.version or 1,
                etag=f"BwY{next(_etags):08d}".encode(),
            )
            return _policy_pb(record.policy)

    def test_permissions(self, caller: str, req: Any) -> Any:
        with self._lock:
            for permission in req.permissions:
                if permission not in iam.ALL_PERMISSIONS:
                    raise errors.invalid(f"Permission {permission} is not valid.")
            key, record = self._lookup(req.resource)
            # iam_policy.proto, TestIamPermissions: "If the resource does not exist, this will
            # return an empty set of permissions, not a NOT_FOUND error."
            held = self._permissions(caller, key[0], record) if record is not None else set()
            return p.TestIamPermissionsResponse(
                permissions=[x for x in req.permissions if x in held]
            )

    # -- managed rotation (Typed Secrets: Cloud SQL credentials) -------------------------------
    def rotate_secret(self, caller: str, req: Any) -> Any:
        return self._managed_rotation(caller, req, "RotateSecret")

    def enable_managed_rotation(self, caller: str, req: Any) -> Any:
        return self._managed_rotation(caller, req, "EnableManagedRotation")

    def _managed_rotation(self, caller: str, req: Any, method: str) -> Any:
        # Only Typed Secrets (Cloud SQL single-user credentials) rotate themselves; nothing
        # here is one, so after the usual IAM check the answer is FAILED_PRECONDITION. (The
        # permission is assumed to be versions.add: the method adds a version.)
        with self._lock:
            record = self._secret(caller, "secretmanager.versions.add", req.parent)
            raise errors.RpcError(
                errors.grpc.StatusCode.FAILED_PRECONDITION,
                f"{method} is only supported for managed-rotation secrets; "
                f"Secret [{record.msg.name}] is not one.",
            )

    # -- locations (google.cloud.location.Locations mixin) ------------------------------------
    def get_location(self, caller: str, req: Any) -> Any:
        project, location = p.parse_location(req.name)
        with self._lock:
            number = self._number(project)
            self._require(caller, "secretmanager.locations.get", req.name, number, None)
            if location not in p.KNOWN_LOCATIONS:
                raise errors.RpcError(
                    errors.grpc.StatusCode.NOT_FOUND, f"Location [{req.name}] not found."
                )
            return _location(number, location)

    def list_locations(self, caller: str, req: Any) -> Any:
        project, location = p.parse_parent(req.name)
        if location is not None:
            raise errors.invalid(
                f"The provided name [{req.name}] does not match the expected format [projects/*]"
            )
        with self._lock:
            number = self._number(project)
            self._require(caller, "secretmanager.locations.list", req.name, number, None)
            size = p.page_size(req.page_size)
            offset = p.page_offset(req.page_token, req.filter)
            if req.filter:
                raise errors.invalid(f"Invalid filter [{req.filter}].")
            rows = list(p.KNOWN_LOCATIONS)
            out = p.ListLocationsResponse()
            for loc in rows[offset : offset + size]:
                out.locations.add().CopyFrom(_location(number, loc))
            if offset + size < len(rows):
                out.next_page_token = p.page_token(offset + size, req.filter)
            return out

    # -- seeding helpers -----------------------------------------------------------------------
    def grant_secret(self, secret_id: str, role: str, member: str) -> None:
        with self._lock:
            _, record = self._lookup(f"projects/{PROJECT_ID}/secrets/{secret_id}")
            if record is None:
                raise errors.secret_not_found(f"projects/{PROJECT_NUMBER}/secrets/{secret_id}")
            record.policy.grant(role, member)

    def seed_secret(
        self, admin: str, secret_id: str, value: bytes, labels: dict[str, str]
    ) -> SecretRecord:
        parent = f"projects/{PROJECT_ID}"
        name = f"{parent}/secrets/{secret_id}"
        with self._lock:
            _, record = self._lookup(name)
            if record is None:
                req = p.METHODS["CreateSecret"][0](parent=parent, secret_id=secret_id)
                req.secret.replication.automatic.SetInParent()
                req.secret.labels.update(labels)
                self.create_secret(admin, req)
                _, record = self._lookup(name)
            assert record is not None
            latest = record.versions.get(max(record.versions)) if record.versions else None
            if latest is None or latest.data != value:
                req = p.METHODS["AddSecretVersion"][0](parent=name)
                req.payload.data = value
                self.add_version(admin, req)
            return record


def _check_rotation(secret: Any, topics: Any) -> None:
    """resources.proto, ``Rotation``: "Secret.topics must be set to configure rotation";
    next_rotation_time "MUST be set if rotation_period is set", at least 300 s in the future;
    rotation_period "at least 3600s (1h) and at most 3153600000s (100 years)"."""
    if not secret.HasField("rotation"):
        return
    rotation = secret.rotation
    if not rotation.HasField("next_rotation_time") and not rotation.HasField("rotation_period"):
        return
    if not len(topics):
        raise errors.invalid("Secret.topics must be set to configure rotation.")
    if rotation.HasField("rotation_period"):
        if not rotation.HasField("next_rotation_time"):
            raise errors.invalid(
                "Rotation.next_rotation_time must be set if Rotation.rotation_period is set."
            )
        period = rotation.rotation_period
        if period.nanos or not 3600 <= period.seconds <= 3153600000:
            raise errors.invalid(
                "Rotation.rotation_period must be in seconds, at least 3600s and at most "
                "3153600000s."
            )
    if rotation.HasField("next_rotation_time"):
        ahead = rotation.next_rotation_time.seconds - time.time()
        if not 300 <= ahead <= 3153600000:
            raise errors.invalid(
                "Rotation.next_rotation_time must be at least 300s and at most 3153600000s "
                "in the future."
            )


def _location(number: str, location: str) -> Any:
    return p.Location(
        name=f"projects/{number}/locations/{location}", location_id=location, display_name=location
    )


def _check_expiration(secret: Any) -> None:
    if secret.HasField("ttl") and secret.ttl.ToNanoseconds() <= 0:
        raise errors.invalid("Secret.ttl must be positive.")
    if secret.HasField("expire_time") and secret.expire_time.ToNanoseconds() <= time.time_ns():
        raise errors.invalid("Secret.expire_time must be in the future.")


def _destroy_now(version: Version) -> None:
    version.msg.state = p.State.DESTROYED
    version.msg.ClearField("scheduled_destroy_time")
    version.msg.destroy_time.FromNanoseconds(time.time_ns())
    version.data = b""
    version.crc = 0


def _copy(msg: Any) -> Any:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def _ts(field: Any) -> list[str]:
    return [field.ToJsonString()] if field.ByteSize() else []


def _secret_fields(msg: Any) -> p.Fields:
    def fields(path: str) -> list[str] | None:
        head, _, rest = path.partition(".")
        known = head in (
            "name",
            "labels",
            "annotations",
            "create_time",
            "expire_time",
            "topics",
            "replication",
        )
        if not known:
            return None
        if msg is None:
            return []
        if head == "name":
            return [msg.name, msg.name.rsplit("/", 1)[-1]]
        if head in ("labels", "annotations"):
            mapping = getattr(msg, head)
            if rest:
                return [mapping[rest]] if rest in mapping else []
            return list(mapping.keys())
        if head == "topics":
            return [t.name for t in msg.topics]
        if head == "replication":
            kind = msg.replication.WhichOneof("replication")
            return [kind] if kind else []
        return _ts(getattr(msg, head))

    return fields


def _version_fields(msg: Any) -> p.Fields:
    def fields(path: str) -> list[str] | None:
        if path not in ("name", "state", "create_time", "destroy_time"):
            return None
        if msg is None:
            return []
        if path == "name":
            return [msg.name, msg.name.rsplit("/", 1)[-1]]
        if path == "state":
            return [p.State.Name(msg.state)]
        return _ts(getattr(msg, path))

    return fields


def _policy_pb(policy: iam.Policy) -> Any:
    out = p.Policy(version=policy.version, etag=policy.etag)
    for binding in sorted(policy.bindings, key=lambda b: b.role):
        pb = out.bindings.add(role=binding.role, members=sorted(binding.members))
        if binding.condition:
            pb.condition.ParseFromString(binding.condition)
    return out
