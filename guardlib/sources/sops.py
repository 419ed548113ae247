"""``sops://PATH[#key.path]``: one value of a file that `sops <https://getsops.io>`_ encrypted
(YAML, JSON, dotenv, INI; any other name is sops' "binary" format), read in pure Python.

Read-only: encrypting and editing stay the ``sops`` command's job. The file's data key is
recovered from the first master key that can open it, then every value is decrypted and the
file's MAC is verified (``guardlib.sources._sops_format``): a file changed after sops wrote it
is refused, never read as a wrong value. Without ``#key.path`` the value is the whole
decrypted document as JSON (a binary file: its content).

Master keys, as sops finds them (sops 3.11-3.13 source, ``age/keysource.go``,
``kms/keysource.go``, ``hcvault/keysource.go``):

- **age**: every identity from ``SOPS_AGE_KEY`` (several per line allowed),
  ``SOPS_AGE_KEY_FILE``, the output of ``SOPS_AGE_KEY_CMD`` (run without a shell, with
  ``SOPS_AGE_RECIPIENT`` set) and the user's ``sops/age/keys.txt`` in the OS config directory
  (``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux, ``~/Library/Application Support`` on macOS
  unless ``XDG_CONFIG_HOME`` is set, ``%AppData%`` on Windows); SSH identities
  (``SOPS_AGE_SSH_PRIVATE_KEY_FILE``, ``~/.ssh/id_ed25519``, ``~/.ssh/id_rsa``) only when the
  file names an ``ssh-`` recipient. All of them are tried, as sops does. Through pyrage.
- **AWS KMS**: boto3 ``kms.decrypt`` with the key's ARN, its encryption context and the
  region from the ARN; endpoint, credentials and proxy from the environment as for any boto3
  client (``AWS_ENDPOINT_URL_KMS``, ``AWS_ENDPOINT_URL``, ...); a key ``role`` is assumed
  first (session name ``sops@<host>``, as sops names it); ``aws_profile`` picks the profile.
- **HashiCorp Vault / OpenBao transit**: hvac ``transit/decrypt`` at the key's
  ``engine_path``/``key_name``, with ``VAULT_TOKEN`` (or ``~/.vault-token``) and
  ``VAULT_CACERT``. guardlib sends a token only to ``VAULT_ADDR``: a file that names another
  address is refused (a file edited in a pull request could otherwise send your token
  anywhere; sops 3.13 added ``SOPS_HC_VAULT_ALLOWLIST`` for the same reason).
- PGP, GCP KMS, Azure Key Vault and HuaweiCloud KMS keys are not read: a file that only they
  can open gets an error saying to use ``sops decrypt``.

Errors name the file and the key path, never a value, and say what to do.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from guardlib.errors import (
    AccessDenied,
    ProviderCause,
    ProviderUnavailable,
    ResolveError,
    SecretNotFound,
)
from guardlib.resolver.references import Reference
from guardlib.sources import Fetched
from guardlib.sources import _sops_format as fmt

MAX_BYTES = 16 * 1024 * 1024
_local = threading.local()


class _KeyFailure(Exception):
    """One master key could not open the file: ``kind`` is denied/missing/unavailable/other."""

    def __init__(self, kind: str, text: str, cause: ProviderCause | None = None) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.cause = cause


# --- age ------------------------------------------------------------------------------------


def user_config_dir() -> Path | None:
    """Go's ``os.UserConfigDir`` as sops' ``getUserConfigDir`` uses it."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if sys.platform == "win32":
        appdata = os.environ.get("AppData") or os.environ.get("APPDATA")
        return Path(appdata) if appdata else None
    if sys.platform == "darwin":
        if xdg:
            return Path(xdg)
        home = os.environ.get("HOME")
        return Path(home) / "Library" / "Application Support" if home else None
    if xdg:  # Go: a relative XDG_CONFIG_HOME is an error, and sops then looks nowhere
        return Path(xdg) if os.path.isabs(xdg) else None
    home = os.environ.get("HOME")
    return Path(home) / ".config" if home else None


def default_age_key_file() -> Path | None:
    base = user_config_dir()
    return base / "sops" / "age" / "keys.txt" if base is not None else None


