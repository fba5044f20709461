"""Refresh Ghostpen's translation files from the sources (PySide6's lupdate/lrelease).

    python scripts/update_translations.py

- ``resources/translations/ghostpen.ts``: the template, every text the GUI passes
  through ``self.tr``, ``QCoreApplication.translate`` or ``QT_TRANSLATE_NOOP``, and the
  core's texts for writers, marked with ``app.core.texts.QT_TRANSLATE_NOOP``. It has no
  source locations, so it changes only when a text does.
- ``resources/translations/ghostpen_<lang>.ts`` (a translator starts one by copying the
  template and opening it in Qt Linguist): merged with the current texts, then compiled
  to the ``ghostpen_<lang>.qm`` the app loads for that language.

lupdate extracts only calls whose arguments are string literals (a context, a text):
a text built with an f-string or held in a variable is invisible to it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUI = ROOT / "app" / "gui"
CORE = ROOT / "app" / "core"
FOLDER = ROOT / "resources" / "translations"
TEMPLATE = FOLDER / "ghostpen.ts"
#: lupdate reads every ``#:`` documentation comment as a note for translators and pins it
#: on the next text, wherever that is; Ghostpen's are for programmers, so they go.
_NOTE = re.compile(r"^ *<extracomment>.*?</extracomment>\n", re.M | re.S)


def tool(name: str) -> str:
    """A PySide6 tool from this interpreter's environment, else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install PySide6-Essentials in this environment")
    return found


def sources_with_texts() -> list[Path]:
    """Every GUI module, and the core modules that mark texts with ``QT_TRANSLATE_NOOP``."""
    core = [p for p in sorted(CORE.glob("*.py")) if "QT_TRANSLATE_NOOP(" in p.read_text("utf-8")]
    return sorted(GUI.glob("*.py")) + core


def strip_notes(ts: Path) -> None:
    ts.write_text(_NOTE.sub("", ts.read_text(encoding="utf-8")), encoding="utf-8")


def main() -> int:
    lupdate, lrelease = tool("pyside6-lupdate"), tool("pyside6-lrelease")
    sources = [str(p.relative_to(ROOT)) for p in sources_with_texts()]
    common = ["-source-language", "en", "-locations", "none", "-no-obsolete"]
    subprocess.run([lupdate, *sources, *common, "-ts", str(TEMPLATE)], cwd=ROOT, check=True)
    strip_notes(TEMPLATE)
    for ts in sorted(FOLDER.glob("ghostpen_*.ts")):
        subprocess.run([lupdate, *sources, "-locations", "none", "-ts", str(ts)], cwd=ROOT,
                       check=True)  # fmt: skip
        strip_notes(ts)
        subprocess.run([lrelease, str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
