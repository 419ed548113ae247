"""jupyterhub/config.yaml: Helm values for the Zero to JupyterHub chart, checked without Kubernetes.

- every key is one the chart accepts, with the type it accepts. SCHEMA_KEYS below is the small
  subset of the chart's schema this config uses, read from the z2jh repository's
  ``jupyterhub/values.schema.yaml`` at tag 4.4.0 (the chart version jupyterhub/README.md
  installs). Keys under an "open" entry are passed through by the chart
  (``additionalProperties: true``: traitlets config, Kubernetes lifecycle hooks, file data);
- the chart's defaults (values.yaml) merged with this file are validated against the chart's
  whole schema (values.schema.yaml, JSON schema draft 7), as ``helm install`` does. The two files
  come from ``Z2JH_CHART`` (a chart folder) or else ``../shared/z2jh`` beside the repository
  (a copy of the chart's files, see its README); in CI (``CI`` set) a missing folder fails;
- the memory guarantee leaves headroom above the per-learner memory the benchmark measured, and
  the limit is above the worst case it measured;
- the image reference agrees with jupyterhub/README.md and the facilitator guide;
- the postStart hook does what ``course.py`` does, run here against this repository.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = ROOT / "jupyterhub" / "config.yaml"
HUB_README = (ROOT / "jupyterhub" / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "facilitator-guide.md").read_text(encoding="utf-8")
# The chart release whose JupyterHub is the schema's appVersion: the chart's changelog says
# "4.4.0 upgrades JupyterHub to 5.5.0" (docs/source/changelog.md), and ../shared/z2jh/README.md
# gives the copied schema's appVersion.
CHART_VERSION = "4.4.0"
APP_VERSION = "5.5.0"

# From zero-to-jupyterhub-k8s, jupyterhub/values.schema.yaml at tag 4.4.0: the keys used here,
# each with the JSON types the schema allows; "open" marks additionalProperties: true.
SCHEMA_KEYS: dict[str, tuple[str, ...] | str] = {
    "hub.config.JupyterHub": "open",  # properties.hub.properties.config.properties.JupyterHub
    "hub.config.Authenticator": "open",  # hub.config.patternProperties "^[A-Z].*$"
    "hub.config.FirstUseAuthenticator": "open",
    "singleuser.image.name": ("string",),
    "singleuser.image.tag": ("string",),
    "singleuser.image.pullPolicy": ("enum:IfNotPresent,Always,Never",),
    "singleuser.cmd": ("array", "string", "null"),
    "singleuser.defaultUrl": ("string", "null"),
    "singleuser.startTimeout": ("integer", "null"),
    "singleuser.memory.guarantee": ("number", "string", "null"),
    "singleuser.memory.limit": ("number", "string", "null"),
    "singleuser.cpu.guarantee": ("number", "null"),
    "singleuser.cpu.limit": ("number", "null"),
    "singleuser.storage.type": ("enum:dynamic,static,none",),
    "singleuser.storage.capacity": ("string", "null"),
    "singleuser.storage.homeMountPath": ("string",),
    "singleuser.lifecycleHooks.postStart": "open",
    "singleuser.extraFiles": "files",  # patternProperties ".*": mountPath + data|stringData|...
    "singleuser.networkPolicy.enabled": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.cloudMetadataServer": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.dnsPortsCloudMetadataServer": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.dnsPortsKubeSystemNamespace": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.dnsPortsPrivateIPs": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.nonPrivateIPs": ("boolean",),
    "singleuser.networkPolicy.egressAllowRules.privateIPs": ("boolean",),
    "singleuser.cloudMetadata.blockWithIptables": ("boolean",),
    "cull.enabled": ("boolean",),
    "cull.timeout": ("integer", "null"),
    "cull.every": ("integer", "null"),
    "cull.users": ("boolean", "null"),
    "prePuller.hook.enabled": ("boolean",),
    "prePuller.continuous.enabled": ("boolean",),
    "scheduling.userScheduler.enabled": ("boolean",),
}
FILE_KEYS = {"mountPath", "data", "stringData", "binaryData", "mode"}

# Measured on this repository's machine (2 CPUs; see the guide's sizing section):
# bench/bench_room.py, a real hub: a learner's whole process tree (single-user server, a cloud
# chapter's kernel, its emulators, OpenBao) peaked at 440 MB RSS, at N = 1, 5, 10 and 20;
# bench/bench_learners.py --keep-kernels: all five cloud chapters' kernels left running, 839 MB,
# beside the single-user server's 135 MB idle.
MEASURED_SERVER_MB = 135
MEASURED_PER_LEARNER_MB = 440
MEASURED_WORST_CASE_MB = MEASURED_SERVER_MB + 839
HEADROOM = 1.25


def _config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if path in SCHEMA_KEYS and SCHEMA_KEYS[path] in ("open", "files"):
            out[path] = value
        elif isinstance(value, dict) and value:
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


def _type_ok(value: Any, allowed: tuple[str, ...]) -> bool:
    for kind in allowed:
        if kind.startswith("enum:") and value in kind[5:].split(","):
            return True
        checks = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list),
            "null": value is None,
        }
        if checks.get(kind):
            return True
    return False


def _bytes(spec: str | int | float) -> float:
    """KubeSpawner's ByteSpecification: a number with K, M, G or T (powers of 1024)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    match = re.fullmatch(r"([0-9.]+)([KMGT])", spec)
    assert match, f"memory {spec!r} is not <number><K|M|G|T>"
    return float(match.group(1)) * 1024 ** "KMGT".index(match.group(2)) * 1024


