"""`cnncalc conv 32x32x3 --filters 10 --kernel 5 --padding 2`: a one-line homework question.

The command builds a one-layer spec in memory and runs it through the same loading, analysis
and explanation as a spec file (nothing is computed a second way). `pool.py` shares the helpers
here."""

from __future__ import annotations

import json
from contextlib import contextmanager
from enum import Enum
from typing import Annotated

import typer

from cnncalc.errors import Setting, SpecError


class Layout(str, Enum):
    hwc = "hwc"
    chw = "chw"


class Rounding(str, Enum):
    strict = "strict"
    floor = "floor"


LayoutOption = typer.Option("--layout", help="How SHAPE is written: hwc (lecture notation, "
                            "32x32x3: height, width, channels) or chw (PyTorch order, 3x32x32).")
RoundingOption = typer.Option("--rounding", help="strict rejects a layer whose arithmetic "
                              "doesn't come out whole; floor rounds down as PyTorch does.")


def per_axis_value(text: str | None, what: str, *, allow_zero: bool = False, words=()):
    """An option as the spec language takes it: an int, a per-axis list, or a word (`same`)."""
    if text is None:
        return None
    if text.strip().lower() in words:
        return text.strip().lower()
    from cnncalc.spec import parse_sizes

    example = "2, or 3x5 for one value per axis" + (f", or {' or '.join(words)}" if words else "")
    values = parse_sizes(text, f"--{what}", least=0 if allow_zero else 1, example=example)
    return values[0] if len(values) == 1 else values


def input_shape(text: str, layout: Layout) -> list[int]:
    from cnncalc.spec import parse_sizes

    example = f"{'32x32x3' if layout is Layout.hwc else '3x32x32'} ({layout.value})"
    sizes = parse_sizes(text, "the shape", example=example)
    if not 2 <= len(sizes) <= 4:
        raise SpecError(f"the shape {text!r} has {len(sizes)} size{'s' if len(sizes) != 1 else ''}; "
                        "it needs channels and 1 to 3 spatial sizes",
                        hints=[f"write it like {example}"])
    return sizes


def one_d_note(sizes: list[int], layout: Layout) -> None:
    """Two sizes are a 1-D input (length and channels), which is seldom what a student writing
    `32x32` means: say so on standard error, with the spelling of the image they may mean."""
    if len(sizes) != 2:
        return
    import sys

    from cnncalc.units import shape_text

    if layout is Layout.hwc:
        (length, channels), order, image = sizes, "L×C", [*sizes, 1]
    else:
        (channels, length), order, image = sizes, "C×L", [1, *sizes]
    sys.stderr.write(f"note: read as {order}: a 1-D input of length {length} with {channels} "
                     f"channel{'s' if channels != 1 else ''}; for a {shape_text(sizes)} image "
                     f"write {shape_text(image, sep='x')}\n")


def answer(kind: str, shape: list[int], layout: Layout, args: dict, rounding: Rounding,
           as_json: bool) -> int:
    """Explain one layer of `kind` on an input of `shape`: the one-line questions' common path."""
    from cnncalc.commands.explain import print_explanation
    from cnncalc.pipeline import analyze_loaded, load_text

    spec = {"name": kind, "input": shape,
            "layout": layout.value, "rounding": rounding.value,
            "layers": [{kind: {k: v for k, v in args.items() if v is not None}}]}
    with command_line_errors(kind):
        # JSON is YAML: the spec goes through the loader like any file.
        loaded = load_text(json.dumps(spec), "<command line>")
        analysis = analyze_loaded(loaded)
    return print_explanation(analysis, loaded.name, None, "json" if as_json else "text",
                             checks=False)


@contextmanager
def command_line_errors(kind: str):
    """The spec exists only in memory: errors name the command, not a file position, and
    options instead of spec keys."""
    try:
        yield
    except SpecError as exc:
        exc.message = exc.message.removeprefix(f"layer 0 ({kind}): ")
        exc.hints = [h.command_line() if isinstance(h, Setting) else h for h in exc.hints]
        exc.pos, exc.file = None, f"cnncalc {kind.removeprefix('max').removeprefix('avg')}"
        raise exc from None


HELP = ("Explain one convolution on an input shape, e.g. "
        "`cnncalc conv 32x32x3 --filters 10 --kernel 5 --stride 1 --padding 2` "
        "(lecture notation HxWxC; --layout chw for PyTorch's CxHxW). Sizes per axis may be "
        "written 3x5. Exit status 2 when the layer doesn't fit, with the arithmetic.")


def conv(
    shape: Annotated[str, typer.Argument(
        metavar="SHAPE", help="Input shape, e.g. 32x32x3 (HxWxC) or 7x7x1.")],
    filters: Annotated[int, typer.Option(
        "--filters", "-k", min=1, max=2**31 - 1, help="Number of filters K (output channels).")],
    kernel: Annotated[str, typer.Option("--kernel", "-f", help="Filter size F (or 3x5 per axis).")],
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride S.")] = "1",
    padding: Annotated[str, typer.Option(
        "--padding", "-p", help="Padding P on each side, or same / valid.")] = "0",
    dilation: Annotated[str, typer.Option(
        "--dilation", "-d", help="Dilation D: F_eff = D·(F − 1) + 1.")] = "1",
    groups: Annotated[int, typer.Option(
        "--groups", "-g", min=1, max=2**31 - 1, help="Groups G: each filter sees C/G channels.")] = 1,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Whether each filter has a bias.")] = True,
    layout: Annotated[Layout, LayoutOption] = Layout.hwc,
    rounding: Annotated[Rounding, RoundingOption] = Rounding.strict,
    as_json: Annotated[bool, typer.Option(
        "--json", help="The summary report as JSON, with the explanation.")] = False,
) -> int:
    with command_line_errors("conv"):
        args = {"out": filters, "kernel": per_axis_value(kernel, "kernel"),
                "stride": per_axis_value(stride, "stride"),
                "padding": per_axis_value(padding, "padding", allow_zero=True,
                                          words=("same", "valid")),
                "dilation": per_axis_value(dilation, "dilation"), "groups": groups, "bias": bias}
        sizes = input_shape(shape, layout)
    one_d_note(sizes, layout)
    return answer("conv", sizes, layout, args, rounding, as_json)
