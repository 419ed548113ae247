"""Set up, seed and wipe the dev server through its HTTP API, as the root token.

Layout (seed.py docstring): KV v2 ``secret/<name>`` holding ``{"value": ...}``; an ACL policy per
identity (``read`` on what it reads; ``create``/``update``/``read`` on what it writes); an AppRole
per identity, bound to that policy.

Transit (for SOPS files, chapter 12): a ``vault`` section of the seed may name encryption keys
of the transit engine (mounted at ``transit/``), and who may use them::

    {"vault": {"transit_keys": {"guard-dev": {"decrypt": ["dev-app"], "encrypt": ["ops-app"]},
                                "guard-prod": {"decrypt": ["prod-app"]}}}}

Each key is an ``aes256-gcm96`` transit key; an identity listed under ``decrypt`` gets
``update`` on ``transit/decrypt/<key>`` in its own policy, under ``encrypt`` on
``transit/encrypt/<key>`` (sops needs both to ``rotate`` or ``updatekeys``). The administrator
may use every key.

The AppRole role id and secret id of an identity are minted at random the first time they are
needed (:class:`~guardlib.emulators.kit.CredentialBook`, one per server start) and then pinned
on the server (``role-id``, ``custom-secret-id``), so an environment handed out once stays valid
across ``reset()`` + re-seed, and nothing can compute them from a name.

Seeding goes through the kit's :func:`~guardlib.emulators.kit.apply_seed`: every secret name is
checked by :func:`check_secret_name` (and every identity against the built-in policy names)
before anything reaches the server, so a bad seed changes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..kit import CredentialBook, apply_seed
from ..kit.credentials import random_uuid
from ..seed import ADMIN, SeedError

if TYPE_CHECKING:
    from ..seed import IdentitySpec, SecretSpec, SeedSpec, TrustSpec

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: policies OpenBao itself owns: ``root`` and ``response-wrapping`` cannot be written, and
#: ``default`` is attached to *every* token, so an identity with one of these names would
#: either fail half-way or widen everyone's access. ``control-group`` is reserved in Vault.
BUILTIN_POLICIES = frozenset({"root", "default", "response-wrapping", "control-group"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "LIST"})

_PART = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
#: What a seeded secret may be called: '/'-separated parts of letters, digits, '-', '_' and
#: '.', each starting with a letter or digit, no '..'. Everything else is refused because it is
#: URL syntax (``?`` ``#`` ``%``: the request would address another secret), an ACL glob
#: (``*`` ``+``, or ``{{...}}`` templating in OpenBao's HCL policies), HCL string syntax
#: (``"`` ``\\``), or a path Go would clean into another one (``//``, ``.``, ``..``, a leading
#: or trailing ``/``; OpenBao answers those with a redirect to the cleaned path).
SECRET_NAME_RE = re.compile(rf"(?!.*\.\.){_PART}(?:/{_PART})*")
SECRET_NAME_MAX = 255
#: API paths the admin helpers send: the same parts, optionally ending in '/' (a LIST)
_API_PATH_RE = re.compile(rf"(?!.*\.\.){_PART}(?:/{_PART})*/?")
_IDENTITY_RE = re.compile(r"[a-z][a-z0-9-]{2,29}")  # what SeedSpec accepts
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,512}")
#: transit key names (a plain path part: no glob or template can reach the HCL)
TRANSIT_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
TRANSIT_MOUNT = "transit"
#: one JWT auth mount per issuer, each with that issuer's key and ``bound_issuer`` (a token of
#: one issuer can then never log in at a role meant for the other). ``jwt`` is hvac's and the
#: CLI's default mount path, and the one GitHub's and hashicorp/vault-action's guides use.
JWT_MOUNTS = {"github": "jwt", "kubernetes": "jwt-kubernetes"}
#: tokens from a JWT login: short, and not renewable past their first ten minutes
JWT_TOKEN_TTL = 600
_REDACTED = "[redacted]"


class VaultApiError(RuntimeError):
    """OpenBao refused a request. The message says where and why, never a value that was sent
    (OpenBao quotes some inputs back, e.g. ``invalid duration "..."``)."""

    def __init__(
        self, status: int, path: str, errors: list[str], *, redact: tuple[str, ...] = ()
    ) -> None:
        self.status = status
        self.path = path
        self.errors = [_scrub(str(e), redact).strip() for e in errors]
        super().__init__(f"OpenBao {status} on {path}: {'; '.join(self.errors) or 'no detail'}")


class VaultInputError(ValueError):
    """A bad argument to an admin helper (caught before anything is sent)."""


def check_secret_name(name: str) -> str | None:
    """Why OpenBao cannot safely hold a seeded secret called ``name`` (None: it can)."""
    if not isinstance(name, str) or not name:
        return "a name is a non-empty string"
    if len(name) > SECRET_NAME_MAX:
        return f"at most {SECRET_NAME_MAX} characters"
    if SECRET_NAME_RE.fullmatch(name):
        return None
    hint = ""
    if any(c in name for c in "*+{}"):
        hint = " ('*', '+' and '{{' are globs and templates in an ACL policy)"
    elif any(c in name for c in "?#%"):
        hint = " ('?', '#' and '%' are URL syntax: the request would address another path)"
    elif ".." in name or "//" in name or name.startswith(("/", ".")) or name.endswith("/"):
        hint = " (a path with '..', '//' or a leading '/' or '.' is cleaned into another one)"
    return (
        "KV v2 names here are letters, digits, '-', '_' and '.', in '/'-separated parts that "
        f"each start with a letter or digit{hint}"
    )


def _check_transit(raw: object) -> dict[str, dict[str, tuple[str, ...]]]:
    """The seed's ``vault.transit_keys``, checked before anything is sent."""
    if not isinstance(raw, Mapping):
        raise SeedError("vault.transit_keys must map key names to {decrypt: [...], encrypt: [...]}")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, users in raw.items():
        if not isinstance(key, str) or not TRANSIT_KEY_RE.fullmatch(key):
            raise SeedError(
                "vault.transit_keys: a key name is 1-63 lower-case letters, digits, '-' or '_'"
            )
        if not isinstance(users, Mapping) or set(users) - {"decrypt", "encrypt"}:
            raise SeedError(f"vault.transit_keys.{key}: only 'decrypt' and 'encrypt' lists")
        entry: dict[str, tuple[str, ...]] = {}
        for action in ("decrypt", "encrypt"):
            names = users.get(action, [])
            if isinstance(names, str) or not isinstance(names, (list, tuple)):
                raise SeedError(f"vault.transit_keys.{key}.{action} must be a list of identities")
            for name in names:
                if not isinstance(name, str) or (
                    name != ADMIN and not _IDENTITY_RE.fullmatch(name)
                ):
                    raise SeedError(f"vault.transit_keys.{key}.{action}: not an identity name")
                if name in BUILTIN_POLICIES:
                    raise SeedError(f"vault.transit_keys.{key}.{action}: a built-in policy name")
            entry[action] = tuple(names)
        out[key] = entry
    return out


