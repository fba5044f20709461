"""The documents tell the truth: what they name exists, and what they promise is so.

- ``docs/architecture.md``: every path, module, class, method, signal or constant in
  backticks exists (imported and looked up, not grepped).
- ``docs/user-guide.md``: every key in a key table is the shortcut of the menu entry it
  names (or one of the editor's own keys), and every key the app has is documented; every
  menu path in bold exists in the real window's menus; the settings tables state the
  code's ranges and defaults; every command and option exists in the real parser.
- Every document: relative links point to files (and headings) that exist.

The window is built once, offscreen, on a temporary home, and closed before any test runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

import app
from app.core.paths import AppPaths

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "user-guide.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CHANGELOG = ROOT / "CHANGELOG.md"
DOCS = (README, GUIDE, ARCHITECTURE, CHANGELOG)

PORTABLE = QKeySequence.SequenceFormat.PortableText
TOP_FOLDERS = ("app", "tests", "docs", "scripts", "models", "resources", "packaging", ".ci")
#: Libraries whose names the architecture may cite (``threading.Event``, ``llama_cpp.Llama``).
LIBRARIES = ("threading", "llama_cpp", "numpy", "gguf", "platformdirs", "huggingface_hub")
MENU_PATH = re.compile(r"\*\*([^*\n]+? ▸ [^*\n]+?)\*\*")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")


# --------------------------------------------------------------------------- markdown


def prose(text: str) -> str:
    """``text`` without its fenced code blocks (commands and diagrams, not references)."""
    return FENCE.sub("", text)


def tables(text: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Each Markdown table: (header cells, body rows of cells)."""
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            rows = [[c.strip() for c in row.strip().strip("|").split("|")] for row in block]
            yield rows[0], rows[2:]
        block = []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    heads = re.findall(r"^#+ (.+)$", prose(path.read_text(encoding="utf-8")), re.MULTILINE)
    return {slug(h) for h in heads}


