"""`cnncalc fit SPEC --memory 24GiB`: the largest batch whose training step fits in memory."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated

import typer

from cnncalc.commands.summary import (
    Dtype,
    DtypeChoice,
    Optimizer,
    OptimizerChoice,
    TrainDevice,
    TrainDeviceChoice,
)
from cnncalc.errors import SpecError

MAX_BATCH = 2**31 - 1

SHORT_HELP = "The largest batch whose training step fits in the memory given."
HELP = ("The largest batch size whose peak training memory (a steady-state step: weights, "
        "buffers, optimizer state, the input, what autograd keeps, gradients) fits in the "
        "memory given, with the breakdown at that batch and the batch at which it stops "
        "fitting. Exit 1 when not even batch 1 fits."
        """

Examples:

  cnncalc fit resnet50 --memory 24GiB

  cnncalc fit net.yaml --memory 16GB --optimizer sgd --dtype bfloat16 --format json
""")


class FitFormat(str, Enum):
    table = "table"
    json = "json"


def fit(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="Spec file, `-` for standard input, or a bundled name.")],
    memory: Annotated[str, typer.Option(
        "--memory", help="The memory to fit in: `24GiB`, `16GB`, `80e9`.")],
    optimizer: Annotated[Optimizer, OptimizerChoice] = Optimizer.adam,
    dtype: Annotated[Dtype, DtypeChoice] = Dtype["float32"],
    device: Annotated[TrainDevice, TrainDeviceChoice] = TrainDevice.cuda,
    format: Annotated[FitFormat, typer.Option("--format", "-f", help="Output format.")] =
        FitFormat.table,
) -> int:
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.train import TrainOptions, refuse_symbolic, train_figures
    from cnncalc.units import bytes_text, parse_bytes

    try:
        budget = parse_bytes(memory)
    except ValueError as exc:
        print(f"error: --memory: {exc}", file=sys.stderr)
        return 2
    loaded = load(spec)
    analysis = analyze_loaded(loaded)

    def figures(batch: int):
        return train_figures(analysis, TrainOptions(batch, dtype.value, optimizer.value,
                                                    device.value))

    try:
        refuse_symbolic(analysis)
        first = figures(1)
    except SpecError as exc:
        raise exc.located(loaded.file) from None
    largest = largest_batch(lambda b: figures(b).peak_bytes, budget)
    best = figures(largest) if largest else first
    over = figures(largest + 1) if largest < MAX_BATCH else None
    result = {
        "name": loaded.name, "memory": budget, "optimizer": optimizer.value,
        "dtype": dtype.value, "device": device.value, "batch": largest,
        "fits": largest >= 1, "train": best.as_dict(),
        "stops_fitting": {"batch": largest + 1, "peak_bytes": over.peak_bytes} if over else None,
    }
    if format is FitFormat.json:
        print(json.dumps(result))
        return 0 if largest else 1
    where = f"{bytes_text(budget)} ({device.value}, {dtype.value}, {optimizer.value})"
    if not largest:
        print(f"{loaded.name}: not even batch 1 fits in {where}: its peak is "
              f"{bytes_text(first.peak_bytes)}")
    else:
        print(f"{loaded.name}: batch {largest:,} fits in {where}")
    train = best.as_dict()
    rows = [("weights", train["param_bytes"]), ("buffers", train["buffer_bytes"]),
            (f"optimizer state ({optimizer.value})", train["optimizer_bytes"]),
            ("input", train["input_bytes"]),
            ("saved activations", train["saved_activation_bytes"]),
            ("gradients", train["gradient_bytes"])]
    label = f"at batch {max(largest, 1):,}"
    print(f"  {label}: peak {exact(best.peak_bytes)}, in the {best.peak_phase}")
    for name, value in rows:
        print(f"    {name:<28}{bytes_text(value):>14}")
    if over is not None and largest:
        print(f"  at batch {largest + 1:,}: peak {exact(over.peak_bytes)}, more than "
              f"{budget:,} bytes")
    return 0 if largest else 1


def exact(n: int) -> str:
    from cnncalc.units import bytes_text

    return f"{bytes_text(n)} ({n:,} bytes)"


def largest_batch(peak, budget: int) -> int:
    """The largest batch b ≤ MAX_BATCH with peak(b) ≤ budget (0 if none); the peak grows with
    the batch, so doubling and then bisecting finds it in ~60 evaluations at most."""
    if peak(1) > budget:
        return 0
    low, high = 1, 2
    while high <= MAX_BATCH and peak(high) <= budget:
        low, high = high, high * 2
    high = min(high, MAX_BATCH + 1)
    while high - low > 1:
        middle = (low + high) // 2
        if peak(middle) <= budget:
            low = middle
        else:
            high = middle
    return low
