"""The `cnncalc` command line. Each subcommand lives in `cnncalc.commands.<name>` and returns
an exit status: 0 ok, 1 a check failed, 2 bad input."""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Optional

import typer

from cnncalc import __version__
from cnncalc.errors import SpecError

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
            raise typer.Exit(status or 0)
        app.command(name, **kwargs)(run)
        return function
    return decorate


def main() -> None:
    _register()
    app()


def _register() -> None:
    # Importing a command module registers it (cheap: heavy imports happen inside commands).
    from cnncalc.commands import kinds, summary  # noqa: F401