def _parse_identities(text: str, where: str, many_per_line: bool) -> list[Any]:
    import pyrage

    out: list[Any] = []
    for line in text.splitlines():
        line = line.strip("\r")
        if not line or line.startswith("#"):
            continue
        for word in line.split() if many_per_line else [line.strip()]:
            if word.startswith("AGE-SECRET-KEY-1"):
                try:
                    out.append(pyrage.x25519.Identity.from_str(word))
                except Exception:  # noqa: BLE001 - pyrage's message could echo the key
                    raise _KeyFailure("other", f"{where} holds a malformed age key") from None
            elif word.startswith("-----BEGIN AGE ENCRYPTED FILE"):
                raise _KeyFailure(
                    "other",
                    f"{where} is a passphrase-protected age identity "
                    "file, which guardlib does not open: use `sops decrypt`",
                )
            elif word.startswith("AGE-PLUGIN-") or word.startswith("AGE-SECRET-KEY-PQ-"):
                raise _KeyFailure(
                    "other",
                    f"{where} holds an age plugin or post-quantum "
                    "identity, which guardlib does not read: use `sops decrypt`",
                )
            else:
                raise _KeyFailure(
                    "other", f"{where} holds a line that is not an age key (AGE-SECRET-KEY-1...)"
                )
    return out


def _run_key_cmd(variable: str, recipient: str) -> str:
    command = os.environ[variable]
    try:
        argv = shlex.split(command)
        done = subprocess.run(  # noqa: S603 - the user's own command, no shell, as sops runs it
            argv,
            capture_output=True,
            timeout=30,
            check=True,
            env={**os.environ, "SOPS_AGE_RECIPIENT": recipient},
        )
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise _KeyFailure("other", f"{variable} failed ({type(exc).__name__})") from None
    return done.stdout.decode("utf-8", "replace")


def age_identities(recipients: list[str]) -> tuple[list[Any], list[str], list[str]]:
    """Every identity sops would load: ``(identities, places looked at, problems)``."""
    import pyrage

    found: list[Any] = []
    looked: list[str] = []
    problems: list[str] = []

    def add(text: str, where: str, many: bool) -> None:
        try:
            found.extend(_parse_identities(text, where, many))
        except _KeyFailure as failure:
            problems.append(failure.text)

    if any(r.startswith("ssh-") for r in recipients):
        ssh_paths = []
        if os.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
            ssh_paths.append(Path(os.environ["SOPS_AGE_SSH_PRIVATE_KEY_FILE"]))
        home = Path.home()
        ssh_paths += [home / ".ssh" / "id_ed25519", home / ".ssh" / "id_rsa"]
        for path in ssh_paths:
            looked.append(str(path))
            if path.is_file():
                try:
                    found.append(pyrage.ssh.Identity.from_buffer(path.read_bytes()))
                except Exception:  # noqa: BLE001
                    problems.append(f"{path} is not an unencrypted SSH key age can use")
    if "SOPS_AGE_KEY" in os.environ:
        looked.append("SOPS_AGE_KEY")
        add(os.environ["SOPS_AGE_KEY"], "SOPS_AGE_KEY", True)
    if "SOPS_AGE_KEY_FILE" in os.environ:
        path = Path(os.environ["SOPS_AGE_KEY_FILE"]).expanduser()
        looked.append(f"SOPS_AGE_KEY_FILE ({path})")
        try:
            add(path.read_text("utf-8"), f"SOPS_AGE_KEY_FILE ({path})", False)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"SOPS_AGE_KEY_FILE ({path}) cannot be read ({type(exc).__name__})")
    if "SOPS_AGE_KEY_CMD" in os.environ:
        looked.append("SOPS_AGE_KEY_CMD")
        for recipient in recipients[:1]:
            try:
                add(_run_key_cmd("SOPS_AGE_KEY_CMD", recipient), "SOPS_AGE_KEY_CMD", False)
            except _KeyFailure as failure:
                problems.append(failure.text)
    default = default_age_key_file()
    if default is not None:
        looked.append(str(default))
        if default.is_file():
            try:
                add(default.read_text("utf-8"), str(default), False)
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{default} cannot be read ({type(exc).__name__})")
    return found, looked, problems


def _short(recipient: str) -> str:
    return recipient if len(recipient) <= 20 else recipient[:12] + "…" + recipient[-6:]


