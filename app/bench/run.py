"""Run every measurement, print one table per model and write the figures as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.bench.child import run_json
from app.bench.footprint import window_shown_seconds
from app.bench.passage import PASSAGE
from app.bench.random_model import build_gpt2_124m, gpt2_124m_checkpoint
from app.bench.throughput import measure, transformers_available
from app.core.paths import HOME_ENV

#: The targets of the performance issue, checked in the printed table.
TARGETS = {
    "first_paint_p90_ms": 50.0,
    "complete_p90_ms": 120.0,
    "overhead_p50": 1.10,
    "loop_lag_max_ms": 16.0,
    "stale_paints": 0,
    "gen_vs_llama_cpp": 0.95,
    "gen_vs_transformers": 5.0,
    "tokens_evaluated_p50": 2.0,
    "rss_loaded_mb": 450.0,
    "window_shown_s": 1.5,
    "gpu_gen_vs_cpu": 2.0,
}


@dataclass(frozen=True)
class BenchOptions:
    model: Path | None = None
    chars: int = len(PASSAGE)
    intervals: tuple[int, ...] = (150, 60)
    repeats: int = 5
    sizes: tuple[int, ...] = (128, 512)
    offline: bool = True
    throughput: bool = True
    startup_runs: int = 3
    tokenizer: str | None = None
    json_out: Path | None = None
    #: Layers on the GPU (-1: all); the throughput then shows the CPU and the GPU.
    gpu_layers: int = 0
    #: False: no typing replay, no window start-up, no Qt (the footprint of the engine alone).
    replay: bool = True


def _models(options: BenchOptions) -> list[tuple[str, Path, Path | None]]:
    """(name, GGUF, the Hugging Face checkpoint of the same weights when transformers runs)."""
    if options.model is not None:
        return [(options.model.name, options.model, None)]
    gguf = build_gpt2_124m("Q8_0", options.tokenizer)
    checkpoint = (
        gpt2_124m_checkpoint(options.tokenizer)
        if options.throughput and transformers_available()
        else None
    )
    models: list[tuple[str, Path, Path | None]] = [("gpt2-124m-random Q8_0", gguf, checkpoint)]
    if options.offline:
        from app.core.model_store import ModelStore
        from app.core.offline_model import assemble_into_store, find_package

        package = find_package()
        if package is not None:
            models.append(("gemma-3-270m Q4_K_M (offline)", assemble_into_store(
                ModelStore.default(), package).path, None))  # fmt: skip
    return models


def _replay_model(model: Path, options: BenchOptions, gpu_layers: int) -> dict[str, Any]:
    """The window measurements, in a fresh process: its memory is the app's alone."""
    args = [str(model), str(options.chars), ",".join(map(str, options.intervals)),
            str(gpu_layers)]  # fmt: skip
    qpa = {"QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    return run_json("app.bench.window_run", args, "the typing replay", extra_env=qpa)


def _engine_footprint(model: Path, gpu_layers: int) -> dict[str, Any]:
    """The footprint of the engine alone, in a fresh process that never imports Qt."""
    args = [str(model), str(gpu_layers)]
    return run_json("app.bench.engine_footprint", args, "the footprint run")


def run_bench(options: BenchOptions) -> dict[str, Any]:
    models = _models(options)
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "targets": TARGETS,
        "replay": options.replay,
        "gpu_layers": options.gpu_layers,
        "models": {},
    }
    from app.core.llama_runtime import build_info

    build = build_info()
    report["machine"]["llama_cpp"] = build.version
    report["machine"]["backend"] = build.backend
    # Where nothing can be offloaded, every part runs on the CPU (the throughput says why).
    layers = options.gpu_layers if build.gpu_offload else 0
    with tempfile.TemporaryDirectory(prefix="ghostpen-bench-") as tmp:
        previous = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = tmp  # the bench never touches the writer's own settings
        try:
            for name, path, checkpoint in models:
                figures: dict[str, Any] = {"path": str(path), "size": path.stat().st_size}
                if options.throughput:
                    figures["throughput"] = measure(path, repeats=options.repeats,
                                                    sizes=options.sizes, checkpoint=checkpoint,
                                                    gpu_layers=options.gpu_layers)  # fmt: skip
                if options.replay:
                    figures.update(_replay_model(path, options, layers))
                    shown = [window_shown_seconds(path, Path(tmp) / "startup")
                             for _ in range(options.startup_runs)]  # fmt: skip
                    figures["window_shown_s"] = statistics.median(shown) if shown else None
                else:
                    figures.update(_engine_footprint(path, layers))
                report["models"][name] = figures
        finally:
            if previous is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = previous
    if options.json_out is not None:
        options.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


