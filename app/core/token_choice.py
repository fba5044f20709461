"""Choosing among the next token's logits: bans, healing masks, ranks, log-probabilities.

Pure numpy over one row of logits (llama.cpp's own buffer, as the engine hands it over):
the masks write into the row in place, so that llama.cpp's sampler chain, which reads
the same buffer, draws only from what is left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

#: A token that is a whole markup tag or entity, spaces around it allowed.
MARKUP_TOKEN = re.compile(
    rb"\s*(?:</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);)\s*"
)


def markup_tokens(pieces: Sequence[bytes]) -> np.ndarray:
    """Tokens whose text is a whole markup tag or entity (``<strong>``, ``&amp;``)."""
    return np.asarray(
        [t for t, p in enumerate(pieces) if p and MARKUP_TOKEN.fullmatch(p)], dtype=np.int32
    )


def ban(row: np.ndarray, banned: np.ndarray) -> None:
    """Make the ``banned`` tokens impossible (in place)."""
    row[banned] = -np.inf


def keep_only(row: np.ndarray, allowed: np.ndarray) -> None:
    """Make every token but the ``allowed`` ones impossible (in place)."""
    kept = row[allowed].copy()
    row.fill(-np.inf)
    row[allowed] = kept


def ranked_token(row: np.ndarray, rank: int, among: np.ndarray | None = None) -> int:
    """The rank-th likeliest token (0 = the most likely), of ``among`` if given."""
    ids = np.arange(row.size) if among is None else among
    finite = np.isfinite(row[ids])  # banned tokens are no candidates
    ids = ids[finite]
    scores = row[ids]
    rank = min(rank, scores.size - 1)
    top = np.argpartition(-scores, rank)[: rank + 1]
    return int(ids[top[np.argsort(-scores[top], kind="stable")][rank]])


def logsumexp(x: np.ndarray) -> float:
    """log(sum(exp(x))) without overflow: the normaliser of a log-probability."""
    top = float(np.max(x))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.sum(np.exp(x - top))))
