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
(it finishes ``R`` and goes on) or are a prefix of ``R`` (the next tokens must finish the
rest). :class:`VocabIndex` answers both from the vocabulary sorted by bytes, built once
per model: a range of the sorted table plus one dictionary lookup per prefix of ``R``.

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

# The chunk the cursor may still be inside: a run of trailing whitespace, or a word or a
# run of punctuation with the spaces and tabs before it (the space belongs to the word
# after it). A line break before a word stays in the prompt: the word is a new token.
_LAST_CHUNK = re.compile(r"(?:\s+|[^\S\r\n\u2028\u2029]*(?:\w+|[^\w\s]+))\Z")


def heal_start(text: str) -> int:
    """Index in ``text`` where the chunk the cursor may still be inside starts."""
    match = _LAST_CHUNK.search(text)
    return match.start() if match else len(text)


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
    removed. When the tokens do not spell ``text`` exactly (a tokenizer that normalises
    the text), nothing is removed: an unhealed prompt is better than a wrong one.
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
        """``pieces[t]``: the bytes of token ``t``; empty for control tokens (never chosen)."""
        self.n_vocab = len(pieces)
        order = sorted((p, t) for t, p in enumerate(pieces) if p)
        self._sorted = [p for p, _ in order]
        self._ids = np.fromiter((t for _, t in order), dtype=np.int32, count=len(order))
        self._exact: dict[bytes, list[int]] = {}
        for p, t in order:
            self._exact.setdefault(p, []).append(t)

    def allowed(self, removed: bytes) -> np.ndarray:
        """Tokens whose bytes start with ``removed`` or are a (shorter) prefix of it."""
        lo = bisect.bisect_left(self._sorted, removed)
        above = _successor(removed)
        hi = len(self._sorted) if above is None else bisect.bisect_left(self._sorted, above)
        parts = [self._ids[lo:hi]]
        for j in range(1, len(removed)):
            found = self._exact.get(removed[:j])
            if found:
                parts.append(np.asarray(found, dtype=np.int32))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


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
