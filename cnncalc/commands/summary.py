"""`cnncalc summary SPEC`: every layer's shape, params, MACs and memory, and the totals."""

from __future__ import annotations

import sys
from enum import Enum
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

  cnncalc summary net.yaml --explain       # with every layer's working

  cnncalc summary net.yaml --input 3xHxW   # figures as expressions in H, W
"""

# --dtype for `summary` and `check`: typer lists the choices and refuses others (exit 2)
Dtype = Enum("Dtype", {name: name for name in DTYPE_BYTES}, type=str)
DtypeChoice = typer.Option("--dtype", help="Element type for memory figures.")


@command("summary", help="Per-layer output shape, params, MACs and memory of a spec, with totals."
         + EXAMPLES)
def summary(
    spec: Annotated[str, typer.Argument(metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    batch: Annotated[int, typer.Option("--batch", min=1, max=2**31 - 1, help="Batch size for memory figures.")] = 1,
    dtype: Annotated[Dtype, DtypeChoice] = Dtype.float32,
    depth: Annotated[Optional[int], typer.Option("--depth", min=1, help="Show the first N levels of nesting only (1: top-level entries).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also show every layer's working "
                       "(as `cnncalc explain`; in JSON, an `explanation` per layer).")] = False,
    input: Annotated[Optional[str], typer.Option(
        "--input", help="Input shape instead of the spec's, in its layout: `3x512x512`, or names "
        "for symbolic sizes: `3xHxW`.")] = None,
) -> int:
    from cnncalc.checks import exit_status, report_undecided, run_checks
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.report import build

    if explain and format not in (Format.table, Format.json):
        print("error: --explain works with --format table or json", file=sys.stderr)
        return 2
    override = parse_input(input) if input is not None else None
    loaded = load(spec)
    if override is not None:
        check_override(override, input, loaded.spec)
    else:
        note_layout(loaded.spec)
    analysis = analyze_loaded(loaded, override)
    options = Options(batch=batch, dtype=dtype.value)
    report = build(analysis, loaded.name, options)
    checks = run_checks(analysis, options, loaded.raw, expectations=override is None)
    if override is not None and (loaded.spec.expect or any(n.expect for n in loaded.root.walk())):
        print("note: the spec's `expect` values are for its own input, so they aren't checked "
              "with --input", file=sys.stderr)
    if explain:
        from cnncalc.explain import explanations, render_text

        if format is Format.json:
            for layer, lines in zip(report["layers"], explanations(analysis)):
                layer["explanation"] = lines
        elif format is Format.table:
            sys.stdout.write(render_text(analysis, report, depth, checks) + "\n")
            sys.stdout.flush()
    text = render(report, format, depth, checks)
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    report_undecided(checks, loaded.file, loaded.spec.input)
    return exit_status(checks)


def parse_input(text: str) -> list:
    """`3x224x224` / `3xHxW` / `224,224,3` -> [3, 'H', 'W'] (checked as the spec's `input`)."""
    from cnncalc.errors import SpecError
    from cnncalc.spec import parse_sizes

    example = "3x224x224 or 3xHxW"
    try:
        dims = parse_sizes(text, "--input", names=True, example=example)
    except SpecError as exc:
        raise exc.located("--input") from None
    if not 1 <= len(dims) <= 4:
        raise SpecError(f"`--input {text}` has {len(dims)} entries; an input has 1 to 4",
                        hints=[f"write it like {example}"], file="--input")
    return dims


def check_override(dims: list, text: str, spec) -> None:
    """`--input` read in the spec's layout: its channels must be a number, and a note on
    standard error where it changes the spec's number of spatial sizes or of channels."""
    from cnncalc.errors import SpecError

    hwc = spec.layout == "hwc" and len(dims) > 1
    channels = dims[-1] if hwc else dims[0]
    if not isinstance(channels, int):
        raise SpecError(f"`--input {text}`: the channels ({'last' if hwc else 'first'} entry, "
                        f"as the spec's layout {spec.layout} has them) must be a whole number; "
                        "only spatial sizes can be names",
                        hints=[f"write it like {'HxWx3' if hwc else '3xHxW'}"], file="--input")
    own = list(spec.input)
    own_channels = own[-1] if spec.layout == "hwc" and len(own) > 1 else own[0]
    if len(dims) != len(own):
        print(f"note: --input {text} has {_sizes(len(dims) - 1)}; the spec's input {own} has "
              f"{_sizes(len(own) - 1)}", file=sys.stderr)
    elif channels != own_channels:
        print(f"note: --input {text} gives {channels} channels, the spec's input {own} has "
              f"{own_channels} (--input is read in the spec's layout, {spec.layout}: "
              f"{'H×W×C' if spec.layout == 'hwc' else 'C×H×W'})", file=sys.stderr)


def _sizes(n: int) -> str:
    return f"{n} spatial size{'s' if n != 1 else ''}"


def note_layout(spec) -> None:
    """A note for `input: [32, 32, 3]` read channels first: it looks like H×W×C."""
    dims = list(spec.input)
    if (spec.layout == "chw" and len(dims) == 3 and all(isinstance(d, int) for d in dims)
            and dims[0] == dims[1] > 4 and dims[2] in (1, 3, 4)):
        print(f"note: `input: {dims}` is read channels first ({dims[0]} channels of "
              f"{dims[1]}×{dims[2]}); for H×W×C write `layout: hwc`", file=sys.stderr)
