"""Desktop integration: icon, desktop entry, AppStream metainfo, themes, About, the
keyboard-shortcuts page, accessibility (names, mnemonics, focus) and translations."""

from __future__ import annotations

import configparser
import importlib.util
import json
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import PySide6
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QLocale, Qt, qVersion
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QColor,
    QGuiApplication,
    QImage,
    QKeySequence,
    QPalette,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QScrollBar,
    QTextBrowser,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app import __version__
from app.core.documents import DEFAULT_FORMAT
from app.core.ghost import split_line, split_word
from app.core.journal import JournalEntry
from app.core.llama_runtime import build_info
from app.core.sampler_view import Candidate, SamplerView
from app.core.settings import Theme
from app.gui.app import APP_ID, configure_application, install_translators
from app.gui.keymap import EDITOR_KEYS, KEYS
from app.gui.main_window import MainWindow
from app.gui.recovery import RecoveryDialog
from app.gui.settings_panel import FIELDS
from app.gui.shortcuts_help import EDITOR_KEY_PROPERTY, ShortcutsDialog, menu_actions, native
from app.gui.theme import ICON_SIZES, ThemeError, _entries, app_icon, apply_theme, load_theme
from tests.support.gui import TEXT, WAIT_MS, close_window, open_window, settle, type_and_wait
from tests.support.models import TestModel

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
TEMPLATE = RESOURCES / "translations" / "ghostpen.ts"

# The freedesktop menu specification: main categories, and the additional categories
# Ghostpen may use with the categories each one requires beside it.
MAIN_CATEGORIES = {
    "AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics",
    "Network", "Office", "Science", "Settings", "System", "Utility",
}  # fmt: skip
ADDITIONAL_CATEGORIES = {
    "WordProcessor": {"Office"},
    "TextEditor": {"Utility"},
    "TextTools": {"Utility"},
    "Dictionary": {"Office", "TextTools"},
}
DESKTOP_KEYS = {
    "Type", "Version", "Name", "GenericName", "NoDisplay", "Comment", "Icon", "Hidden",
    "OnlyShowIn", "NotShowIn", "DBusActivatable", "TryExec", "Exec", "Path", "Terminal",
    "Actions", "MimeType", "Categories", "Implements", "Keywords", "StartupNotify",
    "StartupWMClass", "URL", "PrefersNonDefaultGPU", "SingleMainWindow",
}  # fmt: skip


# ----------------------------------------------------------------------------- helpers


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _accessible_name(widget: QWidget) -> str:
    """What a screen reader announces: the explicit name, else a buddy label's text, else
    what Qt's accessibility bridge derives (a button's text, or the title of the group box
    around it: hence the check that no two controls share a name). A combo box needs one
    of the first two: on Linux the bridge reports its current item as its name."""
    if widget.accessibleName().strip():
        return widget.accessibleName().strip()
    for label in widget.window().findChildren(QLabel):
        if label.buddy() is widget and label.text().strip():
            return label.text().replace("&&", "\0").replace("&", "").replace("\0", "&").strip()
    if isinstance(widget, QComboBox):
        return ""
    iface = QAccessible.queryAccessibleInterface(widget)
    return iface.text(QAccessible.Text.Name).strip() if iface is not None else ""


_INTERACTIVE = (
    QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractSlider,
    QAbstractItemView, QPlainTextEdit, QTextEdit,
)  # fmt: skip


def _is_part_of_another(widget: QWidget) -> bool:
    """Qt's own pieces of a compound widget (a spin box's line edit, a combo's popup, a
    table's corner button, scroll bars...), which take their name from the whole."""
    if isinstance(widget, QScrollBar | QHeaderView) or widget.objectName().startswith("qt_"):
        return True
    if type(widget).__name__ == "QTableCornerButton":
        return True
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QAbstractSpinBox):
            return True
        parent = parent.parentWidget()
    return False


def _naming_problems(root: QWidget) -> list[str]:
    """Controls of this window with no name, or with the name of another control."""
    found = []
    seen: dict[str, QWidget] = {}
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, _INTERACTIVE) or _is_part_of_another(widget):
            continue
        if widget.window() is not root:
            continue  # a dialog of its own, walked on its own
        name = _accessible_name(widget)
        what = f"{type(widget).__name__} {widget.objectName()!r}"
        if not name:
            text = widget.text() if isinstance(widget, QAbstractButton | QLineEdit) else ""
            found.append(f"{what} {text!r} has no name")
        elif name in seen:
            found.append(f"{what} is named {name!r} like a {type(seen[name]).__name__}")
        seen[name] = widget
    return found


def _mnemonic(text: str) -> str | None:
    match = re.search(r"&([^&])", text.replace("&&", ""))
    return match.group(1).lower() if match else None


def _activate(qtbot: QtBot, widget: QWidget) -> None:
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow, timeout=WAIT_MS)


# ----------------------------------------------------------------------------- resources


def test_icon_pngs_exist_at_every_size_and_match_their_size(qapp: QApplication) -> None:
    folder = files("app.resources").joinpath("icons")
    for size in ICON_SIZES:
        data = folder.joinpath(f"ghostpen-{size}.png").read_bytes()
        # PySide6's stub wants the format as bytes, but only a str works (6.11: bytes raise).
        image = QImage.fromData(data, "PNG")  # type: ignore[arg-type]
        assert (image.width(), image.height()) == (size, size), size
        assert image.hasAlphaChannel()
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the tile, opaque
        assert image.pixelColor(0, 0).alpha() == 0  # a transparent corner
    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert sizes == {(s, s) for s in ICON_SIZES}
    render = _load_script("render_icons")
    assert tuple(render.SIZES) == ICON_SIZES
    assert render.main(["--check"]) == 0  # the bitmaps are what the SVG renders to now


def test_the_ico_holds_the_windows_sizes(qapp: QApplication) -> None:
    data = (RESOURCES / "icons" / "ghostpen.ico").read_bytes()
    reserved, kind, count = int.from_bytes(data[:2], "little"), data[2], data[4]
    assert (reserved, kind, count) == (0, 1, 7)
    sides = sorted(data[6 + 16 * i] or 256 for i in range(count))
    assert sides == [16, 24, 32, 48, 64, 128, 256]


def test_themes_load_from_resources(qapp: QApplication) -> None:
    for theme, name in ((Theme.DARK, "dark.json"), (Theme.LIGHT, "light.json")):
        data = json.loads(files("app.resources").joinpath("themes", name).read_text("utf-8"))
        entries = load_theme(theme)
        roles = {role.name: colour.name() for group, role, colour in entries if group is None}
        assert roles == {k: v.lower() for k, v in data.items() if isinstance(v, str)}
        assert any(group is QPalette.ColorGroup.Disabled for group, _r, _c in entries)
    original = QPalette(qapp.palette())
    try:
        apply_theme(qapp, Theme.DARK)
        palette = qapp.palette()
        dark = json.loads(files("app.resources").joinpath("themes", "dark.json").read_text())
        assert palette.color(QPalette.ColorRole.Base).name() == dark["Base"]
        disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        assert disabled.name() == dark["Disabled"]["Text"]  # disabled text looks disabled
        assert disabled != palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
    finally:
        apply_theme(qapp, Theme.SYSTEM)
    assert qapp.palette().color(QPalette.ColorRole.Base) == original.color(QPalette.ColorRole.Base)


