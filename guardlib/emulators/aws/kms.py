"""AWS KMS on moto's key store, behind the same IAM layer as Secrets Manager.

moto keeps the keys, aliases and key policies (``moto/kms/models.py``); this module decides
who may use them and does the cryptography itself, because moto's KMS authorizes nothing (its
``policy_validator`` looks at ``Deny`` statements on ``DescribeKey`` only), resolves a key ARN
by its last path segment whatever account or region the ARN names, encrypts with a disabled
key, and joins the encryption context into its AAD without separators (``{"ab": "c"}`` and
``{"a": "bc"}`` would be one context).

**Authorization**, as the KMS Developer Guide's "Determining access to an AWS KMS key" and the
IAM evaluation logic describe it, for one action on one key:

- an explicit ``Deny`` in the key policy, the caller's identity policies or its session policy
  refuses;
- a key policy statement that names the caller (its user ARN, its role's ARN, its session
  ARN, or ``"*"``) grants by itself;
- a key policy statement that allows the account (``arn:aws:iam::ACCOUNT:root``) for the action
  *enables IAM policies*: then an ``Allow`` in the caller's identity policies grants;
- anything else is ``AccessDeniedException`` with the service's message shape ("User: ARN is
  not authorized to perform: kms:Decrypt on resource: KEY-ARN because no resource-based policy
  allows the kms:Decrypt action").

Condition keys modeled here (others fail closed, as in ``policy.py``): the principal's keys of
``Authorizer.context``, ``kms:CallerAccount``, ``kms:ViaService`` (set only when Secrets Manager
calls on the caller's behalf), ``kms:EncryptionContext:<key>``, ``kms:EncryptionContextKeys``
and ``kms:RequestAlias``.

**Keys are named strictly**: a key id, a key ARN, an alias name or an alias ARN (botocore kms
model, ``KeyIdType``); an ARN must name this account and the region the request was signed
for. The key then goes to moto by its bare id, so moto cannot resolve another key.

**Ciphertext** is this emulator's own format (a real KMS blob is opaque too): a version byte,
the key id, a 96-bit nonce and AES-256-GCM under the key's material, with the key's ARN and an
unambiguous encoding of the encryption context as associated data. A blob that does not parse,
or whose tag does not verify (wrong context, flipped byte), is ``InvalidCiphertextException``
with no message, as KMS sends it.

Served: CreateKey, DescribeKey, ListKeys, Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, GenerateRandom, aliases (Create/Update/Delete/ListAliases),
key policies (Get/Put/ListKeyPolicies, with the policy lockout safety check), Enable/Disable,
Schedule/CancelKeyDeletion, rotation settings, tags, descriptions, and moto's Sign/Verify/MAC
operations, each authorized on its key. Grants, custom key stores, imported key material and
multi-Region replication are answered ``UnsupportedOperationException``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from . import errors
from .errors import AwsError
from .policy import (
    ConditionContext,
    Decision,
    _parsed,
    _statement_applies,
    evaluate,
    statement_matches,
)

#: the layer's state and callers (``state.AwsState``, ``state.Caller``; not imported here:
#: state.py imports this module to seed keys, and the house has no import cycles)
AwsState = Any
Caller = Any

Answer = tuple[int, list[tuple[str, str]], bytes]

#: botocore kms model: KeyIdType 1-2048; PlaintextType 1-4096; CiphertextType 1-6144;
#: NumberOfBytesType 1-1024; DataKeySpec AES_256 | AES_128
MAX_KEY_ID = 2048
MAX_PLAINTEXT = 4096
MAX_CIPHERTEXT = 6144
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}
KEY_ID_RE = re.compile(r"(?:mrk-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: alias names: "alias/" + 1-250 of [a-zA-Z0-9/_-] (botocore kms model, AliasNameType)
ALIAS_RE = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_ARN_RE = re.compile(
    r"arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<kind>key|alias)/(?P<rest>.+)",
    re.ASCII | re.DOTALL,
)
#: the ciphertext format's version byte, and the nonce length of AES-GCM
BLOB_VERSION = 0x01
NONCE_BYTES = 12
#: the Secrets Manager key every account has; Secrets Manager uses it when no KmsKeyId is
#: given, and its key policy lets every principal of the account use it through the service
DEFAULT_SECRETS_ALIAS = "alias/aws/secretsmanager"

#: operations decided on no particular key (IAM resource "*")
GLOBAL = frozenset({"CreateKey", "ListKeys", "ListAliases", "GenerateRandom"})
#: operations this module answers itself (the cryptography, and what moto gets wrong)
OWN = frozenset(
    {"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
     "DescribeKey", "ListKeys", "ListAliases", "PutKeyPolicy", "CreateKey"}
)  # fmt: skip
#: operations on one key (``KeyId``), authorized on it, then executed by moto
KEY_OPERATIONS = frozenset(
    {"GetKeyPolicy", "ListKeyPolicies", "EnableKey", "DisableKey", "ScheduleKeyDeletion",
     "CancelKeyDeletion", "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus",
     "TagResource", "UntagResource", "ListResourceTags", "UpdateKeyDescription", "GenerateMac",
     "VerifyMac", "Sign", "Verify", "GetPublicKey", "RotateKeyOnDemand", "ListKeyRotations"}
)  # fmt: skip
ALIAS_OPERATIONS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})
#: operations that need the key to be Enabled (else DisabledException / KMSInvalidState)
CRYPTO = frozenset(
    {"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
     "GenerateMac", "VerifyMac", "Sign", "Verify", "GetPublicKey"}
)  # fmt: skip

#: the key specs moto makes, and the key usages each family allows (KMS Developer Guide,
#: symm-asymm-choose-key-spec.html)
MOTO_KEY_SPECS = frozenset(
    {"SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
     "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"}
)  # fmt: skip
USAGES = {
    "SYMM": ("ENCRYPT_DECRYPT",),
    "RSA_": ("ENCRYPT_DECRYPT", "SIGN_VERIFY"),
    "ECC_": ("SIGN_VERIFY",),
    "HMAC": ("GENERATE_VERIFY_MAC",),
}
_SESSION_ARN_RE = re.compile(
    r"arn:aws:sts::(?P<account>\d{12}):assumed-role/(?P<role>[\w+=,.@-]{1,64})/[\w+=,.@-]{2,64}",
    re.ASCII,
)
MSG_LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
MSG_BAD_PRINCIPAL = "Policy contains a statement with one or more invalid principals."
MSG_FOREIGN_CIPHERTEXT = (
    "The ciphertext refers to a customer master key that does not exist, does not exist in "
    "this region, or you are not allowed to access."
)
MSG_INCORRECT_KEY = (
    "The key ID in the request does not identify a CMK that can perform this operation."
)


# -- errors (botocore kms model: each is a 400 with a JSON "__type") -----------------------------
def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message)


def kms_validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def invalid_ciphertext() -> AwsError:
    # KMS sends InvalidCiphertextException without a message
    return AwsError("InvalidCiphertextException", "")


def disabled(arn: str) -> AwsError:
    return AwsError("DisabledException", f"{arn} is disabled.")


def invalid_state(arn: str, state: str) -> AwsError:
    what = "pending deletion" if state == "PendingDeletion" else f"in state {state}"
    return AwsError("KMSInvalidStateException", f"{arn} is {what}.")


def unsupported(action: str) -> AwsError:
    return AwsError(
        "UnsupportedOperationException",
        f"{action} is not emulated by this offline cloud (grants, custom key stores, imported "
        "key material and multi-Region keys are not); use key policies and IAM policies.",
    )


def malformed_policy(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocumentException", message)


# -- the backend -----------------------------------------------------------------------------------
def backends() -> Any:
    from moto.kms.models import kms_backends

    return kms_backends


def backend(account: str, region: str) -> Any:
    return backends()[account][region]


class Resolved:
    """A key named in a request: the moto key, and the alias it was named by (if any)."""

    __slots__ = ("alias", "key")

    def __init__(self, key: Any, alias: str | None) -> None:
        self.key = key
        self.alias = alias


def resolve(store: Any, key_id: object, region: str, account: str) -> Resolved:
    """The key ``key_id`` names in ``store`` (this account, ``region``), strictly: a bare key
    id, ``arn:aws:kms:REGION:ACCOUNT:key/ID``, ``alias/NAME`` or its ARN. NotFoundException
    otherwise, with the service's messages."""
    if not isinstance(key_id, str) or not key_id:
        raise kms_validation(
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
            "Member must not be null"
        )
    if len(key_id) > MAX_KEY_ID:
        raise kms_validation(
            "1 validation error detected: Value at 'keyId' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_KEY_ID}"
        )
    shown = key_id[:256]
    if key_id.startswith("arn:"):
        match = _ARN_RE.fullmatch(key_id)
        if match is None:
            raise not_found(f"Invalid arn {shown}")
        if match["region"] != region:
            raise not_found(f"Invalid arn {match['region']}")
        if match["account"] != account:
            raise not_found(f"Key '{shown}' does not exist")
        if match["kind"] == "alias":
            return _by_alias(store, "alias/" + match["rest"], shown)
        return Resolved(_by_id(store, match["rest"], shown), None)
    if key_id.startswith("alias/"):
        return _by_alias(store, key_id, f"arn:aws:kms:{region}:{account}:{key_id}"[:300])
    return Resolved(_by_id(store, key_id, f"arn:aws:kms:{region}:{account}:key/{shown}"), None)


