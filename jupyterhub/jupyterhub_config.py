"""A JupyterHub for a workshop room on one machine: every learner gets their own JupyterLab, their
own copy of the course in ``my-work/`` and their own offline cloud, from this repository's .venv.

    python3.11 course.py test        # once: installs the `hub` extra (or: pip install -e ".[hub]")
    export GUARDLIB_HUB_PASSWORD='<choose-one>'        # the password you hand out (8+ chars)
    .venv/bin/jupyterhub -f jupyterhub/jupyterhub_config.py --port 8000

Learners open ``http://<this machine>:8000``, pick a name and type the shared password. The
facilitator guide's "One machine" section says what to hand out and what to watch; its sizing
table gives the memory and CPU per learner that the limits below come from
(``bench/bench_room.py`` measures them against this hub).

Environment:
  GUARDLIB_HUB_PASSWORD     the learners' shared password (required, 8 characters or more)
  GUARDLIB_HUB_API_TOKEN    optional: a token for automation (the load test, a facilitator's
                            script) with the admin:users, admin:servers and access:servers scopes
  GUARDLIB_HUB_DATA         where the hub keeps its state and the learners' folders
                            (default ~/.guardlib-hub; never inside the repository)
  GUARDLIB_HUB_MAX_LEARNERS servers running at once (default: what the machine's memory holds at
                            the per-learner guarantee below)

The hub's database, cookie secret and proxy pid file, a read-only snapshot of the published
chapters, and one folder per learner (``learners/<name>/``) live in the data folder. Every
learner's server runs as the user who started the hub: learners are not isolated from each
other, as SharedPasswordAuthenticator's own documentation warns. That suits a room working on
obviously fake demo secrets only; never put a real key on this hub.
"""

# ruff: noqa: F821  (`c` is the configuration object JupyterHub gives this file)

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import stat
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from tornado.ioloop import PeriodicCallback
from traitlets import Unicode, default

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the .venv the hub runs from: its proxy, culler, servers
FIRST_CHAPTER_URL = "/lab/tree/my-work/00_welcome.ipynb"

# -- measured figures (bench/bench_room.py against this hub; the guide's sizing table) ----------
# A learner's server (jupyterhub-singleuser + JupyterLab) idles at 135 MB RSS; with a cloud
# chapter running, the learner's whole tree (server, kernel, emulators, OpenBao) peaked at
# 435-440 MB, the same at N = 1, 5, 10 and 20. A learner who keeps all five cloud chapters'
# kernels running reaches 135 + 839 = 974 MB (bench/bench_learners.py --keep-kernels). The
# guarantee leaves 25 % or more above the first, the limit above the second; the same values as
# jupyterhub/config.yaml (tests/test_jupyterhub_config.py checks both).
MEM_GUARANTEE = "576M"
MEM_LIMIT = "1536M"
CPU_GUARANTEE = 0.2
CPU_LIMIT = 2.0
# Twenty servers asked for at once were all ready within 77 s on 2 CPUs (and other jobs): the
# hub waits twice the measured time for a server's HTTP answer, three times for its start.
HTTP_TIMEOUT_MEASURED_S = 80
# The proxy's wait for a server's answer (a websocket upgrade included): its default, 20 s, was
# too short for one of twenty learners at the busiest moment.
PROXY_TIMEOUT_MS = 120_000
# Learners' processes run at a lower priority than the hub and its proxy: logins and page loads
# stay quick while a room runs its cells. (A hard CPU cap needs cgroups: systemd or Kubernetes.)
LEARNER_NICE = 5
KERNEL_IDLE_S = 45 * 60  # a chapter left behind gives its memory back (as config.yaml)
SERVER_IDLE_S = 60 * 60  # a learner gone for an hour: server stopped, my-work/ kept


def _fail(message: str) -> None:
    print(f"[guardlib-hub] {message}", file=sys.stderr)
    raise SystemExit(2)


