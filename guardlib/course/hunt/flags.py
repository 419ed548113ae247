"""Per-learner flags for the leak hunt: who is hunting, the room's secret, and each value.

Every planted value carries a *flag*: 16 bytes of HMAC-SHA256 keyed by the learner's key,
which is itself HMAC-SHA256 of the learner's id keyed by the room secret:

    learner_key = HMAC(room_secret, "guardlib-hunt learner:" + learner_id)
    flag        = HMAC(learner_key, "guardlib-hunt challenge:" + challenge_id)

So a flag is an HMAC of the learner id and the challenge under the room secret, two learners
in one room get different values (they cannot share answers), and a facilitator can give a
learner only their ``learner_key`` (``GUARDLIB_HUNT_LEARNER_KEY``) without the room secret.

The room secret comes from ``GUARDLIB_HUNT_ROOM_SECRET``, else from a per-room file
(``GUARDLIB_HUNT_ROOM`` folder, default ``~/.guardlib/hunt``), generated there owner-only when
absent. It is never printed and never published: no flag can be computed from this code alone.

Each credential shape is the real format (so scanners find it) with ``DEMO`` in it (so nobody
mistakes it for a real key).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import string
from pathlib import Path

ROOM_SECRET_VARIABLE = "GUARDLIB_HUNT_ROOM_SECRET"
ROOM_FOLDER_VARIABLE = "GUARDLIB_HUNT_ROOM"
LEARNER_VARIABLE = "GUARDLIB_HUNT_LEARNER"
LEARNER_KEY_VARIABLE = "GUARDLIB_HUNT_LEARNER_KEY"
HUB_USER_VARIABLE = "JUPYTERHUB_USER"  # set by JupyterHub's spawner in every single-user server
ROOM_SECRET_FILE = "room-secret"

_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits
_LOWER = string.ascii_lowercase + string.digits
_URLSAFE = _ALNUM + "-_"
_B64 = _ALNUM + "+/"


class HuntSetupError(ValueError):
    """The room secret or learner id cannot be used. The message never holds a secret."""


def learner_id(environ: dict[str, str] | None = None) -> str:
    """The hunting learner: ``JUPYTERHUB_USER`` on a hub, else ``GUARDLIB_HUNT_LEARNER``, else
    ``local-<user name>``."""
    environ = dict(os.environ) if environ is None else environ
    for variable in (HUB_USER_VARIABLE, LEARNER_VARIABLE):
        value = environ.get(variable, "").strip()
        if value:
            return value
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a container without passwd entry)
        user = "learner"
    return f"local-{user}"


def room_folder(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    configured = environ.get(ROOM_FOLDER_VARIABLE, "").strip()
    return Path(configured) if configured else Path.home() / ".guardlib" / "hunt"


def room_secret(environ: dict[str, str] | None = None) -> bytes:
    """The room secret: ``GUARDLIB_HUNT_ROOM_SECRET``, else the room folder's file, created
    (32 random bytes, hex, owner-only, written atomically) when it does not exist yet."""
    environ = dict(os.environ) if environ is None else environ
    value = environ.get(ROOM_SECRET_VARIABLE, "").strip()
    if value:
        if len(value) < 16:
            raise HuntSetupError(f"{ROOM_SECRET_VARIABLE} is too short (use 16+ characters)")
        return value.encode("utf-8")
    path = room_folder(environ) / ROOM_SECRET_FILE
    if not path.is_file():
        from guardlib.emulators.kit.files import write_private

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="ascii") as handle:  # first writer wins
                os.chmod(path, 0o600)
                handle.write(secrets.token_hex(32) + "\n")
        except FileExistsError:
            pass
        except OSError:
            write_private(path, secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if len(text) < 16:
        raise HuntSetupError(f"the room secret file {path} is empty or too short")
    return text.encode("utf-8")


def learner_key(secret: bytes, learner: str) -> bytes:
    return hmac.new(secret, b"guardlib-hunt learner:" + learner.encode("utf-8"), "sha256").digest()


def resolve_learner_key(
    learner: str | None = None, environ: dict[str, str] | None = None
) -> tuple[str, bytes]:
    """``(learner id, learner key)`` from the environment: a provisioned
    ``GUARDLIB_HUNT_LEARNER_KEY`` (hex) wins, else the room secret."""
    environ = dict(os.environ) if environ is None else environ
    who = learner or learner_id(environ)
    provisioned = environ.get(LEARNER_KEY_VARIABLE, "").strip()
    if provisioned:
        try:
            return who, bytes.fromhex(provisioned)
        except ValueError:
            raise HuntSetupError(f"{LEARNER_KEY_VARIABLE} is not hex") from None
    return who, learner_key(room_secret(environ), who)


def flag(key: bytes, challenge: str) -> bytes:
    """16 bytes unique to (learner, challenge) under this room's secret."""
    mac = hmac.new(key, b"guardlib-hunt challenge:" + challenge.encode("utf-8"), "sha256")
    return mac.digest()[:16]