def _by_id(store: Any, raw: str, shown: str) -> Any:
    if not KEY_ID_RE.fullmatch(raw):
        raise not_found(f"Invalid keyId {shown}")
    key = store.keys.get(raw)
    if key is None:
        raise not_found(f"Key '{shown}' does not exist")
    return key


def _by_alias(store: Any, alias: str, shown: str) -> Resolved:
    if ALIAS_RE.fullmatch(alias):
        for key in store.keys.values():
            if alias in key.aliases:
                return Resolved(key, alias)
        if alias == DEFAULT_SECRETS_ALIAS:  # AWS managed: exists in every account and region
            key_id = store.get_key_id_from_alias(alias)
            if key_id is not None:
                return Resolved(store.keys[key_id], alias)
    raise not_found(f"Alias {shown} is not found.")


def new_symmetric_key(store: Any, description: str, policy: str | None, tags: Any = None) -> Any:
    """A SYMMETRIC_DEFAULT key in moto's store, made without the RSA-2048 key pair moto's
    ``Key.__init__`` generates for every key spec it does not recognise as asymmetric
    (``generate_private_key``: ~80 ms each, and a symmetric key never signs): the key is made as
    ECC (a key pair in ~1 ms), then given the symmetric spec and no key pair."""
    key = store.create_key(policy, "ENCRYPT_DECRYPT", "ECC_NIST_P256", description, tags)
    key.key_spec = "SYMMETRIC_DEFAULT"
    key.private_key = None
    return key


