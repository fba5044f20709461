"""Ghostpen's engine on the CPU against the GPU: logits, argmax and greedy agreement, speed.

    python scripts/gpu_compare.py [--model GGUF]... [--gpu-layers N] [--json FILE]

Runs from a source checkout without installing (the checkout goes on ``sys.path``); the
work is ``app.bench.gpu_compare`` (its docstring says what is measured and the targets).
``scripts/gpu_check.sh`` runs it after building llama-cpp-python with CUDA. Exits 1 when a
target is missed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# app first: its import loads llama.cpp's libraries before anything imports numpy.
from app.bench.gpu_compare import main

if __name__ == "__main__":
    sys.exit(main())
