"""``ghostpen`` command line: completion, drafts, conversion, quantization and inspection.

The command line is a stable interface that scripts and later tooling call, so expected
failures print one clear line on stderr and exit non-zero, never a traceback, and
``complete`` and ``draft`` write nothing to stdout but the continuation.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from app import __version__

if TYPE_CHECKING:
    from pathlib import Path

    from app.core.sampling import SamplingSettings

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: ``--max-tokens`` when not given: a ghost-length continuation, and a draft.
COMPLETE_MAX_TOKENS = 32
DRAFT_MAX_TOKENS = 256


class CliError(Exception):
    """An expected failure: its message is shown as one line, without a traceback."""


# --------------------------------------------------------------------------- parser


#: Sampling options whose value, when not given, comes from the preset (or the defaults).
_PRESET_KNOBS = (
    "temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty", "repeat_last_n",
    "presence_penalty", "frequency_penalty",
)  # fmt: skip


def _sampling_options(parser: argparse.ArgumentParser, max_tokens_default: int) -> None:
    """The sampling options; all default to None so that a given value can be told from
    an omitted one, which ``--preset`` (or the defaults) fills in: see resolve_sampling."""
    from app.core.sampling import PRESET_DESCRIPTIONS, SamplingSettings

    d = SamplingSettings()
    g = parser.add_argument_group("sampling", "Options given here override the values of --preset.")
    g.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a preset (default balanced): "
        + "; ".join(f"{name}: {text}" for name, text in PRESET_DESCRIPTIONS.items()),
    )
    g.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help=f"most tokens to generate (default {max_tokens_default})",
    )
    g.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help=f"0 is greedy; higher is bolder (default {d.temperature})",
    )
    g.add_argument(
        "--top-k",
        type=int,
        metavar="K",
        help=f"keep the K likeliest tokens, 0 = off (default {d.top_k})",
    )
    g.add_argument(
        "--top-p", type=float, metavar="P", help=f"nucleus sampling, 1 = off (default {d.top_p})"
    )
    g.add_argument(
        "--min-p",
        type=float,
        metavar="P",
        help=f"drop tokens below P x the top probability (default {d.min_p})",
    )
    g.add_argument(
        "--typical-p",
        type=float,
        metavar="P",
        help=f"locally typical sampling, 1 = off (default {d.typical_p})",
    )
    g.add_argument(
        "--repeat-penalty",
        type=float,
        metavar="R",
        help=f"penalise repeated tokens, 1 = off (default {d.repeat_penalty})",
    )
    g.add_argument(
        "--repeat-last-n",
        type=int,
        metavar="N",
        help=f"window of the repeat penalty in tokens (default {d.repeat_last_n})",
    )
    g.add_argument(
        "--presence-penalty",
        type=float,
        metavar="X",
        help=f"penalise any token already present (default {d.presence_penalty})",
    )
    g.add_argument(
        "--frequency-penalty",
        type=float,
        metavar="X",
        help=f"penalise tokens by how often they occur (default {d.frequency_penalty})",
    )
    g.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="fixed seed for a repeatable result (default: random)",
    )
    g.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop before this text (repeatable)",
    )


def resolve_sampling(args: argparse.Namespace) -> SamplingSettings:
    """The settings a command runs with: each option given on the command line, else the
    preset's value, else the default. Seed, stop strings and length are never the preset's:
    they describe the request, not the style; the length defaults per command."""
    from app.core.sampling import SamplingSettings, preset

    base = preset(args.preset) if args.preset is not None else SamplingSettings()
    given = {name: getattr(args, name) for name in _PRESET_KNOBS if getattr(args, name) is not None}
    max_tokens = args.max_tokens if args.max_tokens is not None else args.max_tokens_default
    return base.with_changes(**given, seed=args.seed, max_tokens=max_tokens, stop=tuple(args.stop))


def _runtime_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("runtime")
    g.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    g.add_argument(
        "--ctx",
        type=int,
        default=None,
        metavar="N",
        help="context size in tokens (default and maximum: the model's)",
    )
    g.add_argument(
        "--gpu-layers",
        type=int,
        default=0,
        metavar="N",
        help="layers to offload to the GPU, -1 = all (needs a GPU build)",
    )


def build_gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghostpen",
        description="Ghostpen: an offline writing assistant (GPT-2 through llama.cpp). "
        "Without a command it opens the editor; commands: "
        + ", ".join(COMMANDS)
        + " (ghostpen COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"ghostpen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show llama.cpp logs")
    parser.add_argument("--model", "-m", metavar="M", help="a GGUF model file to load")
    parser.add_argument("file", nargs="?", metavar="FILE", help="a text or Markdown file")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghostpen",
        description="Ghostpen: an offline writing assistant (GPT-2 through llama.cpp).",
    )
    parser.add_argument("--version", action="version", version=f"ghostpen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show llama.cpp logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("gui", help="open the editor (the default without a command)")
    p.add_argument("--model", "-m", metavar="M", help="a GGUF model file to load")
    p.add_argument("file", nargs="?", metavar="FILE", help="a text or Markdown file")
    # For smoke tests of a build (packaging/smoke.sh): quit once the window has painted.
    p.add_argument("--quit-after-shown", action="store_true", help=argparse.SUPPRESS)

    for name, max_tokens, summary, description in (
        (
            "complete", COMPLETE_MAX_TOKENS, "print a continuation of TEXT",
            "Continue TEXT with the model and print only the continuation on stdout.",
        ),
        (
            "draft", DRAFT_MAX_TOKENS, "stream a longer draft that continues TEXT",
            "Write a draft that continues TEXT, printing it on stdout as it is generated. "
            "Ctrl+C stops it, keeping what was printed.",
        ),
    ):  # fmt: skip
        p = sub.add_parser(name, help=summary, description=description)
        p.add_argument(
            "--model",
            "-m",
            metavar="M",
            help="a GGUF file or an installed model's name (default: the app's model, the "
            "one `ghostpen models list` marks with *)",
        )
        p.add_argument("text", metavar="TEXT", help="the text to continue, or - to read stdin")
        p.add_argument("--timings", action="store_true", help="print timings on stderr")
        p.add_argument(
            "--no-heal",
            action="store_true",
            help="continue the raw text: no token healing, markup tags allowed (by default "
            "a TEXT ending in a space or inside a word goes on as the editor's ghosts do)",
        )
        p.set_defaults(max_tokens_default=max_tokens)  # read by resolve_sampling
        _sampling_options(p, max_tokens_default=max_tokens)
        _runtime_options(p)

    p = sub.add_parser("convert", help="convert a Hugging Face GPT-2 folder to GGUF")
    p.add_argument("hf_dir", metavar="HF_DIR")
    p.add_argument("out", metavar="OUT.gguf")
    p.add_argument(
        "--outtype",
        default="f16",
        choices=["f32", "f16", "q8_0"],
        help="tensor type of the output (default f16)",
    )

    p = sub.add_parser("quantize", help="quantize a GGUF with llama.cpp")
    p.add_argument("src", metavar="IN.gguf")
    p.add_argument("dst", metavar="OUT.gguf")
    p.add_argument(
        "--type",
        dest="quant_type",
        default="Q8_0",
        metavar="TYPE",
        help="Q8_0, Q6_K, Q5_K_M, Q5_0, Q4_K_M, Q4_0, F16, ... (default Q8_0)",
    )
    p.add_argument("--threads", type=int, default=None, metavar="N")

    p = sub.add_parser("inspect", help="validate a GGUF and describe it")
    p.add_argument("model", metavar="M.gguf")
    p.add_argument("--json", action="store_true", help="print JSON")

    from app import cli_models

    cli_models.add_parser(sub)

    p = sub.add_parser(
        "bench",
        help="measure suggestion latency, engine speed and footprint",
        description="Type a fixed passage into the real editor and measure latency; compare "
        "the engine with plain llama-cpp-python; print a table (see docs/performance.md).",
    )
    p.add_argument("--model", "-m", metavar="M", help="a GGUF or an installed model's name "
                   "(default: a GPT-2 124M-shaped Q8_0 with random weights, plus the offline "
                   "model when installed)")  # fmt: skip
    p.add_argument("--chars", type=int, metavar="N", help="type only the first N characters")
    p.add_argument("--intervals", default="150,60", metavar="MS,MS",
                   help="typing paces in ms per keystroke (default 150,60)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=5, metavar="N", help="throughput runs")
    p.add_argument("--sizes", default="128,512", metavar="N,N", help="prompt sizes in tokens")
    p.add_argument("--no-offline", action="store_true", help="skip the offline model")
    p.add_argument("--no-throughput", action="store_true", help="skip the engine comparison")
    p.add_argument("--startup-runs", type=int, default=3, metavar="N")
    p.add_argument("--tokenizer", metavar="DIR", help="GPT-2 vocab.json + merges.txt")
    p.add_argument("--json", metavar="FILE", default="ghostpen-bench.json",
                   help="the figures as JSON (default ghostpen-bench.json)")  # fmt: skip

    p = sub.add_parser(
        "eval",
        help="measure how much typing the suggestions save on a text",
        description="Type each text one character at a time through the editor's own "
        "suggestion policy and the real model (a simulated writer who takes every right "
        "word a ghost offers), and through two baselines; report keystrokes saved, "
        "acceptance, junk and latency (see docs/quality.md).",
    )
    p.add_argument("files", nargs="+", metavar="TEXT_FILE", help="UTF-8 text to type")
    p.add_argument(
        "--model", "-m", metavar="M",
        help="a GGUF file or an installed model's name (default: the app's model)",
    )  # fmt: skip
    p.add_argument(
        "--preset", metavar="NAME",
        help="draw suggestions with this sampling preset (default: the likeliest words, "
        "as the app does)",
    )  # fmt: skip
    p.add_argument(
        "--pace", type=float, metavar="MS",
        help="also type a key every MS ms: a ghost then counts only if painted in time",
    )  # fmt: skip
    p.add_argument(
        "--limit", type=int, metavar="N", help="type only the first N characters of each file"
    )
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for the model")
    p.add_argument(
        "--suggest-when", metavar="LEVEL",
        help="always, fairly_sure or very_sure (default: the app's setting)",
    )  # fmt: skip
    p.add_argument(
        "--min-confidence", type=float, metavar="P",
        help="the probability a ghost needs, instead of the --suggest-when level's (tuning)",
    )  # fmt: skip
    p.add_argument(
        "--without", metavar="LAYER,...", default="",
        help="turn layers off to see what each buys: healing, junk_filter, confidence, prefetch",
    )  # fmt: skip
    p.add_argument(
        "--no-baselines", action="store_true", help="skip the raw and no-model baselines"
    )
    p.add_argument("--json", metavar="FILE", help="the figures as JSON")
    p.add_argument("--ghosts", metavar="FILE", help="every ghost shown, as JSON lines")
    return parser


# --------------------------------------------------------------------------- commands


def _read_text(arg: str) -> str:
    if arg != "-":
        return arg
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"standard input is not UTF-8 text (byte {exc.start})") from None


def _write(stream: TextIO, text: str) -> None:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        stream.write(text)
        stream.flush()


@contextmanager
def _ctrl_c_cancels(cancel: threading.Event) -> Iterator[threading.Event]:
    """Turn the first Ctrl+C into ``cancel``, so generation stops between tokens (or
    inside a long prompt evaluation) and the command ends cleanly with what it printed.

    A KeyboardInterrupt raised at an arbitrary point could land inside llama.cpp's abort
    callback, where ctypes would print and swallow it. A second Ctrl+C raises as usual,
    in case something does not stop. Yields an event that tells whether Ctrl+C came.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted  # signal handlers can only be set from the main thread
        return

    def on_sigint(_signum: int, _frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        cancel.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _chosen_model(spec: str | None) -> Path:
    """``--model``: a file, an installed model's id or name, or (None) the model the app
    opens with, as ``ghostpen models list`` marks it."""
    from app.core.model_choice import resolve_model
    from app.core.model_store import ModelStore
    from app.core.paths import AppPaths
    from app.core.settings import load_settings

    remembered = load_settings(AppPaths.default().settings_file).settings.model_path
    return resolve_model(spec, ModelStore.default(), remembered)


def _continue_text(args: argparse.Namespace) -> int:
    """``complete`` and ``draft``: stream the continuation of TEXT to stdout, piece by piece."""
    from app.core.engine import Engine
    from app.core.gguf_info import inspect_model
    from app.core.model_probe import ensure_loadable

    settings = resolve_sampling(args)
    text = _read_text(args.text)
    cancel = threading.Event()
    model = _chosen_model(args.model)
    inspect_model(model)  # a clear message for a broken file, before any process
    ensure_loadable(model)  # llama.cpp meets a new file in a child process first
    engine = Engine(model, n_ctx=args.ctx, n_threads=args.threads, n_gpu_layers=args.gpu_layers)
    with engine, _ctrl_c_cancels(cancel) as interrupted:
        result = engine.complete(
            text,
            settings,
            on_text=lambda piece: _write(sys.stdout, piece),
            cancel=cancel,
            heal=not args.no_heal,
            avoid_markup=not args.no_heal,
        )
    if sys.stdout.isatty():
        _write(sys.stdout, "\n")
    if args.timings:
        t = result.timings
        print(
            f"prompt: {t.prompt_tokens} tokens ({t.prompt_tokens_evaluated} evaluated) in "
            f"{t.prompt_ms:.1f} ms; generated {t.generated_tokens} tokens in "
            f"{t.generation_ms:.1f} ms ({t.tokens_per_second:.1f} tokens/s); "
            f"stop: {result.stop_reason.value}; seed {result.seed}",
            file=sys.stderr,
        )
    return _interrupted() if interrupted.is_set() else 0


cmd_complete = _continue_text
cmd_draft = _continue_text


def _show_progress(done: int, total: int, label: str) -> None:
    """One rewritten status line on a terminal; nothing when stderr is redirected."""
    if sys.stderr.isatty():
        end = "\n" if done >= total else ""
        print(f"\r[{done}/{total}] {label:<48}", end=end, file=sys.stderr, flush=True)


def cmd_convert(args: argparse.Namespace) -> int:
    from app.core.convert import convert_checkpoint

    out = convert_checkpoint(
        args.hf_dir,
        args.out,
        args.outtype,
        progress=lambda p: _show_progress(p.done, p.total, p.message),
    )
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {args.outtype})", file=sys.stderr)
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from app.core.quantize import quantize

    report = quantize(
        args.src, args.dst, args.quant_type, n_threads=args.threads, progress=_show_progress
    )
    print(report.summary(), file=sys.stderr)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from app.core.gguf_info import inspect_model

    info = inspect_model(args.model)
    if args.json:
        _write(sys.stdout, json.dumps(info.to_dict(), indent=2, sort_keys=True) + "\n")
        return 0
    rows: list[tuple[str, Any]] = [
        ("file", info.path),
        ("size", f"{info.file_size / 2**20:.1f} MiB"),
        ("architecture", info.architecture),
        ("name", info.name),
        ("parameters", f"{info.parameter_count:,}"),
        ("file type", info.file_type),
        ("tensor types", ", ".join(f"{k} x{v}" for k, v in sorted(info.tensor_types.items()))),
        ("context length", info.context_length),
        ("embedding length", info.embedding_length),
        ("layers", info.block_count),
        ("heads", info.head_count),
        ("vocabulary", f"{info.vocab_size:,}"),
        ("tokenizer", f"{info.tokenizer_model} ({info.tokenizer_pre or 'default'})"),
    ]
    width = max(len(k) for k, _ in rows)
    _write(sys.stdout, "".join(f"{k:<{width}}  {v}\n" for k, v in rows))
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from app.gui.app import run_gui

    if getattr(args, "quit_after_shown", False):
        _quit_after_first_paint()
    return run_gui(args.model, args.file)