def _contrast(a: QColor, b: QColor) -> float:
    """WCAG 2's contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""

    def luminance(c: QColor) -> float:
        def linear(v: float) -> float:
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * linear(c.redF()) + 0.7152 * linear(c.greenF()) + 0.0722 * linear(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _painted_banner(window: MainWindow) -> tuple[QColor, QColor, set[str]]:
    """The banner as it is painted: its background (a pixel in the padding), the colour
    its style gives the text, and every colour in the picture."""
    window.show_banner("Autosave failed: the disk is full.")
    QApplication.processEvents()
    image = window.banner.grab().toImage()
    background = image.pixelColor(image.width() // 2, 2)
    text = window.banner.palette().color(QPalette.ColorRole.WindowText)
    painted = {
        image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
    }
    return background, text, painted


def test_the_banner_follows_the_theme_and_stays_readable(bare_window: MainWindow) -> None:
    try:
        bare_window.set_theme(Theme.LIGHT)
        light_bg, light_text, light_pixels = _painted_banner(bare_window)
        bare_window.set_theme(Theme.DARK)
        dark_bg, dark_text, dark_pixels = _painted_banner(bare_window)
    finally:
        bare_window.set_theme(Theme.SYSTEM)
    assert light_bg.lightness() > 200  # it followed the palette
    assert dark_bg.lightness() < 60
    assert light_text != dark_text
    for background, text, painted in ((light_bg, light_text, light_pixels),
                                      (dark_bg, dark_text, dark_pixels)):  # fmt: skip
        assert _contrast(text, background) >= 4.5  # WCAG AA for normal text
        assert text.name() in painted  # the glyphs are drawn in that colour


def test_a_theme_file_with_a_mistake_is_refused_with_the_reason() -> None:
    with pytest.raises(ThemeError, match="'Bsae' is not a QPalette colour role"):
        _entries("x.json", {"Bsae": "#000000"}, None)
    with pytest.raises(ThemeError, match=r"'#12' .*is not a colour"):
        _entries("x.json", {"Base": "#12"}, None)


def test_the_desktop_entry_is_valid_and_matches_the_app(qapp: QApplication) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    assert parser.sections() == ["Desktop Entry"]
    entry = parser["Desktop Entry"]
    assert set(entry) <= DESKTOP_KEYS, set(entry) - DESKTOP_KEYS
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Ghostpen"
    assert entry["Icon"] == APP_ID
    assert DESKTOP.name == f"{APP_ID}.desktop"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    program, *args = entry["Exec"].split()
    assert program in scripts
    assert entry["TryExec"] == program
    # The command line opens one file (ghostpen [FILE]): %f, never a list.
    assert args == ["%f"]
    for key in ("Categories", "MimeType", "Keywords"):
        assert entry[key].endswith(";"), key
    categories = entry["Categories"].rstrip(";").split(";")
    assert len([c for c in categories if c in MAIN_CATEGORIES]) == 1  # one menu, once
    for category in categories:
        if category not in MAIN_CATEGORIES:
            assert category in ADDITIONAL_CATEGORIES, category
            assert ADDITIONAL_CATEGORIES[category] & set(categories), category
    assert entry["MimeType"].rstrip(";").split(";") == ["text/plain", "text/markdown"]
    assert entry["Terminal"] == "false"
    # X11 matches windows to the entry by WM_CLASS, which Qt takes from the app's name;
    # Wayland by the app id, which Qt takes from the desktop file name.
    saved = (qapp.applicationName(), qapp.desktopFileName(), qapp.windowIcon())
    try:
        configure_application(qapp)
        assert entry["StartupWMClass"] == qapp.applicationName()
        assert qapp.desktopFileName() == APP_ID
        assert len(qapp.windowIcon().availableSizes()) == len(ICON_SIZES)
    finally:
        qapp.setApplicationName(saved[0])
        qapp.setDesktopFileName(saved[1])
        qapp.setWindowIcon(saved[2])


def test_the_metainfo_describes_this_app() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("metadata_license") in ("CC0-1.0", "MIT")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert root.findtext("project_license") == pyproject["license"]  # an SPDX expression
    launchable = root.find("launchable")
    assert launchable is not None
    assert launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert DESKTOP.is_file()
    assert root.findtext("provides/binary") in pyproject["scripts"]
    versions = [r.get("version") for r in root.iterfind("releases/release")]
    assert versions
    assert versions[0] == __version__
    assert root.find("content_rating") is not None


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_the_metainfo_passes_appstreamcli() -> None:
    appstreamcli = shutil.which("appstreamcli")
    assert appstreamcli is not None
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert problems == []


# ----------------------------------------------------------------------------- accessibility


def test_every_control_has_an_accessible_name(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    w = bare_window
    w.settings_panel.show()
    w.find_bar.open(replace=True)
    manager = w.model_controller.open_model_manager()
    about = w.show_about()
    shortcuts = w.show_shortcuts()
    entry = JournalEntry(
        "doc", "Some unsaved words", None, DEFAULT_FORMAT, None, time.time(), "i", 1, 1,
        tmp_path / "doc.journal",
    )  # fmt: skip
    recovery = RecoveryDialog([entry], w)
    qtbot.addWidget(recovery)
    checked = {
        "main window": w, "model manager": manager, "About": about,
        "shortcuts": shortcuts, "recovery": recovery,
    }  # fmt: skip
    for root in checked.values():
        assert root.findChildren(QAbstractButton), "nothing was walked"
    # Widgets a refresh replaced are only deleted by the event loop: let it delete them.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    problems = {where: _naming_problems(root) for where, root in checked.items()}
    assert problems == {where: [] for where in checked}
    # The panel's spin boxes sit beside a checkbox or behind a form label: both named.
    spin, toggle = w.settings_panel.controls["sampling.seed"]
    assert _accessible_name(spin) == "Seed"
    assert toggle is not None
    assert _accessible_name(toggle) == "Seed: Fixed"


def test_dialogs_have_a_default_button_and_escape_closes_them(
    qtbot: QtBot, bare_window: MainWindow, tmp_path: Path
) -> None:
    w = bare_window
    entry = JournalEntry(
        "doc", "Some unsaved words", None, DEFAULT_FORMAT, None, time.time(), "i", 1, 1,
        tmp_path / "doc.journal",
    )  # fmt: skip
    recovery = RecoveryDialog([entry], w)
    qtbot.addWidget(recovery)
    about = w.show_about()
    assert recovery.recover_button.isDefault()
    assert about.close_button.isDefault()
    recovery.open()
    for dialog in (recovery, about, w.model_controller.open_model_manager(), w.show_shortcuts()):
        assert dialog.isVisible()
        _activate(qtbot, dialog)
        qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Escape)
        assert not dialog.isVisible(), dialog.windowTitle()
    assert recovery.entries() == [entry]  # Esc is "Decide Later": nothing was discarded


def test_the_sampler_chart_describes_its_bars_in_words(bare_window: MainWindow) -> None:
    chart = bare_window.settings_panel.chart
    assert chart.accessibleDescription() == "Nothing to show yet"
    chart.set_view(
        SamplerView(
            (
                Candidate(1, " the", 0.5, 0.75, None),
                Candidate(2, " a", 0.25, 0.0, "top-k"),
            ),
            kept=1,
            greedy=False,
        )
    )
    assert chart.accessibleDescription() == " the: 50%, then 75%;  a: 25%, cut by top-k"


def test_menus_and_dialog_buttons_have_distinct_mnemonics(bare_window: MainWindow) -> None:
    bar = bare_window.menuBar()
    titles = [a.text() for a in bar.actions()]
    assert titles == ["&File", "&Edit", "&Suggest", "&View", "&Help"]
    keys = [_mnemonic(t) for t in titles]
    assert None not in keys
    assert len(set(keys)) == len(keys)

    def check(menu: QMenu) -> None:
        if menu is bare_window.recent_menu:  # file names, not commands
            return
        letters = []
        for action in menu.actions():
            if action.isSeparator():
                continue
            letter = _mnemonic(action.text())
            assert letter is not None, f"{menu.title()} ▸ {action.text()} has no mnemonic"
            letters.append(letter)
            sub = action.menu()
            if isinstance(sub, QMenu):
                check(sub)
        assert len(set(letters)) == len(letters), f"{menu.title()}: {letters}"

    for action in bar.actions():
        sub = action.menu()
        assert isinstance(sub, QMenu)
        check(sub)

    manager = bare_window.model_controller.open_model_manager()
    letters = [_mnemonic(b.text()) for b in manager.findChildren(QAbstractButton)]
    letters = [x for x in letters if x]
    assert len(letters) >= 6, letters
    assert len(set(letters)) == len(letters), letters


def test_the_help_menu(bare_window: MainWindow) -> None:
    help_menu = bare_window.menuBar().actions()[-1].menu()
    assert isinstance(help_menu, QMenu)
    actions = [a for a in help_menu.actions() if not a.isSeparator()]
    assert [a.text() for a in actions] == ["&Keyboard Shortcuts", "&About Ghostpen", "About &Qt"]
    assert actions[0].shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    assert actions[1].menuRole() == QAction.MenuRole.AboutRole
    assert actions[2].menuRole() == QAction.MenuRole.AboutQtRole


def test_the_shortcuts_page_lists_every_shortcut_of_the_window(
    qtbot: QtBot, bare_window: MainWindow
) -> None:
    w = bare_window
    help_menu = w.menuBar().actions()[-1].menu()
    assert isinstance(help_menu, QMenu)
    help_menu.actions()[0].trigger()
    page = w.shortcuts_dialog
    assert isinstance(page, ShortcutsDialog)
    assert page.isVisible()
    with_keys = [a for a in w.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(with_keys) > 25
    listed = {id(row.action): row for row in page.rows if row.action is not None}
    for action in with_keys:
        row = listed.get(id(action))
        assert row is not None, f"{action.text()} ({action.shortcut().toString()}) is missing"
        assert row.keys == native(action.shortcuts())
    # Every editor key is on the page: through its menu entry, or in a row of its own.
    prop = EDITOR_KEY_PROPERTY
    linked = {a.property(prop) for _path, a in menu_actions(w.menuBar())}
    for key in EDITOR_KEYS:
        native_key = native([QKeySequence(key.sequence)])
        if key.id in linked:
            row = next(
                r for r in page.rows if r.action and r.action.property("editorKey") == key.id
            )
            assert row.when == key.when
            assert row.keys == native_key
        else:
            assert any(r.command == key.does and r.keys == native_key for r in page.rows)
    models = native([QKeySequence("Ctrl+Shift+M")])
    assert any(r.keys == models and r.command == "Models…" and r.menu == "File" for r in page.rows)
    assert any(r.menu == "View" and r.command == "Settings Panel" for r in page.rows)

    page.set_filter("draft")
    shown = page.shown_rows()
    assert 0 < len(shown) < len(page.rows)
    assert all("draft" in f"{r.command} {r.when}".lower() for r in shown)
    page.set_filter(models)
    assert [r.command for r in page.shown_rows()] == ["Models…"]

    # Keyboard only: the filter has the focus, Down moves into the list, Esc closes.
    page.set_filter("")
    _activate(qtbot, page)
    page.filter.setFocus()
    qtbot.waitUntil(page.filter.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(page.filter, Qt.Key.Key_Down)
    assert page.table.hasFocus()
    assert page.table.selectionModel().selectedRows()[0].row() == 0
    qtbot.keyClick(page.table, Qt.Key.Key_Escape)
    assert not page.isVisible()


def test_the_settings_panel_is_reached_by_keyboard_and_tab_visits_every_control(
    qtbot: QtBot, bare_window: MainWindow
) -> None:
    w = bare_window
    panel = w.settings_panel
    _activate(qtbot, w)
    panel_action = panel.toggleViewAction()
    assert panel_action.shortcut() == QKeySequence("Ctrl+,")
    panel_action.trigger()
    qtbot.waitUntil(
        lambda: (f := QApplication.focusWidget()) is not None and panel.isAncestorOf(f),
        timeout=WAIT_MS,
    )
    expected = [
        c
        for c in panel.findChildren(QWidget)
        if isinstance(c, _INTERACTIVE)
        and not _is_part_of_another(c)
        and c.isEnabled()
        and c.isVisibleTo(panel)
    ]
    assert len(expected) > 20

    def owner(widget: QWidget | None) -> QWidget | None:
        while widget is not None and widget not in expected:
            widget = widget.parentWidget()
        return widget

    start = QApplication.focusWidget()
    reached: list[QWidget] = []
    for _ in range(3 * len(expected)):
        focused = QApplication.focusWidget()
        assert focused is not None
        if not panel.isAncestorOf(focused) or (reached and focused is start):
            break
        control = owner(focused)
        if control is not None and control not in reached:
            reached.append(control)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    missing = [f"{type(c).__name__} {_accessible_name(c)!r}" for c in expected if c not in reached]
    assert missing == []
    panel_action.trigger()  # closing the panel gives the keyboard back to the text
    qtbot.waitUntil(w.editor.hasFocus, timeout=WAIT_MS)


def test_the_keymap_is_what_the_editor_does(qtbot: QtBot, window: MainWindow) -> None:
    """Each suggestion key of the table, pressed as the table writes it, does its job."""
    editor = window.editor

    def press(key_id: str) -> None:
        # PySide6's stubs lack QKeySequence.__getitem__ (Qt's operator[]), which it has.
        combo = QKeySequence(KEYS[key_id].sequence)[0]  # type: ignore[index]
        key, mods = combo.key(), combo.keyboardModifiers()
        if key == Qt.Key.Key_Tab and mods & Qt.KeyboardModifier.ShiftModifier:
            key = Qt.Key.Key_Backtab  # what the platform sends for Shift+Tab
        qtbot.keyClick(editor, key, mods)

    def suggest() -> str:
        press("dismiss")
        assert editor.ghost_text() == ""
        with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
            press("trigger")
        settle(qtbot, window)
        assert editor.ghost_text()
        return editor.ghost_text()

    first = type_and_wait(qtbot, window, TEXT)
    with qtbot.waitSignal(window.controller.suggestionShown, timeout=WAIT_MS):
        press("next_alternative")
    assert editor.ghost_text() != first
    press("previous_alternative")
    assert editor.ghost_text() == first

    for key_id, part in (
        ("accept_word", lambda g: split_word(g)[0]),
        ("accept_line", lambda g: split_line(g)[0]),
        ("accept", lambda g: g),
    ):
        # Each key from the same text: a tiny random model soon loops, and a loop is junk
        # that the editor rightly never shows.
        editor.setPlainText(TEXT)
        editor.moveCursor(QTextCursor.MoveOperation.End)
        ghost = suggest()
        before = editor.toPlainText()
        press(key_id)
        assert editor.toPlainText() == before + part(ghost), key_id


# ----------------------------------------------------------------------------- About


def test_about_shows_the_real_versions_and_the_licence_of_the_model_in_use(
    qtbot: QtBot, window: MainWindow, tiny_model: TestModel, tmp_path: Path
) -> None:
    about = window.show_about()
    text = about.details.toPlainText()
    build = build_info()
    for version in (
        __version__,
        build.version,
        qVersion(),
        PySide6.__version__,
        platform.python_version(),
    ):
        assert version in text, version
    for component in ("llama.cpp", "ggml", "Qt", "PySide6"):
        assert component in text
    assert "LGPL-3.0-only" in text
    assert "MIT" in text
    # A file opened from disk: what the GGUF says about itself (these test files say nothing).
    assert "unknown (not stated in the file)" in text
    assert not about.licence_button.isEnabled()
    about.close()

    # The same file in the model store, with a licence and its text kept beside it.
    terms = tmp_path / "TERMS.txt"
    terms.write_text("Tiny Test Model Terms of Use\n\n1. Be kind.\n", encoding="utf-8")
    stored = window.model_controller.store.add_file(
        tiny_model["q8_0"], mode="reference", name="Tiny test model",
        licence=("MIT", "https://spdx.org/licenses/MIT.html"),
    )  # fmt: skip
    window.model_controller.store.attach_licence(stored, terms)
    about = window.show_about()
    text = about.details.toPlainText()
    assert "Tiny test model: MIT" in text
    report = about.report()
    assert f"Ghostpen: {__version__}" in report
    assert f"Qt: {qVersion()}" in report
    assert "Model: Tiny test model (MIT)" in report
    about.copy_button.click()
    assert QGuiApplication.clipboard().text() == report
    assert about.licence_button.isEnabled()
    about.licence_button.click()
    viewer = about.findChild(QDialog, "licenceViewer")
    assert viewer is not None
    assert viewer.isVisible()
    browser = viewer.findChild(QTextBrowser)
    assert browser is not None
    assert "1. Be kind." in browser.toPlainText()
    # Keyboard: Close is the default button and Esc closes.
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.keyClick(about, Qt.Key.Key_Escape)
    assert not about.isVisible()


# ----------------------------------------------------------------------------- translations


def _lrelease() -> str | None:
    beside = Path(sys.executable).parent / "pyside6-lrelease"
    return str(beside) if beside.exists() else shutil.which("pyside6-lrelease")


_FRENCH = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr" sourcelanguage="en">
<context><name>MainWindow</name>
  <message><source>&amp;File</source><translation>&amp;Fichier</translation></message>
</context>
<context><name>SettingsPanel</name>
  <message><source>Temperature</source><translation>Température</translation></message>
</context>
<context><name>Keymap</name>
  <message><source>A draft has stopped</source><translation>Un brouillon est arrêté</translation>
  </message>
</context>
</TS>
"""