def _chars(raw: bytes, alphabet: str, count: int, label: str = "") -> str:
    """``count`` characters of ``alphabet`` drawn from ``raw`` (expanded with SHA-256)."""
    stream = hashlib.sha256(raw + label.encode()).digest()
    while len(stream) < count:
        stream += hashlib.sha256(stream).digest()
    return "".join(alphabet[b % len(alphabet)] for b in stream[:count])


# -- the credential shapes: real formats, DEMO inside -------------------------------------
def aws_access_key_id(raw: bytes) -> str:
    """``AKIA`` + 16 of [A-Z0-9] (detect-secrets: AWS Access Key)."""
    return "AKIA" + "DEMO" + _chars(raw, _UPPER, 12)


def aws_secret_access_key(raw: bytes) -> str:
    return "DEMO" + _chars(raw, _B64, 36, "aws-secret")


def stripe_live_key(raw: bytes) -> str:
    """``sk_live_`` + 24 alphanumerics (detect-secrets: Stripe Access Key)."""
    return "sk_live_" + "DEMO" + _chars(raw, _ALNUM, 20)


def github_token(raw: bytes, prefix: str = "ghp") -> str:
    """``ghp_``/``gho_`` + 36 of [A-Za-z0-9] (detect-secrets: GitHub Token)."""
    return f"{prefix}_" + "DEMO" + _chars(raw, _ALNUM, 32)


def gitlab_token(raw: bytes) -> str:
    """``glpat-`` + 20 of [A-Za-z0-9_-] (detect-secrets: GitLab Token)."""
    return "glpat-" + "DEMO" + _chars(raw, _ALNUM, 16)


def slack_bot_token(raw: bytes) -> str:
    """``xoxb-<digits>-<digits>-<lower alnum>`` (detect-secrets: Slack Token)."""
    digits = _chars(raw, string.digits, 22, "slack")
    return f"xoxb-{digits[:10]}-{digits[10:]}-demo{_chars(raw, _LOWER, 20)}"


def npm_token(raw: bytes) -> str:
    """``npm_`` + 36 alphanumerics (detect-secrets: NPM tokens, in an .npmrc line)."""
    return "npm_" + "DEMO" + _chars(raw, _ALNUM, 32)


def database_password(raw: bytes) -> str:
    """A password inside a URL (detect-secrets: Basic Auth Credentials)."""
    return "demo-" + _chars(raw, _ALNUM, 20)


def azure_storage_key(raw: bytes) -> str:
    """88 base64 characters (detect-secrets: Azure Storage Account access key)."""
    return "DEMO" + _chars(raw, _B64, 82) + "=="


def sendgrid_key(raw: bytes) -> str:
    """``SG.`` + 22 + ``.`` + 43 of [A-Za-z0-9_-] (detect-secrets: SendGrid API Key)."""
    return "SG.DEMO" + _chars(raw, _URLSAFE, 18) + "." + _chars(raw, _URLSAFE, 43, "sg2")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def session_jwt(raw: bytes, subject: str = "ruby") -> str:
    """A JWT whose ``jti`` is the flag (detect-secrets: JSON Web Token). Signed with a key
    made from the flag itself: it verifies nowhere."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"sub": subject, "iss": "https://auth.codehive.example", "demo": "not-a-real-token",
              "jti": raw.hex()}  # fmt: skip
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64url(hmac.new(raw, f"{header}.{payload}".encode(), "sha256").digest())
    return f"{header}.{payload}.{signature}"


def pypi_token(raw: bytes) -> str:
    """``pypi-AgEIcHlwaS5vcmc`` + 70+ of [A-Za-z0-9-_] (detect-secrets: PyPI upload token)."""
    return "pypi-AgEIcHlwaS5vcmc" + "DEMO" + _chars(raw, _URLSAFE, 76)


def looks_like_demo(value: str) -> bool:
    """Every planted value says so (``DEMO``/``demo`` in it)."""
    return bool(re.search(r"demo", value, re.IGNORECASE))
