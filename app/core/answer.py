"""A streamed answer of the model, and what of it is worth showing as a ghost.

The model writes on for as many tokens as it is asked; the writer should see only the
part that is likely to be what they would type. :func:`present` decides it, in order:

1. **Confidence** (Smart Compose's rule): every piece comes with the summed
   log-probability of its tokens; the ghost is cut where that falls below the threshold,
   on a word end, so a confident head is shown rather than 8 tokens of guesswork, and
   nothing at all when even the first word is a guess. Confidence only falls as tokens
   come, so what was shown stays right.
2. **The unit** (word ... paragraph) and the rules of :mod:`app.core.postprocess`.
3. **Junk** (:mod:`app.core.junk_filter`): the clean head before it is kept; an answer
   that opens with junk is flagged, so the policy can ask for the next candidate.

It also says when the answer is *settled* (no further token can change the ghost), which
is when generating stops: tokens past that point are wasted work on a laptop CPU.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from app.core import junk_filter
from app.core.postprocess import SuggestionMode, shape_suggestion, suggestion_complete

__all__ = ["Answer", "Shown", "present"]

# A word, apostrophes and hyphens inside it: "don't", "well-known" ("don'" may go on).
_TRAILING_WORD = re.compile(r"[\w'’-]*\w[\w'’-]*\Z|[\w'’-]+\Z")
_WORDISH = re.compile(r"[\w'’-]")
_OPENERS = " \t“‘«([{"
_HAS_WORD = re.compile(r"[^\W_]")  # a letter or a digit


@dataclass
class Answer:
    """The raw continuation of one request so far.

    ``marks`` holds, for each piece, ``(len(raw) after it, summed log-probability of the
    tokens so far)``; ``nan`` when the backend gives no probabilities (a remote server).
    ``final``: no more pieces will come. ``ended``: the model itself ended the text (its
    end of text, a stop string), so its last word is whole; an answer cut at its token
    limit or stopped early may end inside a word.
    """

    raw: str = ""
    marks: list[tuple[int, float]] = field(default_factory=list)
    final: bool = False
    ended: bool = False

    def add(self, piece: str, logprob: float = math.nan) -> None:
        self.raw += piece
        self.marks.append((len(self.raw), logprob))

    @property
    def scored(self) -> bool:
        return bool(self.marks) and not any(math.isnan(lp) for _end, lp in self.marks)

    def logprob_at(self, n: int) -> float:
        """Summed log-probability of the tokens that wrote ``raw[:n]`` (0 before any)."""
        best = 0.0
        for end, lp in self.marks:
            if end > n:
                break
            best = lp
        return best

    def after(self, n: int) -> Answer:
        """What is left once the writer has ``raw[:n]`` (typed or accepted): the rest, with
        its confidence given that start."""
        base = self.logprob_at(n)
        marks = [(end - n, lp - base) for end, lp in self.marks if end > n]
        return Answer(self.raw[n:], marks, self.final, self.ended)


@dataclass(frozen=True)
class Shown:
    """What :func:`present` made of an answer."""

    text: str  # the ghost ("" = nothing)
    settled: bool  # no further token can change it
    junk: bool = False  # nothing shown because the answer opens with junk
    confidence: float | None = None  # the probability of the ghost's tokens (None: unknown)


def present(
    answer: Answer,
    mode: SuggestionMode,
    *,
    prefix: str = "",
    suffix: str = "",
    document: str = "",
    min_confidence: float = 0.0,
    filter_junk: bool = True,
) -> Shown:
    """The ghost to show for ``answer`` now (see the module notes)."""
    raw, final = answer.raw, answer.final
    text, settled = raw, final
    if min_confidence > 0.0 and answer.scored:
        text, cut = _confident(answer, math.log(min_confidence))
        settled = settled or cut
    elif final and not answer.ended:
        text = _whole_words(raw)  # cut at its token limit: the last word may be half
    ghost = shape_suggestion(text, mode, prefix=prefix, suffix=suffix)
    settled = settled or suggestion_complete(text, mode, prefix=prefix)
    junk = False
    if filter_junk:
        at = junk_filter.junk_start(ghost, prefix=prefix, document=document or prefix)
        if at is not None:
            ghost = _word_head(ghost, at)
            junk, settled = not _HAS_WORD.search(ghost), True
        elif not settled:
            held = junk_filter.undecided(ghost, prefix)
            if held is not None:
                ghost = _word_head(ghost, held)
        if not _HAS_WORD.search(ghost):
            ghost = ""  # a space or a comma alone is no suggestion
    ghost = ghost.rstrip(_OPENERS).rstrip()  # a quote or bracket opened for nothing
    confidence = None
    if answer.scored and ghost:
        start = raw.find(ghost)
        confidence = math.exp(answer.logprob_at(max(0, start) + len(ghost)))
    return Shown(ghost, settled, junk, confidence)


def _confident(answer: Answer, threshold: float) -> tuple[str, bool]:
    """The head of the answer whose tokens are likely enough, ending on a word end, and
    whether that is settled (a later token fell below the threshold)."""
    raw = answer.raw
    end, cut = 0, False
    for mark_end, lp in answer.marks:
        if lp < threshold:
            cut = True
            break
        end = mark_end
    text = raw[:end]
    if end < len(raw):
        ends_word = not (end and _wordish(raw[end - 1]) and _wordish(raw[end]))
    else:
        ends_word = answer.ended  # the next piece may still continue the word
    return (text if ends_word else _TRAILING_WORD.sub("", text)), cut


def _whole_words(raw: str) -> str:
    return _TRAILING_WORD.sub("", raw)


def _wordish(ch: str) -> bool:
    return bool(_WORDISH.fullmatch(ch))


def _word_head(ghost: str, at: int) -> str:
    """What comes before junk at ``at``: without the word the junk starts inside of
    (``a\x07bell`` keeps ``a``), and without trailing spaces."""
    head = ghost[:at]
    if at < len(ghost) and head and _wordish(head[-1]) and _wordish(ghost[at]):
        head = _TRAILING_WORD.sub("", head)
    return head.rstrip()
