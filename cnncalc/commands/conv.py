"""`cnncalc conv 32x32x3 --filters 10 --kernel 5 --padding 2`: a one-line homework question.

The command builds a one-layer spec in memory and runs it through the same loading, analysis
and explanation as a spec file (nothing is computed a second way). `pool.py` shares the helpers
here."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated

import typer

from cnncalc.dims import StrictRoundingError
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
           as_json: bool, name: str | None = None) -> int:
    """Explain one layer of `kind` on an input of `shape`: the one-line questions' common path."""
    from cnncalc.commands.explain import print_explanation
    from cnncalc.pipeline import analyze_loaded, load_text

    spec = {"name": kind, "input": shape,
            "layout": layout.value, "rounding": rounding.value,
            "layers": [{kind: {k: v for k, v in args.items() if v is not None}}]}
    with command_line_errors(kind, name):
        # JSON is YAML: the spec goes through the loader like any file.
        loaded = load_text(json.dumps(spec), "<command line>")
        try:
            analysis = analyze_loaded(loaded)
        except StrictRoundingError as exc:
            strict_hints(exc, shape, layout, args, kind)
            raise
    return print_explanation(analysis, loaded.name, None, "json" if as_json else "text",
                             checks=False)


def strict_hints(exc, shape: list[int], layout: Layout, args: dict, kind: str) -> None:
    """The homework's fixes for a layer that doesn't fit: the input sizes that would (AlexNet's
    11×11/4 on 224: 227), and exactly what PyTorch's flooring would skip (see cnncalc.hints)."""
    from cnncalc.hints import strict_geometry_hints

    hwc = layout is Layout.hwc
    channels = shape[-1] if hwc else shape[0]

    def written(sizes) -> str:
        return "x".join(map(str, [*sizes, channels] if hwc else [channels, *sizes]))

    strict_geometry_hints(exc, shape[:-1] if hwc else shape[1:], args, kind, written)


@contextmanager
def command_line_errors(kind: str, name: str | None = None):
    """The spec exists only in memory: errors name the command (`name`, else the kind's), not a
    file position, and options instead of spec keys."""
    try:
        yield
    except SpecError as exc:
        exc.message = exc.message.removeprefix(f"layer 0 ({kind}): ")
        exc.hints = [h.command_line() if isinstance(h, Setting) else h for h in exc.hints]
        exc.pos = None
        exc.file = f"cnncalc {name or kind.removeprefix('max').removeprefix('avg')}"
        raise exc from None


@contextmanager
def json_errors(as_json: bool):
    """With --json an error is also a JSON object on standard output, for the script that reads
    it: {"error": {"where", "message", "notes", "hints"}}; the text still goes to standard error
    and the exit status is 2 either way."""
    try:
        yield
    except SpecError as exc:
        if as_json:
            error = {"where": exc.where(), "message": exc.message, "notes": list(exc.notes),
                     "hints": [str(h) for h in exc.hints]}
            sys.stdout.write(json.dumps({"error": error}, indent=2, ensure_ascii=False) + "\n")
        raise


def whole(value: int, what: str, least: int = 1) -> int:
    """A count option checked here rather than by the option parser, so that `--json` reports it
    like any other error."""
    if not least <= value <= 2**31 - 1:
        raise SpecError(f"{what} {value} is out of range: it must be a whole number from {least} "
                        f"to {2**31 - 1:,}")
    return value


SHORT_HELP = "Explain one convolution (--transpose: a transposed one)."
HELP = ("Explain one convolution on an input shape, e.g. "
        "`cnncalc conv 32x32x3 --filters 10 --kernel 5 --stride 1 --padding 2` "
        "(lecture notation HxWxC; --layout chw for PyTorch's CxHxW). Sizes per axis may be "
        "written 3x5. --transpose for a transposed convolution: out = (W − 1)·S − 2P + "
        "D·(F − 1) + output_padding + 1. Exit status 2 when the layer doesn't fit, with the "
        "arithmetic.")


def conv(
    shape: Annotated[str, typer.Argument(metavar="SHAPE", help="Input shape, e.g. 32x32x3 (HxWxC) or 7x7x1.")],
    filters: Annotated[int, typer.Option("--filters", "-k", help="Number of filters K (output channels).")],
    kernel: Annotated[str, typer.Option("--kernel", "-f", help="Filter size F (or 3x5 per axis).")],
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride S.")] = "1",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding P on each side, or same / valid.")] = "0",
    dilation: Annotated[str, typer.Option("--dilation", "-d", help="Dilation D: F_eff = D·(F − 1) + 1.")] = "1",
    groups: Annotated[int, typer.Option("--groups", "-g", help="Groups G: each filter sees C/G channels.")] = 1,
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="Whether each filter has a bias.")] = True,
    layout: Annotated[Layout, LayoutOption] = Layout.hwc,
    rounding: Annotated[Rounding, RoundingOption] = Rounding.strict,
    as_json: Annotated[bool, typer.Option("--json", help="The summary report as JSON, with the explanation.")] = False,
    transpose: Annotated[bool, typer.Option("--transpose", help="A transposed convolution (PyTorch's ConvTranspose): it upsamples.")] = False,
    output_padding: Annotated[str, typer.Option("--output-padding", help="With --transpose: extra rows and columns on one side of the output (less than the stride or the dilation).")] = "0",
) -> int:
    with json_errors(as_json):
        return _conv(shape, filters, kernel, stride, padding, dilation, groups, bias, layout,
                     rounding, as_json, transpose, output_padding)


def _conv(shape, filters, kernel, stride, padding, dilation, groups, bias, layout, rounding,
          as_json, transpose, output_padding) -> int:
    kind = "conv_transpose" if transpose else "conv"
    with command_line_errors(kind, "conv"):
        filters, groups = whole(filters, "--filters"), whole(groups, "--groups")
        if transpose and padding.strip().lower() in ("same", "valid"):
            raise SpecError(f"--padding {padding.strip().lower()} is for a forward convolution; "
                            "a transposed one takes a size", hints=["write it like 1, or 1x2 per axis"])
        args = {"out": filters, "kernel": per_axis_value(kernel, "kernel"),
                "stride": per_axis_value(stride, "stride"),
                "padding": per_axis_value(padding, "padding", allow_zero=True,
                                          words=() if transpose else ("same", "valid")),
                "dilation": per_axis_value(dilation, "dilation"), "groups": groups, "bias": bias}
        if transpose:
            args["output_padding"] = per_axis_value(output_padding, "output-padding", allow_zero=True)
        elif output_padding != "0":
            raise SpecError("--output-padding belongs to a transposed convolution",
                            hints=["add --transpose, or drop --output-padding"])
        sizes = input_shape(shape, layout)
    one_d_note(sizes, layout)
    return answer(kind, sizes, layout, args, rounding, as_json, "conv")
