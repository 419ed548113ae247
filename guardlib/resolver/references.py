"""Secret references: one line of text that says where a secret lives.

Grammar (``[...]`` is optional; one of ``stage``/``version`` at most)::

    env://NAME                                  env://API_KEY
    dotenv://PATH#NAME                          dotenv://.env#API_KEY   dotenv:///etc/app.env#DB
    aws-sm://NAME_OR_ARN[?stage=S|?version=V][#json.key]
                                                aws-sm://dev-api-key
                                                aws-sm://dev-api-key?stage=AWSPENDING
                                                aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf#password
    azure-kv://VAULT/NAME[/VERSION][#json.key]  azure-kv://guard-demo/dev-api-key
                                                (VAULT -> https://VAULT.vault.azure.net)
    gcp-sm://PROJECT/SECRET[/VERSION][#json.key]
                                                gcp-sm://guard-demo/dev-api-key/3  (default latest)
    vault://MOUNT/PATH[?version=N][#KEY]        vault://secret/dev-api-key#value
                                                (KV v2; ``#KEY?version=N`` is accepted too;
                                                without ``#KEY`` the whole data map, as JSON)
    sops://PATH[#key.path]                      sops://config/dev.enc.yaml#db.password
                                                (a sops-encrypted file; without ``#`` the
                                                whole decrypted document, as JSON)
    dotenvx://PATH#NAME                         dotenvx://.env.production#DB_PASSWORD

``#json.key`` selects a field of a JSON secret, ``a.b`` a nested one. :func:`parse_reference`
returns a frozen :class:`Reference` whose ``str()`` is the canonical text (``parse_reference(
str(ref)) == ref``); anything else raises :class:`~guardlib.errors.InvalidReference`, whose
message never repeats the text (a value pasted where a reference belongs is still a secret).
"""

from __future__ import annotations

import dataclasses
import functools
import re

from guardlib.errors import InvalidReference

SCHEMES = ("env", "dotenv", "aws-sm", "azure-kv", "gcp-sm", "vault", "sops", "dotenvx")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AWS_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_AWS_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
_AWS_STAGE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_AWS_VERSION = re.compile(r"[A-Za-z0-9-]{32,64}")
_AZ_VAULT = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]")  # 3-24 characters
_AZ_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_AZ_VERSION = re.compile(r"[0-9A-Za-z]{1,64}")
_GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_GCP_SECRET = re.compile(r"[A-Za-z0-9_-]{1,255}")
_GCP_VERSION = re.compile(r"latest|[1-9][0-9]{0,18}")
_VAULT_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_VAULT_KEY = re.compile(r"[^\s#?/]{1,256}")
_FIELD = re.compile(r"[^\s.#?]+(\.[^\s.#?]+)*")
_SCHEME_SHAPE = re.compile(r"[a-z][a-z0-9+.-]{0,15}")


@dataclasses.dataclass(frozen=True)
class Reference:
    """A parsed secret reference. ``container`` is the dotenv path, Azure vault, GCP project or
    Vault mount (None for ``env`` and ``aws-sm``)."""

    scheme: str
    name: str
    container: str | None = None
    version: str | None = None
    stage: str | None = None
    field: str | None = None

    @property
    def pinned(self) -> bool:
        """True when the reference names an exact version (rotation cannot change it)."""
        return self.version is not None and self.version != "latest"

    @property
    def source(self) -> Reference:
        """The same reference without ``#field``: what one provider call fetches (cache key)."""
        if self.field is None or self.scheme in ("dotenv", "env", "vault"):
            return self
        return dataclasses.replace(self, field=None)

    def __str__(self) -> str:
        s = self.scheme
        if s == "env":
            return f"env://{self.name}"
        if s in ("dotenv", "dotenvx"):
            return f"{s}://{self.container}#{self.name}"
        if s == "sops":
            return f"sops://{self.container}" + (f"#{self.field}" if self.field else "")
        if s == "aws-sm":
            text = f"aws-sm://{self.name}"
            if self.stage is not None:
                text += f"?stage={self.stage}"
            elif self.version is not None:
                text += f"?version={self.version}"
        elif s in ("azure-kv", "gcp-sm"):
            text = f"{s}://{self.container}/{self.name}"
            if self.version is not None and not (s == "gcp-sm" and self.version == "latest"):
                text += f"/{self.version}"
        else:  # vault
            text = f"vault://{self.container}/{self.name}"
            if self.version is not None:
                text += f"?version={self.version}"
        if self.field is not None:
            text += f"#{self.field}"
        return text


def _bad(text: str, why: str) -> InvalidReference:
    return InvalidReference(text, f"not a valid secret reference: {why}")