def _quit_after_first_paint() -> None:
    """``gui --quit-after-shown``: close the editor from its event loop once the main
    window has really painted, so that a smoke test of a build (offscreen) covers the whole
    start, the window and a normal quit (threads stopped, settings saved), and its exit
    status means something. Says so on stderr, so the test can tell it from an early exit.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from app.gui.main_window import MainWindow

    # The same application run_gui would create; it takes the existing one.
    app = QApplication.instance() or QApplication(sys.argv[:1])

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
                window = watched.window()
                if isinstance(window, MainWindow) and window.isVisible():
                    app.removeEventFilter(self)
                    QTimer.singleShot(0, self, lambda: self.quit(window))
            return False

        def quit(self, window: QWidget) -> None:
            size = window.size()
            print(
                f"ghostpen: the main window was shown ({size.width()}x{size.height()}, "
                f"platform {QApplication.platformName()}); quitting",
                file=sys.stderr,
                flush=True,
            )
            QApplication.closeAllWindows()
            QApplication.quit()

    app.installEventFilter(FirstPaint(app))


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    if getattr(sys, "frozen", False):
        # It starts `python -m app.bench...` processes and drives the editor with QtTest.
        raise CliError("bench runs from a source install (python -m app bench), not the app")
    from app.bench.passage import PASSAGE
    from app.bench.run import BenchOptions, run_bench, table

    def numbers(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise CliError(f"expected numbers separated by commas, got {text!r}") from None
        if not values or min(values) <= 0:
            raise CliError(f"expected positive numbers, got {text!r}")
        return values

    options = BenchOptions(
        model=_chosen_model(args.model) if args.model else None,
        chars=min(args.chars or len(PASSAGE), len(PASSAGE)),
        intervals=numbers(args.intervals),
        repeats=max(1, args.repeats),
        sizes=numbers(args.sizes),
        offline=not args.no_offline,
        throughput=not args.no_throughput,
        startup_runs=max(0, args.startup_runs),
        tokenizer=args.tokenizer,
        json_out=Path(args.json) if args.json else None,
    )
    report = run_bench(options)
    _write(sys.stdout, table(report) + "\n")
    print(f"figures written to {options.json_out}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from app.core.model_probe import ensure_loadable
    from app.core.sampling import SamplingSettings, preset
    from app.core.settings import SuggestionSettings
    from app.core.suggestion_policy import Features
    from app.eval.run import EvalOptions, read_text, run_eval, table, with_features_off

    files = tuple(Path(f) for f in args.files)
    for f in files:
        if not f.is_file():
            raise CliError(f"{f}: no such file")
        try:
            read_text(f)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.limit is not None and args.limit <= 0:
        raise CliError(f"--limit must be a positive number of characters, got {args.limit}")
    if args.pace is not None and args.pace <= 0:
        raise CliError(f"--pace must be a positive number of milliseconds, got {args.pace}")
    model = _chosen_model(args.model)
    ensure_loadable(model)
    # A named preset means its sampling is what is measured: suggestions are drawn with it.
    settings = replace(SuggestionSettings(), likeliest=args.preset is None)
    if args.suggest_when is not None:
        settings = replace(settings, suggest_when=args.suggest_when)
    layers = [name.strip() for name in args.without.split(",") if name.strip()]
    if args.min_confidence is not None and not 0.0 <= args.min_confidence < 1.0:
        raise CliError(f"--min-confidence must be from 0 to below 1, got {args.min_confidence}")
    try:
        features = with_features_off(Features(min_confidence=args.min_confidence), layers)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    options = EvalOptions(
        files=files,
        model=model,
        settings=settings,
        sampling=preset(args.preset) if args.preset else SamplingSettings(),
        pace_ms=args.pace,
        limit=args.limit,
        threads=args.threads,
        features=features,
        baselines=not args.no_baselines,
    )
    cancel = threading.Event()
    ghosts = open(args.ghosts, "w", encoding="utf-8") if args.ghosts else None  # noqa: SIM115
    try:
        with _ctrl_c_cancels(cancel) as interrupted:
            report = run_eval(
                options,
                stop=cancel,
                progress=lambda label, done, total: _show_progress(done, total, label),
                ghosts=ghosts,
            )
    finally:
        if ghosts is not None:
            ghosts.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _write(sys.stdout, table(report) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n", "utf-8")
        print(f"figures written to {args.json}", file=sys.stderr)
    return _interrupted() if interrupted.is_set() else 0


def cmd_models(args: argparse.Namespace) -> int:
    from app import cli_models

    return cli_models.run(args)


COMMANDS = {
    "gui": cmd_gui,
    "models": cmd_models,
    "bench": cmd_bench,
    "eval": cmd_eval,
    "complete": cmd_complete,
    "draft": cmd_draft,
    "convert": cmd_convert,
    "quantize": cmd_quantize,
    "inspect": cmd_inspect,
}


def _expected_errors() -> tuple[type[BaseException], ...]:
    from app.cli_models import errors as model_errors
    from app.core.convert import ConversionError
    from app.core.engine import EngineError
    from app.core.gguf_info import ModelFileError
    from app.core.model_choice import ModelChoiceError
    from app.core.model_probe import ProbeError
    from app.core.quantize import QuantizeError
    from app.core.sampling import SettingError

    return (CliError, ModelFileError, ConversionError, QuantizeError, EngineError,
            SettingError, ProbeError, ModelChoiceError, OSError, *model_errors())  # fmt: skip


def _interrupted() -> int:
    print("ghostpen: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    print(f"ghostpen: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.core import model_probe

    if argv[:1] == [model_probe.PROBE_FLAG]:
        # The model probe's child process in a frozen app, which has no `python -m`.
        return model_probe.main(argv)
    # `ghostpen [--model M] [FILE]` opens the editor; `ghostpen COMMAND ...` runs a command.
    is_command = bool(argv) and (argv[0] in COMMANDS or argv[0] in ("-h", "--help"))
    parser = build_parser() if is_command else build_gui_parser()
    args = parser.parse_args(argv)
    if not is_command:
        args.command = "gui"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(name)s: %(message)s",
    )
    if not args.verbose:  # Ghostpen reports llama.cpp's failures in its own words
        logging.getLogger("ghostpen.llama_cpp").setLevel(logging.CRITICAL)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return _interrupted()
    except _expected_errors() as exc:
        message = str(exc)
        if isinstance(exc, OSError) and not isinstance(exc, CliError):
            message = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        _fail(message)


if __name__ == "__main__":
    sys.exit(main())
