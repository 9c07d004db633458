"""`cnncalc summary SPEC`: every layer's shape, params, MACs and memory, and the totals."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.cli import command
from cnncalc.render import Format, render
from cnncalc.report import DTYPE_BYTES, Options

EXAMPLES = """
Examples:

  cnncalc summary vgg16                    # a bundled spec (`cnncalc zoo` lists them)

  cnncalc summary net.yaml --format json   # the stable JSON report

  cnncalc summary net.yaml --depth 1       # top-level entries only

  cat net.yaml | cnncalc summary -         # a spec on standard input
"""

DtypeChoice = typer.Option(
    "--dtype", help=f"Element type for memory figures: {', '.join(DTYPE_BYTES)}.")


@command("summary", help="Per-layer output shape, params, MACs and memory of a spec, with totals."
         + EXAMPLES)
def summary(
    spec: Annotated[str, typer.Argument(help="Spec file, `-` for standard input, or a bundled name.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    batch: Annotated[int, typer.Option("--batch", min=1, max=2**31 - 1, help="Batch size for memory figures.")] = 1,
    dtype: Annotated[str, DtypeChoice] = "float32",
    depth: Annotated[Optional[int], typer.Option("--depth", min=1, help="Show nesting levels above N only.")] = None,
) -> int:
    from cnncalc.checks import run_checks
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.report import build

    if dtype not in DTYPE_BYTES:
        print(f"error: --dtype must be one of {', '.join(DTYPE_BYTES)}, not {dtype!r}", file=sys.stderr)
        return 2
    loaded = load(spec)
    analysis = analyze_loaded(loaded)
    options = Options(batch=batch, dtype=dtype)
    report = build(analysis, loaded.name, options)
    checks = run_checks(analysis, options, loaded.raw)
    text = render(report, format, depth, checks)
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 1 if any(not c.ok for c in checks) else 0
