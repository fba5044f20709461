"""Render resources/ghostpen.svg into the PNG sizes and the Windows .ico that ship with Ghostpen.

The SVG is the only source: every bitmap is rendered from it with QtSvg, so anyone can
rebuild them after editing it, and ``--check`` tells CI when they are out of date.

    python scripts/render_icons.py           # write resources/icons/*
    python scripts/render_icons.py --check   # exit 1 if a committed bitmap differs
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

from app.gui.theme import ICON_SIZES

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SVG = RESOURCES / "ghostpen.svg"
ICONS = RESOURCES / "icons"
SIZES = ICON_SIZES
#: Windows shows 16-256 px; 256 is the largest an .ico entry can declare.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    """The image as PNG. A QImageWriter, not ``QImage.save``: PySide6's stub types save's
    format as bytes, which it refuses at run time (6.11), while the writer takes a
    QByteArray both ways."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"PNG"))
    if not writer.write(image):
        raise RuntimeError(f"Qt could not encode a PNG: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An .ico holding one PNG per size (Windows Vista and later read PNG entries).

    Written by hand because Qt's ico writer stores a single image per file.
    """
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, payload = b"", b""
    for size in sizes:
        data = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        payload += data
    return header + entries + payload


def outputs() -> dict[Path, bytes]:
    """Every bitmap file and its bytes, rendered now from the SVG."""
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG for QtSvg")
    images = {size: render(renderer, size) for size in SIZES}
    pngs = {size: png_bytes(image) for size, image in images.items()}
    files = {ICONS / f"ghostpen-{size}.png": data for size, data in pngs.items()}
    files[ICONS / "ghostpen.ico"] = ico_bytes({s: pngs[s] for s in ICO_SIZES})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    stale = []
    for path, data in outputs().items():
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(RESOURCES.parent)} ({len(data)} bytes)")
    del app
    if stale:
        names = ", ".join(str(p.relative_to(RESOURCES.parent)) for p in stale)
        print(f"out of date (run scripts/render_icons.py): {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
