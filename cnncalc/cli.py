"""The `cnncalc` command line. Each subcommand lives in `cnncalc.commands.<name>` and returns
an exit status: 0 ok, 1 a check failed, 2 bad input."""

from __future__ import annotations

import errno
import functools
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cnncalc import __version__
from cnncalc.errors import SpecError
from cnncalc.output import prepare_streams

app = typer.Typer(
    name="cnncalc",
    help=("Exact shapes, parameters, MACs, FLOPs, memory and receptive fields of a CNN from a "
          "YAML spec, without building it.\n\n"
          "MACs are conv/linear multiply-accumulates without bias (torchvision's GFLOPS column, "
          "fvcore's flops); FLOPs = 2 × MACs (PyTorch's FlopCounterMode).\n\n"
          "Exit status: 0 ok, 1 a check failed, 2 bad input."),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None):
    pass


def command(name: str, **kwargs):
    """Register a subcommand whose function returns an exit status; a SpecError becomes
    `file:line:col: error: …` on standard error and exit status 2."""
    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kw):
            try:
                status = function(*args, **kw)
            except SpecError as exc:
                print(exc.format(), file=sys.stderr)
                status = 2
            sys.stdout.flush()   # a failed write is then reported by main, not at exit
            raise typer.Exit(status or 0)
        if "help" in kwargs:
            kwargs["help"] = _keep_examples(kwargs["help"])
        app.command(name, **kwargs)(run)
        return function
    return decorate


def _keep_examples(help: str) -> str:
    """A help text whose "Examples:" paragraphs click prints as written (`\b`), not rewrapped."""
    head, found, examples = help.partition("Examples:")
    if not found:
        return help
    paragraphs = [p.strip("\n") for p in examples.split("\n\n") if p.strip()]
    return "\n\n".join([head.rstrip(), "Examples:", *("\b\n" + p for p in paragraphs)])


# Where writing the output fails for a reason of the machine's, not of a file we were given.
# (A closed pipe, EPIPE, is rich's and click's to handle: they exit 1 quietly.)
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}

_skip_teardown = False


def skip_teardown() -> None:
    """For a command that has loaded PyTorch and runs no one else's code: the process leaves
    without the interpreter's teardown once the output is out. That teardown (collecting and
    freeing PyTorch's ~165,000 objects, then its C++ static destructors) takes about 0.4 s, a
    quarter of a `validate` run, and PyTorch's exit handlers only flush its debug logs and
    statistics. Not for `validate --against`: the user's code may have exit work of its own."""
    global _skip_teardown
    _skip_teardown = True


def main() -> None:
    global _skip_teardown
    _skip_teardown = False
    # One run builds one large tree of objects and exits; the cyclic collector's default
    # thresholds rescan that tree again and again (most of a 100,000-layer summary's time).
    # Collect rarely, as mypy does.
    gc.set_threshold(200_000, 30, 30)
    if (status := prepare_streams()) is not None:   # a closed stdout, an ASCII terminal
        raise SystemExit(status)
    _register(sys.argv[1] if len(sys.argv) > 1 else None)
    try:
        app()
    except OSError as exc:
        if exc.errno not in WRITE_ERRORS or exc.filename is not None:
            raise
        print(f"error: cannot write the output: {exc.strerror}", file=sys.stderr)
        _leave(1)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            _leave(done.code or 0)
        raise


def _leave(status: int) -> None:
    """Exit with `status`: without the teardown where a command asked (skip_teardown) and the
    output is out, else as Python does."""
    if _skip_teardown:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass        # the output can't be written: Python's own exit deals with it
        else:
            os._exit(status)
    raise SystemExit(status)


def _register(command: str | None = None) -> None:
    # Importing a command module registers it (cheap: heavy imports happen inside commands).
    # `cnncalc summary …` imports only its own module (each one costs a cold start ~2 ms);
    # anything else (`--help`, `--version`, a typo) registers them all.
    if (command and command.isidentifier() and not command.startswith("_") and len(command) < 64
            and (Path(__file__).parent / "commands" / f"{command}.py").is_file()):
        importlib.import_module(f"cnncalc.commands.{command}")
        return
    from cnncalc.commands import check, conv, explain, inputs, kinds, pool, schema, summary, validate, zoo  # noqa: F401
