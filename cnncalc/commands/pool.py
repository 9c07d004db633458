"""`cnncalc pool 55x55x96 --kernel 3 --stride 2`: a one-line pooling question (see conv.py)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from cnncalc.commands.conv import (
    Layout,
    LayoutOption,
    Rounding,
    RoundingOption,
    answer,
    command_line_errors,
    input_shape,
    json_errors,
    one_d_note,
    per_axis_value,
)


class PoolType(str, Enum):
    max = "max"
    avg = "avg"


SHORT_HELP = "Explain one pooling layer on an input shape."
HELP = ("Explain one pooling layer on an input shape, e.g. "
        "`cnncalc pool 55x55x96 --kernel 3 --stride 2` (lecture notation HxWxC; --layout chw "
        "for PyTorch's CxHxW). The stride defaults to the kernel size, as in PyTorch. Exit "
        "status 2 when the window doesn't fit, with the arithmetic.")


def pool(
    shape: Annotated[str, typer.Argument(metavar="SHAPE", help="Input shape, e.g. 55x55x96 (HxWxC).")],
    kernel: Annotated[str, typer.Option("--kernel", "-f", help="Window size F (or 3x5 per axis).")],
    stride: Annotated[str | None, typer.Option(
        "--stride", "-s", help="Stride S (default: the kernel size).")] = None,
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding P on each side.")] = "0",
    type: Annotated[PoolType, typer.Option("--type", "-t", help="max or avg pooling.")] = PoolType.max,
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation D (max pooling only).")] = "1",
    ceil_mode: Annotated[bool, typer.Option(
        "--ceil-mode", help="Round the output size up, as PyTorch's ceil_mode=True.")] = False,
    layout: Annotated[Layout, LayoutOption] = Layout.hwc,
    rounding: Annotated[Rounding, RoundingOption] = Rounding.strict,
    as_json: Annotated[bool, typer.Option(
        "--json", help="The summary report as JSON, with the explanation.")] = False,
) -> int:
    with json_errors(as_json):
        return _pool(shape, kernel, stride, padding, type, dilation, ceil_mode, layout, rounding,
                     as_json)


def _pool(shape, kernel, stride, padding, type, dilation, ceil_mode, layout, rounding, as_json) -> int:
    from cnncalc.errors import SpecError

    with command_line_errors("pool"):
        args = {"kernel": per_axis_value(kernel, "kernel"), "stride": per_axis_value(stride, "stride"),
                "padding": per_axis_value(padding, "padding", allow_zero=True),
                "ceil_mode": ceil_mode}
        if type is PoolType.max:
            args["dilation"] = per_axis_value(dilation, "dilation")
        elif dilation != "1":
            raise SpecError("average pooling has no dilation (PyTorch's AvgPool doesn't take one)",
                            hints=["drop --dilation, or use --type max"])
        sizes = input_shape(shape, layout)
    one_d_note(sizes, layout)
    return answer(f"{type.value}pool", sizes, layout, args, rounding, as_json)