def _check_identity(name: object) -> str:
    if not isinstance(name, str) or not _IDENTITY_RE.fullmatch(name):
        raise VaultInputError(
            "identity names are 3-30 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return name


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _quote(path: str) -> str:
    return urllib.parse.quote(path, safe="/")


def _scrub(text: str, redact: tuple[str, ...]) -> str:
    for value in sorted(redact, key=len, reverse=True):
        text = text.replace(value, _REDACTED)
    return text


@dataclasses.dataclass(frozen=True)
class JwtRole:
    """One OpenBao JWT role: who (``identity``, its policy) a token from ``mount``'s issuer
    becomes when its ``sub`` matches one of ``subjects`` and its ``aud`` is ``audience``."""

    mount: str
    identity: str
    audience: str
    subjects: tuple[str, ...]

    @property
    def glob(self) -> bool:
        return any(s.endswith("*") for s in self.subjects)

    def body(self) -> dict[str, Any]:
        """The role as ``auth/<mount>/role/<identity>`` takes it (OpenBao's JWT auth API)."""
        return {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": [self.audience],
            # bound_claims rather than bound_subject: several subjects (main and a release
            # branch) may become one identity, and a '*' needs the glob type. The leeways stay
            # OpenBao's defaults: measured on OpenBao 2.x, a token is refused from 60 s after
            # its exp ("token is expired") and while its nbf is more than 60 s ahead
            "bound_claims_type": "glob" if self.glob else "string",
            "bound_claims": {"sub": list(self.subjects)},
            "token_policies": [self.identity],
            "token_ttl": JWT_TOKEN_TTL,
            "token_max_ttl": JWT_TOKEN_TTL,
        }


def default_audience(issuer: str, subject: str) -> str:
    """The ``aud`` a workload asks its issuer for when it logs in to OpenBao.

    GitHub Actions: ``https://github.com/OWNER``, the default audience GitHub puts in a job's
    token ("About security hardening with OpenID Connect"; GitHub's Vault guide binds
    ``bound_audiences`` to it), so a workflow needs no ``audience`` input. Kubernetes: ``vault``,
    the audience a projected service-account token for Vault/OpenBao is usually requested with
    (the API server's default audience would let any in-cluster consumer replay it)."""
    if issuer == "github":
        owner = subject.removeprefix("repo:").split("/", 1)[0]
        return f"https://github.com/{owner}"
    return "vault"


def plan_jwt_roles(trusts: tuple[TrustSpec, ...]) -> dict[tuple[str, str], JwtRole]:
    """(mount, identity) -> its JWT role, from seed trusts; SeedError if OpenBao could not keep
    them apart (one role per identity and issuer has one set of bound audiences)."""
    roles: dict[tuple[str, str], JwtRole] = {}
    for n, trust in enumerate(trusts):
        mount = JWT_MOUNTS[trust.issuer]
        audience = trust.audience or default_audience(trust.issuer, trust.subject)
        known = roles.get((mount, trust.identity))
        if known is None:
            roles[(mount, trust.identity)] = JwtRole(mount, trust.identity, audience,
                                                     (trust.subject,))  # fmt: skip
            continue
        if known.audience != audience:
            raise SeedError(
                f"vault: trusts[{n}]: identity {trust.identity!r} already trusts {trust.issuer} "
                f"tokens for audience {known.audience!r}; one OpenBao JWT role binds its audiences "
                "to all of its subjects, so every trust of an identity and issuer needs the same "
                "audience"
            )
        if trust.subject not in known.subjects:
            roles[(mount, trust.identity)] = dataclasses.replace(
                known, subjects=(*known.subjects, trust.subject)
            )
    return roles


class Admin:
    """The dev server as its administrator: raw requests, seeding (the kit's ``SeedHooks``),
    AppRole logins, reset."""

    #: the cloud's name in seeds (``SeedHooks.name``)
    name = "vault"

    def __init__(self, addr: str, token: str, book: CredentialBook | None = None) -> None:
        self.addr = addr
        self.token = token
        #: AppRole role ids and secret ids of this server start, minted on first use
        self.book = book if book is not None else CredentialBook()
        #: identity -> {"read": set(name), "write": set(name), "admin": set()}
        self.grants: dict[str, dict[str, set[str]]] = {}
        #: (mount, identity) -> the JWT role written for the seeded trusts
        self.jwt_roles: dict[tuple[str, str], JwtRole] = {}
        self._trusts: list[TrustSpec] = []

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> dict[str, Any]:
        """``method`` on ``/v1/<path>``; the JSON answer (``{}`` for a LIST of nothing).

        Raises :class:`VaultInputError` for a bad argument, :class:`VaultApiError` when OpenBao
        refuses, ``ConnectionError`` when it cannot be reached."""
        if method not in METHODS:
            raise VaultInputError(f"method must be one of {', '.join(sorted(METHODS))}")
        if not isinstance(path, str) or not _API_PATH_RE.fullmatch(path):
            raise VaultInputError(
                "path must be '/'-separated parts of letters, digits, '-', '_' and '.' "
                "(no leading '/', no '..', no query or fragment)"
            )
        return self._send(method, path, body, token)

    def _send(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> dict[str, Any]:
        """``request`` for a path that is already URL-safe (checked, or quoted from a listing)."""
        token = self.token if token is None else token
        if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise VaultInputError("token must be printable ASCII without spaces")
        if body is not None and not isinstance(body, Mapping):
            raise VaultInputError("body must be a mapping (a JSON object) or None")
        try:
            data = None if body is None else json.dumps(body).encode()
        except (TypeError, ValueError):  # the message would name the type only, but be sure
            raise VaultInputError(
                "body must hold only JSON values (bytes go in as base64 text)"
            ) from None
        req = urllib.request.Request(f"{self.addr}/v1/{path}", data=data, method=method)  # noqa: S310
        req.add_header("X-Vault-Token", token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if method == "LIST" and exc.code == 404:
                return {}
            try:
                errs = json.loads(exc.read() or b"{}").get("errors", [])
            except (ValueError, AttributeError):
                errs = []
            redact = (token, *(s for s in _strings(body) if len(s) >= 4))
            raise VaultApiError(exc.code, path, list(errs or []), redact=redact) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(
                f"OpenBao at {self.addr} is not reachable ({type(reason).__name__})"
            ) from None
        result: dict[str, Any] = json.loads(raw) if raw else {}
        return result

    def setup(self) -> None:
        mounts = self.request("GET", "sys/auth").get("data", {})
        if "approle/" not in mounts:
            self.request("POST", "sys/auth/approle", {"type": "approle"})

    # -- seeding: the kit's SeedHooks ------------------------------------------------------
    def apply_seed(
        self, spec: SeedSpec, issuers: Mapping[str, tuple[str, str]] | None = None
    ) -> None:
        """Seed KV, policies and AppRoles, and for ``spec.trusts`` the JWT auth method:
        ``issuers`` maps an issuer name ("github", "kubernetes") to (its URL, its public key
        as PEM), the ``bound_issuer`` and ``jwt_validation_pubkeys`` of that issuer's mount."""
        extra = dict(spec.extra.get("vault", {}))
        transit = _check_transit(extra.pop("transit_keys", {}))
        if extra:
            raise SeedError(f"vault: unknown seed field(s) {', '.join(sorted(extra))}")
        reserved = sorted(set(spec.identities) & BUILTIN_POLICIES)
        if reserved:  # checked with the names, before anything reaches the server
            raise SeedError(
                f"vault: identity {reserved[0]!r} is the name of a built-in OpenBao policy "
                "(root, default, response-wrapping, control-group): choose another name"
            )
        planned = plan_jwt_roles(tuple(self._trusts) + tuple(spec.trusts))
        needed = {t.issuer for t in spec.trusts}
        missing = sorted(needed - set(issuers or {}))
        if missing:
            raise SeedError(f"vault: no key of the {', '.join(missing)} issuer to trust")
        apply_seed(self, spec)
        self._seed_transit(transit)
        for name in sorted(self.grants):
            self._write_identity(name)
        for issuer in sorted(needed):
            url, pem = (issuers or {})[issuer]
            self.configure_jwt(JWT_MOUNTS[issuer], url, pem)
        for key, role in sorted(planned.items()):
            if self.jwt_roles.get(key) != role:
                self.request("POST", f"auth/{role.mount}/role/{role.identity}", role.body())
        self.jwt_roles = planned
        self._trusts += [t for t in spec.trusts if t not in self._trusts]

    def configure_jwt(self, mount: str, issuer_url: str, public_key_pem: str) -> None:
        """Enable the JWT auth method at ``auth/<mount>`` (once) and trust one issuer there by
        its public key: ``jwt_validation_pubkeys`` (OpenBao never fetches the issuer's JWKS, as
        in an air-gapped setup) and ``bound_issuer`` (the ``iss`` every token must carry)."""
        mounts = self.request("GET", "sys/auth").get("data", {})
        if f"{mount}/" not in mounts:
            self.request("POST", f"sys/auth/{mount}", {"type": "jwt"})
        self.request(
            "POST",
            f"auth/{mount}/config",
            {"jwt_validation_pubkeys": [public_key_pem], "bound_issuer": issuer_url},
        )

    def check_secret_name(self, name: str) -> str | None:
        return check_secret_name(name)

    def _grant(self, identity: str) -> dict[str, set[str]]:
        return self.grants.setdefault(identity, {"read": set(), "write": set(), "admin": set()})

    def add_identity(self, identity: IdentitySpec) -> None:
        if identity.name != ADMIN:
            grant = self._grant(identity.name)
            if identity.admin:
                grant["admin"].add("*")

    def put_secret(self, secret: SecretSpec) -> None:
        value = secret.value
        if isinstance(value, bytes):  # KV holds JSON: bytes go in as base64 text
            value = base64.b64encode(value).decode()
        self.request("POST", f"secret/data/{secret.name}", {"data": {"value": value}})

    def grant_read(self, secret: SecretSpec, identity: str) -> None:
        if identity != ADMIN:
            self._grant(identity)["read"].add(secret.name)

    def grant_write(self, secret: SecretSpec, identity: str) -> None:
        if identity != ADMIN:
            self._grant(identity)["write"].add(secret.name)

    def _write_identity(self, name: str) -> None:
        grant = self.grants[name]
        rules = []
        if grant["admin"]:
            rules.append('path "*" {\n  capabilities = ["create", "read", "update", "delete", '
                         '"list", "sudo"]\n}')  # fmt: skip
        # names passed check_secret_name: no glob, quote or template can reach the HCL
        for secret in sorted(grant["read"] - grant["write"]):
            rules.append(f'path "secret/data/{secret}" {{\n  capabilities = ["read"]\n}}')
        for secret in sorted(grant["write"]):
            rules.append(
                f'path "secret/data/{secret}" {{\n  capabilities = ["create", "update", "read"]\n}}'
            )
        for secret in sorted(grant["read"] | grant["write"]):
            rules.append(f'path "secret/metadata/{secret}" {{\n  capabilities = ["read"]\n}}')
        for action in ("decrypt", "encrypt"):  # key names passed TRANSIT_KEY_RE
            for key in sorted(grant.get(f"transit_{action}", ())):
                rules.append(
                    f'path "{TRANSIT_MOUNT}/{action}/{key}" {{\n  capabilities = ["update"]\n}}'
                )
        policy = "\n".join(rules) or "# no access yet\n"
        self.request("PUT", f"sys/policies/acl/{name}", {"policy": policy})
        self.request("POST", f"auth/approle/role/{name}", {"token_policies": [name]})
        role_id, secret_id = self.approle(name)
        self.request("POST", f"auth/approle/role/{name}/role-id", {"role_id": role_id})
        found = self.request(
            "POST", f"auth/approle/role/{name}/secret-id/lookup", {"secret_id": secret_id}
        )
        if not found.get("data"):
            self.request(
                "POST", f"auth/approle/role/{name}/custom-secret-id", {"secret_id": secret_id}
            )

    def approle(self, name: str) -> tuple[str, str]:
        """(role id, secret id) of an identity, random per server start. For one never seeded,
        an AppRole login with them fails (400 invalid role or secret ID), as it would against
        a real server; once it is seeded, the same pair logs in."""
        name = _check_identity(name)
        return (
            self.book.get("approle-role-id", name, random_uuid),
            self.book.get("approle-secret-id", name, random_uuid),
        )

    def login(self, name: str) -> str:
        """A token from an AppRole login as ``name`` (VaultApiError 400 if never seeded)."""
        role_id, secret_id = self.approle(name)
        out = self.request(
            "POST", "auth/approle/login", {"role_id": role_id, "secret_id": secret_id}
        )
        token: str = out["auth"]["client_token"]
        return token

    # -- transit -----------------------------------------------------------------------------
    def _seed_transit(self, keys: dict[str, dict[str, tuple[str, ...]]]) -> None:
        """Mount the transit engine (once), create each key (kept if it exists: files already
        encrypted to it stay readable), and grant its users in their policies."""
        if not keys:
            return
        mounts = self.request("GET", "sys/mounts").get("data", {})
        if f"{TRANSIT_MOUNT}/" not in mounts:
            self.request("POST", f"sys/mounts/{TRANSIT_MOUNT}", {"type": "transit"})
        for key, users in sorted(keys.items()):
            self.request("POST", f"{TRANSIT_MOUNT}/keys/{key}", {"type": "aes256-gcm96"})
            for action in ("decrypt", "encrypt"):
                for identity in users.get(action, ()):
                    if identity != ADMIN:
                        grant = self._grant(identity)
                        grant.setdefault(f"transit_{action}", set()).add(key)

    def transit_keys(self) -> list[str]:
        """The transit keys that exist now (``[]`` when the engine is not mounted)."""
        mounts = self._send("GET", "sys/mounts").get("data", {})
        if f"{TRANSIT_MOUNT}/" not in mounts:
            return []
        keys: list[str] = (
            self._send("LIST", f"{TRANSIT_MOUNT}/keys").get("data", {}).get("keys", [])
        )
        return keys

    # -- reset -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Wipe KV data, ACL policies, AppRoles and JWT roles. Issued tokens stay: they carry only
        policy *names*, which grant nothing until a seed writes those policies again."""
        # what is listed may have been written by anyone (hvac, the CLI): quote, do not judge
        self._wipe_kv("")
        for role in self._send("LIST", "auth/approle/role").get("data", {}).get("keys", []):
            self._send("DELETE", f"auth/approle/role/{_quote(role)}")
        mounts = self._send("GET", "sys/auth").get("data", {})
        for mount in JWT_MOUNTS.values():  # the mounts and their keys stay; the roles go
            if f"{mount}/" in mounts:
                for role in (
                    self._send("LIST", f"auth/{mount}/role").get("data", {}).get("keys", [])
                ):
                    self._send("DELETE", f"auth/{mount}/role/{_quote(role)}")
        for key in self.transit_keys():  # deletion must be allowed first, as on a real server
            quoted = _quote(key)
            self._send("POST", f"{TRANSIT_MOUNT}/keys/{quoted}/config", {"deletion_allowed": True})
            self._send("DELETE", f"{TRANSIT_MOUNT}/keys/{quoted}")
        for policy in self._send("LIST", "sys/policies/acl").get("data", {}).get("keys", []):
            if policy not in BUILTIN_POLICIES:
                self._send("DELETE", f"sys/policies/acl/{_quote(policy)}")
        self.grants.clear()
        self.jwt_roles.clear()
        self._trusts.clear()

    def _wipe_kv(self, prefix: str) -> None:
        listed = self._send("LIST", f"secret/metadata/{_quote(prefix)}")
        for key in listed.get("data", {}).get("keys", []):
            if key.endswith("/"):
                self._wipe_kv(prefix + key)
            else:
                self._send("DELETE", f"secret/metadata/{_quote(prefix + key)}")
