"""Engine throughput against its peers on the same GGUF, in the same run.

Prompt processing (tokens/s to evaluate a 128- or 512-token prompt and pick the first
token) and generation (tokens/s after the first) for Ghostpen's ``Engine``, for plain
llama-cpp-python ``Llama.create_completion`` with the same threads, batch and context,
and (when installed) Hugging Face transformers' ``GPT2LMHeadModel`` on the CPU with the
same weights. Runs alternate between contenders (transformers in a process of its own),
so machine noise hits them alike. The
best of the repeats is what is compared (noise only ever slows a run down, so the
fastest run is the closest to what each can do); the median is kept beside it.
"""

from __future__ import annotations

import inspect
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import llama_cpp

from app.bench.passage import PASSAGE
from app.core.engine import Engine, default_threads
from app.core.gguf_info import inspect_model
from app.core.sampling import GREEDY

GEN_TOKENS = 64
N_CTX = 1024

#: (prompt seconds, generation seconds, generated tokens) for one prompt.
Timing = tuple[float, float, int]


def prompt_tokens(engine: Engine, n: int) -> list[int]:
    """Exactly ``n`` tokens of English prose (the passage, repeated as needed)."""
    tokens = engine.tokenize(PASSAGE)
    while len(tokens) < n:
        tokens += tokens
    return tokens[:n]


def _ghostpen(engine: Engine) -> Callable[[list[int]], Timing]:
    settings = replace(GREEDY, max_tokens=GEN_TOKENS, repeat_penalty=1.0)

    def run(tokens: list[int]) -> Timing:
        engine.reset()
        started = time.perf_counter()
        result = engine.complete_tokens(tokens, settings)
        t = result.timings
        first = (t.first_token_ms or 0.0) / 1000.0
        total = time.perf_counter() - started
        return first, total - first, t.generated_tokens

    return run


def _llama_cpp(path: Path, threads: int, n_ctx: int) -> tuple[Callable[[list[int]], Timing], Any]:
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=threads,
        n_threads_batch=threads, verbose=False,
    )  # fmt: skip

    def run(tokens: list[int]) -> Timing:
        llm.reset()
        started = time.perf_counter()
        first: float | None = None
        count = 0
        for _chunk in llm.create_completion(
            tokens, max_tokens=GEN_TOKENS, temperature=0.0, repeat_penalty=1.0, stream=True
        ):
            count += 1
            if first is None:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        return first or total, total - (first or total), count

    return run, llm


def transformers_available() -> bool:
    """Are transformers and torch installed (without importing them: that takes seconds)?"""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))


def _transformers(checkpoint: Path, threads: int) -> Callable[[list[int]], Timing] | None:
    try:
        import torch
        from transformers import GPT2LMHeadModel
    except ImportError:
        return None
    torch.set_num_threads(threads)
    model = GPT2LMHeadModel.from_pretrained(str(checkpoint)).eval()
    # The cache keyword of the installed version (``cache`` since 5.x): the deprecated
    # spelling would add a warning per call to transformers' time.
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"

    def step(ids: Any, cache: Any) -> tuple[Any, Any]:
        out = model(ids, use_cache=True, logits_to_keep=1, **({cache_kw: cache} if cache else {}))
        cache = getattr(out, "cache", None) or out.past_key_values
        return cache, out.logits[:, -1].argmax(-1, keepdim=True)

    def run(tokens: list[int]) -> Timing:
        ids = torch.tensor([tokens])
        with torch.inference_mode():
            started = time.perf_counter()
            cache, nxt = step(ids, None)
            first = time.perf_counter() - started
            for _ in range(GEN_TOKENS - 1):
                cache, nxt = step(nxt, cache)
            total = time.perf_counter() - started
        return first, total - first, GEN_TOKENS

    return run


def measure(
    model: Path, *, repeats: int = 3, sizes: tuple[int, ...] = (128, 512),
    checkpoint: Path | None = None, threads: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Ghostpen against llama-cpp-python in this process, rounds alternating in order;
    then transformers in a process of its own: torch's thread pool stays busy after a run
    and would slow whichever contender came next."""
    threads = threads or default_threads()
    n_ctx = min(N_CTX, inspect_model(model).context_length)
    engine = Engine(model, n_ctx=n_ctx, n_threads=threads)
    peer, llm = _llama_cpp(model, threads, n_ctx)
    contenders: dict[str, Callable[[list[int]], Timing]] = {
        "ghostpen": _ghostpen(engine),
        "llama_cpp_python": peer,
    }
    results: dict[str, Any] = {"threads": threads, "generated_tokens": GEN_TOKENS}
    prompts: dict[int, list[int]] = {}
    try:
        for size in sizes:
            tokens = prompts[size] = prompt_tokens(engine, size)
            for run in contenders.values():
                run(tokens[:16])  # warm-up: first-call costs are not throughput
            samples: dict[str, list[Timing]] = {name: [] for name in contenders}
            order = list(contenders)
            for _ in range(repeats):
                for name in order:
                    samples[name].append(contenders[name](tokens))
                order.reverse()  # neither always runs first
            results[f"prompt_{size}"] = {name: _rates(size, s) for name, s in samples.items()}
    finally:
        engine.close()
        llm.close()
    hf = _transformers_apart(checkpoint, prompts, repeats, threads) if checkpoint else None
    for size, timings in (hf or {}).items():
        results[f"prompt_{size}"]["transformers"] = _rates(size, timings)
    results["transformers"] = "measured" if hf else "not installed"
    return results


def _transformers_apart(
    checkpoint: Path, prompts: dict[int, list[int]], repeats: int, threads: int
) -> dict[int, list[Timing]] | None:
    """The transformers runs, in a child process (``python -m app.bench.throughput``)."""
    job = {"checkpoint": str(checkpoint), "prompts": prompts, "repeats": repeats,
           "threads": threads}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "app.bench.throughput"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the transformers runs failed: {done.stderr.strip()[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return {int(size): [tuple(t) for t in runs] for size, runs in out.items()} or None


def _transformers_child() -> None:
    job = json.loads(sys.stdin.read())
    run = _transformers(Path(job["checkpoint"]), int(job["threads"]))
    out: dict[str, list[Timing]] = {}
    if run is not None:
        for size, tokens in job["prompts"].items():
            run(tokens[:16])  # warm-up
            out[size] = [run(tokens) for _ in range(int(job["repeats"]))]
    print(json.dumps(out))


def _rates(size: int, samples: list[Timing]) -> dict[str, float]:
    pp = [size / max(p, 1e-9) for p, _g, _n in samples]
    tg = [(n - 1) / max(g, 1e-9) for _p, g, n in samples if n > 1]
    return {
        "prompt_tokens_per_s": max(pp),
        "generation_tokens_per_s": max(tg),
        "prompt_tokens_per_s_median": statistics.median(pp),
        "generation_tokens_per_s_median": statistics.median(tg),
    }


if __name__ == "__main__":
    _transformers_child()
