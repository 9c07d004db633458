"""The `cnncalc` command line: the table of subcommands, and running one.

A subcommand is a function in `cnncalc.commands.<module>` that returns an exit status (0 ok,
1 a check failed, 2 bad input), with its help text in the module's `HELP`. Its module is
imported only when it runs, or when `--help` (or a mistyped name) needs every summary.
Commands never import this module: it imports them."""

from __future__ import annotations

import errno
import functools
import gc
import importlib
import os
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from cnncalc import __version__, commands
from cnncalc.errors import SpecError
from cnncalc.output import prepare_streams

# name -> "module:function", in the order `cnncalc --help` lists them
COMMANDS = {
    "summary": "cnncalc.commands.summary:summary",
    "check": "cnncalc.commands.check:check",
    "conv": "cnncalc.commands.conv:conv",
    "explain": "cnncalc.commands.explain:explain",
    "fit": "cnncalc.commands.fit:fit",
    "inputs": "cnncalc.commands.inputs:inputs",
    "kinds": "cnncalc.commands.kinds:kinds",
    "pool": "cnncalc.commands.pool:pool",
    "solve": "cnncalc.commands.solve:solve",
    "schema": "cnncalc.commands.schema:schema",
    "validate": "cnncalc.commands.validate:validate",
    "import": "cnncalc.commands.import:import_model",
    "zoo": "cnncalc.commands.zoo:zoo",
}

HELP = ("Exact shapes, parameters, MACs, FLOPs, memory and receptive fields of a CNN from a "
        "YAML spec, without building it.\n\n"
        "MACs are conv/linear multiply-accumulates without bias (torchvision's GFLOPS column, "
        "fvcore's flops); FLOPs = 2 × MACs (PyTorch's FlopCounterMode).\n\n"
        "Exit status: 0 ok, 1 a check failed, 2 bad input.")

# Where writing the output fails for a reason of the machine's, not of a file we were given.
# (A closed pipe, EPIPE, is rich's and click's to handle: they exit 1 quietly.)
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


def _options(version: Annotated[bool | None, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None):
    pass


def build_app(name: str | None = None) -> typer.Typer:
    """The typer app for a command line whose first word is `name`: only that command when it
    is one (a cold `cnncalc summary` imports nothing else), else every command, for `--help`
    and for the error that names the nearest one."""
    app = typer.Typer(
        name="cnncalc",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_options)
    for command in [name] if name in COMMANDS else COMMANDS:
        module_name, function_name = COMMANDS[command].split(":")
        module = importlib.import_module(module_name)
        # SHORT_HELP: the line `cnncalc --help` shows, where the help's first sentence is long
        app.command(command, help=_keep_examples(module.HELP), cls=_command_class(),
                    short_help=getattr(module, "SHORT_HELP", None))(
            _exit_status(getattr(module, function_name)))
    return app


def _command_class():
    """A command whose usage errors (an unknown `--layout`, a missing `--kernel`), with
    `--json` on its command line, are also a JSON object on standard output, as its other errors
    are (commands.conv.json_errors); the text still goes to standard error, exit status 2."""
    import json

    from typer.core import TyperCommand

    class JsonUsageErrors(TyperCommand):
        def parse_args(self, ctx, args: list[str]) -> list[str]:
            wants_json = "--json" in args and any("--json" in p.opts for p in self.params)
            try:
                return super().parse_args(ctx, args)
            except Exception as exc:
                # click's UsageError (exit status 2), from the click that typer runs on: its
                # own copy (typer._click) in recent typers, click itself in older ones
                if wants_json and getattr(exc, "exit_code", None) == 2 and hasattr(exc, "format_message"):
                    error = {"where": f"cnncalc {self.name}", "message": exc.format_message(),
                             "notes": [], "hints": [f"`cnncalc {self.name} --help` lists the options"]}
                    sys.stdout.write(json.dumps({"error": error}, indent=2, ensure_ascii=False) + "\n")
                raise

    return JsonUsageErrors


def _exit_status(function: Callable[..., int]) -> Callable[..., None]:
    """A command whose status becomes the exit status; a SpecError becomes
    `file:line:col: error: …` on standard error and exit status 2."""
    @functools.wraps(function)
    def run_command(*args, **kwargs):
        try:
            status = function(*args, **kwargs)
        except SpecError as exc:
            print(exc.format(), file=sys.stderr)
            status = 2
        sys.stdout.flush()   # a failed write is then reported by run, not at exit
        raise typer.Exit(status or 0)
    return run_command


def _keep_examples(help: str) -> str:
    """A help text whose "Examples:" paragraphs click prints as written (`\b`), not rewrapped."""
    head, found, examples = help.partition("Examples:")
    if not found:
        return help
    paragraphs = [p.strip("\n") for p in examples.split("\n\n") if p.strip()]
    return "\n\n".join([head.rstrip(), "Examples:", *("\b\n" + p for p in paragraphs)])


def run(argv: list[str]) -> int:
    """Run the command line `argv` (without the program's name) in this process: its output on
    standard output and error, its exit status returned."""
    app = build_app(argv[0] if argv else None)
    try:
        app(args=argv)
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS or exc.filename is not None:
            raise
        print(f"error: cannot write the output: {exc.strerror}", file=sys.stderr)
        return 1
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        raise
    return 0


def main() -> None:
    """The console script and `python -m cnncalc`."""
    commands.teardown_skipped = False
    # One run builds one large tree of objects and exits; the cyclic collector's default
    # thresholds rescan that tree again and again (most of a 100,000-layer summary's time).
    # Collect rarely, as mypy does.
    gc.set_threshold(200_000, 30, 30)
    status = prepare_streams()      # a closed standard output, an encoding without ×
    _leave(status if status is not None else run(sys.argv[1:]))


def _leave(status: int) -> None:
    """Exit with `status`: without the teardown where a command asked
    (commands.skip_teardown) and the output is out, else as Python does."""
    if commands.teardown_skipped:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass        # the output can't be written: Python's own exit deals with it
        else:
            os._exit(status)
    raise SystemExit(status)