# ----------------------------------------------------------------------------- table


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}{unit}" if value >= 10 else f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _meets(value: float | None, limit: float, *, at_least: bool = False) -> str:
    """' ok' or ' MISSED' against a target; '' when there is nothing to judge."""
    if value is None:
        return ""
    ok = value >= limit if at_least else value <= limit
    return " ok" if ok else " MISSED"


_ROWS = (
    ("keystroke -> request (ms)", "keystroke_to_request_ms", None),
    ("request -> first token (ms)", "request_to_first_token_ms", None),
    ("request -> first ghost painted (ms)", "request_to_first_paint_ms", "first_paint_p90_ms"),
    ("request -> complete suggestion (ms)", "request_to_complete_ms", "complete_p90_ms"),
    ("overhead ratio (paint / engine)", "overhead_ratio", "overhead_p50"),
    ("app overhead (paint - engine, ms)", "overhead_ms", None),
    ("tokens evaluated per request", "tokens_evaluated_per_request", None),
    ("tokens evaluated per keystroke", "tokens_evaluated_per_keystroke", "tokens_evaluated_p50"),
)


def _replay_lines(r: dict[str, Any], t: dict[str, float]) -> list[str]:
    lines = [
        f"  typing replay at {r['interval_ms']} ms/key: {r['chars']} chars, {r['requests']} "
        f"requests, {r['paints']} ghost paints ({r['cache_paints']} from the cache), "
        f"{r['type_through_chars']} chars typed through a ghost, {r['prefills']} prefills, "
        f"{r.get('prefetches', 0)} prefetches",
        f"    {'':38}{'p50':>8}{'p90':>8}{'max':>8}  target",
    ]
    for label, field, target in _ROWS:
        s = r[field]
        verdict = ""
        if target is not None:
            at = "p50" if target.endswith("p50") else "p90"
            verdict = f"{at} <= {_fmt(t[target])}{_meets(s[at], t[target])}"
        lines.append(f"    {label:<38}{_fmt(s['p50']):>8}{_fmt(s['p90']):>8}"
                     f"{_fmt(s['max']):>8}  {verdict}")  # fmt: skip
    lag = r["event_loop_lag_ms"]
    lines.append(
        f"    event-loop lag (ms): p99 {_fmt(lag['p99'])}, max {_fmt(lag['max'])}"
        f"{_meets(lag['max'], t['loop_lag_max_ms'])}; stale paints {r['stale_paints']}"
        f"{_meets(r['stale_paints'], t['stale_paints'])}"
    )
    return lines


def _throughput_lines(tp: dict[str, Any], t: dict[str, float]) -> list[str]:
    lines = [f"  engine throughput, tokens/s ({tp['threads']} threads, best of runs; "
             f"transformers: {tp['transformers']})"]  # fmt: skip
    for key, row in tp.items():
        if not key.startswith("prompt_"):
            continue
        size = key.removeprefix("prompt_")
        for name, rates in row.items():
            lines.append(f"    {size:>4}-token prompt  {name:<18} prompt "
                         f"{_fmt(rates['prompt_tokens_per_s']):>8}  generation "
                         f"{_fmt(rates['generation_tokens_per_s']):>8}")  # fmt: skip
        mine = row["ghostpen"]["generation_tokens_per_s"]
        peer = mine / row["llama_cpp_python"]["generation_tokens_per_s"]
        verdict = f"    generation vs llama-cpp-python x{peer:.2f}"
        verdict += _meets(peer, t["gen_vs_llama_cpp"], at_least=True)
        if "transformers" in row:
            hf = mine / row["transformers"]["generation_tokens_per_s"]
            verdict += f"; vs transformers x{hf:.1f}"
            verdict += _meets(hf, t["gen_vs_transformers"], at_least=True)
        lines.append(verdict)
    if tp.get("gpu_note"):
        lines.append(f"  GPU layers {_layers(tp['gpu_layers'])} asked: {tp['gpu_note']}")
    if tp.get("gpu"):
        lines += _gpu_lines(tp, t)
    return lines


