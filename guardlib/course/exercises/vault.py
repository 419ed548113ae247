"""Chapter 09 (HashiCorp Vault / OpenBao): check an ACL policy on the running server.

The check does what a DevOps engineer would: it writes the reader's policy to the running
OpenBao, binds a fresh AppRole to it, logs in as that app and tries reads. Everything it
creates is removed again afterwards. hvac is imported only when a check runs.
"""

from __future__ import annotations

from typing import Any

from guardlib.course.exercises import PLACEHOLDER_HINT, Verdict, _has_placeholder
from guardlib.course.panel import show

#: the app of the exercise, its one secret, and a neighbour it must not read
APP = "billing-app"
TARGET = "billing-api-key"
NEIGHBOUR = "payroll-api-key"
#: paths an app reading one secret never needs; any capability on them is too much
PROBES = (
    f"secret/data/{NEIGHBOUR}",
    f"secret/metadata/{NEIGHBOUR}",
    f"secret/data/{TARGET}/extra",
    "secret/data/dev-api-key",
    "secret/data/prod-api-key",
    f"sys/policies/acl/{APP}",
    f"auth/approle/role/{APP}/secret-id",
)
_WRITE_CAPABILITIES = {"create", "update", "patch", "delete", "sudo", "root"}


def _admin_client() -> Any:
    """An hvac client with the admin token of this process's OpenBao, or None."""
    from guardlib import emulators

    cloud = emulators.current()
    if cloud is None or "vault" not in cloud.emulators:
        return None
    import hvac

    env = cloud.env("admin")  # the administrator, whatever identity the kernel runs as
    return hvac.Client(url=env["VAULT_ADDR"], token=env["VAULT_TOKEN"])


def _first_error(exc: Any) -> str:
    errors = getattr(exc, "errors", None) or [type(exc).__name__]
    return str(errors[0]).strip()


def evaluate_billing_policy(policy: Any) -> Verdict:
    """``policy`` (HCL) must let billing-app read secret/data/billing-api-key, and nothing else."""
    if not isinstance(policy, str) or _has_placeholder(policy) or not policy.strip():
        return Verdict(False, PLACEHOLDER_HINT)
    admin = _admin_client()
    if admin is None:
        return Verdict(False, "start OpenBao first: run the emulator setup cell at the top.")
    import hvac
    import hvac.exceptions

    kv = admin.secrets.kv.v2
    try:
        try:
            admin.sys.create_or_update_acl_policy(name=APP, policy=policy)
        except hvac.exceptions.InvalidRequest as exc:  # HCL syntax, unknown capability, ...
            return Verdict(False, f"OpenBao rejected the policy: {_first_error(exc)}")
        for name in (TARGET, NEIGHBOUR):
            kv.create_or_update_secret(path=name, secret={"value": f"demo-not-a-real-{name}"})
        admin.auth.approle.create_or_update_approle(APP, token_policies=[APP], token_ttl="5m")
        role_id = admin.auth.approle.read_role_id(APP)["data"]["role_id"]
        secret_id = admin.auth.approle.generate_secret_id(APP)["data"]["secret_id"]
        app = hvac.Client(url=admin.url)
        app.auth.approle.login(role_id=role_id, secret_id=secret_id)

        try:
            app.secrets.kv.v2.read_secret_version(path=TARGET, raise_on_deleted_version=True)
        except hvac.exceptions.Forbidden:
            if f"secret/{TARGET}" in policy and f"secret/data/{TARGET}" not in policy:
                return Verdict(
                    False,
                    f"KV v2 serves values at secret/data/{TARGET}: a policy on "
                    f"secret/{TARGET} grants nothing (the CLI hides the data/ part).",
                )
            return Verdict(False, f"{APP} cannot read secret/data/{TARGET} yet: grant read on it.")

        caps = app.sys.get_capabilities(paths=[f"secret/data/{TARGET}", *PROBES])["data"]
        extra = sorted(set(caps.get(f"secret/data/{TARGET}", [])) & _WRITE_CAPABILITIES)
        if extra:
            return Verdict(
                False, f"{APP} may also {', '.join(extra)} its key: an app needs only read."
            )
        for path in PROBES:
            if caps.get(path, ["deny"]) != ["deny"]:
                return Verdict(
                    False, f"too broad: {APP} may also use {path}. Name exactly one path."
                )
        try:
            app.secrets.kv.v2.read_secret_version(path=NEIGHBOUR, raise_on_deleted_version=True)
        except hvac.exceptions.Forbidden:
            pass
        else:  # pragma: no cover - the capability probe above already catches this
            return Verdict(False, f"too broad: {APP} can also read secret/data/{NEIGHBOUR}.")
        return Verdict(True, f"{APP} reads secret/data/{TARGET} and is denied everything else.")
    finally:
        _cleanup(admin)


def _cleanup(admin: Any) -> None:
    import hvac.exceptions

    steps = (
        lambda: admin.auth.approle.delete_role(APP),
        lambda: admin.sys.delete_acl_policy(APP),
        lambda: admin.secrets.kv.v2.delete_metadata_and_all_versions(path=TARGET),
        lambda: admin.secrets.kv.v2.delete_metadata_and_all_versions(path=NEIGHBOUR),
    )
    for step in steps:
        try:
            step()
        except hvac.exceptions.VaultError:
            continue


HINT_BILLING_POLICY = (
    'one path block for secret/data/billing-api-key with capabilities = ["read"]; KV v2 keeps'
    " data under secret/data/, and no * anywhere."
)


def check_billing_policy(policy: Any) -> None:
    show(evaluate_billing_policy(policy), HINT_BILLING_POLICY)


__all__ = ["APP", "TARGET", "check_billing_policy", "evaluate_billing_policy"]
