"""``ghostpen``: the command table, the parser built from each command group, and ``main``.

The one module that knows every command; each group module adds its own subcommands,
so a command is changed in one place. Nothing imports this module but the package.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from app import __version__
from app.cli import bench, complete, convert, gui, models
from app.cli import eval as evaluation
from app.cli.common import CliError, fail, report_interrupted

#: Every command and what runs it; the order is the one ``ghostpen --help`` (without a
#: command) lists them in.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gui": gui.cmd_gui,
    "models": models.cmd_models,
    "bench": bench.cmd_bench,
    "eval": evaluation.cmd_eval,
    "complete": complete.continue_text,
    "draft": complete.continue_text,
    "convert": convert.cmd_convert,
    "quantize": convert.cmd_quantize,
    "inspect": convert.cmd_inspect,
}
#: The command groups in the order ``ghostpen --help`` lists their commands.
GROUPS = (gui, complete, convert, models, bench, evaluation)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"ghostpen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show llama.cpp logs")


def build_gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghostpen",
        description="Ghostpen: an offline writing assistant (GPT-2 through llama.cpp). "
        "Without a command it opens the editor; commands: "
        + ", ".join(COMMANDS)
        + " (ghostpen COMMAND --help).",
    )
    _common_options(parser)
    gui.add_editor_arguments(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghostpen",
        description="Ghostpen: an offline writing assistant (GPT-2 through llama.cpp).",
    )
    _common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    from app.core.convert import ConversionError
    from app.core.engine import EngineError
    from app.core.gguf_info import ModelFileError
    from app.core.model_choice import ModelChoiceError
    from app.core.model_probe import ProbeError
    from app.core.quantize import QuantizeError
    from app.core.sampling import SettingError

    return (CliError, ModelFileError, ConversionError, QuantizeError, EngineError,
            SettingError, ProbeError, ModelChoiceError, OSError, *models.errors())  # fmt: skip


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
        return report_interrupted()
    except _expected_errors() as exc:
        message = str(exc)
        if isinstance(exc, OSError) and not isinstance(exc, CliError):
            message = f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
        fail(message)