def _layers(n: int) -> str:
    return "all" if n == -1 else str(n)


def _gpu_lines(tp: dict[str, Any], t: dict[str, float]) -> list[str]:
    """CPU and GPU side by side: the CPU runs saw no GPU, the GPU runs had the layers."""
    gpu = tp["gpu"]
    lines = [f"  CPU against GPU ({gpu['backend']}, {_layers(gpu['layers'])} layers), "
             "tokens/s, best of runs",
             f"    {'':37}{'prompt':>25}  {'generation':>27}",
             f"    {'':37}{'CPU':>8}{'GPU':>9}{'GPU/CPU':>8}  {'CPU':>10}{'GPU':>9}"
             f"{'GPU/CPU':>8}"]  # fmt: skip
    if not gpu.get("cpu_saw_no_gpu", True):
        lines.append("    (the CPU runs could still see a GPU: their prompt figures may "
                     "include it)")  # fmt: skip
    for key, row in gpu.items():
        if not key.startswith("prompt_"):
            continue
        size = key.removeprefix("prompt_")
        for name, on_gpu in row.items():
            on_cpu = tp[key][name]
            pp = on_gpu["prompt_tokens_per_s"] / on_cpu["prompt_tokens_per_s"]
            tg = on_gpu["generation_tokens_per_s"] / on_cpu["generation_tokens_per_s"]
            verdict = _meets(tg, t["gpu_gen_vs_cpu"], at_least=True) if name == "ghostpen" else ""
            lines.append(
                f"    {size:>4}-token prompt  {name:<18}"
                f"{_fmt(on_cpu['prompt_tokens_per_s']):>8}"
                f"{_fmt(on_gpu['prompt_tokens_per_s']):>9}{f'x{pp:.1f}':>8}  "
                f"{_fmt(on_cpu['generation_tokens_per_s']):>10}"
                f"{_fmt(on_gpu['generation_tokens_per_s']):>9}{f'x{tg:.1f}':>8}{verdict}"
            )
    lines.append(f"    target: GPU generation >= x{t['gpu_gen_vs_cpu']:.0f} the CPU (ghostpen)")
    return lines


def _footprint_line(m: dict[str, Any], t: dict[str, float]) -> str:
    rss = m["rss_loaded_bytes"] / 2**20
    if "rss_after_completion_bytes" in m:  # --no-replay: the engine alone, no Qt
        return (
            f"  footprint (engine alone, no Qt): model load {m['load_ms']:.0f} ms; resident "
            f"{rss:.0f} MiB with the model loaded, "
            f"{m['rss_after_completion_bytes'] / 2**20:.0f} MiB after one completion"
        )
    shown = m.get("window_shown_s")
    return (
        f"  footprint: model load {m['load_ms']:.0f} ms; resident {rss:.0f} MiB with the "
        f"model loaded{_meets(rss, t['rss_loaded_mb'])}, "
        f"{m['rss_after_replay_bytes'] / 2**20:.0f} MiB after the replay; window shown "
        f"{_fmt(shown)} s after launch{_meets(shown, t['window_shown_s'])}"
    )


def table(report: dict[str, Any]) -> str:
    machine = report["machine"]
    backend = machine.get("backend", "CPU")
    lines = [f"Ghostpen bench: {machine['platform']}, {machine['cpus']} CPUs, "
             f"llama-cpp-python {machine['llama_cpp']}"
             f"{'' if backend == 'CPU' else f' ({backend} build)'}"]  # fmt: skip
    if not report.get("replay", True):
        lines.append("typing replay and window start-up skipped (--no-replay): no Qt")
    t = report["targets"]
    for name, m in report["models"].items():
        lines += ["", f"== {name} ({m['size'] / 2**20:.0f} MiB)"]
        for key, r in m.items():
            if key.startswith("replay_"):
                lines += _replay_lines(r, t)
        if m.get("throughput"):
            lines += _throughput_lines(m["throughput"], t)
        lines.append(_footprint_line(m, t))
    return "\n".join(lines)
