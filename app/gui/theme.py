"""The app's look: light and dark palettes, the notice banner's colours, and the icon. The
ghost colour derives from the palette, and the banner's follow it, so both suit dark mode.

The colours live in ``resources/themes/<name>.json`` (installed as ``app.resources``) so a
designer can change them without touching code: each key is a ``QPalette.ColorRole``
name and its value a colour for every colour group; an optional ``"Disabled"`` object
overrides roles for disabled widgets, which would otherwise look enabled. The icon is
rendered from ``resources/ghostpen.svg`` by ``scripts/render_icons.py`` at every size a
desktop asks for, so no size is a blurry scale of another.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from app.core.settings import Theme

THEME_FILES = {Theme.LIGHT: "light.json", Theme.DARK: "dark.json"}
#: The rendered icon sizes: resources/icons/ghostpen-<size>.png.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
_GROUPS = {"Disabled": QPalette.ColorGroup.Disabled}

#: The notice banner's (background, text) on a light and on a dark palette: Bootstrap's
#: warning colours, contrast 7.2:1 and 10.8:1 (WCAG asks 4.5:1 for text).
BANNER_LIGHT = ("#fff3cd", "#664d03")
BANNER_DARK = ("#332701", "#ffda6a")

#: (group or None for all groups, role, colour)
PaletteEntry = tuple[QPalette.ColorGroup | None, QPalette.ColorRole, QColor]


class ThemeError(ValueError):
    """A theme file that does not describe a palette (a packaging mistake, not the user's)."""


def _entries(name: str, values: object, group: QPalette.ColorGroup | None) -> list[PaletteEntry]:
    if not isinstance(values, dict):
        raise ThemeError(f"theme {name}: expected an object of role names and colours")
    entries: list[PaletteEntry] = []
    for key, value in values.items():
        if group is None and key in _GROUPS:
            entries += _entries(name, value, _GROUPS[key])
            continue
        try:
            role = QPalette.ColorRole[key]
        except KeyError:
            raise ThemeError(f"theme {name}: {key!r} is not a QPalette colour role") from None
        colour = QColor(value) if isinstance(value, str) else QColor()
        if not colour.isValid():
            raise ThemeError(f"theme {name}: {value!r} ({key}) is not a colour")
        entries.append((group, role, colour))
    return entries


@cache
def load_theme(theme: Theme) -> tuple[PaletteEntry, ...]:
    """The colours of a light or dark theme, read once from the packaged resources."""
    name = THEME_FILES[theme]
    text = files("app.resources").joinpath("themes", name).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ThemeError(f"theme {name}: {exc}") from None
    # Roles for every group first, so a group's own colours are never overwritten.
    return tuple(sorted(_entries(name, data, None), key=lambda e: e[0] is not None))


_system_palette: QPalette | None = None


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Switch the whole application's palette; SYSTEM restores the platform's own."""
    global _system_palette
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
    if theme is Theme.SYSTEM:
        app.setPalette(_system_palette)
        return
    palette = QPalette(_system_palette)
    for group, role, colour in load_theme(theme):
        if group is None:
            palette.setColor(role, colour)
        else:
            palette.setColor(group, role, colour)
    app.setPalette(palette)


def is_dark(palette: QPalette) -> bool:
    """A palette whose windows are darker than their text (the dark theme, or a dark
    system palette)."""
    window = palette.color(QPalette.ColorRole.Window).lightnessF()
    return window < palette.color(QPalette.ColorRole.WindowText).lightnessF()


def banner_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """The notice banner's background and text colour for this palette."""
    background, text = BANNER_DARK if is_dark(palette) else BANNER_LIGHT
    return QColor(background), QColor(text)


def banner_style(palette: QPalette) -> str:
    """The banner's style sheet (the widget is named ``banner``) for this palette."""
    background, text = banner_colors(palette)
    return (
        f"#banner {{ background: {background.name()}; color: {text.name()}; "
        "padding: 6px; border-radius: 3px; }"
    )


def app_icon() -> QIcon:
    """Ghostpen's icon with every rendered size (needs a QGuiApplication)."""
    icon = QIcon()
    folder = files("app.resources").joinpath("icons")
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData(folder.joinpath(f"ghostpen-{size}.png").read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon
