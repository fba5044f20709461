"""Engine throughput against its peers on the same GGUF, in the same run.

Prompt processing (tokens/s to evaluate a 128- or 512-token prompt and pick the first
token) and generation (tokens/s after the first) for Ghostpen's ``Engine``, for plain
llama-cpp-python ``Llama.create_completion`` with the same threads, batch and context,
and (when installed) Hugging Face transformers' ``GPT2LMHeadModel`` on the CPU with the
same weights. Runs alternate between contenders (transformers in a process of its own),
so machine noise hits them alike. The
best of the repeats is what is compared (noise only ever slows a run down, so the
fastest run is the closest to what each can do); the median is kept beside it.

With GPU layers asked on a build that can offload, the two llama.cpp contenders run twice:
on the CPU alone, in a child process that sees no GPU (a GPU build sends big batches, a
prompt, to a visible GPU even with no layer offloaded, so a CPU figure measured beside a
GPU would not be the CPU's), and here with the layers asked.
"""

from __future__ import annotations

import inspect
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import llama_cpp

from app.bench.child import CPU_ONLY_ENV, run_json
from app.bench.passage import PASSAGE
from app.core.engine import Engine, EngineError
from app.core.engine_load import default_threads
from app.core.gguf_info import inspect_model
from app.core.llama_runtime import build_info
from app.core.sampling import GREEDY

GEN_TOKENS = 64
N_CTX = 1024

#: Said when GPU layers are asked of a llama.cpp build that cannot offload.
CANNOT_OFFLOAD = (
    "this llama-cpp-python build cannot offload to a GPU (llama_supports_gpu_offload() is "
    "false): measured on the CPU only"
)

#: (prompt seconds, generation seconds, generated tokens) for one prompt.
Timing = tuple[float, float, int]


def prompt_tokens(engine: Engine, n: int) -> list[int]:
    """Exactly ``n`` tokens of English prose (the passage, repeated as needed)."""
    tokens = engine.tokenize(PASSAGE)
    while len(tokens) < n:
        tokens += tokens
    return tokens[:n]


def engine_timer(engine: Engine) -> Callable[[list[int]], Timing]:
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


def _llama_cpp(
    path: Path, threads: int, n_ctx: int, gpu_layers: int = 0
) -> tuple[Callable[[list[int]], Timing], Any]:
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=threads,
        n_threads_batch=threads, n_gpu_layers=gpu_layers, verbose=False,
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
    checkpoint: Path | None = None, threads: int | None = None, gpu_layers: int = 0,
    side_by_side: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Ghostpen against llama-cpp-python in this process, rounds alternating in order;
    then transformers in a process of its own: torch's thread pool stays busy after a run
    and would slow whichever contender came next.

    ``gpu_layers`` (-1: all) other than 0, on a build that can offload: the CPU figures
    come from a child that sees no GPU, and the same contest with those layers on the GPU
    is kept under ``"gpu"``. On a build that cannot, ``"gpu_note"`` says so.
    ``side_by_side`` True takes that path whatever the build and layers (with 0 layers,
    both sides are the CPU: how it is tested where there is no GPU).
    """
    threads = threads or default_threads()
    _check_sizes(model, sizes)
    results: dict[str, Any] = {
        "threads": threads,
        "generated_tokens": GEN_TOKENS,
        "gpu_layers": gpu_layers,
    }
    offload = gpu_layers != 0 and build_info().gpu_offload
    if gpu_layers != 0 and not offload:
        results["gpu_note"] = CANNOT_OFFLOAD
    if offload if side_by_side is None else side_by_side:
        cpu = _contest_apart(model, threads=threads, sizes=sizes, repeats=repeats)
        gpu, prompts = contest(model, threads=threads, sizes=sizes, repeats=repeats,
                               gpu_layers=gpu_layers)  # fmt: skip
        results.update(cpu["rates"])
        results["gpu"] = {
            "layers": gpu_layers,
            "backend": build_info().backend,
            "cpu_saw_no_gpu": not cpu["offload"],
            **gpu,
        }
    else:
        cpu_rates, prompts = contest(model, threads=threads, sizes=sizes, repeats=repeats)
        results.update(cpu_rates)
    hf = _transformers_apart(checkpoint, prompts, repeats, threads) if checkpoint else None
    for size, timings in (hf or {}).items():
        results[f"prompt_{size}"]["transformers"] = rates(size, timings)
    results["transformers"] = "measured" if hf else "not installed"
    return results


def _check_sizes(model: Path, sizes: tuple[int, ...]) -> None:
    """A prompt and its generated tokens must fit the model's positions: past them,
    llama.cpp aborts the whole process (GPT-2's learned positions end there)."""
    n_ctx = min(N_CTX, inspect_model(model).context_length)
    for size in sizes:
        if size + GEN_TOKENS > n_ctx:
            raise EngineError(
                f"{model.name}: a {size}-token prompt and {GEN_TOKENS} generated tokens "
                f"need {size + GEN_TOKENS} positions, and the bench gives this model "
                f"{n_ctx}: choose prompt sizes of at most {n_ctx - GEN_TOKENS} tokens"
            )


def contest(
    model: Path, *, threads: int, sizes: tuple[int, ...], repeats: int, gpu_layers: int = 0
) -> tuple[dict[str, Any], dict[int, list[int]]]:
    """Ghostpen's engine and plain llama-cpp-python with ``gpu_layers``, rounds alternating:
    the rates under ``prompt_<size>``, and the prompts (tokens) by size."""
    n_ctx = min(N_CTX, inspect_model(model).context_length)
    engine = Engine(model, n_ctx=n_ctx, n_threads=threads, n_gpu_layers=gpu_layers)
    peer, llm = _llama_cpp(model, threads, n_ctx, gpu_layers)
    contenders: dict[str, Callable[[list[int]], Timing]] = {
        "ghostpen": engine_timer(engine),
        "llama_cpp_python": peer,
    }
    results: dict[str, Any] = {}
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
            results[f"prompt_{size}"] = {name: rates(size, s) for name, s in samples.items()}
    finally:
        engine.close()
        llm.close()
    return results, prompts


def _contest_apart(
    model: Path, *, threads: int, sizes: tuple[int, ...], repeats: int
) -> dict[str, Any]:
    """:func:`contest` on the CPU alone, in a child that sees no GPU.

    Returns ``rates``, ``prompts`` and ``offload``: whether the child could still offload
    (True means hiding the GPUs failed and its figures are not the CPU's alone).
    """
    job = {"kind": "contest", "model": str(model), "threads": threads, "sizes": list(sizes),
           "repeats": repeats}  # fmt: skip
    out = run_json(
        "app.bench.throughput", [], "the CPU runs", extra_env=CPU_ONLY_ENV, stdin=json.dumps(job)
    )
    out["prompts"] = {int(size): tokens for size, tokens in out["prompts"].items()}
    return out


def _transformers_apart(
    checkpoint: Path, prompts: dict[int, list[int]], repeats: int, threads: int
) -> dict[int, list[Timing]] | None:
    """The transformers runs, in a child process (``python -m app.bench.throughput``)."""
    job = {"kind": "transformers", "checkpoint": str(checkpoint), "prompts": prompts,
           "repeats": repeats, "threads": threads}  # fmt: skip
    out = run_json("app.bench.throughput", [], "the transformers runs", stdin=json.dumps(job))
    return {int(size): [tuple(t) for t in runs] for size, runs in out.items()} or None


def _transformers_child(job: dict[str, Any]) -> None:
    run = _transformers(Path(job["checkpoint"]), int(job["threads"]))
    out: dict[str, list[Timing]] = {}
    if run is not None:
        for size, tokens in job["prompts"].items():
            run(tokens[:16])  # warm-up
            out[size] = [run(tokens) for _ in range(int(job["repeats"]))]
    print(json.dumps(out))


def _contest_child(job: dict[str, Any]) -> None:
    found, prompts = contest(
        Path(job["model"]), threads=int(job["threads"]), sizes=tuple(job["sizes"]),
        repeats=int(job["repeats"]),
    )  # fmt: skip
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    print(json.dumps({"rates": found, "prompts": prompts, "offload": offload}))


def _main() -> None:
    job = json.loads(sys.stdin.read())
    if job.get("kind") == "contest":
        _contest_child(job)
    else:
        _transformers_child(job)


def rates(size: int, samples: list[Timing]) -> dict[str, float]:
    pp = [size / max(p, 1e-9) for p, _g, _n in samples]
    tg = [(n - 1) / max(g, 1e-9) for _p, g, n in samples if n > 1]
    return {
        "prompt_tokens_per_s": max(pp),
        "generation_tokens_per_s": max(tg),
        "prompt_tokens_per_s_median": statistics.median(pp),
        "generation_tokens_per_s_median": statistics.median(tg),
    }


if __name__ == "__main__":
    _main()
