"""Qt counts text positions in UTF-16 code units; Python counts code points.

An emoji outside the Basic Multilingual Plane is one Python character but two Qt
positions, so every position that crosses the boundary goes through these. Both run at C
speed (regex and codecs), since they are called on whole documents.
"""

from __future__ import annotations

import re

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def utf16_len(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


def index_from_utf16(text: str, position: int) -> int:
    """The Python index in ``text`` of Qt position ``position`` (clamped to the text)."""
    position = max(0, position)
    if _ASTRAL.search(text, 0, position) is None:
        return min(position, len(text))
    units = text.encode("utf-16-le")[: 2 * position]
    return len(units.decode("utf-16-le", errors="ignore"))