def test_every_key_is_one_the_chart_accepts_with_its_type() -> None:
    leaves = _leaves(_config())
    unknown = sorted(set(leaves) - set(SCHEMA_KEYS))
    assert not unknown, f"keys the chart's schema does not list here: {unknown}"
    for path, value in leaves.items():
        allowed = SCHEMA_KEYS[path]
        if allowed == "open":
            assert isinstance(value, dict), path
        elif allowed == "files":
            for name, entry in value.items():
                assert set(entry) <= FILE_KEYS, (name, entry)
                assert entry["mountPath"].startswith("/"), name
                assert sum(k in entry for k in ("data", "stringData", "binaryData")) == 1, name
        else:
            assert isinstance(allowed, tuple)
            assert _type_ok(value, allowed), f"{path}: {value!r} is not {allowed}"


def test_an_unknown_key_would_be_caught() -> None:
    config = _config()
    config["singleuser"]["memory"]["guarantees"] = "1G"  # a typo the chart would reject
    assert "singleuser.memory.guarantees" not in SCHEMA_KEYS
    assert "singleuser.memory.guarantees" in _leaves(config)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _chart() -> Path:
    chart = Path(os.environ.get("Z2JH_CHART") or ROOT.parent / "shared" / "z2jh")
    if not (chart / "values.schema.yaml").is_file() or not (chart / "values.yaml").is_file():
        message = f"no chart schema and defaults in {chart} (set Z2JH_CHART to the chart folder)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return chart


def _chart_errors(values: dict[str, Any]) -> list[str]:
    import jsonschema

    chart = _chart()
    schema = yaml.safe_load((chart / "values.schema.yaml").read_text(encoding="utf-8"))
    merged = _merge(yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8")), values)
    validator = jsonschema.Draft7Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(merged)]


def test_whole_chart_schema_with_the_chart_defaults() -> None:
    errors = _chart_errors(_config())
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("singleuser.memory.guarantees", "1G"),  # a typo: the schema closes singleuser.memory
        ("singleuser.cpu.limit", "two"),  # a number
        ("cull.timeout", "1h"),  # an integer
        ("singleuser.image.pullPolicy", "Sometimes"),  # an enum
    ],
)
def test_the_chart_schema_catches_a_wrong_value(path: str, value: Any) -> None:
    config = _config()
    node = config
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    assert _chart_errors(config), f"{path}: {value!r} passed the chart's schema"


def test_the_chart_version_is_the_schemas_app_version() -> None:
    readme = _chart() / "README.md"  # the shared copy says which appVersion it was copied at
    if readme.exists():
        assert f"appVersion {APP_VERSION}" in readme.read_text(encoding="utf-8")
    jupyterhub = ".".join(APP_VERSION.split(".")[:2])
    header = CONFIG_PATH.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert f"jupyterhub/jupyterhub {CHART_VERSION} (JupyterHub {jupyterhub})" in header
    assert f"version {CHART_VERSION} (JupyterHub" in " ".join(HUB_README.split())


def test_memory_guarantee_covers_the_measured_learner_with_headroom() -> None:
    memory = _config()["singleuser"]["memory"]
    guarantee_mb = _bytes(memory["guarantee"]) / 1024**2
    limit_mb = _bytes(memory["limit"]) / 1024**2
    assert guarantee_mb >= MEASURED_PER_LEARNER_MB * HEADROOM, guarantee_mb
    assert limit_mb >= MEASURED_WORST_CASE_MB * HEADROOM, limit_mb
    cpu = _config()["singleuser"]["cpu"]
    assert 0 < cpu["guarantee"] <= cpu["limit"]


