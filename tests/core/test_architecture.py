"""The layering rule: ``app/core`` never imports Qt (the GUI builds on the core, not back)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "app" / "core"
QT_PACKAGES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _qt_loaded_by(modules: list[str]) -> list[str]:
    """The Qt modules a fresh interpreter has loaded after importing ``modules``."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_PACKAGES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=CORE.parents[1],
    )  # fmt: skip
    return [name for name in out.stdout.strip().split(",") if name]


def test_core_sources_do_not_import_qt() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 8, "the core modules were not found"
    offenders = [
        f"{path.name}: {name}"
        for path in files
        for name in _imported_modules(path)
        if name.split(".")[0] in QT_PACKAGES
    ]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt() -> None:
    """Catches indirect imports too (a core module importing a helper that imports Qt)."""
    modules = [f"app.core.{p.stem}" for p in sorted(CORE.glob("*.py")) if p.stem != "__init__"]
    assert _qt_loaded_by(modules) == []


TESTS = CORE.parents[1] / "tests"


def test_the_core_tests_and_their_fixtures_load_no_qt() -> None:
    """The core tests run where Qt is absent: their conftest, helpers and modules import none."""
    modules = ["tests.conftest"] + [
        f"tests.{p.parent.name}.{p.stem}"
        for folder in (TESTS / "core", TESTS / "support")
        for p in sorted(folder.glob("*.py"))
        if p.stem not in ("__init__", "gui", "kill_driver", "stress")  # the GUI helpers
    ]
    assert len(modules) > 30, modules
    assert _qt_loaded_by(modules) == []


def test_tests_import_helpers_from_tests_support_only() -> None:
    """No test imports a conftest or another test module: what is shared is in support/."""
    offenders = [
        f"{path.relative_to(TESTS)}: {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in _imported_modules(path)
        if name.startswith("tests.") and not name.startswith("tests.support")
    ]
    assert offenders == []


CLI = CORE.parent / "cli"
#: The command line's two fixed rooms; every other module in app/cli is a command group.
CLI_PROGRAM, CLI_COMMON = "app.cli.program", "app.cli.common"


def _cli_imports() -> dict[str, set[str]]:
    """Each module of ``app/cli`` and the ``app.cli`` modules it imports, lazy imports
    inside functions included; ``from app.cli import bench`` counts as ``app.cli.bench``."""
    modules = {
        "app.cli" if p.stem == "__init__" else f"app.cli.{p.stem}": p
        for p in sorted(CLI.glob("*.py"))
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = "app.cli" if path.stem == "__init__" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from .common import y
                    parent = package.rsplit(".", node.level - 1)[0]
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    edges.add(sub if sub in modules else base)
        graph[name] = {m for m in edges if m in modules and m != name}
    return graph


def test_cli_dependencies_point_one_way() -> None:
    """program -> command groups -> common: a command group imports no other command
    group and not the program; common imports no other cli module; only the package
    imports the program."""
    graph = _cli_imports()
    groups = set(graph) - {"app.cli", CLI_PROGRAM, CLI_COMMON}
    assert {"app.cli.complete", "app.cli.models"} <= groups
    assert CLI_PROGRAM in graph
    offenders = sorted(
        f"{source} imports {target}"
        for source, targets in graph.items()
        for target in targets
        if (source in groups and target != CLI_COMMON)
        or (source == CLI_COMMON)
        or (target == CLI_PROGRAM and source != "app.cli")
    )
    assert offenders == []


def test_the_cli_modules_import_one_another_without_a_cycle() -> None:
    graph = _cli_imports()
    done: set[str] = set()

    def cycle_from(module: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if module in path:
            return (*path[path.index(module) :], module)
        if module in done:
            return None
        for target in sorted(graph[module]):
            if found := cycle_from(target, (*path, module)):
                return found
        done.add(module)
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, ()))]
    assert cycles == []