def _open_age(entries: list[dict[str, Any]]) -> bytes:
    import pyrage

    recipients = [str(e.get("recipient", "")) for e in entries]
    identities, looked, problems = age_identities(recipients)
    shown = ", ".join(_short(r) for r in recipients)
    if not identities:
        default = default_age_key_file()
        where = os.environ.get("SOPS_AGE_KEY_FILE") or (
            str(default) if default is not None else "sops/age/keys.txt in your config folder"
        )
        extra = f" ({'; '.join(problems)})" if problems else ""
        raise _KeyFailure(
            "missing",
            f"age: no age key found{extra}; set SOPS_AGE_KEY_FILE to the key file of one of its "
            f"recipients ({shown}), or put that key in {where}",
        )
    for entry in entries:
        try:
            return bytes(pyrage.decrypt(str(entry["enc"]).encode(), identities))
        except Exception:  # noqa: BLE001, S112 - pyrage.DecryptError: not one of our identities
            continue
    raise _KeyFailure(
        "denied",
        f"age: none of the {len(identities)} age key(s) found ({', '.join(looked)}) is a "
        f"recipient of this file ({shown}): you need the key of one of them; someone who can "
        "decrypt it must add your public key (`sops updatekeys` after editing .sops.yaml)",
    )


# --- AWS KMS --------------------------------------------------------------------------------

_KMS_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "IncorrectKeyException",
    "KMSInvalidStateException",
    "DisabledException",
    "InvalidSignatureException",
}
_KMS_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "TooManyRequestsException",
}


def _kms_failure(arn: str, exc: BaseException) -> _KeyFailure:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return _KeyFailure("missing", f"kms {arn}: no AWS credentials in this environment")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cause = ProviderCause(type(exc).__name__, code, status)
        if code in _KMS_DENIED or status in (401, 403):
            return _KeyFailure(
                "denied",
                f"kms {arn}: access denied ({code}): this identity "
                "may not kms:Decrypt with that key",
                cause,
            )
        if code in _KMS_THROTTLED or (isinstance(status, int) and status >= 500):
            return _KeyFailure("unavailable", f"kms {arn}: KMS unavailable ({code})", cause)
        if code == "NotFoundException":
            return _KeyFailure("other", f"kms {arn}: no such key ({code})", cause)
        return _KeyFailure("other", f"kms {arn}: KMS refused ({code})", cause)
    if isinstance(exc, BotoCoreError):
        return _KeyFailure(
            "unavailable",
            f"kms {arn}: cannot reach KMS ({type(exc).__name__})",
            ProviderCause(type(exc).__name__),
        )
    return _KeyFailure(
        "other", f"kms {arn}: {type(exc).__name__}", ProviderCause(type(exc).__name__)
    )


def _session_name() -> str:
    import re

    host = re.sub(r"[^a-zA-Z0-9=,.@_-]+", "", socket.gethostname())
    return ("sops@" + host)[:64]


def _open_kms(entry: dict[str, Any]) -> bytes:
    import base64
    import re

    arn = str(entry.get("arn", ""))
    match = re.match(r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$", arn)
    if match is None:
        raise _KeyFailure("other", "kms: the file names a key that is not a KMS ARN")
    try:
        blob = base64.b64decode(str(entry["enc"]), validate=True)
    except ValueError:
        raise _KeyFailure("other", f"kms {arn}: the encrypted data key is not base64") from None
    context = entry.get("context") or {}
    if not isinstance(context, dict):
        raise _KeyFailure("other", f"kms {arn}: a malformed encryption context")
    try:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=10,
        )
        session = boto3.session.Session(profile_name=entry.get("aws_profile") or None)
        region = match.group(1)
        if entry.get("role"):
            sts = session.client("sts", region_name=region, config=config)
            creds = sts.assume_role(RoleArn=str(entry["role"]), RoleSessionName=_session_name())[
                "Credentials"
            ]
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        client = session.client("kms", region_name=region, config=config)
        out = client.decrypt(
            KeyId=arn,
            CiphertextBlob=blob,
            EncryptionContext={str(k): str(v) for k, v in context.items()},
        )
    except _KeyFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - classified; no value in any botocore message
        raise _kms_failure(arn, exc) from None
    return bytes(out["Plaintext"])


# --- Vault / OpenBao transit ----------------------------------------------------------------


def _norm_addr(addr: str) -> str:
    return addr.strip().rstrip("/").lower()