def number(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def numbers(cell: str) -> list[float]:
    return [number(n) for n in re.findall(r"[−-]?\d[\d,]*(?:\.\d+)?", cell)]


# --------------------------------------------------------------------------- the real UI


@dataclass(frozen=True)
class RealUI:
    """What the real window offers: menu paths and each entry's shortcuts."""

    menus: dict[tuple[str, ...], tuple[str, ...]]  # path -> shortcuts (portable text)
    editor_keys: frozenset[str]
    standard_keys: frozenset[str]

    def paths(self) -> set[tuple[str, ...]]:
        """Entries and the submenus that lead to them."""
        found: set[tuple[str, ...]] = set()
        for path in self.menus:
            found.update(path[:i] for i in range(1, len(path) + 1))
        return found

    def all_shortcuts(self) -> set[str]:
        return {s for keys in self.menus.values() for s in keys}


def menu_text(text: str) -> str:
    """A menu entry as the writer reads it: mnemonics and tab-separated keys removed."""
    return text.split("\t")[0].replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def key(text: str) -> str:
    return QKeySequence(text).toString(PORTABLE)


def _walk(menu: QMenu, path: tuple[str, ...], out: dict[tuple[str, ...], tuple[str, ...]]) -> None:
    for action in menu.actions():
        if action.isSeparator():
            continue
        here = (*path, menu_text(action.text()))
        sub = action.menu()
        if isinstance(sub, QMenu):
            out[here] = ()  # a submenu (Open Recent may be empty)
            _walk(sub, here, out)
        else:
            out[here] = tuple(s.toString(PORTABLE) for s in action.shortcuts() if not s.isEmpty())


@pytest.fixture(scope="module")
def ui(qapp: QApplication, tmp_path_factory: pytest.TempPathFactory) -> RealUI:
    """The menus of a real MainWindow (built on a temporary home, then closed)."""
    from app.core.settings import AppSettings
    from app.gui.keymap import EDITOR_KEYS
    from app.gui.main_window import MainWindow

    root = tmp_path_factory.mktemp("docs-home")
    paths = AppPaths(root / "config", root / "data", root / "cache", root / "state")
    paths.ensure()
    window = MainWindow(paths, AppSettings())
    try:
        menus: dict[tuple[str, ...], tuple[str, ...]] = {}
        for action in window.menuBar().actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                _walk(sub, (menu_text(action.text()),), menus)
    finally:
        window.editor.document().setModified(False)
        window.close()
        window.shutdown()
        window.deleteLater()
    standard = {
        s.toString(PORTABLE)
        for member in QKeySequence.StandardKey
        for s in QKeySequence.keyBindings(member)
    }
    return RealUI(
        menus=menus,
        editor_keys=frozenset(key(k.sequence) for k in EDITOR_KEYS),
        standard_keys=frozenset(standard),
    )


# --------------------------------------------------------------------------- code names


def _app_modules() -> list[types.ModuleType]:
    modules = [app]
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if info.name.endswith("__main__"):
            continue  # importing it runs the command line
        modules.append(importlib.import_module(info.name))
    return modules


def _index() -> dict[str, list[Any]]:
    """Every top-level name of every app module (modules themselves excluded)."""
    names: dict[str, list[Any]] = {}
    for module in _app_modules():
        for name, value in vars(module).items():
            if not name.startswith("__") and not isinstance(value, types.ModuleType):
                names.setdefault(name, []).append(value)
    return names


def _instance_attributes(cls: type) -> set[str]:
    """Names a class assigns as ``self.<name> = ...`` (attributes made in its methods)."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] != "app":
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        found.update(re.findall(r"\bself\.(\w+)\s*(?::[^=\n]+)?=(?!=)", source))
    return found


def has_member(owner: Any, name: str) -> bool:
    if hasattr(owner, name):
        return True
    if isinstance(owner, type):
        if dataclasses.is_dataclass(owner) and name in {f.name for f in dataclasses.fields(owner)}:
            return True
        return name in _instance_attributes(owner)
    return False


def follows(owner: Any, chain: list[str]) -> bool:
    for name in chain:
        if not has_member(owner, name):
            return False
        owner = getattr(owner, name, None)
    return True


def _looks_like_code(name: str) -> bool:
    """A name that can only be code: CamelCase with two capitals, or CONSTANT_CASE."""
    return bool(
        re.fullmatch(r"_?[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+", name)
        or re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+", name)
    )


class Checker:
    """Decides whether a backticked reference names something real."""

    def __init__(self) -> None:
        self.names = _index()
        self.sources = "\n".join(
            p.read_text(encoding="utf-8") for p in sorted((ROOT / "app").rglob("*.py"))
        )
        self.checked: list[str] = []

    def problem(self, ref: str) -> str | None:
        """Why ``ref`` is wrong, or None (right, or not a code reference at all)."""
        ref = ref.strip().removesuffix("()")
        if not re.fullmatch(r"[\w./-]+", ref):
            return None  # a command line, a key, a sentence
        if "/" in ref:
            if ref.split("/")[0] not in TOP_FOLDERS:
                return None
            self.checked.append(ref)
            return None if (ROOT / ref.rstrip("/")).exists() else f"{ref}: no such path"
        if not re.fullmatch(r"\w+(?:\.\w+)*", ref):
            return None  # a file name such as settings.json.corrupt-<date>
        parts = ref.split(".")
        if parts[0] == "app":
            self.checked.append(ref)
            return self._module_problem(ref, parts)
        owners = self._owners(parts[0])
        if owners is None:
            if not _looks_like_code(parts[0]):
                return None
            self.checked.append(ref)
            if len(parts) == 1 and ref.isupper() and f'"{ref}"' in self.sources:
                return None  # an environment variable the code reads
            return f"{ref}: {parts[0]} is not a name in app/ (nor a Qt class)"
        self.checked.append(ref)
        if any(follows(owner, parts[1:]) for owner in owners):
            return None
        return f"{ref}: {parts[0]} has no {'.'.join(parts[1:])}"

    def _owners(self, first: str) -> list[Any] | None:
        if first in self.names:
            return self.names[first]
        for qt in (QtCore, QtGui, QtWidgets):
            if first.startswith("Q") and hasattr(qt, first):
                return [getattr(qt, first)]
        if first in LIBRARIES:
            return [importlib.import_module(first)]
        return None

    @staticmethod
    def _module_problem(ref: str, parts: list[str]) -> str | None:
        for cut in range(len(parts), 0, -1):
            try:
                module = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            if follows(module, parts[cut:]):
                return None
            return f"{ref}: {'.'.join(parts[:cut])} has no {'.'.join(parts[cut:])}"
        return f"{ref}: no such module"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()


# --------------------------------------------------------------------------- architecture


def test_the_checker_catches_what_does_not_exist(checker: Checker) -> None:
    """The reference check itself can fail: made-up names, paths and members are caught."""
    wrong = [
        "app/core/enigne.py",
        "app.core.enigne",
        "app.core.engine.Engnie",
        "SuggestionControler",
        "SuggestionController.ghostChnaged",
        "EngineWorker.complete_now",
        "QTextLayout.setPreeditAreaa",
        "MAX_GHOST_SIZE",
        "GHOSTPEN_HOOM",
    ]
    assert [ref for ref in wrong if checker.problem(ref) is None] == []
    right = [
        "app/core/engine.py",
        "app.core.engine",
        "app.core.paths.atomic_write",
        "SuggestionController.ghostChanged",  # a signal
        "SuggestionController.paused",  # set in __init__
        "CompletionRequest.id",  # a dataclass field
        "QTextLayout.setPreeditArea",
        "threading.Event",
        "GHOSTPEN_HOME",  # an environment variable
        "settings.json",  # a file name, not a reference
    ]
    assert [(ref, checker.problem(ref)) for ref in right if checker.problem(ref)] == []


def test_every_name_in_the_architecture_exists(checker: Checker) -> None:
    text = prose(ARCHITECTURE.read_text(encoding="utf-8"))
    refs = CODE_SPAN.findall(text)
    problems = sorted({p for ref in refs if (p := checker.problem(ref)) is not None})
    assert problems == []
    assert len(set(checker.checked)) >= 100, "the references were not found: is the parser broken?"


def test_the_module_map_lists_every_module() -> None:
    """One line per module: a new module must be added to the map, a removed one dropped."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    mapped = set(re.findall(r"^\| `(app\.[\w.]+)` \|", text, re.MULTILINE))
    modules = {
        info.name
        for info in pkgutil.walk_packages(app.__path__, "app.")
        if not info.ispkg and not info.name.endswith("__main__")
    }
    assert sorted(modules - mapped) == [], "modules missing from the module map"
    assert sorted(mapped - modules) == [], "the module map names modules that do not exist"


# --------------------------------------------------------------------------- user guide


def key_rows() -> list[tuple[list[str], str | None, str]]:
    """(keys, menu path or None, the row) of every key table in the user guide."""
    rows = []
    for header, body in tables(GUIDE.read_text(encoding="utf-8")):
        if header[:2] != ["Key", "Menu entry"]:
            continue
        for cells in body:
            menu = MENU_PATH.fullmatch(cells[1])
            rows.append((CODE_SPAN.findall(cells[0]), menu.group(1) if menu else None, cells[0]))
    return rows


def test_every_key_in_the_guide_is_a_real_shortcut(ui: RealUI) -> None:
    rows = key_rows()
    assert len(rows) >= 10, "the key table was not found"
    wrong = []
    for keys, menu, row in rows:
        assert keys, f"a key table row without a key: {row}"
        for k in keys:
            if menu is not None:
                entry = tuple(menu.split(" ▸ "))
                real = ui.menus.get(entry)
                if real is None:
                    wrong.append(f"{k}: no menu entry {menu}")
                elif key(k) not in real:
                    wrong.append(f"{k}: {menu} has {', '.join(real) or 'no shortcut'}")
            elif key(k) not in ui.editor_keys:
                wrong.append(f"{k}: not one of the editor's keys (app.gui.keymap)")
    assert wrong == []


def test_every_key_of_the_app_is_in_the_guide(ui: RealUI) -> None:
    """The editor's keys and every shortcut that is not a platform standard are listed."""
    documented = {key(k) for keys, _menu, _row in key_rows() for k in keys}
    own = (ui.all_shortcuts() - ui.standard_keys) | ui.editor_keys
    assert sorted(own - documented) == []


def test_every_menu_path_in_the_docs_exists(ui: RealUI) -> None:
    real = ui.paths()
    named = {
        (doc.name, path)
        for doc in (README, GUIDE)
        for path in MENU_PATH.findall(prose(doc.read_text(encoding="utf-8")))
    }
    assert len(named) >= 30, "the menu paths were not found"
    missing = sorted(
        f"{doc}: {path}" for doc, path in named if tuple(path.split(" ▸ ")) not in real
    )
    assert missing == []


def test_the_settings_tables_state_the_real_ranges_and_defaults() -> None:
    from app.core.settings import AppSettings
    from app.gui.settings_panel import _RANGES, FIELDS

    defaults = AppSettings()
    by_label = {f.label: f for f in FIELDS}
    seen: set[str] = set()
    wrong: list[str] = []
    for header, body in tables(GUIDE.read_text(encoding="utf-8")):
        if header[:3] != ["Control", "Range", "Default"]:
            continue
        for label, range_cell, default_cell, *_ in body:
            field = by_label.get(label)
            if field is None:
                continue  # a control without a range (a check box, a list, a text box)
            seen.add(label)
            rule = _RANGES[field.section][field.name]
            high = min(rule.high, 2**31 - 1) if rule.integer else rule.high  # a spin box's cap
            stated = numbers(range_cell)
            expected_high = [] if "the model's" in range_cell else [high]
            for bound in (rule.low, *expected_high):
                if bound not in stated:
                    wrong.append(f"{label}: range {range_cell!r} lacks {bound:g}")
            value = getattr(getattr(defaults, field.section), field.name)
            if value is None:
                if not default_cell.startswith("not "):
                    wrong.append(f"{label}: default is unset, the guide says {default_cell!r}")
            elif numbers(default_cell) != [value]:
                wrong.append(f"{label}: default is {value}, the guide says {default_cell!r}")
    assert wrong == []
    assert sorted(set(by_label) - seen) == [], "settings panel controls missing from the guide"


def test_the_settings_file_table_names_real_keys_with_their_ranges() -> None:
    from app.core.settings import EDITOR_RANGES, SUGGESTION_RANGES, AppSettings

    ranges = {"suggestions": SUGGESTION_RANGES, "editor": EDITOR_RANGES}
    defaults = AppSettings()
    rows = [
        cells
        for header, body in tables(GUIDE.read_text(encoding="utf-8"))
        if header[:3] == ["Key", "Range", "Default"]
        for cells in body
    ]
    assert rows, "the settings file table was not found"
    wrong = []
    for name_cell, range_cell, default_cell, *_ in rows:
        section, name = CODE_SPAN.findall(name_cell)[0].split(".")
        value = getattr(getattr(defaults, section), name)  # AttributeError: no such key
        rule = ranges[section].get(name)
        if rule is not None and numbers(range_cell) != [rule.low, rule.high]:
            wrong.append(f"{section}.{name}: range is {rule.describe()}, not {range_cell!r}")
        if isinstance(value, (int, float)) and numbers(default_cell) != [value]:
            wrong.append(f"{section}.{name}: default is {value}, not {default_cell!r}")
    assert wrong == []


def test_every_command_and_option_in_the_guide_exists() -> None:
    import argparse

    from app.cli.program import build_gui_parser, build_parser

    options: set[str] = set()
    commands: dict[str, set[str]] = {}

    def collect(parser: argparse.ArgumentParser, into: dict[str, set[str]] | None) -> None:
        for action in parser._actions:
            options.update(s for s in action.option_strings if s.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    inner: dict[str, set[str]] = {}
                    collect(sub, inner)
                    if into is not None:
                        into[name] = set(inner)

    collect(build_parser(), commands)
    collect(build_gui_parser(), None)
    text = GUIDE.read_text(encoding="utf-8")
    # Commands of other programs (a llama.cpp server) have options of their own.
    text = re.sub(r"`[^`\n]*llama[\w.-]*server[^`\n]*`", "", text)
    used_options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text))
    assert len(used_options) >= 20
    assert sorted(used_options - options) == []
    used = re.findall(r"\bghostpen ([a-z]+)\b(?![.-])(?: ([a-z]+)\b)?", text)
    assert sorted({c for c, _ in used} - set(commands)) == []
    actions = {a for c, a in used if c == "models" and a}
    assert actions
    assert sorted(actions - commands["models"]) == []


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_point_to_files_and_headings_that_exist(doc: Path) -> None:
    if not doc.exists():
        pytest.fail(f"{doc.relative_to(ROOT)} is missing")
    broken = []
    for target in LINK.findall(prose(doc.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https://, mailto:
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert broken == []
