"""Token healing on both tokenizers: GPT-2's byte-level BPE and Gemma's SentencePiece.

For every cut point of a few hundred real sentences, the healed prompt plus the removed
text spells the text before the cut, the healed prompt is the start of the whole
sentence's own tokens, and the sentence's next tokens are all allowed by the constraint
until the removed text is written again: so the model can always go on exactly as the
text does, in the tokens it would have used for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.core.engine import Engine
from app.core.healing import MAX_HEAL_BYTES, VocabIndex, heal, heal_start
from tests.support.models import TestModel

PROSE = Path(__file__).parents[1] / "data" / "prose"
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]+[\"'”’)]*")


def sentences(limit: int = 230) -> list[str]:
    """Real sentences (and clauses ended by a semicolon) from the committed passages and
    the bench's passage: dialect, dialogue, verse and all."""
    from app.bench.passage import PASSAGE

    texts = [p.read_text(encoding="utf-8") for p in sorted(PROSE.glob("*/*.txt"))]
    found: list[str] = []
    for text in [*texts, PASSAGE]:
        for match in _SENTENCE.finditer(text):
            sentence = match.group().strip()
            if 8 <= len(sentence) <= 200:
                found.append(sentence)
    assert len(found) >= limit
    return found[:limit]


@pytest.fixture(scope="module", params=["gpt2", "gemma"])
def engine(
    request: pytest.FixtureRequest, tiny_model: TestModel, offline_model: Path
) -> Iterator[Engine]:
    path = tiny_model["q8_0"] if request.param == "gpt2" else offline_model
    with Engine(path, n_ctx=128 if request.param == "gpt2" else 512) as e:
        e.prepare_healing()
        yield e


def test_heal_start_is_the_chunk_the_cursor_may_be_inside() -> None:
    assert heal_start("She opened the door and saw ") == len("She opened the door and saw")
    assert heal_start("we drove acr") == len("we drove")
    assert heal_start("It was the end.") == len("It was the end")
    assert heal_start('He said, "') == len("He said,")
    assert heal_start("end.\nThe") == len("end.\n")  # the line break stays in the prompt
    assert heal_start("end.\n\n") == len("end.")
    assert heal_start("") == 0
    assert heal_start("We'r") == 0  # with its apostrophe: GPT-2 writes "We" + "'re"


def test_every_cut_of_real_sentences_heals_and_can_be_written_again(engine: Engine) -> None:
    """The constraint always lets the model write the text on, and almost always in the
    sentence's own tokens (the rest of the time the removed text's own tokenization
    starts it: " wee" + "p" where the sentence had " we" + "ep")."""
    pieces, index = engine.vocabulary()
    bos = 1 if engine._add_bos else 0
    failures: list[str] = []
    checked = own = 0
    for sentence in sentences():
        whole = engine._prompt_tokens(sentence)
        data = sentence.encode("utf-8")
        for cut in range(1, len(sentence) + 1):
            prefix = sentence[:cut]
            healed = engine.healed_tokens(prefix)
            kept = list(healed.tokens)
            if kept == [engine.eos_token] and not bos:
                kept = []  # GPT-2: the whole prompt was one word; a new document starts
            spelt = b"".join(pieces[t] for t in kept[bos:]) + healed.removed
            if spelt != prefix.encode("utf-8"):
                failures.append(f"{prefix!r}: spelt {spelt!r}")
                continue
            if whole[: len(kept)] != kept:
                failures.append(f"{prefix!r}: the healed tokens are not the sentence's own")
                continue
            checked += 1
            owed, j = healed.removed, len(kept)
            rest = data[len(spelt) - len(owed) :]  # what the model must write, from the cut on
            sentences_own = True
            while owed:
                natural = engine.tokenize(owed.decode("utf-8", "surrogateescape"))[:1]
                allowed = index.allowed(owed, natural[0] if natural else None).tolist()
                if j < len(whole) and whole[j] in allowed and rest.startswith(pieces[whole[j]]):
                    token = whole[j]
                else:
                    sentences_own = False
                    fits = [t for t in allowed if rest.startswith(pieces[t])]
                    if not fits:
                        failures.append(f"{prefix!r}: nothing allowed writes {rest[:12]!r}")
                        break
                    token = max(fits, key=lambda t: len(pieces[t]))
                piece = pieces[token]
                owed, rest, j = owed[len(piece) :], rest[len(piece) :], j + 1
            own += sentences_own
    assert checked > 10_000
    assert failures == [], f"{len(failures)} of {checked} cuts: {failures[:5]}"
    assert own / checked >= 0.97, f"the sentence's own tokens at only {own} of {checked} cuts"