def _query(text: str, query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if not eq or key not in allowed or key in out or not value:
            raise _bad(text, f"the query may hold one of {', '.join(k + '=' for k in allowed)}")
        out[key] = value
    return out


@functools.lru_cache(maxsize=4096)
def parse_reference(text: str) -> Reference:
    """Parse ``text`` (see the module docstring) or raise ``InvalidReference``, nothing else."""
    if not isinstance(text, str):
        raise InvalidReference(repr(type(text)), "a secret reference is a str")
    try:
        return _parse(text)
    except InvalidReference:
        raise
    except Exception:  # noqa: BLE001, S110 - the contract: InvalidReference, nothing else
        pass
    raise _bad(text, "malformed")  # outside the except block: no __context__


def _parse(text: str) -> Reference:
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in SCHEMES:
        hint = f" (scheme {scheme!r} is unknown)" if sep and _SCHEME_SHAPE.fullmatch(scheme) else ""
        raise _bad(text, "expected one of " + ", ".join(s + "://" for s in SCHEMES) + hint)
    if any(c.isspace() for c in rest) or not rest:
        raise _bad(text, f"a {scheme}:// reference has no spaces and is not empty")

    if scheme == "env":
        if not _ENV_NAME.fullmatch(rest):
            raise _bad(text, "env://NAME takes a variable name (letters, digits, '_')")
        return Reference("env", rest)

    if scheme == "dotenv":
        path, hash_, name = rest.rpartition("#")
        if not hash_ or not path or not _ENV_NAME.fullmatch(name):
            raise _bad(text, "expected dotenv://PATH#NAME")
        return Reference("dotenv", name, container=path)

    if scheme == "dotenvx":
        path, hash_, name = rest.rpartition("#")
        if not hash_ or not path or not _ENV_NAME.fullmatch(name):
            raise _bad(text, "expected dotenvx://PATH#NAME")
        return Reference("dotenvx", name, container=path)

    if scheme == "sops":
        path, hash_, frag = rest.rpartition("#")
        if not hash_:
            path, frag = rest, ""
        if not path or (hash_ and not _FIELD.fullmatch(frag)):
            raise _bad(text, "expected sops://PATH[#key.path] (a dotted key such as db.password)")
        return Reference("sops", path, container=path, field=frag or None)

    field: str | None = None
    query = ""
    if scheme == "vault":
        # both vault://m/p?version=2#key and vault://m/p#key?version=2
        body, hash_, frag = rest.partition("#")
        if hash_:
            frag, q2, after = frag.partition("?")
            field = frag
            query = after if q2 else ""
            if not _VAULT_KEY.fullmatch(field):
                raise _bad(text, "vault://MOUNT/PATH#KEY: a KEY without spaces, '#', '?' or '/'")
        body, q1, before = body.partition("?")
        if q1:
            if query:
                raise _bad(text, "give ?version= once")
            query = before
        params = _query(text, query, ("version",)) if query or q1 else {}
        mount, slash, path = body.partition("/")
        segments = path.split("/")
        if (
            not slash
            or not _VAULT_SEGMENT.fullmatch(mount)
            or not all(_VAULT_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)
        ):
            raise _bad(text, "expected vault://MOUNT/PATH#KEY")
        if mount in (".", ".."):
            raise _bad(text, "expected vault://MOUNT/PATH#KEY")
        version = params.get("version")
        if version is not None and not re.fullmatch(r"[1-9][0-9]{0,9}", version):
            raise _bad(text, "?version= takes a positive integer")
        return Reference("vault", path, container=mount, version=version, field=field)

    body, hash_, frag = rest.partition("#")
    if hash_:
        if not _FIELD.fullmatch(frag):
            raise _bad(text, "#field is a dotted JSON key such as #password or #db.password")
        field = frag
    body, q, query = body.partition("?")

    if scheme == "aws-sm":
        if not (_AWS_ARN.fullmatch(body) or (_AWS_NAME.fullmatch(body) and ":" not in body)):
            raise _bad(text, "aws-sm:// takes a secret name or a Secrets Manager ARN")
        params = _query(text, query, ("stage", "version")) if q else {}
        if len(params) > 1:
            raise _bad(text, "give ?stage= or ?version=, not both")
        stage, version = params.get("stage"), params.get("version")
        if stage is not None and not _AWS_STAGE.fullmatch(stage):
            raise _bad(text, "?stage= takes a staging label such as AWSPENDING")
        if version is not None and not _AWS_VERSION.fullmatch(version):
            raise _bad(text, "?version= takes a version id (32-64 characters)")
        return Reference("aws-sm", body, version=version, stage=stage, field=field)

    if q:
        raise _bad(text, f"{scheme}:// takes no query; put the version in the path")
    parts = body.split("/")
    if len(parts) not in (2, 3):
        raise _bad(text, f"expected {scheme}://{'VAULT' if scheme == 'azure-kv' else 'PROJECT'}"
                   "/NAME[/VERSION]")  # fmt: skip
    version = parts[2] if len(parts) == 3 else None
    if scheme == "azure-kv":
        ok = _AZ_VAULT.fullmatch(parts[0]) and _AZ_NAME.fullmatch(parts[1])
        if not ok or (version is not None and not _AZ_VERSION.fullmatch(version)):
            raise _bad(text, "expected azure-kv://VAULT/NAME[/VERSION] (Key Vault names)")
        return Reference("azure-kv", parts[1], container=parts[0], version=version, field=field)
    ok = _GCP_PROJECT.fullmatch(parts[0]) and _GCP_SECRET.fullmatch(parts[1])
    if not ok or (version is not None and not _GCP_VERSION.fullmatch(version)):
        raise _bad(text, "expected gcp-sm://PROJECT/SECRET[/VERSION] (VERSION: latest or N)")
    if version == "latest":
        version = None  # canonical form: latest is the default
    return Reference("gcp-sm", parts[1], container=parts[0], version=version, field=field)


def as_reference(ref: str | Reference) -> Reference:
    return ref if isinstance(ref, Reference) else parse_reference(ref)
