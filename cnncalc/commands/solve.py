"""`cnncalc solve 227x227x3 55x55x96`: the inverse homework question, which kernel, stride,
padding (and dilation) take this input to that output. The arithmetic is cnncalc.solve's; this
module reads the options and words the answer."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cnncalc.commands.conv import (
    Layout,
    LayoutOption,
    command_line_errors,
    input_shape,
    json_errors,
    per_axis_value,
)
from cnncalc.dims import AXES
from cnncalc.errors import SpecError

EXAMPLES = """
Examples:

  cnncalc solve 227x227x3 55x55x96                 # AlexNet's first layer

  cnncalc solve 64x64x3 64x64x32 --kernel 7        # the padding that keeps 64×64

  cnncalc solve 55x55x96 27x27x96 --pool           # a pooling window
"""

BIG = 2**31 - 1


SHORT_HELP = "Which kernel, stride and padding take one shape to another."
HELP = ("Find every kernel, stride, padding and dilation that takes input SHAPE "
        "to output SHAPE exactly under strict rounding ((W − F + 2P)/S + 1 a whole number), "
        "simplest first, each with its arithmetic. By default kernel ≤ 11, stride ≤ kernel, "
        "padding < kernel and dilation 1; --max-* change a bound, --kernel/--stride/--padding/"
        "--dilation pin a value. Exit status 1 when nothing fits (with the nearest settings)."
        + EXAMPLES)


def solve(
    source: Annotated[str, typer.Argument(metavar="INPUT", help="Input shape, e.g. 227x227x3 (HxWxC).")],
    target: Annotated[str, typer.Argument(metavar="OUTPUT", help="Output shape, e.g. 55x55x96.")],
    kernel: Annotated[str | None, typer.Option("--kernel", "-f", help="Pin the kernel size F (or 3x5 per axis).")] = None,
    stride: Annotated[str | None, typer.Option("--stride", "-s", help="Pin the stride S.")] = None,
    padding: Annotated[str | None, typer.Option("--padding", "-p", help="Pin the padding P on each side.")] = None,
    dilation: Annotated[str | None, typer.Option("--dilation", "-d", help="Pin the dilation D.")] = None,
    max_kernel: Annotated[int, typer.Option("--max-kernel", min=1, max=BIG, help="Largest kernel size tried.")] = 11,
    max_stride: Annotated[int | None, typer.Option("--max-stride", min=1, max=BIG, help="Largest stride tried (default: the window size).")] = None,
    max_padding: Annotated[int | None, typer.Option("--max-padding", min=0, max=BIG, help="Largest padding tried (default: the window size − 1).")] = None,
    max_dilation: Annotated[int, typer.Option("--max-dilation", min=1, max=BIG, help="Largest dilation tried.")] = 1,
    pool: Annotated[bool, typer.Option("--pool", help="A pooling window: the channels stay, padding ≤ kernel/2 (PyTorch's rule).")] = False,
    layout: Annotated[Layout, LayoutOption] = Layout.hwc,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Show at most this many settings.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="The answer as JSON.")] = False,
) -> int:
    with json_errors(as_json):
        return _solve(source, target, kernel, stride, padding, dilation, max_kernel, max_stride,
                      max_padding, max_dilation, pool, layout, limit, as_json)


def _solve(source, target, kernel, stride, padding, dilation, max_kernel, max_stride, max_padding,
           max_dilation, pool, layout, limit, as_json) -> int:
    from cnncalc.solve import Bounds, SolveError, combined, count, nearest

    with command_line_errors("solve"):
        sizes = input_shape(source, layout)
        outs = input_shape(target, layout)
        if len(sizes) != len(outs):
            raise SpecError(f"the input {source} has {len(sizes) - 1} spatial "
                            f"size{'s' if len(sizes) != 2 else ''} and the output {target} "
                            f"{len(outs) - 1}: a convolution or pooling keeps the number of axes")
        (c_in, *spatial), (c_out, *spatial_out) = _channels_first(sizes, layout), _channels_first(outs, layout)
        rank = len(spatial)
        pins = {name: _pin(text, name, rank, zero=name == "padding")
                for name, text in (("kernel", kernel), ("stride", stride), ("padding", padding),
                                   ("dilation", dilation))}
        if pool and c_in != c_out:
            return _none(as_json, f"pooling keeps the channels, and {c_in} ≠ {c_out}", [],
                         sizes, outs, layout)
        bounds = [Bounds(kernel=_range(pins["kernel"], i, 1, max_kernel),
                         stride=_range(pins["stride"], i, 1, max_stride),
                         padding=_range(pins["padding"], i, 0, max_padding),
                         dilation=_range(pins["dilation"], i, 1, max_dilation), pool=pool)
                  for i in range(rank)]
        try:
            total, found, square = combined(spatial, spatial_out, bounds)
            shown = [s for _, s in zip(range(limit), found)]
            near = []
            if not total:   # the nearest settings of each question (axis) that has no answer
                questions = list(zip(spatial, spatial_out, bounds))
                for axis, question in enumerate(questions):
                    if questions.index(question) == axis and not count(*question):
                        name = "" if rank == 1 else "every axis" if square else AXES[rank][axis]
                        near += [(name, s, v) for s, v in nearest(*question)]
        except SolveError as exc:
            raise SpecError(str(exc)) from None
    scope = _scope(bounds[0], pins, max_stride, max_padding, pool)
    if not total:
        return _none(as_json, f"no {'pooling window' if pool else 'convolution'} takes "
                     f"{_shape(sizes, layout)} to {_shape(outs, layout)} exactly ({scope})",
                     near,
                     sizes, outs, layout)
    rows = [_row(settings, spatial, spatial_out, c_in, c_out, pool) for settings in shown]
    if as_json:
        sys.stdout.write(json.dumps({
            "input": sizes, "output": outs, "layout": layout.value,
            "kind": "pool" if pool else "conv", "count": total, "same_on_every_axis": square,
            "bounds": scope, "solutions": rows}, indent=2) + "\n")
        return 0
    what = "pooling window" if pool else "convolution"
    print(f"{_shape(sizes, layout)} → {_shape(outs, layout)}: {total:,} {what}"
          f"{'s' if total != 1 else ''} fit{'s' if total == 1 else ''} exactly ({scope})")
    if square and rank > 1:
        print("  (the same setting on every axis" + ("; per-axis mixes of these fit too)"
                                                      if total > 1 else ")"))
    for row in rows:
        print()
        print(f"  {row['summary']}")
        for line in row["arithmetic"]:
            print(f"      {line}")
    if total > len(rows):
        print(f"\n  … {total - len(rows):,} more (--limit shows more; pin a value to narrow)")
    return 0


def _channels_first(sizes: list[int], layout: Layout) -> list[int]:
    return sizes if layout is Layout.chw else [sizes[-1], *sizes[:-1]]


def _shape(sizes: list[int], layout: Layout) -> str:
    return "×".join(map(str, sizes))


def _pin(text: str | None, name: str, rank: int, *, zero: bool) -> list[int] | None:
    value = per_axis_value(text, name, allow_zero=zero)
    if value is None:
        return None
    values = value if isinstance(value, list) else [value] * rank
    if len(values) != rank:
        raise SpecError(f"--{name} {text} has {len(values)} values for {rank} spatial "
                        f"ax{'e' if rank == 1 else 'e'}s", hints=[f"one value, or {rank} joined by x"])
    return values


def _range(pin: list[int] | None, axis: int, low: int, high: int | None):
    return (pin[axis], pin[axis]) if pin is not None else (low, high)


def _scope(bounds, pins: dict, max_stride, max_padding, pool: bool) -> str:
    """The bounds searched, in words: "kernel ≤ 11, stride ≤ kernel, padding < kernel, dilation 1"."""
    def one(name: str, rule: str) -> str:
        if pins[name] is not None:
            values = pins[name]
            return f"{name} {values[0] if len(set(values)) == 1 else 'x'.join(map(str, values))}"
        return rule

    dilation = bounds.dilation[1]
    window = "kernel" if dilation == 1 else "window"
    parts = [one("kernel", f"kernel ≤ {bounds.kernel[1]}"),
             one("stride", f"stride ≤ {max_stride}" if max_stride is not None else f"stride ≤ {window}"),
             one("padding", f"padding ≤ {max_padding}" if max_padding is not None
                 else "padding ≤ kernel/2" if pool else f"padding < {window}"),
             one("dilation", "dilation 1" if dilation == 1 else f"dilation ≤ {dilation}")]
    return ", ".join(parts)


def _row(settings: tuple, spatial: list[int], outs: list[int], c_in: int, c_out: int, pool: bool) -> dict:
    from math import prod

    from cnncalc.solve import output_size

    def joined(values) -> str:
        values = list(values)
        return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))

    kernel = [s.kernel for s in settings]
    summary = (f"kernel {joined(kernel)}, stride {joined(s.stride for s in settings)}, "
               f"padding {joined(s.padding for s in settings)}")
    if any(s.dilation > 1 for s in settings):
        summary += f", dilation {joined(s.dilation for s in settings)}"
    arithmetic = []
    square = len(set(zip(spatial, outs, settings))) == 1
    letters = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[len(spatial)]
    for axis, (size, out, s) in enumerate(zip(spatial, outs, settings)):
        letter = "W" if square else letters[axis]
        assert output_size(size, s) == out      # the forward formula, checked on every answer
        if s.dilation > 1:
            arithmetic.append(f"F_eff = D·(F − 1) + 1 = {s.dilation}·({s.kernel} − 1) + 1 = {s.window}")
            f_name = "F_eff"
        else:
            f_name = "F"
        arithmetic.append(f"{'' if square else letter + ': '}out = ({letter} − {f_name} + 2P)/S + 1 = "
                          f"({size} − {s.window} + 2·{s.padding})/{s.stride} + 1 = {out}")
        if square:
            break
    row = {"kernel": kernel, "stride": [s.stride for s in settings],
           "padding": [s.padding for s in settings], "dilation": [s.dilation for s in settings]}
    if not pool:
        weights = prod(kernel) * c_in
        factors = "·".join(map(str, kernel))
        arithmetic.append(f"{c_out} filters, each {'×'.join(map(str, kernel))}×{c_in}; params = "
                          f"({factors}·{c_in} + 1)·{c_out} = {(weights + 1) * c_out:,}")
        row["params"] = (weights + 1) * c_out
    return {**row, "summary": summary, "arithmetic": arithmetic}


def _none(as_json: bool, message: str, near: list, sizes, outs, layout) -> int:
    """Nothing fits: say so, with the nearest settings per axis that has no answer (exit 1)."""
    from cnncalc.dims import fmt

    items = []
    for axis_name, s, value in near:
        exact = value.numerator if value.denominator == 1 else float(value)
        item = {"axis": axis_name, "kernel": s.kernel, "stride": s.stride, "padding": s.padding,
                "dilation": s.dilation, "output": exact}
        items.append(item)
    if as_json:
        sys.stdout.write(json.dumps({"input": sizes, "output": outs, "layout": layout.value,
                                     "count": 0, "error": message, "nearest": items}, indent=2) + "\n")
        return 1
    print(f"cnncalc solve: {message}")
    for item in items:
        dil = f", dilation {item['dilation']}" if item["dilation"] > 1 else ""
        axis = f" ({item['axis']})" if item["axis"] else ""
        floors = "" if isinstance(item["output"], int) else f", which PyTorch floors to {int(item['output'])}"
        print(f"  nearest{axis}: kernel {item['kernel']}, stride {item['stride']}, "
              f"padding {item['padding']}{dil} → {fmt(item['output'])}{floors}")
    return 1