def _course_module():
    """course.py (standard library only): the same workspace copy and JupyterLab settings."""
    spec = importlib.util.spec_from_file_location("guardlib_course_script", REPO / "course.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COURSE = _course_module()

# -- the data folder: hub state and learners' folders, never in the repository -------------------
DATA = Path(os.environ.get("GUARDLIB_HUB_DATA") or Path.home() / ".guardlib-hub").expanduser()
DATA = DATA.resolve()
if DATA == REPO or REPO in DATA.parents:
    _fail(f"GUARDLIB_HUB_DATA must be outside the repository ({REPO}): the hub's state and the "
          "learners' work never go into git")  # fmt: skip
DATA.mkdir(parents=True, exist_ok=True, mode=0o700)
LEARNERS = DATA / "learners"
LEARNERS.mkdir(exist_ok=True)


def _publish_chapters() -> Path:
    """A read-only snapshot of the published chapters, for every learner's ``notebooks`` link
    (``course.py reset NN`` reads it); learners never write into the repository."""
    published = DATA / "course" / "notebooks"
    if published.exists():
        for path in published.iterdir():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(published)
    published.mkdir(parents=True)
    for chapter in COURSE.chapters(REPO):
        target = published / chapter.name
        shutil.copyfile(chapter, target)
        target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return published


PUBLISHED = _publish_chapters()
COURSE.lab_settings(REPO)  # JupyterLab's news pop-up and update check off, in this .venv


def prepare_home(home: Path) -> None:
    """What ``python3.11 course.py`` does on a laptop, in a learner's folder: course.py, the
    README and .env.example in reach, the chapters that my-work/ lacks (never overwriting)."""
    home.mkdir(parents=True, exist_ok=True)
    link = home / "notebooks"
    if link.is_symlink() or not link.exists():
        if link.is_symlink():
            link.unlink()
        link.symlink_to(PUBLISHED, target_is_directory=True)
    shutil.copyfile(REPO / "course.py", home / "course.py")
    for name in ("README.md", ".env.example"):
        if not (home / name).exists() and not (home / name).is_symlink():
            shutil.copyfile(REPO / name, home / name)
    COURSE.prepare_workspace(home)


def _bytes(spec: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    return int(float(spec[:-1]) * units[spec[-1]]) if spec[-1] in units else int(spec)


class RoomSpawner(LocalProcessSpawner):
    """A local process per learner, without a system account: the server runs as the hub's
    user in ``<data>/learners/<name>``. The memory limit is enforced by a watchdog: past it,
    the learner's largest kernel is stopped (JupyterLab restarts it empty), as a container's
    out-of-memory killer would; the server itself is spared."""

    home_dir = Unicode(help="The learner's folder")

    @default("home_dir")
    def _default_home_dir(self) -> str:
        return str(LEARNERS / self.user.name)

    def make_preexec_fn(self, name):
        home = self.home_dir

        def preexec() -> None:
            os.chdir(home)
            os.nice(LEARNER_NICE)

        return preexec

    def user_env(self, env):
        env["USER"] = self.user.name
        env["HOME"] = self.home_dir
        env["SHELL"] = os.environ.get("SHELL", "/bin/sh")
        return env

    async def move_certs(self, paths):
        return paths

    async def start(self):
        prepare_home(Path(self.home_dir))
        self.notebook_dir = self.home_dir
        url = await super().start()
        self._watch()
        return url

    async def poll(self):
        status = await super().poll()
        if status is None:
            self._watch()  # after a hub restart, servers it finds running are watched again
        return status

    async def stop(self, now=False):
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.stop()
            self._watchdog = None
        await super().stop(now=now)

    def _watch(self) -> None:
        if getattr(self, "_watchdog", None) is None and self.mem_limit:
            self._watchdog = PeriodicCallback(self._check_memory, 5_000)
            self._watchdog.start()

    def _check_memory(self) -> None:
        try:
            import psutil

            server = psutil.Process(self.pid)
            tree = [server, *server.children(recursive=True)]
            used = sum(p.memory_info().rss for p in tree if p.is_running())
            if used <= self.mem_limit:
                return
            kernels = [p for p in server.children() if "ipykernel" in " ".join(p.cmdline())]
            if not kernels:
                return

            def weight(kernel):
                return sum(q.memory_info().rss for q in [kernel, *kernel.children(True)])

            largest = max(kernels, key=weight)
            self.log.warning(
                "%s uses %d MB, over the %d MB limit: stopping their largest kernel (%d MB)",
                self.user.name, used >> 20, self.mem_limit >> 20, weight(largest) >> 20,
            )  # fmt: skip
            for process in [*largest.children(recursive=True), largest]:
                process.kill()
        except Exception as error:  # a process that ended meanwhile, or no psutil
            self.log.debug("memory check for %s: %s", self.user.name, error)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _max_learners() -> int:
    chosen = os.environ.get("GUARDLIB_HUB_MAX_LEARNERS")
    if chosen:
        if not chosen.isdigit() or int(chosen) < 1:
            _fail("GUARDLIB_HUB_MAX_LEARNERS must be a whole number, 1 or more")
        return int(chosen)
    try:
        import psutil

        total = psutil.virtual_memory().total
    except Exception:
        return 0  # no limit known
    reserve = 2 * 1024**3  # the hub, the proxy, the system
    return max(1, (total - reserve) // _bytes(MEM_GUARANTEE))


# -- who may log in -------------------------------------------------------------------------------
password = os.environ.get("GUARDLIB_HUB_PASSWORD", "")
if len(password) < 8:
    _fail("set GUARDLIB_HUB_PASSWORD to the learners' shared password (8 characters or more)")
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = password
c.Authenticator.allow_all = True  # anyone with the password picks a name
# a name becomes a folder name: lower-case letters, digits, '-', '_' and '.', 1 to 32 characters
c.Authenticator.username_pattern = r"^[a-z0-9][a-z0-9_.-]{0,31}$"

# -- automation: the load test and facilitators' scripts -----------------------------------------
services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={SERVER_IDLE_S}",
            "--cull-every=300",
        ],  # fmt: skip
    }
]
roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
token = os.environ.get("GUARDLIB_HUB_API_TOKEN", "")
if token:
    if len(token) < 32:
        _fail("GUARDLIB_HUB_API_TOKEN must be 32 characters or more (e.g. `openssl rand -hex 32`)")
    services.append({"name": "room-automation", "api_token": token})
    roles.append(
        {
            "name": "room-automation",
            "scopes": ["admin:users", "admin:servers", "access:servers"],
            "services": ["room-automation"],
        }
    )
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles

