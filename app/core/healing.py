"""Token healing: the prompt never ends inside a token.

GPT-2's byte-level BPE and Gemma's SentencePiece both attach the space to the word after
it (``Ġthe``, ``▁the``). A prompt that ends in a space, or halfway through a word, is a
token sequence the model almost never saw in training, and a small model answers it with
markup or nonsense (``saw `` → ``<strong>``, ``drove acr`` → ``adian``). So the prompt is
cut back to the start of the chunk the cursor may still be inside (the trailing spaces,
the partial word, the partial punctuation) on a token boundary, and the first generated
tokens are constrained to ones whose text extends what was removed: the model itself
writes the removed characters again, in the tokens it would have used, and goes on.

The constraint needs, for a removed text ``R``, every token whose bytes start with ``R``
(it finishes ``R`` and goes on), and the first token of ``R``'s own tokenization when it
is shorter than ``R`` (the next tokens finish the rest, as the tokenizer would have
written it). :class:`VocabIndex` answers from the vocabulary sorted by bytes, built once
per model: a range of the sorted table.

Everything here is bytes: a token may end inside a UTF-8 character.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_HEAL_BYTES", "Healing", "VocabIndex", "heal", "heal_start"]

#: At most this many bytes are removed: a 300-character "word" (a URL, a hash) is cut
#: inside rather than sent back whole for the model to rewrite.
MAX_HEAL_BYTES = 48
_TAIL_CHARS = 2 * MAX_HEAL_BYTES

# The chunk the cursor may still be inside: a run of trailing whitespace, or a word (with
# its apostrophes: GPT-2 spells "We're" as "We" + "'re") or a run of punctuation, with the
# spaces and tabs before it (the space belongs to the word after it). A line break before
# a word stays in the prompt: the word is a new token.
_LAST_CHUNK = re.compile(r"(?:\s+|[^\S\r\n\u2028\u2029]*(?:[\w'’]*\w[\w'’]*|[^\w\s]+))\Z")


def heal_start(text: str) -> int:
    """Index in ``text`` where the chunk the cursor may still be inside starts.

    Only the tail is searched (at most ``MAX_HEAL_BYTES`` are removed anyway): the
    pattern's cost grows fast with the length of a run of word characters, which text
    without spaces (Chinese, a long number) makes long.
    """
    tail = text[-_TAIL_CHARS:]
    match = _LAST_CHUNK.search(tail)
    return len(text) - len(tail) + (match.start() if match else len(tail))


@dataclass(frozen=True)
class Healing:
    """A prompt cut back to a clean token boundary.

    ``tokens`` is a prefix of the prompt's own tokens; ``removed`` is the text they no
    longer cover, which the continuation must start with (and which is not shown).
    """

    tokens: tuple[int, ...]
    removed: bytes

    @property
    def removed_text(self) -> str:
        return self.removed.decode("utf-8", "replace")


def heal(text: str, tokens: Sequence[int], piece: Sequence[bytes], *, keep: int = 0) -> Healing:
    """Cut ``tokens`` (the tokenization of ``text``) back before the cursor's chunk.

    ``piece[t]`` is token ``t``'s bytes. The first ``keep`` tokens (a BOS) are never
    removed. When the removed tokens do not spell the end of ``text`` exactly (a tokenizer
    that normalises the text), nothing is removed: an unhealed prompt beats a wrong one.
    """
    data = text.encode("utf-8")
    start = len(text[: heal_start(text)].encode("utf-8"))
    start = max(start, len(data) - MAX_HEAL_BYTES)
    k = len(tokens)
    removed = b""
    while k > keep and len(removed) < len(data) - start:
        k -= 1
        removed = piece[tokens[k]] + removed
    if not removed or not data.endswith(removed):
        return Healing(tuple(tokens), b"")
    return Healing(tuple(tokens[:k]), removed)


class VocabIndex:
    """Which tokens may come next while a removed text is still being written again."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        """``pieces[t]``: the bytes of token ``t``; empty for control tokens (never chosen).

        The index holds ``pieces`` itself and a sorted view of it (references, not
        copies): for Gemma's 262,144 tokens that is a few MiB, where dictionaries of every
        piece would cost some 50 MiB of a model's resident memory.
        """
        self.n_vocab = len(pieces)
        self._pieces = pieces
        order = sorted((t for t, p in enumerate(pieces) if p), key=pieces.__getitem__)
        self._sorted = [pieces[t] for t in order]
        self._ids = np.asarray(order, dtype=np.int32)

    def allowed(self, removed: bytes, natural: int | None = None) -> np.ndarray:
        """Tokens that may write ``removed`` again: those whose bytes start with it, and
        ``natural``, the first token of ``removed``'s own tokenization, when that is
        shorter (" North" of " Northw": its next tokens finish the word).

        Other tokens that are a prefix of ``removed`` are not allowed: the model gives
        them their probability for what usually follows them (Gemma's lone space before
        a number), not for the rest of ``removed``, and a ghost that starts with one is
        nonsense. When no token starts with ``removed`` and ``natural`` is not given,
        every prefix is allowed, so that something can always be written.
        """
        lo = bisect.bisect_left(self._sorted, removed)
        above = _successor(removed)
        hi = len(self._sorted) if above is None else bisect.bisect_left(self._sorted, above)
        extensions = self._ids[lo:hi]
        start = (
            self._pieces[natural] if natural is not None and 0 <= natural < self.n_vocab else b""
        )
        if start and len(start) < len(removed) and removed.startswith(start):
            return np.concatenate([extensions, np.asarray([natural], dtype=np.int32)])
        if extensions.size:
            return extensions
        parts = [self._exact(removed[:j]) for j in range(1, len(removed))]
        found = [part for part in parts if part.size]
        return np.concatenate(found) if found else extensions

    def _exact(self, piece: bytes) -> np.ndarray:
        """The tokens whose bytes are exactly ``piece``."""
        lo = bisect.bisect_left(self._sorted, piece)
        return self._ids[lo : bisect.bisect_right(self._sorted, piece, lo)]


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string above every string that starts with ``prefix`` (None:
    there is none, so the range runs to the end of the table)."""
    data = bytearray(prefix)
    while data and data[-1] == 0xFF:
        data.pop()
    if not data:
        return None
    data[-1] += 1
    return bytes(data)
