"""``ghostpen eval``: each text typed by the simulated writer, through the product and the
baselines, in one run; a table, the figures as JSON, every ghost as JSON lines.

The product runs with the app's settings (suggestions drawn with a preset's sampling when
one is named),
without a pace (every ghost counts) and, with ``--pace``, at a key every ``pace`` ms
(a ghost counts only if it is painted before the key that can take it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from app.core.engine import Engine
from app.core.sampling import SamplingSettings
from app.core.serve import RequestServer
from app.core.settings import SuggestionSettings, min_confidence
from app.core.suggestion_policy import Features
from app.eval.baselines import RawContinuation, WordCompletion, run_baseline
from app.eval.junk import junk_kinds
from app.eval.sim import PolicyRun
from app.eval.tally import Tally

__all__ = ["FEATURES", "EvalOptions", "EvalReport", "read_text", "run_eval", "table"]

#: The layers ``--without`` can turn off.
FEATURES = ("healing", "junk_filter", "confidence", "prefetch")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EvalOptions:
    files: tuple[Path, ...]
    model: Path
    settings: SuggestionSettings = field(default_factory=SuggestionSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    pace_ms: float | None = None
    limit: int | None = None  # characters typed of each file
    threads: int | None = None
    features: Features = field(default_factory=Features)
    baselines: bool = True


@dataclass
class EvalReport:
    options: EvalOptions
    model_name: str
    totals: dict[str, Tally] = field(default_factory=dict)  # run name -> all files
    per_file: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "model": str(o.model),
            "model_name": self.model_name,
            "files": [str(f) for f in o.files],
            "limit": o.limit,
            "pace_ms": o.pace_ms,
            "threads": o.threads,
            "settings": {
                "suggest_when": o.settings.suggest_when,
                "min_confidence": o.features.min_confidence
                if o.features.min_confidence is not None
                else min_confidence(o.settings.suggest_when),
                "mode": o.settings.mode,
                "max_tokens": o.settings.max_tokens,
                "likeliest": o.settings.likeliest,
            },
            "sampling": o.sampling.to_dict(),
            "features": {name: getattr(o.features, name) for name in FEATURES},
            "runs": {name: tally.figures() for name, tally in self.totals.items()},
            "per_file": self.per_file,
            "interrupted": self.interrupted,
        }


def read_text(path: Path) -> str:
    """A text to type: UTF-8 (a BOM allowed), line endings as LF."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run_eval(
    options: EvalOptions,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    ghosts: TextIO | None = None,
) -> EvalReport:
    """Type every file through every run; ``stop`` ends it early with the figures so far."""
    texts = [(path, read_text(path)) for path in options.files]
    with Engine(options.model, n_threads=options.threads) as engine:
        engine.prepare_healing()
        report = EvalReport(options, engine.info.name)
        for path, full in texts:
            text = full[: options.limit] if options.limit else full
            for name, run in _runs(options, engine, text):
                if stop is not None and stop.is_set():
                    break
                tally = run(stop, None if progress is None else _labelled(progress, name, path))
                _judge(tally, text)
                report.totals.setdefault(name, Tally(name)).add(tally)
                report.per_file.append({"file": str(path), **tally.figures()})
                if ghosts is not None:
                    for g in tally.ghosts:
                        line = {"run": name, "file": path.name, **g.to_dict()}
                        ghosts.write(json.dumps(line, ensure_ascii=False) + "\n")
                if tally.interrupted:
                    report.interrupted = True
    return report


RunFn = Callable[[threading.Event | None, Callable[[int, int], None] | None], Tally]


def _runs(options: EvalOptions, engine: Engine, text: str) -> list[tuple[str, RunFn]]:
    def policy(pace: float | None) -> RunFn:
        def run(stop: threading.Event | None, progress: Callable[[int, int], None] | None) -> Tally:
            name = "ghostpen" if pace is None else f"ghostpen at {pace:g} ms/key"
            sim = PolicyRun(
                engine,
                text,
                settings=options.settings,
                sampling=options.sampling,
                features=options.features,
                pace_ms=pace,
                name=name,
                server=RequestServer(engine),  # each run builds its prompts from scratch
            )
            return sim.run(stop, progress)

        return run

    runs: list[tuple[str, RunFn]] = [("ghostpen", policy(None))]
    if options.pace_ms is not None:
        runs.append((f"ghostpen at {options.pace_ms:g} ms/key", policy(options.pace_ms)))
    if options.baselines:
        runs.append(
            (
                "raw",
                lambda stop, p: run_baseline(RawContinuation(engine), text, stop=stop, progress=p),
            )
        )
        runs.append(
            (
                "no model",
                lambda stop, p: run_baseline(WordCompletion(), text, stop=stop, progress=p),
            )
        )
    return runs