# -- state in the data folder; ports the room does not see on free loopback ports ----------------
c.JupyterHub.db_url = f"sqlite:///{DATA / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(DATA / "jupyterhub_cookie_secret")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = _free_port()
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_free_port()}"
c.ConfigurableHTTPProxy.command = [  # the pure-Python proxy: no Node.js
    str(BIN / "configurable-http-proxy"),
    f"--proxy-timeout={PROXY_TIMEOUT_MS}",
]
c.ConfigurableHTTPProxy.pid_file = str(DATA / "proxy.pid")
c.JupyterHub.active_server_limit = _max_learners()

# -- each learner's server -------------------------------------------------------------------------
c.JupyterHub.spawner_class = RoomSpawner
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = FIRST_CHAPTER_URL
c.Spawner.environment = {"PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", os.defpath)])}
c.Spawner.mem_guarantee = MEM_GUARANTEE
c.Spawner.mem_limit = MEM_LIMIT
c.Spawner.cpu_guarantee = CPU_GUARANTEE
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.http_timeout = 2 * HTTP_TIMEOUT_MEASURED_S
c.Spawner.start_timeout = 3 * HTTP_TIMEOUT_MEASURED_S
args = [
    *COURSE.LAB_OFFLINE_ARGS,  # no news feed, no update check: nothing reaches the internet
    f"--MappingKernelManager.cull_idle_timeout={KERNEL_IDLE_S}",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=True",
    "--MappingKernelManager.cull_busy=False",
]
if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI and containers run as root
    args.append("--allow-root")
c.Spawner.args = args
