"""llama.cpp's tokenization of a converted model equals the GPT-2 BPE reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine import Engine
from tests.support.models import TestModel
from tests.support.reference.gpt2_bpe import GPT2BPE, load_default

SAMPLES = [
    "Hello world",
    " leading space and trailing space ",
    "It's, we're, they've, I'm, you'll, he'd, she's don't",
    "Numbers: 0 7 42 1999 3.14159 1,000,000 and 2024-11-29",
    "Runs   of    spaces\tand\ttabs",
    "Line one\nline two\n\n\nthree blank\r\nwindows line\r\n",
    "    indented code:\n        return x  # comment\n",
    "Ünïcödé: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어, العربية",
    "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇳🇴🇯🇵 and ❤️",
    "Quotes “curly” ‘single’ — dashes – and … ellipsis",
    "<|endoftext|> is plain text here",
    "",
    "a",
    "\n",
    "   ",
]


@pytest.fixture(scope="module")
def engine(tiny_model: TestModel) -> Iterator[Engine]:
    with Engine(tiny_model["q8_0"]) as e:
        yield e


@pytest.fixture(scope="module")
def bpe() -> GPT2BPE:
    return load_default()


@pytest.mark.parametrize("text", SAMPLES)
def test_tokens_equal_the_reference(text: str, engine: Engine, bpe: GPT2BPE) -> None:
    assert engine.tokenize(text) == bpe.encode(text)


def test_detokenize_round_trips(engine: Engine) -> None:
    for text in SAMPLES:
        assert engine.detokenize(engine.tokenize(text)).decode("utf-8") == text


# Everyday writing: letters, digits, punctuation, whitespace runs, some emoji.
_alphabet = st.one_of(
    st.characters(categories=["Lu", "Ll", "Nd", "Po", "Ps", "Pe", "Pd", "Zs"]),
    st.sampled_from(list(" \n\n\t'’\"-.,!?😀🎉é")),
)


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=_alphabet, max_size=60))
def test_tokens_equal_the_reference_on_generated_text(
    text: str, engine: Engine, bpe: GPT2BPE
) -> None:
    assert engine.tokenize(text) == bpe.encode(text)
