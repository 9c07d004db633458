"""`cnncalc explain SPEC`: every layer's working, with the spec's numbers in the formulas."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from cnncalc.commands.summary import Optimizer, OptimizerChoice, TrainDevice, TrainDeviceChoice

EXAMPLES = """
Examples:

  cnncalc explain cs231n_conv               # a bundled spec

  cnncalc explain net.yaml --depth 1        # top-level entries only

  cat net.yaml | cnncalc explain -          # a spec pasted on standard input

  cnncalc explain lenet5 --train --batch 32 # with each layer's training rules
"""


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


SHORT_HELP = "Show every layer's working with the spec's numbers."
HELP = ("Show the working for every layer: output size, params and MACs with "
        "the spec's numbers substituted, receptive fields, and a verdict on every `expect`. "
        "Exit status 1 when an expectation is wrong." + EXAMPLES)


def explain(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    format: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format: text, or "
                      "json (the summary report with an `explanation` per layer).")] = ExplainFormat.text,
    depth: Annotated[int | None, typer.Option(
        "--depth", min=1, help="Show the first N levels of nesting only (1: top-level entries).")] = None,
    train: Annotated[bool, typer.Option(
        "--train", help="Also each layer's training rules: its backward FLOPs and the tensors "
        "it keeps for the backward, with the bytes.")] = False,
    batch: Annotated[int, typer.Option(
        "--batch", min=1, max=2**31 - 1, help="Batch size for the training figures.")] = 1,
    optimizer: Annotated[Optimizer, OptimizerChoice] = Optimizer.adam,
    device: Annotated[TrainDevice, TrainDeviceChoice] = TrainDevice.cuda,
) -> int:
    from cnncalc.hints import print_linear_notes
    from cnncalc.override import note_layout
    from cnncalc.pipeline import analyze_loaded, load

    loaded = load(spec)
    note_layout(loaded.spec)
    analysis = analyze_loaded(loaded)
    print_linear_notes(analysis, loaded.file)
    figures = None
    if train:
        from cnncalc.errors import SpecError
        from cnncalc.train import TrainOptions, refuse_symbolic, train_figures

        try:
            refuse_symbolic(analysis)
            figures = train_figures(analysis, TrainOptions(batch, "float32", optimizer.value,
                                                           device.value))
        except SpecError as exc:
            raise exc.located(loaded.file) from None
    return print_explanation(analysis, loaded.name, loaded.raw, format.value, depth,
                             file=loaded.file, train=figures)


def print_explanation(analysis, name: str, raw=None, format: str = "text",
                      depth: int | None = None, checks: bool = True, file: str | None = None,
                      train=None) -> int:
    """Print the explanation (text or JSON) of an analysis; the exit status of its checks
    (`file`: the spec's, for the error of a check that can't be decided)."""
    from cnncalc.checks import exit_status, report_undecided, run_checks
    from cnncalc.explain import explanations, render_text
    from cnncalc.render import render_json
    from cnncalc.report import Options, build

    options = Options()
    report = build(analysis, name, options)
    if train is not None:
        from cnncalc.train import add_to_report

        add_to_report(report, train)
    found = run_checks(analysis, options, raw) if checks else []
    if format == "json":
        for layer, text in zip(report["layers"], explanations(analysis, train)):
            layer["explanation"] = text
        if depth is not None:   # as the text: rows deeper than --depth left out
            from cnncalc.render import visible

            report = dict(report, layers=visible(report, depth))
        sys.stdout.write(render_json(report, found) + "\n")
    else:
        sys.stdout.write(render_text(analysis, report, depth, found, train))
        print_totals(report, found)
    report_undecided(found, file or name, analysis.spec)
    return exit_status(found)


def print_totals(report: dict, checks: list) -> None:
    """The totals, FLOPs = 2 × MACs with its arithmetic, and the expectations table."""
    from rich.console import Console

    from cnncalc.render import render_checks
    from cnncalc.working import n, number

    def shape(dims) -> str:
        return "×".join(str(d) if isinstance(d, int) else n(d) for d in dims)

    totals = report["totals"]
    outputs = report["outputs"]
    shown = (f"output {shape(report['output_shape'])}" if len(outputs) == 1 else
             "outputs " + ", ".join(f"{o['id']} {shape(o['shape'])}" for o in outputs))
    print()
    print(f"Total: {number(totals['params'])} params, {number(totals['macs'])} MACs, "
          f"FLOPs = 2 × MACs = {number(totals['flops'])}; {shown}")
    print("MACs count conv and linear multiply-accumulates without bias; receptive fields are in "
          "input pixels (size r, jump j between neighbouring outputs, start u of output 0's "
          "field; negative starts lie in the padding).")
    if checks:
        print()
        sys.stdout.flush()
        render_checks(checks, Console())
