"""The package's layering: no import circles, core modules never reach up into jobs or the CLI,
and a job depends on the core (and `jobs.common`), never on another job."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dualdeploy"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every dualdeploy module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from dualdeploy.jobs import common` imports the module dualdeploy.jobs.common.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    modules = {module_name(path) for path in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules and name != "dualdeploy"}


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in PACKAGE.rglob("*.py")}


def test_no_import_circles() -> None:
    edges = graph()
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_core_never_imports_jobs_or_cli() -> None:
    upward = {
        module: sorted(
            target for target in targets if target.startswith("dualdeploy.jobs") or target == "dualdeploy.cli"
        )
        for module, targets in graph().items()
        if not module.startswith("dualdeploy.jobs") and module not in ("dualdeploy.cli", "dualdeploy.__main__")
    }
    assert {module: targets for module, targets in upward.items() if targets} == {}


def test_jobs_depend_on_the_core_not_on_each_other() -> None:
    sideways = {
        module: sorted(
            target
            for target in targets
            if target.startswith("dualdeploy.jobs.") and target not in ("dualdeploy.jobs.common", module)
        )
        for module, targets in graph().items()
        if module.startswith("dualdeploy.jobs.")
    }
    assert {module: targets for module, targets in sideways.items() if targets} == {}