# -- ciphertext ------------------------------------------------------------------------------------
def _aad(key_arn: str, context: Mapping[str, str]) -> bytes:
    """The associated data: the key's ARN and the context as sorted, length-prefixed pairs."""
    out = [b"guardlib-kms-1", _framed(key_arn.encode())]
    for name in sorted(context):
        out.append(_framed(name.encode()))
        out.append(_framed(context[name].encode()))
    return b"".join(out)


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def seal(key: Any, plaintext: bytes, context: Mapping[str, str]) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key.key_material).encrypt(nonce, plaintext, _aad(key.arn, context))
    key_id = key.id.encode()
    return bytes([BLOB_VERSION, len(key_id)]) + key_id + nonce + sealed


def blob_key_id(blob: bytes) -> str:
    """The key id a ciphertext names (InvalidCiphertextException if it does not parse)."""
    if len(blob) < 2 or blob[0] != BLOB_VERSION:
        raise invalid_ciphertext()
    size = blob[1]
    raw = blob[2 : 2 + size]
    try:
        key_id = raw.decode("ascii")
    except UnicodeDecodeError:
        raise invalid_ciphertext() from None
    if len(raw) != size or not KEY_ID_RE.fullmatch(key_id):
        raise invalid_ciphertext()
    if len(blob) < 2 + size + NONCE_BYTES + 16:
        raise invalid_ciphertext()
    return key_id


def unseal(key: Any, blob: bytes, context: Mapping[str, str]) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    start = 2 + blob[1]
    nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(key.key_material).decrypt(nonce, sealed, _aad(key.arn, context))
    except InvalidTag:
        raise invalid_ciphertext() from None