def _vault_token() -> str | None:
    token = os.environ.get("VAULT_TOKEN")
    if token:
        return token
    path = Path.home() / ".vault-token"
    try:
        return path.read_text("utf-8").strip() or None
    except OSError:
        return None


def _open_vault(entry: dict[str, Any]) -> bytes:
    import base64

    addr = str(entry.get("vault_address", ""))
    engine = str(entry.get("engine_path", "")).strip("/")
    name = str(entry.get("key_name", ""))
    label = f"hc_vault {addr}/v1/{engine}/keys/{name}"
    env_addr = os.environ.get("VAULT_ADDR", "")
    if not env_addr or _norm_addr(env_addr) != _norm_addr(addr):
        raise _KeyFailure(
            "missing",
            f"{label}: the file names Vault at {addr or '(none)'}, and VAULT_ADDR is "
            f"{env_addr or 'not set'}; guardlib sends a Vault token only to VAULT_ADDR, so "
            "set VAULT_ADDR to that address if you trust it",
        )
    token = _vault_token()
    if token is None:
        raise _KeyFailure("missing", f"{label}: no Vault token (set VAULT_TOKEN or log in)")
    try:
        import hvac

        client = hvac.Client(
            url=env_addr, token=token, verify=os.environ.get("VAULT_CACERT") or True
        )
        out = client.secrets.transit.decrypt_data(
            name=name, ciphertext=str(entry["enc"]), mount_point=engine
        )
        return base64.b64decode(out["data"]["plaintext"], validate=True)
    except Exception as exc:  # noqa: BLE001 - classified below; hvac messages hold no value
        failure = exc
    import hvac.exceptions as hx
    import requests

    cause = ProviderCause(type(failure).__name__)
    if isinstance(failure, (hx.Forbidden, hx.Unauthorized)):
        raise _KeyFailure(
            "denied",
            f"{label}: permission denied: this token's policy may not "
            f"update {engine}/decrypt/{name}",
            cause,
        )
    if isinstance(
        failure,
        (
            requests.ConnectionError,
            requests.Timeout,
            hx.VaultDown,
            hx.InternalServerError,
            hx.BadGateway,
        ),
    ):
        raise _KeyFailure("unavailable", f"{label}: Vault unavailable ({cause.type})", cause)
    raise _KeyFailure("other", f"{label}: Vault refused ({cause.type})", cause)


# --- putting it together --------------------------------------------------------------------

UNSUPPORTED = {
    "pgp": "PGP",
    "gcp_kms": "GCP KMS",
    "azure_kv": "Azure Key Vault",
    "hckms": "HuaweiCloud KMS",
}