@pytest.mark.skipif(_lrelease() is None, reason="pyside6-lrelease not installed")
def test_a_translation_installed_at_startup_reaches_the_window(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    lrelease = _lrelease()
    assert lrelease is not None
    (tmp_path / "ghostpen_fr.ts").write_text(_FRENCH, encoding="utf-8")
    subprocess.run(
        [lrelease, str(tmp_path / "ghostpen_fr.ts"), "-qm", str(tmp_path / "ghostpen_fr.qm")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    installed = install_translators(qapp, QLocale("fr_FR"), directory=tmp_path)
    try:
        names = sorted(Path(t.filePath()).name for t in installed)
        assert "ghostpen_fr.qm" in names
        w = open_window(qtbot, None)
        try:
            assert w.menuBar().actions()[0].text() == "&Fichier"  # self.tr in the window
            labels = [label.text() for label in w.settings_panel.findChildren(QLabel)]
            assert "Température" in labels  # a table's text, marked with QT_TRANSLATE_NOOP
            rows = w.show_shortcuts().rows
            assert any(r.when == "Un brouillon est arrêté" for r in rows)  # the keymap's
        finally:
            close_window(w)
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)
    assert QCoreApplication.translate("MainWindow", "&File") == "&File"


def test_an_english_locale_installs_no_ghostpen_translation(
    qapp: QApplication, tmp_path: Path
) -> None:
    installed = install_translators(qapp, QLocale("en_US"), directory=tmp_path)
    try:
        assert not [t for t in installed if "ghostpen" in t.filePath()]
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)


def test_the_translation_template_holds_the_gui_texts() -> None:
    root = ET.parse(TEMPLATE).getroot()
    texts = {
        (ctx.findtext("name"), msg.findtext("source"))
        for ctx in root.iter("context")
        for msg in ctx.iter("message")
    }
    assert ("MainWindow", "&File") in texts
    assert ("MainWindow", "&Keyboard Shortcuts") in texts
    assert ("AboutDialog", "&Copy Version Info") in texts
    assert ("ShortcutsDialog", "&Filter:") in texts
    # The tables marked with QT_TRANSLATE_NOOP (run scripts/update_translations.py if not).
    for field in FIELDS:
        for text in (field.label, field.tip, field.none_label):
            assert not text or ("SettingsPanel", text) in texts, text
    for key in EDITOR_KEYS:
        assert ("Keymap", key.does) in texts
        assert ("Keymap", key.when) in texts
    assert root.find(".//extracomment") is None  # programmers' comments stay out
