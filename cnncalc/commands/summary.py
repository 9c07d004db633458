"""`cnncalc summary SPEC`: every layer's shape, params, MACs and memory, and the totals."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from cnncalc.errors import SpecError
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

  cnncalc summary resnet50 --train --batch 64 --optimizer adam   # a training step's figures
"""

# --dtype for `summary` and `check`: typer lists the choices and refuses others (exit 2).
# (mypy can't see members made from DTYPE_BYTES: hence the ignore, and `Dtype["float32"]`.)
Dtype = Enum("Dtype", {name: name for name in DTYPE_BYTES}, type=str)  # type: ignore[misc]
DtypeChoice = typer.Option("--dtype", help="Element type for memory figures.")


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"


class TrainDevice(str, Enum):
    cuda = "cuda"
    cpu = "cpu"


OptimizerChoice = typer.Option("--optimizer", help="The optimizer whose state the training "
                               "figures count (with --train).")
TrainDeviceChoice = typer.Option("--device", help="Whose kernels the training figures follow "
                                 "(dropout's mask, Adam's temporaries differ).")


SHORT_HELP = "Per-layer shapes, params, MACs and memory, with totals."
HELP = "Per-layer output shape, params, MACs and memory of a spec, with totals." + EXAMPLES


def summary(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=2**31 - 1, help="Batch size for memory figures.")] = 1,
    dtype: Annotated[Dtype, DtypeChoice] = Dtype["float32"],
    depth: Annotated[int | None, typer.Option(
        "--depth", min=1, help="Show the first N levels of nesting only (1: top-level entries).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also show every layer's working "
                       "(as `cnncalc explain`; in JSON, an `explanation` per layer).")] = False,
    input: Annotated[str | None, typer.Option(
        "--input", help="Input shape instead of the spec's, in its layout: `3x512x512`, or names "
        "for symbolic sizes: `3xHxW`.")] = None,
    train: Annotated[bool, typer.Option(
        "--train", help="Also a training step's figures: backward FLOPs and saved activations "
        "per layer; gradients, optimizer state and the peak in the totals.")] = False,
    optimizer: Annotated[Optimizer, OptimizerChoice] = Optimizer.adam,
    device: Annotated[TrainDevice, TrainDeviceChoice] = TrainDevice.cuda,
) -> int:
    from cnncalc.checks import exit_status, report_failed, report_undecided, run_checks
    from cnncalc.override import check_override, note_layout, parse_input
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.report import build

    if explain and format not in (Format.table, Format.json):
        print("error: --explain works with --format table or json", file=sys.stderr)
        return 2
    override = parse_input(input) if input is not None else None
    loaded = load(spec)
    if input is not None and override is not None:
        check_override(override, input, loaded.spec)
    else:
        note_layout(loaded.spec)
    analysis = analyze_loaded(loaded, override)
    from cnncalc.hints import print_linear_notes

    print_linear_notes(analysis, loaded.file)
    options = Options(batch=batch, dtype=dtype.value)
    report = build(analysis, loaded.name, options)
    if train:
        from cnncalc.train import TrainOptions, add_to_report, refuse_symbolic, train_figures

        try:
            refuse_symbolic(analysis)
            add_to_report(report, train_figures(analysis, TrainOptions(
                batch, dtype.value, optimizer.value, device.value)))
        except SpecError as exc:
            raise exc.located(loaded.file) from None
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
    report_undecided(checks, loaded.file, loaded.spec, from_option=override is not None)
    if format is Format.csv:   # CSV has no place for the checks: their failures go to stderr
        report_failed(checks, loaded.file)
    return exit_status(checks)