def test_healing_removes_only_the_chunk_and_at_most_the_cap(engine: Engine) -> None:
    for text, chunk in (
        ("She opened the door and saw ", " "),
        ("I will never forget the summer when we drove acr", " acr"),
        ("It was the end.", "."),
    ):
        healed = engine.healed_tokens(text)
        assert healed.removed_text.endswith(chunk)
        assert len(healed.removed_text) <= len(chunk) + 12  # a token straddling the cut
    url = "see https://" + "x" * 300
    assert len(engine.healed_tokens(url).removed) <= MAX_HEAL_BYTES + 32


def test_the_index_allows_exactly_the_extensions_and_the_prefixes() -> None:
    pieces = [b"", b" a", b" ac", b" acr", b" across", b" acre", b" b", b"a", b" ", b"\xff\xff"]
    index = VocabIndex(pieces)
    allowed = sorted(index.allowed(b" acr").tolist())
    assert [pieces[t] for t in allowed] == [b" acr", b" across", b" acre"]
    # the removed text's own first token, when shorter, may start it: " ac" + "r..."
    allowed = sorted(index.allowed(b" acr", natural=2).tolist())
    assert [pieces[t] for t in allowed] == [b" ac", b" acr", b" across", b" acre"]
    # other prefixes ("  " alone, " a") never: their probability is for something else
    assert 8 not in set(index.allowed(b" acr", natural=2).tolist())
    # no token starts with it and no natural first token: every prefix, so something fits
    assert sorted(index.allowed(b" acrz").tolist()) == [1, 2, 3, 8]
    assert sorted(index.allowed(b"\xff").tolist()) == [9]  # no successor byte: to the end
    assert index.allowed(b"z").size == 0
    # a control token (no bytes) is never allowed
    assert 0 not in set(index.allowed(b" ").tolist())


def test_heal_keeps_a_bos_and_refuses_a_tokenization_that_does_not_spell_the_text() -> None:
    pieces = [b"<bos>", b"The", b" cat", b" sa"]
    healed = heal("The cat sa", [0, 1, 2, 3], pieces, keep=1)
    assert healed.tokens == (0, 1, 2)
    assert healed.removed == b" sa"
    healed = heal("The", [0, 1], pieces, keep=1)
    assert healed.tokens == (0,)
    assert healed.removed == b"The"
    # a normalising tokenizer: the pieces do not spell the text, so nothing is removed
    assert heal("The cat sä", [0, 1, 2, 3], pieces, keep=1).removed == b""


def test_a_healed_completion_goes_on_from_the_cursor(engine: Engine) -> None:
    from app.core.sampling import GREEDY

    text = "She opened the door and saw "
    done = engine.complete(text, GREEDY.with_changes(max_tokens=6), heal=True)
    assert done.healed == " "
    assert not done.text.startswith(" ")  # the space is the writer's, not the ghost's
    spelt = engine.detokenize(list(done.token_ids)).decode("utf-8", "replace")
    assert spelt.startswith(done.healed)
    assert spelt[len(done.healed) :].startswith(done.text[:3])
    assert np.all(np.asarray(done.token_logprobs) <= 0.0) or done.token_logprobs == ()
