"""The layering rule: kernel <- data <- models <- runner, and no import cycles between modules.

Every import of the source tree is read with `ast` (function-level imports included, since a lazy
import is still a dependency), so the rule holds however an import is written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "adl_runner"
# What each layer may import from adl_runner, besides itself.
ALLOWED = {
    "kernel": set(),
    "data": {"kernel"},
    "models": {"kernel", "data"},
    "runner": {"kernel", "data", "models"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def imports_of(path: Path) -> set[str]:
    """The adl_runner modules the source file `path` imports."""
    name = module_name(path)
    return imports_in(path.read_text(), name if path.name == "__init__.py" else name.rsplit(".", 1)[0])


def imports_in(text: str, package: str) -> set[str]:
    """The adl_runner modules `text`, a module of `package`, imports (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py") if "hydra_plugins" not in p.parts}


def graph() -> dict[str, set[str]]:
    modules = source_modules()
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("own", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below(own: str) -> None:
    bad = sorted(
        f"{module} imports {target}"
        for module, targets in graph().items() if layer(module) == own
        for target in targets if layer(target) not in ALLOWED[own] | {own}
    )
    assert not bad, "\n".join(bad)


def test_no_import_cycles() -> None:
    edges = graph()
    # Package __init__ modules are imported by every submodule import; an edge to a parent
    # package is not a cycle of code.
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_rule_sees_lazy_and_relative_imports() -> None:
    """A function-level or relative import counts: the rule cannot be dodged by importing late."""
    text = "def f():\n    from adl_runner.runner import cli\nfrom ..runner import tasks\n"
    found = imports_in(text, "adl_runner.models")
    assert {"adl_runner.runner.cli", "adl_runner.runner.tasks"} <= found


def test_only_the_entry_points_read_hydra_or_omegaconf() -> None:
    """A config value travels CLI -> Hydra -> schema -> resolve -> task: below `resolve` (the one
    frozen Job), nothing reads a DictConfig or Hydra's state, so tasks run the same from Python."""
    allowed = {"adl_runner.runner.cli", "adl_runner.runner.schema", "adl_runner.runner.resolve", "adl_runner.runner.report"}
    readers = set()
    for name, path in source_modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m.split(".")[0] in ("hydra", "omegaconf") for m in modules):
                readers.add(name)
    assert readers <= allowed, sorted(readers - allowed)
