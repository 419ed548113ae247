"""The house: guardlib's parts in plain sight, layered, with no import cycles.

The import graph is read from the source as a reader sees it: every ``import`` and
``from ... import`` anywhere in a module, including inside functions and under
``TYPE_CHECKING``. ``from pkg import name`` counts as an import of ``pkg.name`` when that is a
module, otherwise of ``pkg``.

Layers, lowest first (see docs/architecture.md):
  library   -- everything not below: secret, env, dotenv_files, errors, redact/, resolver/,
               sources/, scan
  emulators -- guardlib/emulators/ (the offline cloud), and guardlib/pytest_plugin.py, its
               pytest fixtures (kept at that path: it is the plugin's entry point)
  course    -- guardlib/course/ (exercise checks, verdict panel, progress view, doctor)
  cli       -- guardlib/cli/ (the ``guardlib`` command) and ``python -m guardlib``
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "guardlib"
LAYERS = {"library": 0, "emulators": 1, "course": 2, "cli": 3}


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The longest guardlib module that ``name`` names (``pkg.mod.attr`` -> ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported guardlib module, line, at module level) for every import in ``module``."""
    path, is_package = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if is_package else module.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    top_level |= {  # `if TYPE_CHECKING:` / try blocks at module level still count as top level
        id(child)
        for node in tree.body
        if isinstance(node, (ast.If, ast.Try))
        for child in ast.walk(node)
        if isinstance(child, (ast.Import, ast.ImportFrom))
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base) + (f".{node.module}" if node.module else "")
            else:
                source = node.module or ""
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            owner = _owner(target)
            if owner and owner != module and owner.startswith("guardlib"):
                found.append((owner, node.lineno, id(node) in top_level))
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("emulators", "course", "cli"):
        return parts[1]
    if module == "guardlib.__main__":
        return "cli"
    if module == "guardlib.pytest_plugin":  # the offline cloud's pytest face (entry point path)
        return "emulators"
    return "library"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_graph_sees_imports_inside_functions_and_type_checking() -> None:
    """The reader's view: lazy and TYPE_CHECKING imports are edges too (else the test is blind)."""
    resolver = {target for target, _, _ in GRAPH["guardlib.resolver"]}
    assert "guardlib.sources" in resolver
    panel = {target for target, _, _ in GRAPH["guardlib.course.panel"]}
    assert "guardlib.course.verdict" in panel  # only under TYPE_CHECKING
    doctor = {(target, top) for target, _, top in GRAPH["guardlib.course.doctor"]}
    assert ("guardlib.emulators", False) in doctor  # only inside functions


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_guardlib() -> None:
    graph = {module: {target for target, _, _ in edges} for module, edges in GRAPH.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles (break each by moving the shared part down):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_higher_layers_import_lower_ones_never_the_reverse() -> None:
    wrong = []
    for module, edges in GRAPH.items():
        here = _layer(module)
        for target, line, _ in edges:
            there = _layer(target)
            if LAYERS[there] <= LAYERS[here]:
                continue
            wrong.append(f"{module} ({here}) imports {target} ({there}) at line {line}")
    assert not wrong, "\n".join(wrong)


def test_the_three_parts_have_their_folders() -> None:
    for folder in ("cli", "course", "emulators", "redact", "resolver", "sources"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    assert (PACKAGE / "cli" / "exit_codes.py").is_file()
    assert not list(PACKAGE.glob("cli_*.py")), "subcommands live in guardlib/cli/"
    for subcommand in ("get", "run", "scan", "check_env", "emulators"):
        source = (PACKAGE / "cli" / f"{subcommand}.py").read_text(encoding="utf-8")
        assert "guardlib.cli.exit_codes" in source or "EXIT_" not in source, subcommand


def _functions_named(name: str) -> list[str]:
    found = []
    for module, (path, _) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found.append(f"{module}:{node.lineno}")
    return found


def test_one_function_is_named_install_redaction_and_it_covers_the_process() -> None:
    assert _functions_named("install_redaction") == [
        f"guardlib.redact.process:{_line('guardlib.redact.process', 'install_redaction')}"
    ]
    import guardlib
    from guardlib import redact, resolver

    assert guardlib.install_redaction is redact.install_redaction is resolver.install_redaction
    assert guardlib.redact_logger is redact.redact_logger
    assert "one logger" in (guardlib.redact_logger.__doc__ or "")
    assert "whole process" in (guardlib.install_redaction.__doc__ or "")


def _line(module: str, name: str) -> int:
    tree = ast.parse(MODULES[module][0].read_text(encoding="utf-8"))
    return next(n.lineno for n in ast.walk(tree) if getattr(n, "name", None) == name)


#: what users import: the names of guardlib's __all__, these modules, the command and the plugin
PUBLIC_MODULES = [
    "guardlib.secret",
    "guardlib.env",
    "guardlib.dotenv_files",
    "guardlib.errors",
    "guardlib.redact",
    "guardlib.resolver",
    "guardlib.sources",
    "guardlib.scan",
    "guardlib.emulators",
    "guardlib.emulators.seed",
    "guardlib.pytest_plugin",
    "guardlib.cli",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_keep_their_import_paths(name: str) -> None:
    importlib.import_module(name)


def test_public_names_keep_working() -> None:
    import guardlib

    for name in guardlib.__all__:
        assert getattr(guardlib, name) is not None, name
    for name in ("Secret", "env", "resolve", "aresolve", "describe", "load_mapping",
                 "resolve_mapping", "install_redaction", "redact_logger", "Redactor",
                 "RedactingFilter", "AccessDenied", "SecretCache"):  # fmt: skip
        assert name in guardlib.__all__, name


def test_the_command_and_the_plugin_entry_points() -> None:
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("guardlib") == "guardlib.cli:main"
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("guardlib") == "guardlib.pytest_plugin"
    for argv in (["-m", "guardlib", "--help"], ["-m", "guardlib.cli", "--help"]):
        result = subprocess.run([sys.executable, *argv], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: guardlib" in result.stdout, argv
