"""Write the small GPT-2 GGUF that the bundle smoke test runs (``smoke.sh``).

Built the way the test suite builds its models (random weights, the real GPT-2 tokenizer
from tests/data, Ghostpen's own converter), so the frozen app is checked on a real file
without a download or a model in the repository. Runs in the development environment,
not in the bundle: ``PYTHONPATH=. python packaging/smoke_model.py OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: smoke_model.py OUT_DIR", file=sys.stderr)
        return 2
    from app.core.convert import convert_checkpoint
    from tests.support.reference.checkpoints import write_gpt2_checkpoint

    out = Path(argv[0])
    # The test suite's "tiny" shape: 64 wide, 2 layers, 128 positions (about 7 MB as Q8_0).
    folder = write_gpt2_checkpoint(
        out / "tiny", n_embd=64, n_layer=2, n_head=4, n_positions=128, seed=1
    )
    gguf = convert_checkpoint(folder, out / "tiny-q8_0.gguf", "q8_0")
    print(gguf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