def _order(group: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """Local age keys first (as sops' default decryption order), then the rest in file
    order; ``SOPS_DECRYPTION_ORDER`` (comma-separated key types) overrides, as in sops."""
    order = [t.strip() for t in os.environ.get("SOPS_DECRYPTION_ORDER", "age").split(",")]
    rank = {kind: i for i, kind in enumerate(order)}
    ages = [entry for kind, entry in group if kind == "age"]
    items: list[tuple[str, Any]] = [("age", ages)] if ages else []
    items += [(kind, entry) for kind, entry in group if kind != "age"]
    return sorted(items, key=lambda item: rank.get(item[0], len(rank)))


def _open_group(group: list[tuple[str, dict[str, Any]]]) -> tuple[bytes | None, list[_KeyFailure]]:
    failures: list[_KeyFailure] = []
    for kind, entry in _order(group):
        try:
            if kind == "age":
                return _open_age(entry), failures
            if kind == "kms":
                return _open_kms(entry), failures
            if kind == "hc_vault":
                return _open_vault(entry), failures
        except _KeyFailure as failure:
            failures.append(failure)
            continue
        failures.append(
            _KeyFailure(
                "other", f"{UNSUPPORTED.get(kind, kind)}: not read by guardlib (use `sops decrypt`)"
            )
        )
    return None, failures


def data_key(meta: fmt.Metadata, text: str) -> bytes:
    """Recover the file's 32-byte data key (Shamir-combined when several key groups)."""
    parts: list[bytes] = []
    failures: list[_KeyFailure] = []
    need = len(meta.key_groups) if len(meta.key_groups) > 1 else 1
    if len(meta.key_groups) > 1 and meta.shamir_threshold:
        need = meta.shamir_threshold
    for group in meta.key_groups:
        part, why = _open_group(group)
        failures += why
        if part is not None:
            parts.append(part)
            if len(parts) >= need:
                break
    if len(parts) >= need:
        try:
            key = parts[0] if len(meta.key_groups) == 1 else fmt.shamir_combine(parts[:need])
        except ValueError:
            key = b""
        if len(key) == 32:
            return key
        raise ResolveError(
            text,
            f"{text}: the recovered data key is malformed: the file is "
            "damaged; restore it from git",
            cause=ProviderCause("BadDataKey"),
        )
    reasons = "; ".join(f.text for f in failures) or "it names no master key"
    causes = [f.cause for f in failures if f.cause is not None]
    cause = causes[0] if causes else ProviderCause("NoKey")
    kinds = {f.kind for f in failures}
    head = f"{text}: no key could open this file"
    if len(meta.key_groups) > 1:
        head += f" ({len(parts)} of the {need} key groups needed opened)"
    if "denied" in kinds:
        denied = [f for f in failures if f.kind == "denied" and f.cause is not None]
        raise AccessDenied(text, f"{head}: {reasons}", cause=denied[0].cause if denied else cause)
    if "unavailable" in kinds:
        raise ProviderUnavailable(text, f"{head}: {reasons}", cause=cause)
    if kinds <= {"missing"} and failures:
        raise AccessDenied(text, f"{head}: {reasons}", cause=cause)
    raise ResolveError(text, f"{head}: {reasons}", cause=cause)


def decrypt_file(path: Path, text: str) -> tuple[Any, str]:
    """``(document, lastmodified)``: the decrypted, MAC-verified content of ``path``."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ResolveError(text, f"{text}: {path} is larger than {MAX_BYTES} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SecretNotFound(text, f"{text}: no file at {path}") from None
    except IsADirectoryError:
        raise SecretNotFound(text, f"{text}: {path} is a directory, not a sops file") from None
    except OSError as exc:
        raise ResolveError(text, f"{text}: cannot read {path} ({type(exc).__name__})") from None
    kind = fmt.format_for_path(path.name)
    problem = None
    try:
        branches, raw_meta = fmt.load(raw, kind)
        meta = fmt.Metadata(raw_meta)
    except fmt.SopsFormatError as exc:
        problem = str(exc)
    if problem is not None:  # raised outside the except block: no parser context kept
        raise ResolveError(
            text,
            f"{text}: cannot read {path} as a sops {kind} file: {problem}",
            cause=ProviderCause("SopsFormatError"),
        )
    key = data_key(meta, text)
    bad_path = problem = None
    try:
        docs, mac_a, mac_b = fmt.decrypt_tree(branches, meta, key)
    except ValueError as exc:
        bad_path = str(exc)
    except (fmt.SopsFormatError, RecursionError) as exc:
        problem = str(exc) if isinstance(exc, fmt.SopsFormatError) else "it is nested too deeply"
    if problem is not None:  # raised outside the except block: no context kept
        raise ResolveError(
            text, f"{text}: cannot read {path}: {problem}", cause=ProviderCause("SopsFormatError")
        )
    if bad_path is not None:
        raise ResolveError(
            text,
            f"{text}: the value at {bad_path!r} in {path} does not decrypt with the file's data "
            "key: the file was changed after sops wrote it (or is damaged); do not use it: "
            "restore it from git and re-encrypt with sops",
            cause=ProviderCause("MacMismatch"),
        )
    if not fmt.check_mac(meta, key, (mac_a, mac_b)):
        raise ResolveError(
            text,
            f"{text}: MAC mismatch in {path}: the file was changed after sops wrote it (a value, "
            "a key or the order), or is damaged; do not use it: restore it from git and "
            "re-encrypt with sops",
            cause=ProviderCause("MacMismatch"),
        )
    if kind == "binary":
        doc: Any = docs[0].get("data", "") if docs and isinstance(docs[0], dict) else ""
        return doc, meta.lastmodified
    return (docs[0] if len(docs) == 1 else docs), meta.lastmodified


def fetch(ref: Reference) -> Fetched:
    text = str(ref)
    path = Path(str(ref.container)).expanduser()
    doc, lastmodified = decrypt_file(path, text)
    value = doc if isinstance(doc, str) else json.dumps(doc)
    return Fetched(value, version=lastmodified, name=str(path))
