"""``guardlib emulators up`` and ``guardlib emulators run``: the offline cloud for other processes.

``up`` is like ``gcloud beta emulators … env-init``: once every emulator is ready, the
environment that points unmodified SDK code at them is written to ``--env-file`` (or stdout)
in one of :data:`FORMATS`: ``sh`` (``export KEY='value'``: ``source offline.env`` exports it to
child processes, and python-dotenv reads it too), ``dotenv`` (``KEY='value'``), ``powershell``
(``$env:KEY = 'value'``, dot-source it) or ``json``. SIGINT and SIGTERM stop everything cleanly.

``run -- CMD`` starts the cloud, runs CMD with that environment (as the chosen identity) added
to its own, and stops the cloud when CMD ends, exiting with CMD's exit code.

``--platform NAME`` writes what a process on that real platform has instead (``platforms/``):
``github-actions`` is a bare CI job (the runner's token URL and request token, the ``GITHUB_*``
variables, no cloud credential; ``--oidc-subject`` is its ``sub``), ``github-actions+STEP``
the job after an official action's step, ``ec2``, ``app-service``, ``gce`` ... a workload there
as ``--identity``. ``--oidc-subject`` alone means ``--platform github-actions``.

The seed defaults to ``course``: the notebooks' dev/prod world and its CI trusts
(``seed.COURSE``), so the
README's snippets work out of the box; ``--seed none`` starts an empty cloud.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import OfflineCloud, start, stop
from .kit.files import write_private

FORMATS = ("sh", "dotenv", "powershell", "json")
#: ``--seed`` names that are not files: the course's world, or nothing
SEEDS = ("course", "none")
_HEADER = "written by `guardlib emulators up`: points unmodified SDK code at the offline cloud"


def render_env(env: dict[str, str], fmt: str = "sh") -> str:
    """``env`` as a file another program loads, sorted by name. ``sh`` quotes as a POSIX shell
    does (``shlex.quote``) and adds ``export``; ``dotenv`` quotes as python-dotenv reads."""
    if fmt == "json":
        return json.dumps(dict(sorted(env.items())), indent=2) + "\n"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    lines = [f"# {_HEADER}"]
    for key in sorted(env):
        value = env[key]
        if fmt == "powershell":
            lines.append(f"$env:{key} = '{value.replace(chr(39), chr(39) * 2)}'")
        elif fmt == "sh":  # exactly what a POSIX shell reads back; python-dotenv reads it too
            lines.append(f"export {key}={shlex.quote(value)}")
        else:
            quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            lines.append(f"{key}={quoted}")
    return "\n".join(lines) + "\n"


def seed_argument(seed: str | None) -> object:
    """What ``start(seed=...)`` gets for a ``--seed`` argument: ``course`` (the default) is the
    notebooks' dev/prod world with its CI trusts (``seed.COURSE``) and the course cluster's pods
    (``platforms.POD_TRUSTS``, for ``eks-irsa``, ``eks-pod-identity``, ``aks-workload-identity``),
    ``none`` nothing, anything else a JSON or TOML file."""
    from .platforms import POD_TRUSTS
    from .seed import COURSE

    if seed is None or seed == "course":
        return {**COURSE, "trusts": [*COURSE["trusts"], *POD_TRUSTS]}
    if seed == "none":
        return None
    return seed


def write_env_file(path: Path, text: str) -> None:
    """Write the env file atomically with owner-only permissions: it names credentials of the
    emulators (``kit.files.write_private``)."""
    write_private(path, text)


@dataclasses.dataclass(frozen=True)
class Workload:
    """``--platform``/``--oidc-subject``: a process on a real platform (``platforms/``), as
    ``identity`` or as a CI job or pod whose OIDC token has ``subject``."""

    subject: str | None = None
    audience: str | None = None
    platform: str = "github-actions"


def environment(cloud: OfflineCloud, identity: str | None, workload: Workload | None) -> dict:
    """The environment a process gets: ``identity``'s credentials (checked against the seed),
    or, on a platform, exactly what a process there has (``platforms.environment``)."""
    from .platforms import environment as platform_environment
    from .platforms._people import check_identity

    if workload is None:
        if identity is not None:
            check_identity(cloud, identity)
        return cloud.env(identity)
    return platform_environment(
        cloud, workload.platform, identity=identity, subject=workload.subject,
        audience=workload.audience,
    )  # fmt: skip


def leave_hint(env_file: str | None, fmt: str, env: dict[str, str]) -> str:
    """What ``up`` tells the user on stderr: use the environment in a second terminal, and how
    to leave it there again."""
    target = env_file or "offline.env (redirect this output: guardlib emulators up > offline.env)"
    names = " ".join(sorted(k for k in env if k not in ("HOME", "PATH")))
    if fmt == "powershell":
        removal = ", ".join(f"Env:{k}" for k in sorted(env) if k not in ("HOME", "PATH"))
        return (
            f"In a second terminal: . {target}\n"
            f"To leave the offline environment there: Remove-Item {removal}\n"
        )
    if fmt in ("dotenv", "json"):
        return f"Load {target} in the process that should use the offline cloud.\n"
    home = (
        "It sets HOME (this platform's files), so source it only in a throwaway shell.\n"
        if "HOME" in env
        else ""
    )
    return (
        "Keep this terminal open. In a second terminal, start a shell for the offline "
        f"environment (e.g. `bash`), then `source {target}`; `exit` leaves it.\n"
        f"{home}"
        f"Or leave it in place: unset {names}\n"
    )


def run(
    only: list[str] | None,
    identity: str | None,
    env_file: str | None,
    seed: str | None,
    *,
    fmt: str = "sh",
    wait: bool = True,
    workload: Workload | None = None,
) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    began = time.perf_counter()
    cloud = start(only, seed=seed_argument(seed))  # type: ignore[arg-type]
    try:
        env = environment(cloud, identity, workload)
    except BaseException:
        stop()
        raise
    if workload is None and identity is not None:
        cloud.identity = identity
    text = render_env(env, fmt)
    elapsed_ms = (time.perf_counter() - began) * 1000
    names = ", ".join(cloud.emulators) or "none"
    where = f" on {workload.platform}" if workload is not None else ""
    if env_file:
        write_env_file(Path(env_file), text)
        print(
            f"offline cloud ready ({names}){where} in {elapsed_ms:.0f} ms; environment written "
            f"to {env_file}",
            file=sys.stderr,
            flush=True,
        )
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"offline cloud ready ({names}){where} in {elapsed_ms:.0f} ms", file=sys.stderr,
              flush=True)  # fmt: skip
    print(leave_hint(env_file, fmt, env), end="", file=sys.stderr, flush=True)
    if not wait:
        stop()
        return 0
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("press Ctrl+C to stop", file=sys.stderr, flush=True)
    # token files (eks-irsa, eks-pod-identity, aks-workload-identity) are written to last a
    # day; runner tokens are fetched fresh by each step, as on GitHub
    while not done.wait(0.5):
        pass
    stop()
    if env_file:
        Path(env_file).unlink(missing_ok=True)
    print("offline cloud stopped", file=sys.stderr, flush=True)
    return 0


def run_command(
    command: list[str],
    only: list[str] | None,
    identity: str | None,
    seed: str | None,
    *,
    workload: Workload | None = None,
) -> int:
    """Run ``command`` inside the offline cloud as ``identity`` (default: admin), or as a
    ``workload``; return its exit code.

    The child gets this environment, less any real cloud credential, plus the offline
    environment; the cloud stops when the child ends."""
    from . import REAL_CLOUD_VARIABLES

    if not command:
        raise ValueError("no command given: guardlib emulators run [options] -- CMD [ARG ...]")
    cloud = start(only, seed=seed_argument(seed))  # type: ignore[arg-type]
    try:
        env = {k: v for k, v in os.environ.items() if k not in REAL_CLOUD_VARIABLES}
        if workload is None and identity is not None:
            cloud.identity = identity
        env.update(environment(cloud, identity if workload else identity or "admin", workload))
        try:
            child = subprocess.Popen(command, env=env)
        except FileNotFoundError:
            print(f"guardlib emulators run: command not found: {command[0]}", file=sys.stderr)
            return 127
        except PermissionError:
            print(f"guardlib emulators run: not executable: {command[0]}", file=sys.stderr)
            return 126
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # the terminal sent SIGINT to the child too: wait for it
                continue
        return 128 - code if code < 0 else code
    finally:
        stop()


@contextlib.contextmanager
def in_subprocess(
    args: list[str], folder: Path, *, timeout: float = 90.0
) -> Iterator[dict[str, str]]:
    """Run ``guardlib emulators up ARGS --env-file FOLDER/offline.env`` in another process, as a
    workshop or a CI job does, and yield the environment a fresh application process gets there:
    only what the file says, plus ``PATH`` and a ``HOME`` of its own (``SYSTEMROOT`` on
    Windows). The cloud is stopped (SIGINT) when the block ends."""
    from dotenv import dotenv_values

    env_file = Path(folder) / "offline.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "guardlib", "emulators", "up", *args, "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not env_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"emulators up did not become ready: {proc.communicate()[1]}")
            time.sleep(0.05)
        values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        base = {"PATH": os.environ["PATH"], "HOME": str(folder)}
        if os.name == "nt":
            base["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
        yield base | values
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