# -- request values --------------------------------------------------------------------------------
def _blob(params: Mapping[str, Any], name: str, high: int, required: bool = True) -> bytes | None:
    value = params.get(name)
    field = name[:1].lower() + name[1:]
    if value is None:
        if not required:
            return None
        raise kms_validation(
            f"1 validation error detected: Value null at '{field}' failed to satisfy "
            "constraint: Member must not be null"
        )
    if not isinstance(value, str):
        raise errors.serialization(f"{name} must be a base64-encoded string.")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.serialization(f"Invalid base64 in {name}") from None
    if not data:
        raise kms_validation(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if len(data) > high:
        raise kms_validation(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )
    return data


def _context(params: Mapping[str, Any], name: str = "EncryptionContext") -> dict[str, str]:
    value = params.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise errors.serialization(f"{name} must be a map of strings to strings.")
    return dict(value)


def _algorithm(params: Mapping[str, Any], name: str = "EncryptionAlgorithm") -> None:
    value = params.get(name)
    if value is not None and value != "SYMMETRIC_DEFAULT":
        raise AwsError(
            "InvalidKeyUsageException",
            "This offline cloud encrypts with symmetric keys only (SYMMETRIC_DEFAULT).",
        )


def _json(data: Mapping[str, Any]) -> Answer:
    payload = json.dumps(data).encode()
    return (
        200,
        [("Content-Type", errors.JSON_CONTENT_TYPE), ("Content-Length", str(len(payload)))],
        payload,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- authorization ---------------------------------------------------------------------------------
def enables_iam(
    policy: str, action: str, key_arn: str, account: str, context: ConditionContext
) -> bool:
    """Whether the key policy allows the account itself this action: the statement that makes
    IAM policies count for the key (KMS Developer Guide, key-policy-default.html, "Allows
    access to the AWS account and enables IAM policies")."""
    roots = (account, f"arn:aws:iam::{account}:root")
    for st in _parsed(policy):
        if st.get("Effect") != "Allow" or "NotPrincipal" in st:
            continue
        principal = st.get("Principal")
        entries = principal.get("AWS") if isinstance(principal, Mapping) else None
        listed = entries if isinstance(entries, list) else [entries]
        if not any(e in roots for e in listed):
            continue
        if not statement_matches(st, action, key_arn):
            continue
        if _statement_applies(st, context, deny=False):
            return True
    return False


class Kms:
    """The KMS half of the layer: ``handle`` answers one parsed KMS call by ``caller``."""

    def __init__(self, state: AwsState, authorizer: Any) -> None:
        self.state = state
        self.authorizer = authorizer

    # -- condition keys ----------------------------------------------------------------------
    def context(
        self,
        caller: Caller,
        region: str,
        *,
        encryption_context: Mapping[str, str] | None = None,
        alias: str | None = None,
        via: str | None = None,
    ) -> ConditionContext:
        base = self.authorizer.context(caller, region=region)
        values: dict[str, Any] = {
            "kms:CallerAccount": self.state.account,
            "kms:ViaService": via,
            "kms:RequestAlias": alias,
            "kms:EncryptionContextKeys": sorted(encryption_context) if encryption_context else None,
        }
        for name, value in (encryption_context or {}).items():
            values[f"kms:EncryptionContext:{name}"] = value
        return base.extended(values, ["kms:EncryptionContext:"])

    def check(self, caller: Caller, action: str, key: Any, context: ConditionContext) -> None:
        """Key policy + identity policies (+ session policy), as KMS decides."""
        state = self.state
        arn = key.arn
        identity = evaluate(state.identity_policies(caller), action, arn, context=context)
        if identity is Decision.DENY:
            raise errors.access_denied(caller.arn, action, arn, "deny-identity")
        direct = evaluate(
            [key.policy], action, arn, resource_policy=True, principal=caller.arn,
            role_arn=caller.role_arn, account=state.account, context=context,
        )  # fmt: skip
        if direct is Decision.DENY:
            raise errors.access_denied(caller.arn, action, arn, "deny-resource")
        delegated = enables_iam(key.policy, action, arn, state.account, context)
        if direct is not Decision.ALLOW and not (delegated and identity is Decision.ALLOW):
            raise errors.access_denied(
                caller.arn, action, arn, "identity" if delegated else "resource"
            )
        if caller.session_policy:
            session = evaluate([caller.session_policy], action, arn, context=context)
            if session is Decision.DENY:
                raise errors.access_denied(caller.arn, action, arn, "deny-session")
            if session is not Decision.ALLOW:
                raise errors.access_denied(caller.arn, action, arn, "session")

    def allowed(self, caller: Caller, action: str, key: Any, context: ConditionContext) -> bool:
        try:
            self.check(caller, action, key, context)
        except AwsError:
            return False
        return True

    # -- Secrets Manager on a caller's behalf (kms:ViaService) -------------------------------
    def via_secrets_manager(
        self, caller: Caller, action: str, key_id: str | None, region: str, secret_arn: str
    ) -> None:
        """What Secrets Manager does with the caller's credentials for a secret under a
        customer managed key: ``kms:GenerateDataKey`` to write a value, ``kms:Decrypt`` to read
        one (Secrets Manager User Guide, security-encryption.html; the encryption context is
        ``{"SecretARN": ..., "SecretVersionId": ...}``). The service's answers: a refusal is
        ``AccessDeniedException`` "Access to KMS is not allowed"; a key that does not exist or
        is not enabled is ``EncryptionFailure`` / ``DecryptionFailure``."""
        if not key_id or key_id == DEFAULT_SECRETS_ALIAS:
            return
        writing = action != "kms:Decrypt"
        failure = "EncryptionFailure" if writing else "DecryptionFailure"
        verb = "encrypt the secret value" if writing else "decrypt the protected secret text"
        store = backend(self.state.account, region)
        try:
            found = resolve(store, key_id, region, self.state.account)
        except AwsError as exc:
            raise AwsError(failure, f"Secrets Manager can't {verb}: {exc.message}") from None
        context = self.context(
            caller, region, encryption_context={"SecretARN": secret_arn}, alias=found.alias,
            via=f"secretsmanager.{region}.amazonaws.com",
        )  # fmt: skip
        try:
            self.check(caller, action, found.key, context)
        except AwsError:
            raise AwsError("AccessDeniedException", "Access to KMS is not allowed") from None
        state = found.key.key_state
        if state != "Enabled":
            why = (
                disabled(found.key.arn)
                if state == "Disabled"
                else invalid_state(found.key.arn, state)
            )
            raise AwsError(failure, f"Secrets Manager can't {verb}: {why.message}")

    # -- the API ---------------------------------------------------------------------------------
    def handle(self, call: Any, caller: Caller, region: str, forward: Any) -> Answer:
        from .protocol import check_shape

        check_shape(call)  # the model's types, enums and limits, before anything else
        action = call.action
        if action not in OWN | GLOBAL | KEY_OPERATIONS | ALIAS_OPERATIONS | {"DescribeKey"}:
            raise unsupported(action)
        answer = self._handle(call, caller, region, forward)
        if answer[2] == b"null":  # moto's empty answer; the service sends an empty object
            return _json({})
        return answer

    def _handle(self, call: Any, caller: Caller, region: str, forward: Any) -> Answer:
        action = call.action
        params = call.params
        account = self.state.account
        store = backend(account, region)
        if action in GLOBAL:
            self.authorizer.check(
                caller, f"kms:{action}", "*", context=self.context(caller, region)
            )
            if action == "CreateKey":
                return self._create_key(call, caller, region, store, forward)
            if action == "ListKeys":
                return self._list_keys(store)
            if action == "ListAliases":
                return self._list_aliases(params, store, region)
            return _json({"Plaintext": _b64(os.urandom(_random_size(params)))})
        if action in ("Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"):
            return self._encrypt(call, caller, region, store)
        if action == "Decrypt":
            return self._decrypt(call, caller, region, store)
        if action == "ReEncrypt":
            return self._re_encrypt(call, caller, region, store)
        if action in ALIAS_OPERATIONS:
            return self._alias(call, caller, region, store, forward)
        if action not in KEY_OPERATIONS and action not in ("DescribeKey", "PutKeyPolicy"):
            raise unsupported(action)
        found = resolve(store, params.get("KeyId"), region, account)
        key = found.key
        self.check(caller, f"kms:{action}", key, self.context(caller, region, alias=found.alias))
        if action == "DescribeKey":
            return _json(key.to_dict())
        if action in CRYPTO:
            self._usable(key)
            _fits(key, action)
            _dry_run(params)
        if action == "EnableKey" and key.key_state == "PendingDeletion":
            raise invalid_state(key.arn, key.key_state)
        if action == "ScheduleKeyDeletion":
            days = params.get("PendingWindowInDays", 30)
            if not 7 <= days <= 30:  # the service's waiting period, 7-30 days
                bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
                raise kms_validation(
                    f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' "
                    f"failed to satisfy constraint: Member must have value {bound}"
                )
        if action == "PutKeyPolicy":
            if params.get("PolicyName", "default") != "default":
                raise not_found("No such policy exists")
            policy = self._check_policy(params.get("Policy"))
            if not params.get("BypassPolicyLockoutSafetyCheck"):
                self._lockout(caller, key, policy, region)
            key.policy = policy
            return _json({})
        return forward(_with(call, KeyId=key.id))

    def _usable(self, key: Any) -> None:
        if key.key_state == "Disabled":
            raise disabled(key.arn)
        if key.key_state != "Enabled":
            raise invalid_state(key.arn, key.key_state)

    def _symmetric(self, key: Any) -> None:
        if key.key_spec != "SYMMETRIC_DEFAULT" or key.key_usage != "ENCRYPT_DECRYPT":
            raise AwsError(
                "InvalidKeyUsageException",
                f"{key.arn} key usage is {key.key_usage} which is not valid for this operation.",
            )

    def _encrypt(self, call: Any, caller: Caller, region: str, store: Any) -> Answer:
        params, action = call.params, call.action
        found = resolve(store, params.get("KeyId"), region, self.state.account)
        key = found.key
        context = _context(params)
        self.check(
            caller, f"kms:{action}", key,
            self.context(caller, region, encryption_context=context, alias=found.alias),
        )  # fmt: skip
        self._usable(key)
        self._symmetric(key)
        _dry_run(params)
        if action == "Encrypt":
            _algorithm(params)
            plaintext = _blob(params, "Plaintext", MAX_PLAINTEXT)
            assert plaintext is not None
            return _json(
                {
                    "CiphertextBlob": _b64(seal(key, plaintext, context)),
                    "KeyId": key.arn,
                    "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                }
            )
        size = _data_key_size(params)
        data_key = os.urandom(size)
        out = {"CiphertextBlob": _b64(seal(key, data_key, context)), "KeyId": key.arn}
        if action == "GenerateDataKey":
            out["Plaintext"] = _b64(data_key)
        return _json(out)

    def _open(
        self,
        caller: Caller,
        region: str,
        store: Any,
        blob: bytes,
        context: dict[str, str],
        named: object,
        action: str,
    ) -> Any:
        """The key of a ciphertext, once the caller may use it for ``action`` (kms:Decrypt or
        kms:ReEncryptFrom); IncorrectKeyException when the request names another key."""
        key_id = blob_key_id(blob)
        key = store.keys.get(key_id)
        if key is None:
            raise AwsError("AccessDeniedException", MSG_FOREIGN_CIPHERTEXT)
        alias = None
        if named is not None:
            found = resolve(store, named, region, self.state.account)
            if found.key is not key:
                raise AwsError("IncorrectKeyException", MSG_INCORRECT_KEY)
            alias = found.alias
        self.check(
            caller, action, key,
            self.context(caller, region, encryption_context=context, alias=alias),
        )  # fmt: skip
        self._usable(key)
        return key

    def _decrypt(self, call: Any, caller: Caller, region: str, store: Any) -> Answer:
        params = call.params
        _algorithm(params)
        blob = _blob(params, "CiphertextBlob", MAX_CIPHERTEXT)
        assert blob is not None
        context = _context(params)
        if params.get("Recipient") is not None:
            raise unsupported("Decrypt with a Nitro Enclaves Recipient")
        key = self._open(caller, region, store, blob, context, params.get("KeyId"), "kms:Decrypt")
        _dry_run(params)
        plaintext = unseal(key, blob, context)
        return _json(
            {
                "KeyId": key.arn,
                "Plaintext": _b64(plaintext),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }
        )

    def _re_encrypt(self, call: Any, caller: Caller, region: str, store: Any) -> Answer:
        params = call.params
        _algorithm(params, "SourceEncryptionAlgorithm")
        _algorithm(params, "DestinationEncryptionAlgorithm")
        blob = _blob(params, "CiphertextBlob", MAX_CIPHERTEXT)
        assert blob is not None
        source_context = _context(params, "SourceEncryptionContext")
        target_context = _context(params, "DestinationEncryptionContext")
        source = self._open(
            caller, region, store, blob, source_context, params.get("SourceKeyId"),
            "kms:ReEncryptFrom",
        )  # fmt: skip
        found = resolve(store, params.get("DestinationKeyId"), region, self.state.account)
        target = found.key
        self.check(
            caller, "kms:ReEncryptTo", target,
            self.context(caller, region, encryption_context=target_context, alias=found.alias),
        )  # fmt: skip
        self._usable(target)
        self._symmetric(target)
        _dry_run(params)
        plaintext = unseal(source, blob, source_context)
        return _json(
            {
                "CiphertextBlob": _b64(seal(target, plaintext, target_context)),
                "SourceKeyId": source.arn,
                "KeyId": target.arn,
                "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            }
        )

    # -- keys, aliases, policies ---------------------------------------------------------------
    def _create_key(
        self, call: Any, caller: Caller, region: str, store: Any, forward: Any
    ) -> Answer:
        params = call.params
        for name in ("CustomKeyStoreId", "XksKeyId"):
            if params.get(name) is not None:
                raise unsupported(f"CreateKey with {name}")
        if params.get("MultiRegion"):
            raise unsupported("CreateKey with MultiRegion")
        if params.get("Origin", "AWS_KMS") != "AWS_KMS":
            raise unsupported("CreateKey with an Origin other than AWS_KMS")
        policy = params.get("Policy")
        if policy is not None:
            policy = self._check_policy(policy)
        spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        usage = params.get("KeyUsage") or "ENCRYPT_DECRYPT"
        if spec not in MOTO_KEY_SPECS or usage not in USAGES.get(spec[:4], ()):
            raise unsupported(f"CreateKey with KeySpec {spec} and KeyUsage {usage}")
        default_policy = None
        if policy is None:
            default_policy = _default_policy(self.state.account)
        elif not params.get("BypassPolicyLockoutSafetyCheck"):
            # the key has no id yet: every key of this account and region stands in for it
            pending = f"arn:aws:kms:{region}:{self.state.account}:key/*"
            self._lockout(caller, None, policy, region, arn=pending)
        if spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT":
            description = params.get("Description") or ""
            if not isinstance(description, str):
                raise errors.serialization("Description must be a string.")
            tags = params.get("Tags")
            key = new_symmetric_key(store, description, policy or default_policy, tags)
            return _json(key.to_dict())
        return forward(_with(call, Policy=policy or default_policy))

    def _list_keys(self, store: Any) -> Answer:
        keys = [{"KeyId": k.id, "KeyArn": k.arn} for k in store.keys.values()]
        return _json({"Keys": keys, "Truncated": False})

    def _list_aliases(self, params: Mapping[str, Any], store: Any, region: str) -> Answer:
        only = None
        if params.get("KeyId") is not None:
            only = resolve(store, params["KeyId"], region, self.state.account).key
        aliases = []
        for key in store.keys.values():
            if only is not None and key is not only:
                continue
            for alias in key.aliases.values():
                aliases.append(
                    {
                        "AliasName": alias.alias_name,
                        "AliasArn": alias.alias_arn,
                        "TargetKeyId": key.id,
                    }
                )
        aliases.sort(key=lambda a: a["AliasName"])
        return _json({"Aliases": aliases, "Truncated": False})

    def _alias(self, call: Any, caller: Caller, region: str, store: Any, forward: Any) -> Answer:
        """CreateAlias/UpdateAlias/DeleteAlias need the permission on the alias (IAM policy)
        and on the key (key policy): KMS Developer Guide, alias-access.html."""
        params, action = call.params, call.action
        name = params.get("AliasName")
        if not isinstance(name, str) or not ALIAS_RE.fullmatch(name):
            raise AwsError(
                "ValidationException",
                "1 validation error detected: Value at 'aliasName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: "
                "^alias/[a-zA-Z0-9/_-]+$",
            )
        if name.startswith("alias/aws/"):
            raise AwsError("NotAuthorizedException", "")
        alias_arn = f"arn:aws:kms:{region}:{self.state.account}:{name}"
        self.authorizer.check(
            caller, f"kms:{action}", alias_arn, context=self.context(caller, region)
        )
        keys = []
        if action in ("UpdateAlias", "DeleteAlias"):
            keys.append(_by_alias(store, name, alias_arn).key)
        if action in ("CreateAlias", "UpdateAlias"):
            target = params.get("TargetKeyId")
            if isinstance(target, str) and (target.startswith("alias/") or ":alias/" in target):
                raise kms_validation("Aliases must refer to keys. Not aliases")
            keys.append(resolve(store, target, region, self.state.account).key)
        for key in keys:
            self.check(caller, f"kms:{action}", key, self.context(caller, region))
        if action == "CreateAlias":
            if any(name in k.aliases for k in store.keys.values()):
                raise AwsError(
                    "AlreadyExistsException", f"An alias with the name {alias_arn} already exists"
                )
            store.create_alias(keys[-1].id, name)
            return _json({})
        if action == "UpdateAlias":
            store.update_alias(keys[-1].id, name)
            return _json({})
        store.delete_alias(name)
        return _json({})

    def _check_policy(self, document: object) -> str:
        """A key policy as KMS accepts it: a JSON object (at most 32 KB) of statements, each
        with an Effect, an Action and a Principal that exists ("*", the account, or a user or
        role of it). MalformedPolicyDocumentException otherwise."""
        if not isinstance(document, str) or not document or len(document) > 32768:
            raise malformed_policy("The policy is not valid JSON or is too long.")
        try:
            doc = json.loads(document)
        except ValueError:
            raise malformed_policy("The policy is not valid JSON.") from None
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        statements = [statements] if isinstance(statements, dict) else statements
        if not isinstance(statements, list) or not statements:
            raise malformed_policy("The policy has no statements.")
        for st in statements:
            if (
                not isinstance(st, dict)
                or st.get("Effect") not in ("Allow", "Deny")
                or ("Action" not in st and "NotAction" not in st)
                or ("Principal" not in st and "NotPrincipal" not in st)
            ):
                raise malformed_policy("Each statement needs an Effect, an Action and a Principal.")
            principal = st.get("Principal", st.get("NotPrincipal"))
            if not self._principals_exist(principal):
                raise malformed_policy(MSG_BAD_PRINCIPAL)
        return document

    def _principals_exist(self, principal: object) -> bool:
        if principal == "*":
            return True
        if not isinstance(principal, Mapping) or not principal:
            return False
        account = self.state.account
        for kind, entries in principal.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, str):
                    return False
                if kind == "AWS":
                    if entry in ("*", account, f"arn:aws:iam::{account}:root"):
                        continue
                    if self.state.role_by_arn(entry) is not None:
                        continue
                    if any(u.arn == entry for u in self.state.iam.users.values()):
                        continue
                    session = _SESSION_ARN_RE.fullmatch(entry)
                    if (
                        session is not None
                        and session["account"] == account
                        and any(r.name == session["role"] for r in self.state.iam.roles.values())
                    ):
                        continue  # an assumed-role session of a role that exists
                    return False
                if kind == "Service" and entry.endswith(".amazonaws.com"):
                    continue
                return False
        return True

    def _lockout(
        self, caller: Caller, key: Any, policy: str, region: str, arn: str | None = None
    ) -> None:
        """KMS's policy lockout safety check: the caller must still be allowed
        ``kms:PutKeyPolicy`` under the new policy (botocore kms model, PutKeyPolicy
        BypassPolicyLockoutSafetyCheck)."""

        class _Probe:
            pass

        probe = _Probe()
        probe.arn = key.arn if key is not None else (arn or "*")  # type: ignore[attr-defined]
        probe.policy = policy  # type: ignore[attr-defined]
        if not self.allowed(caller, "kms:PutKeyPolicy", probe, self.context(caller, region)):
            raise malformed_policy(MSG_LOCKOUT)


def _dry_run(params: Mapping[str, Any]) -> None:
    """``DryRun``: authorized and checked, then not done (botocore kms model, DryRun)."""
    if params.get("DryRun") is True:
        raise AwsError(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun option is set.",
        )


#: the key usage each signing or MAC operation needs (botocore kms model, KeyUsageType)
_USAGE = {"Sign": "SIGN_VERIFY", "Verify": "SIGN_VERIFY", "GenerateMac": "GENERATE_VERIFY_MAC",
          "VerifyMac": "GENERATE_VERIFY_MAC"}  # fmt: skip


def _fits(key: Any, action: str) -> None:
    """Sign/Verify need a SIGN_VERIFY key, the MAC operations an HMAC key, GetPublicKey an
    asymmetric key (moto fails on a symmetric key there)."""
    wanted = _USAGE.get(action)
    if wanted is not None and key.key_usage != wanted:
        raise AwsError(
            "InvalidKeyUsageException",
            f"{key.arn} key usage is {key.key_usage} which is not valid for {action}.",
        )
    if action == "GetPublicKey" and (
        key.key_spec == "SYMMETRIC_DEFAULT" or key.key_spec.startswith("HMAC")
    ):
        raise AwsError(
            "UnsupportedOperationException",
            f"{key.arn} is a {key.key_spec} key, which has no public key.",
        )


def _random_size(params: Mapping[str, Any]) -> int:
    count = params.get("NumberOfBytes")
    if count is None:
        raise kms_validation(
            "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
            "constraint: Member must not be null"
        )
    if params.get("CustomKeyStoreId") is not None:
        raise unsupported("GenerateRandom in a custom key store")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1024:
        raise kms_validation(
            "1 validation error detected: Value at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value between 1 and 1024"
        )
    return count


def _data_key_size(params: Mapping[str, Any]) -> int:
    spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
    if spec is not None and count is not None:
        raise kms_validation("Please specify either number of bytes or key spec.")
    if spec is None and count is None:
        raise kms_validation("Please specify either number of bytes or key spec.")
    if spec is not None:
        if spec not in DATA_KEY_BYTES:
            raise kms_validation(
                f"1 validation error detected: Value '{str(spec)[:64]}' at 'keySpec' failed to "
                "satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
            )
        return DATA_KEY_BYTES[spec]
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1024:
        raise kms_validation(
            "1 validation error detected: Value at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value between 1 and 1024"
        )
    return count


def _default_policy(account: str) -> str:
    """The default key policy (KMS Developer Guide, key-policy-default.html): the account,
    which enables IAM policies."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def _with(call: Any, **params: Any) -> Any:
    """``call`` with some parameters replaced (what moto is then given)."""
    import dataclasses

    return dataclasses.replace(call, params={**call.params, **params})