def test_the_guide_states_the_measured_figures_the_config_uses() -> None:
    memory = _config()["singleuser"]["memory"]
    for figure in (memory["guarantee"], memory["limit"]):
        assert str(figure) in GUIDE, figure
    for mb in (MEASURED_PER_LEARNER_MB, MEASURED_WORST_CASE_MB):
        assert f"{mb} MB" in GUIDE, mb


def test_image_reference_agrees_with_the_docs_and_the_package_version() -> None:
    image = _config()["singleuser"]["image"]
    reference = f"{image['name']}:{image['tag']}"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert image["tag"] == version
    build = re.search(r"repo2docker .*--image-name (\S+)", HUB_README)
    assert build and build.group(1) == reference, "README's repo2docker --image-name"
    assert "--target-repo-dir /srv/repo" in HUB_README  # where the hook and /srv/repo expect it
    assert f"docker push {reference}" in HUB_README
    assert reference in GUIDE
    assert f"--version {CHART_VERSION}" in HUB_README
    assert "--values jupyterhub/config.yaml" in HUB_README


def test_the_one_machine_hub_uses_the_same_limits() -> None:
    """jupyterhub/jupyterhub_config.py (one machine) and config.yaml (Kubernetes) take their
    memory and CPU per learner from the same measurements."""
    import ast

    source = (ROOT / "jupyterhub" / "jupyterhub_config.py").read_text(encoding="utf-8")
    constants = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("MEM_GUARANTEE", "MEM_LIMIT", "CPU_GUARANTEE", "CPU_LIMIT")
    }
    singleuser = _config()["singleuser"]
    assert constants == {
        "MEM_GUARANTEE": singleuser["memory"]["guarantee"],
        "MEM_LIMIT": singleuser["memory"]["limit"],
        "CPU_GUARANTEE": singleuser["cpu"]["guarantee"],
        "CPU_LIMIT": singleuser["cpu"]["limit"],
    }


def test_default_url_opens_the_first_chapter_of_the_workspace() -> None:
    url = _config()["singleuser"]["defaultUrl"]
    assert url == "/lab/tree/my-work/00_welcome.ipynb"
    assert (ROOT / "notebooks" / "00_welcome.ipynb").exists()


def test_idle_servers_and_kernels_are_culled() -> None:
    config = _config()
    assert config["cull"]["enabled"] and 0 < config["cull"]["timeout"] <= 4 * 3600
    files = config["singleuser"]["extraFiles"]
    kernel = next(
        f for f in files.values() if f["mountPath"].endswith("jupyter_server_config.json")
    )
    assert kernel["data"]["MappingKernelManager"]["cull_idle_timeout"] > 0


def test_no_egress_beyond_the_cluster() -> None:
    rules = _config()["singleuser"]["networkPolicy"]
    assert rules["enabled"]
    assert rules["egressAllowRules"]["nonPrivateIPs"] is False
    assert rules["egressAllowRules"]["cloudMetadataServer"] is False


def _hook_script() -> str:
    command = _config()["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[:2] == ["sh", "-c"]
    return command[2]


@pytest.mark.skipif(os.name == "nt", reason="the hook is a POSIX shell script")
def test_post_start_hook_copies_the_chapters_like_course_py(tmp_path: Path) -> None:
    """Run the hook with this repository as /srv/repo and a temporary home folder."""
    script = _hook_script().replace("/srv/repo", str(ROOT))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def hook() -> None:
        subprocess.run(["sh", "-c", script], env=env, check=True, cwd=tmp_path, timeout=60)

    hook()
    published = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in (home / "my-work").glob("*.ipynb")) == published
    assert (home / "course.py").read_bytes() == (ROOT / "course.py").read_bytes()
    assert (home / "README.md").exists() and (home / ".env.example").exists()

    mine = home / "my-work" / published[1]
    mine.write_text("{}")  # the learner's work: a second start never overwrites it
    (home / "my-work" / published[0]).unlink()  # a chapter the learner does not have yet
    hook()
    assert mine.read_text() == "{}"
    assert (home / "my-work" / published[0]).exists()

    number = published[1][:2]
    subprocess.run(
        [sys.executable, "course.py", "reset", number],
        cwd=home,
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert mine.read_bytes() == (ROOT / "notebooks" / published[1]).read_bytes()
    assert list((home / "my-work" / ".backup").iterdir())
