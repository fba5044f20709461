"""Independent reference for OpenAI's GPT-2 byte-level BPE tokenizer.

This mirrors OpenAI's original ``encoder.py`` so that the tests can check llama.cpp's
tokenization (and anything else in the project) against a second, simple implementation
that shares no code with them.

Special tokens are NOT recognised: ``"<|endoftext|>"`` in the input is encoded as the
ordinary text pieces ``<``, ``|``, ``end``, ``of``... exactly like OpenAI's ``Encoder.encode``.
That is the behaviour a writing assistant wants for user text (a document that contains
the literal string must not end the generation); callers that want id 50256 append it
themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

# Untyped unless types-regex is installed (then this ignore is the unused one).
import regex  # type: ignore[import-untyped,unused-ignore]

#: GPT-2's pre-tokenization pattern, verbatim from OpenAI's ``encoder.py``.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

#: Where the real GPT-2 tokenizer files live in this repository.
DEFAULT_TOKENIZER_DIR = Path(__file__).resolve().parents[2] / "data" / "gpt2-tokenizer"

ENDOFTEXT = "<|endoftext|>"
ENDOFTEXT_ID = 50256


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """Map every byte to a printable character, as GPT-2 does, so BPE never sees whitespace
    or control characters and every byte string has a lossless text form."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def get_pairs(word: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent symbol pairs of a word: the candidates for the next merge."""
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class GPT2BPE:
    """GPT-2 encoder/decoder over ``vocab.json`` (token -> id) and ``merges.txt`` (ranked).

    ``<|endoftext|>`` is plain text to :meth:`encode` (see the module docstring);
    :meth:`decode` renders id 50256 as the string ``"<|endoftext|>"``.
    """

    def __init__(self, vocab_path: str | Path, merges_path: str | Path) -> None:
        with open(vocab_path, encoding="utf-8") as f:
            self.encoder: dict[str, int] = json.load(f)
        self.decoder: dict[int, str] = {v: k for k, v in self.encoder.items()}
        self.merges: list[tuple[str, str]] = read_merges(Path(merges_path))
        self.bpe_ranks: dict[tuple[str, str], int] = {
            pair: rank for rank, pair in enumerate(self.merges)
        }
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        self.pattern = regex.compile(GPT2_PATTERN)
        self.cache: dict[str, list[str]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of tokens in the vocabulary (50257 for GPT-2)."""
        return len(self.encoder)

    def bpe(self, token: str) -> list[str]:
        """Apply the merges to one pre-token (already byte-mapped), lowest rank first."""
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        word: list[str] = list(token)
        while len(word) > 1:
            pairs = get_pairs(word)
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = new_word
        self.cache[token] = word
        return word

    def pretokenize(self, text: str) -> list[str]:
        """Split text with the GPT-2 regex; merges never cross these boundaries."""
        return self.pattern.findall(text)

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; no BOS is added and special tokens are plain text."""
        ids: list[int] = []
        for piece in self.pretokenize(text):
            mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """Raw bytes of ``ids``: exact even when a token ends inside a UTF-8 character."""
        return bytes(self.byte_decoder[c] for i in ids for c in self.decoder[int(i)])

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; invalid UTF-8 (a split multi-byte character) becomes U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def token_text(self, token_id: int) -> str:
        """The vocabulary string of one id (byte-mapped form, e.g. ``"ĠHello"``)."""
        return self.decoder[int(token_id)]


def read_merges(path: Path) -> list[tuple[str, str]]:
    """Merge rules in rank order; the ``#version`` header and blank lines are skipped."""
    merges: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#version"):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise ValueError(f"{path}: bad merge line {line!r}")
            merges.append((parts[0], parts[1]))
    return merges


@lru_cache(maxsize=1)
def load_default() -> GPT2BPE:
    """The real GPT-2 tokenizer from ``tests/data/gpt2-tokenizer`` (loaded once: ~0.3 s)."""
    return GPT2BPE(DEFAULT_TOKENIZER_DIR / "vocab.json", DEFAULT_TOKENIZER_DIR / "merges.txt")
