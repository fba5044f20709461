"""Cut the eval's tuning and report passages from the shared public-domain books.

    python scripts/quality_passages.py [PROSE_DIR]

PROSE_DIR defaults to ../shared/data/prose (beside the checkout). Each book's paragraphs
are numbered from 1 (blank lines separate them). Tuning passages come from the first
third of each book, report passages from the last third, so nothing tuned on is
reported on. A passage is a run of whole paragraphs of at least PASSAGE_CHARS
characters. The files land in tests/data/prose/{tune,report}/, named after the book and
the paragraphs they hold, with a MANIFEST listing them; they are committed, so the
figures in docs/quality.md can be reproduced from a checkout alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "prose"
BOOKS = {
    "log-school-house": "Hezekiah Butterworth, The Log School-House on the Columbia (1890)",
    "little-colonels-hero": "Annie Fellows Johnston, The Little Colonel's Hero (1902)",
}
PASSAGE_CHARS = 1200
#: Passages per book in each set, spread evenly over its third of the book.
PER_BOOK = {"tune": 2, "report": 3}


def paragraphs(path: Path) -> list[str]:
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def prose_start(paras: list[str], i: int) -> int:
    """The first paragraph from ``i`` on that opens running prose: not a caption, a heading,
    a stage direction or a line of verse."""
    while i < len(paras) and not (len(paras[i]) >= 200 and paras[i][0] in _OPENERS):
        i += 1
    return i


_OPENERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ\"'“‘"


def passage(paras: list[str], start: int) -> tuple[int, int, str]:
    """Whole paragraphs from index ``start`` until PASSAGE_CHARS; (first, last, text)."""
    start = prose_start(paras, start)
    end = start
    text = ""
    while end < len(paras) and len(text) < PASSAGE_CHARS:
        text = paras[end] if not text else text + "\n\n" + paras[end]
        end += 1
    return start + 1, end, text + "\n"


def main(argv: list[str]) -> int:
    prose = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "data" / "prose"
    manifest = ["# set  file  book  paragraphs  characters"]
    for kind, count in PER_BOOK.items():
        folder = OUT / kind
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.txt"):
            old.unlink()
        for book, title in BOOKS.items():
            paras = paragraphs(prose / f"{book}.txt")
            third = len(paras) // 3
            lo = 0 if kind == "tune" else len(paras) - third
            for i in range(count):
                start = lo + (i * third) // count
                first, last, text = passage(paras, start)
                name = f"{book}-p{first:04d}-{last:04d}.txt"
                (folder / name).write_text(text, encoding="utf-8")
                manifest.append(f"{kind}  {kind}/{name}  {title}  {first}-{last}  {len(text)}")
    (OUT / "MANIFEST").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    print("\n".join(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