def _labelled(progress: Progress, name: str, path: Path) -> Callable[[int, int], None]:
    label = f"{name}: {path.name}"
    return lambda done, total: progress(label, done, total)


def _judge(tally: Tally, text: str) -> None:
    """The independent checker's verdict on every ghost shown."""
    for g in tally.ghosts:
        before = text[: g.offset]
        g.junk = junk_kinds(g.text, before=before, document=before)


# ------------------------------------------------------------------ the table


def table(report: EvalReport) -> str:
    o = report.options
    chars = next(iter(report.totals.values())).chars if report.totals else 0
    off = [name for name in FEATURES if not getattr(o.features, name)]
    lines = [
        f"Ghostpen eval: {report.model_name} ({o.model.name}), {len(o.files)} file(s), "
        f"{chars:,} characters; suggest when {_threshold(o)}, "
        f"mode {o.settings.mode}, "
        + (
            "the likeliest words"
            if o.settings.likeliest
            else f"sampled at T={o.sampling.temperature:g}"
        )
        + (f"; without {', '.join(off)}" if off else "")
        + (" (interrupted: figures so far)" if report.interrupted else ""),
        "",
        f"  {'run':<26}{'KS':>7}{'accept':>8}{'ghosts':>8}{'chars':>7}{'junk':>7}"
        f"{'paint p50/p90 ms':>19}{'done p50/p90 ms':>18}{'tok/key':>9}",
        f"  {'':<26}{'':>7}{'':>8}{'/100ch':>8}{'/acc':>7}{'':>7}{'':>19}{'':>18}{'':>9}",
    ]
    for name, tally in report.totals.items():
        f = tally.figures()
        model_run = name not in ("raw", "no model")
        lines.append(
            f"  {name:<26}{_pct(f['keystroke_savings']):>7}{_pct(f['acceptance_rate']):>8}"
            f"{f['ghosts_per_100_chars']:>8.1f}{f['chars_per_acceptance']:>7.1f}"
            f"{_pct(f['junk_rate']):>7}"
            f"{_pair(f['key_to_first_paint_ms']) if model_run else '':>19}"
            f"{_pair(f['key_to_complete_ms']) if model_run else '':>18}"
            f"{f['tokens_evaluated_per_keystroke'] if name != 'no model' else 0:>9.2f}"
        )
    for name, tally in report.totals.items():
        answered, unanswered = len(tally.accept_to_next_ms), tally.accepts_unanswered
        if answered or unanswered:
            after = _pair(tally.figures()["accept_to_next_ghost_ms"])
            lines.append(
                f"  {name}: Tab took a whole ghost {answered + unanswered} times; the next "
                f"ghost came {answered} times, in {after} ms (p50 / p90), and not before "
                f"the next key {unanswered} times"
            )
    base = report.totals.get("ghostpen")
    for other in ("raw", "no model"):
        b = report.totals.get(other)
        if base is not None and b is not None and b.keystroke_savings > 0:
            lines.append(
                f"  keystroke savings against {other}: "
                f"{base.keystroke_savings / b.keystroke_savings:.2f}x"
            )
    junk = [(name, g) for name, tally in report.totals.items() for g in tally.junk_ghosts]
    if junk:
        lines.append(f"  junk shown ({len(junk)}), by the independent checker:")
        for name, g in junk[:8]:
            lines.append(f"    {name}: {g.before[-30:]!r} -> {g.text!r} ({', '.join(g.junk)})")
    return "\n".join(lines)


def _threshold(o: EvalOptions) -> str:
    level = o.settings.suggest_when.replace("_", " ")
    if o.features.min_confidence is not None:
        return f"p >= {o.features.min_confidence:g}"
    return f"{level} (p >= {min_confidence(o.settings.suggest_when):g})"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pair(summary: dict[str, Any]) -> str:
    p50, p90 = summary.get("p50"), summary.get("p90")
    if p50 is None or p90 is None:
        return "-"
    return f"{p50:.0f} / {p90:.0f}"


def with_features_off(features: Features, names: Sequence[str]) -> Features:
    """``features`` with the named layers turned off (names from :data:`FEATURES`)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {', '.join(unknown)}; the layers are {', '.join(FEATURES)}"
        )
    return replace(features, **{name: False for name in names})
