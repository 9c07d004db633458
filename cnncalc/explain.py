"""Learning mode: every layer's working, with the user's numbers put into the formulas.

    out = (W − F + 2P)/S + 1 = (32 − 5 + 2·2)/1 + 1 = 32  →  32×32×10
    params = (F·F·C + 1)·K = (5·5·3 + 1)·10 = 760
    MACs = out elements · (F·F·C) = 32·32·10 · (5·5·3) = 768,000

One explanation rule per kind, in the explicit table `RULES` (leaf kinds, composites, and
`block` for a block's use); a test walks it against `kinds.KINDS`. The rules only show
arithmetic: every result they print is the analysis's own figure (`analyze.Row`), never a second
computation, and a test evaluates each step's arithmetic to prove it equals that result.
Notation as in the README and the CS231n notes: × between a shape's sizes, · for products,
− for minus; the input size along an axis is written with the axis's letter (L; H, W; D, H, W;
W alone where all axes have the same numbers, as CS231n writes a square input), F a kernel,
S a stride, P a padding, D a dilation, C input channels, K output channels (filters), G groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnncalc.analyze import Analysis, Field, Row, in_layout
from cnncalc.dims import AXES, effective_kernel, fmt, is_int, numel, unseen_text
from cnncalc.kinds import (ACTIVATIONS, COMPOSITE_KINDS, IDENTITY, KINDS, Window, conv_geometry,
                           conv_transpose_geometry, per_axis, pool_geometry, upsample_scales)
from cnncalc.units import grouped


@dataclass(frozen=True, slots=True)
class Step:
    """One line of working: `label = general = arithmetic = result  →  then`.

    `arithmetic` uses only numbers, ( ) + − · / and ⌊ ⌋ ⌈ ⌉ (and `max(a, b)`), so a test can
    evaluate it; `result` is the analysis's figure. A step with only `label` is plain prose."""

    label: str
    general: str = ""
    arithmetic: str = ""
    result: object = None
    then: str = ""
    same_line: bool = False    # continue the previous step's line (", …")

    def text(self) -> str:
        parts = [p for p in (self.label, self.general, self.arithmetic) if p]
        if self.result is not None:
            parts.append(number(self.result))
        line = " = ".join(parts)
        return f"{line}  →  {self.then}" if self.then else line


def number(value) -> str:
    """A figure as the explanations write it: 768,000; −2; 2.5; H + 2."""
    if isinstance(value, bool):
        return str(value).lower()
    if is_int(value):
        return grouped(value).replace("-", "−")
    if isinstance(value, float):
        return f"{value:g}".replace("-", "−")
    from cnncalc.symbolic import show   # only reached with symbolic sizes

    return show(value).replace("**", "^").replace("*", "·").replace(" - ", " − ")


def n(value) -> str:
    """A number inside arithmetic (no thousands separators)."""
    if is_int(value):
        return str(value).replace("-", "−")
    if isinstance(value, float):
        return f"{value:g}".replace("-", "−")
    text = number(value)
    return text if text.isidentifier() else f"({text})"


def prod_text(values) -> str:
    return "·".join(n(v) for v in values)


def shape_text(shape, layout: str) -> str:
    """32×32×10; symbolic sizes in parentheses where needed: 8×(H/2 + 1/2)×(W/2 + 1/2)."""
    return "×".join(str(d) if is_int(d) else n(d) for d in in_layout(shape, layout))


@dataclass(slots=True)
class Context:
    layout: str
    rows: dict[str, Row]          # path -> row, to read a composite's children
    shortcuts: dict               # residual path -> resolved projection nodes

    def shape(self, shape) -> str:
        return shape_text(shape, self.layout)


Rule = Callable[[Row, Context], list[Step]]
RULES: dict[str, Rule] = {}


def rule(*kinds: str):
    def register(function: Rule) -> Rule:
        for kind in kinds:
            if kind in RULES:
                raise RuntimeError(f"explanation for {kind!r} registered twice")
            RULES[kind] = function
        return function
    return register


def explain_row(row: Row, context: Context) -> list[Step]:
    """The working for one row of the analysis."""
    kind = row.node.kind
    if kind not in KINDS and kind not in COMPOSITE_KINDS:
        kind = "block"
    steps = RULES[kind](row, context)
    return steps + field_steps(row, context)


# ---------------------------------------------------------------------------------------------
# Sliding windows: conv and pooling

def _axes_of(row: Row) -> tuple:
    return AXES[len(row.input_shape) - 1]


def _grouped_axes(values: list[tuple], axes: tuple) -> list[tuple[str, tuple]]:
    """One entry with no axis name when every axis has the same numbers, else one per axis."""
    if len(set(values)) == 1:
        return [("", values[0])]
    return [(f" {axis}", v) for axis, v in zip(axes, values)]


def _size_letter(suffix: str, axes: tuple) -> str:
    """The input size's letter in a formula: the axis of a per-axis entry (`out H = (H − F …`),
    L for 1-D, and CS231n's W for the entry that stands for every axis of a square input."""
    return suffix.strip() or (axes[0] if len(axes) == 1 else "W")


def _dilation_letter(axes: tuple) -> str:
    """D is the dilation, spelt out where D is also an axis (depth, in 3-D)."""
    return "dilation" if "D" in axes else "D"


def sliding_steps(row: Row, context: Context, kernel, stride, dilation, pads, *,
                  ceil_mode: bool = False, same: bool = False) -> list[Step]:
    """F_eff (with dilation) and the output size per axis, the last step leading to the shape."""
    steps: list[Step] = []
    sizes = row.input_shape[1:]
    outs = row.output_shape[1:]
    axes = _axes_of(row)
    if any(d > 1 for d in dilation):
        for suffix, (k, d) in _grouped_axes(list(zip(kernel, dilation)), axes):
            steps.append(Step(f"F_eff{suffix}", f"{_dilation_letter(axes)}·(F − 1) + 1",
                              f"{n(d)}·({n(k)} − 1) + 1", effective_kernel(k, d)))
    keff = [effective_kernel(k, d) for k, d in zip(kernel, dilation)]
    f_name = "F_eff" if any(d > 1 for d in dilation) else "F"
    per_axis_values = list(zip(sizes, keff, stride, pads, outs))
    groups = _grouped_axes(per_axis_values, axes)
    for index, (suffix, (w, k, s, (before, after), out)) in enumerate(groups):
        label, size = f"out{suffix}", _size_letter(suffix, axes)
        if same:
            total = before + after
            steps.append(Step(label, f"⌈{size}/S⌉", f"⌈{n(w)}/{n(s)}⌉", out))
            if s == 1:
                steps.append(Step(f"padding{suffix}", f"{f_name} − 1", f"{n(k)} − 1", total,
                                  then=f"{n(before)} before, {n(after)} after (padding: same)"))
            else:
                steps.append(Step(f"padding{suffix}", f"max((out − 1)·S + {f_name} − {size}, 0)",
                                  f"max(({n(out)} − 1)·{n(s)} + {n(k)} − {n(w)}, 0)", total,
                                  then=f"{n(before)} before, {n(after)} after (padding: same)"))
        else:
            steps += _out_steps(label, w, k, s, before, after, out, ceil_mode, f_name, size,
                                axes if len(groups) == 1 else suffix.strip())
        if index == len(groups) - 1:
            last = next(i for i in range(len(steps) - 1, -1, -1) if steps[i].label.startswith("out"))
            steps[last] = _with_then(steps[last], context.shape(row.output_shape))
    return steps


def _with_then(step: Step, then: str) -> Step:
    return Step(step.label, step.general, step.arithmetic, step.result, then, step.same_line)


def _out_steps(label, w, k, s, before, after, out, ceil_mode, f_name, size, axis) -> list[Step]:
    if before == after:
        pad_general, pad_text = "2P", f"2·{n(before)}"
    else:
        pad_general, pad_text = "P_before + P_after", f"{n(before)} + {n(after)}"
    span = f"{n(w)} − {n(k)} + {pad_text}"
    general = f"({size} − {f_name} + {pad_general})/S + 1"
    if not (is_int(w) and is_int(out)):
        return [Step(label, general, f"({span})/{n(s)} + 1", out)]
    remainder = (w - k + before + after) % s
    if ceil_mode:
        steps = []
        rounded = -(-(w - k + before + after) // s) + 1
        if rounded != out:
            steps.append(Step(label, f"⌈({size} − {f_name} + {pad_general})/S⌉ + 1 − 1",
                              f"⌈({span})/{n(s)}⌉ + 1 − 1", out))
            steps.append(Step(f"(ceil_mode: the last window would start in the right padding, "
                              f"so PyTorch drops it)"))
        else:
            steps.append(Step(label, f"⌈({size} − {f_name} + {pad_general})/S⌉ + 1",
                              f"⌈({span})/{n(s)}⌉ + 1", out))
            if remainder:
                steps.append(Step(f"(ceil_mode: rounded up; the last window runs past the "
                                  f"input, as PyTorch does)"))
        return steps
    if remainder:
        exact = (w - k + before + after) / s + 1
        # `axis` is every axis's name when they all have the same numbers (a square input)
        unseen = unseen_text(remainder, axis if isinstance(axis, tuple) else (axis,), tense="is")
        return [Step(label, f"⌊({size} − {f_name} + {pad_general})/S⌋ + 1", f"⌊({span})/{n(s)}⌋ + 1", out),
                Step(f"(rounding floor: ({span})/{n(s)} + 1 = {fmt(exact)}, rounded down as "
                     f"PyTorch does: {unseen})")]
    return [Step(label, general, f"({span})/{n(s)} + 1", out)]


def _filters_text(kernel, c_per_group, layout: str) -> str:
    dims = (*kernel, c_per_group) if layout == "hwc" else (c_per_group, *kernel)
    return "×".join(number(d) for d in dims)


def _kernel_letters(kernel, axes) -> str:
    """`F·F` for a square kernel, as CS231n writes it; `F_H·F_W` where the sizes differ."""
    if len(set(kernel)) == 1:
        return "·".join("F" for _ in kernel)
    return "·".join(f"F_{axis}" for axis in axes)


@rule("conv")
def explain_conv(row: Row, context: Context) -> list[Step]:
    args = row.node.args
    kernel, stride, dilation, _, pads = conv_geometry(args, row.input_shape)
    c, g, k_out = row.input_shape[0], args.groups, args.out
    per_group = c // g if is_int(c) else c / g
    letters = _kernel_letters(kernel, _axes_of(row))
    filters = f"{number(k_out)} filter{'s' if k_out != 1 else ''}"
    steps = [Step(f"{filters}, each {_filters_text(kernel, per_group, context.layout)}"
                  + (f" (groups {g}: each filter sees C/G = {n(c)}/{g} = {number(per_group)} "
                     f"of the {number(c)} input channels)" if g > 1 else ""))]
    steps += sliding_steps(row, context, kernel, stride, dilation, pads,
                           same=args.padding == "same")
    channels = f"({n(c)}/{g})" if g > 1 else n(c)
    c_general = "C/G" if g > 1 else "C"
    weights = f"{prod_text(kernel)}·{channels}"
    if args.bias:
        steps.append(Step("params", f"({letters}·{c_general} + 1)·K", f"({weights} + 1)·{n(k_out)}",
                          row.params))
    else:
        steps.append(Step("params", f"{letters}·{c_general}·K (no bias)", f"{weights}·{n(k_out)}",
                          row.params))
    out_elements = prod_text(in_layout(row.output_shape, context.layout))
    steps.append(Step("MACs", f"out elements · ({letters}·{c_general})",
                      f"{out_elements} · ({weights})", row.macs))
    return steps


@rule("conv_transpose")
def explain_conv_transpose(row: Row, context: Context) -> list[Step]:
    args = row.node.args
    kernel, stride, padding, out_pad, dilation = conv_transpose_geometry(args, row.input_shape)
    values = list(zip(row.input_shape[1:], kernel, stride, padding, out_pad, dilation,
                      row.output_shape[1:]))
    axes = _axes_of(row)
    groups = _grouped_axes(values, axes)
    steps = []
    for index, (suffix, (w, k, s, p, op, d, out)) in enumerate(groups):
        size = _size_letter(suffix, axes)
        steps.append(Step(f"out{suffix}", f"({size} − 1)·S − 2P + {_dilation_letter(axes)}·(F − 1)"
                          " + output_padding + 1",
                          f"({n(w)} − 1)·{n(s)} − 2·{n(p)} + {n(d)}·({n(k)} − 1) + {n(op)} + 1",
                          out, then=context.shape(row.output_shape) if index == len(groups) - 1
                          else ""))
    c, g, k_out = row.input_shape[0], args.groups, args.out
    letters = _kernel_letters(kernel, axes)
    per = f"({n(k_out)}/{g})" if g > 1 else n(k_out)
    k_general = "K/G" if g > 1 else "K"
    weights = f"{n(c)}·{per}·{prod_text(kernel)}"
    if args.bias:
        steps.append(Step("params", f"C·{k_general}·{letters} + K", f"{weights} + {n(k_out)}",
                          row.params))
    else:
        steps.append(Step("params", f"C·{k_general}·{letters} (no bias)", weights, row.params))
    in_elements = prod_text(in_layout(row.input_shape, context.layout))
    steps.append(Step("MACs", f"in elements · ({k_general}·{letters})",
                      f"{in_elements} · ({per}·{prod_text(kernel)})", row.macs))
    steps.append(Step("(each input value is multiplied by a whole filter and spread over the "
                      "output, as PyTorch's FlopCounterMode counts it)"))
    return steps


@rule("maxpool", "avgpool")
def explain_pool(row: Row, context: Context) -> list[Step]:
    args = row.node.args
    kernel, stride, padding, dilation = pool_geometry(args, row.input_shape)
    what = "the largest" if row.node.kind == "maxpool" else "the average"
    window = "×".join(number(k) for k in kernel)
    steps = [Step(f"each output is {what} of a {window} window, per channel"
                  + (" (padding counted in the average)" if row.node.kind == "avgpool"
                     and any(padding) and args.count_include_pad else "")
                  + (" (padding not counted in the average)" if row.node.kind == "avgpool"
                     and any(padding) and not args.count_include_pad else ""))]
    steps += sliding_steps(row, context, kernel, stride, dilation, [(p, p) for p in padding],
                           ceil_mode=args.ceil_mode)
    steps.append(Step("no parameters; channels unchanged"))
    return steps


@rule("adaptive_avgpool", "adaptive_maxpool")
def explain_adaptive(row: Row, context: Context) -> list[Step]:
    what = "average" if row.node.kind == "adaptive_avgpool" else "maximum"
    sizes = row.input_shape[1:]
    outs = row.output_shape[1:]
    axes = _axes_of(row)
    steps = [Step(f"the output size is chosen: {'×'.join(number(o) for o in outs)}; each output is "
                  f"the {what} of its window, per channel")]
    if all(is_int(w) and w % o == 0 for w, o in zip(sizes, outs)):
        for suffix, (w, o) in _grouped_axes(list(zip(sizes, outs)), axes):
            steps.append(Step(f"window{suffix} = stride{suffix}", f"{_size_letter(suffix, axes)}/out",
                              f"{n(w)}/{n(o)}", w // o))
    else:
        size = _size_letter("", axes)
        steps.append(Step(f"window i covers positions ⌊i·{size}/out⌋ to ⌈(i + 1)·{size}/out⌉ − 1 "
                          "(PyTorch), so windows differ in size and there is no single receptive "
                          "field"))
    steps.append(Step("no parameters; channels unchanged"))
    return steps


@rule("global_avgpool")
def explain_global(row: Row, context: Context) -> list[Step]:
    sizes = row.input_shape[1:]
    return [Step("positions averaged per channel", "·".join(_axes_of(row)), prod_text(sizes),
                 numel(sizes), then=context.shape(row.output_shape)),
            Step("no parameters")]


# ---------------------------------------------------------------------------------------------
# linear, flatten

@rule("linear")
def explain_linear(row: Row, context: Context) -> list[Step]:
    args = row.node.args
    n_in = row.input_shape[-1]
    steps = []
    if len(row.input_shape) > 1:
        steps.append(Step(f"acts on the last dimension ({number(n_in)} values) at each of the "
                          f"other positions"))
    if args.bias:
        steps.append(Step("params", "(in + 1)·out", f"({n(n_in)} + 1)·{n(args.out)}", row.params))
    else:
        steps.append(Step("params", "in·out (no bias)", f"{n(n_in)}·{n(args.out)}", row.params))
    if len(row.input_shape) > 1:
        steps.append(Step("MACs", "in elements · out",
                          f"{prod_text(row.input_shape)} · {n(args.out)}", row.macs))
    else:
        steps.append(Step("MACs", "in·out", f"{n(n_in)}·{n(args.out)}", row.macs))
    return steps


@rule("flatten")
def explain_flatten(row: Row, context: Context) -> list[Step]:
    steps = [Step("values", "", prod_text(in_layout(row.input_shape, context.layout)),
                  row.output_shape[0], then=context.shape(row.output_shape))]
    if context.layout == "hwc" and len(row.input_shape) > 1:
        steps.append(Step("(PyTorch flattens channels first: the order is C, then "
                          f"{', '.join(_axes_of(row))})"))
    return steps


# ---------------------------------------------------------------------------------------------
# normalisation

def _affine_steps(row: Row, what: str) -> list[Step]:
    if not row.node.args.affine:
        return [Step(f"{what}; no learnable parameters (affine: false)")]
    c = row.input_shape[0]
    return [Step(what),
            Step("params", "2·C (a scale γ and a shift β per channel)", f"2·{n(c)}", row.params)]


@rule("batchnorm")
def explain_batchnorm(row: Row, context: Context) -> list[Step]:
    c = row.input_shape[0]
    what = "normalises each channel (batch statistics in training, running averages at inference)"
    return _affine_steps(row, what) + [
        Step("buffers", "2·C + 1 (running mean and variance per channel, and a batch counter)",
             f"2·{n(c)} + 1", row.buffers)]


@rule("groupnorm")
def explain_groupnorm(row: Row, context: Context) -> list[Step]:
    c, g = row.input_shape[0], row.node.args.groups
    per = c // g if is_int(c) else c / g
    return [Step("channels per group", "C/G", f"{n(c)}/{n(g)}", per)] + _affine_steps(
        row, f"normalises each of the {g} groups of channels over its channels and positions")


@rule("instancenorm")
def explain_instancenorm(row: Row, context: Context) -> list[Step]:
    return _affine_steps(row, "normalises each channel of each sample over its positions")


@rule("layernorm")
def explain_layernorm(row: Row, context: Context) -> list[Step]:
    what = "normalises over the whole sample"
    if not row.node.args.affine:
        return [Step(f"{what}; no learnable parameters (affine: false)")]
    return [Step(what), Step("params", "2·(elements of the sample) (a scale and a shift each)",
                             f"2·{prod_text(in_layout(row.input_shape, context.layout))}",
                             row.params)]


@rule("lrn")
def explain_lrn(row: Row, context: Context) -> list[Step]:
    return [Step(f"divides each value by a sum over {row.node.args.size} neighbouring channels at "
                 "the same position; shape unchanged, no parameters")]


# ---------------------------------------------------------------------------------------------
# activations and other position-wise layers

FUNCTIONS = {
    "relu": "max(0, x)", "relu6": "min(max(0, x), 6)", "gelu": "x·Φ(x)", "silu": "x·σ(x)",
    "sigmoid": "σ(x) = 1/(1 + e^(−x))", "tanh": "tanh(x)",
    "hardswish": "x·min(max(x + 3, 0), 6)/6", "elu": "x if x > 0, else α·(e^x − 1)",
    "leaky_relu": "x if x > 0, else slope·x",
}


@rule(*ACTIVATIONS)
def explain_activation(row: Row, context: Context) -> list[Step]:
    return [Step(f"{FUNCTIONS[row.node.kind]} on every value; shape unchanged, no parameters")]


@rule("prelu")
def explain_prelu(row: Row, context: Context) -> list[Step]:
    if row.node.args.channels == "all":
        return [Step("x if x > 0, else a·x with a learnt slope a per channel"),
                Step("params", "C", "", row.params)]
    return [Step("x if x > 0, else a·x with one learnt slope a"), Step("params", "", "", row.params)]


@rule("softmax", "log_softmax")
def explain_softmax(row: Row, context: Context) -> list[Step]:
    what = "probabilities" if row.node.kind == "softmax" else "log-probabilities"
    return [Step(f"at each position the C = {number(row.input_shape[0])} channel values become "
                 f"{what}; shape unchanged, no parameters")]


@rule("dropout", "dropout2d")
def explain_dropout(row: Row, context: Context) -> list[Step]:
    what = "value" if row.node.kind == "dropout" else "whole channel"
    return [Step(f"in training, each {what} is zeroed with probability p = "
                 f"{number(row.node.args.p)}; at inference it passes through; no parameters")]


@rule("identity")
def explain_identity(row: Row, context: Context) -> list[Step]:
    return [Step("passes its input through unchanged")]


@rule("zeropad")
def explain_zeropad(row: Row, context: Context) -> list[Step]:
    pads = per_axis(row.node.args.padding, len(row.input_shape) - 1, "padding")
    values = list(zip(row.input_shape[1:], pads, row.output_shape[1:]))
    axes = _axes_of(row)
    groups = _grouped_axes(values, axes)
    return [Step(f"out{suffix}", f"{_size_letter(suffix, axes)} + 2P", f"{n(w)} + 2·{n(p)}", out,
                 then=context.shape(row.output_shape) if i == len(groups) - 1 else "")
            for i, (suffix, (w, p, out)) in enumerate(groups)] + [Step("no parameters")]


@rule("upsample")
def explain_upsample(row: Row, context: Context) -> list[Step]:
    args = row.node.args
    scales = upsample_scales(args, row.input_shape)
    values = list(zip(row.input_shape[1:], scales, row.output_shape[1:]))
    axes = _axes_of(row)
    groups = _grouped_axes(values, axes)
    return [Step(f"out{suffix}", f"⌊{_size_letter(suffix, axes)}·scale⌋", f"⌊{n(w)}·{n(s)}⌋", out,
                 then=context.shape(row.output_shape) if i == len(groups) - 1 else "")
            for i, (suffix, (w, s, out)) in enumerate(groups)] + [
        Step(f"{args.mode} interpolation; no parameters")]


# ---------------------------------------------------------------------------------------------
# composites

def _children(row: Row, context: Context) -> list[Row]:
    return [context.rows[child.path] for child in row.node.children if child.path in context.rows]


@rule("sequential")
def explain_sequential(row: Row, context: Context) -> list[Step]:
    return []   # a branch or a list of layers: its heading (in → out) says it all


@rule("repeat")
def explain_repeat(row: Row, context: Context) -> list[Step]:
    times = len(row.node.children)
    return [Step(f"the same layers {times} time{'s' if times != 1 else ''} in a row")]


@rule("concat")
def explain_concat(row: Row, context: Context) -> list[Step]:
    branches = _children(row, context)
    channels = [b.output_shape[0] for b in branches]
    return [Step(f"every branch gets the {context.shape(row.input_shape)} input; their outputs "
                 "are joined along channels (spatial sizes match)"),
            Step("channels", " + ".join(f"C{i}" for i in range(len(channels))),
                 " + ".join(n(c) for c in channels), row.output_shape[0],
                 then=context.shape(row.output_shape))] + _alignment(branches, row)


@rule("add")
def explain_add(row: Row, context: Context) -> list[Step]:
    branches = _children(row, context)
    return [Step(f"{len(branches)} branches, each {context.shape(row.output_shape)}, summed "
                 "element by element: shape unchanged, channels are not added up")
            ] + _alignment(branches, row)


@rule("residual")
def explain_residual(row: Row, context: Context) -> list[Step]:
    main, short = _children(row, context)
    mode = row.node.shortcut
    if mode == "auto":
        mode = "projection" if row.node.path in context.shortcuts else "identity"
    if mode == "projection":
        conv = context.shortcuts[row.node.path][0].args
        stride = conv.stride if isinstance(conv.stride, int) else "×".join(map(str, conv.stride))
        how = (f"shortcut: projection (1×1 conv to {number(conv.out)} channels, stride {stride}, "
               "no bias, then batchnorm)")
    elif mode == "identity":
        how = "shortcut: identity (the input itself)"
    else:
        how = "shortcut: its own layers"
    return [Step(f"layers: {context.shape(main.input_shape)} → {context.shape(main.output_shape)}; "
                 f"{how} gives {context.shape(short.output_shape)}"),
            Step(f"the two are summed element by element → {context.shape(row.output_shape)}")
            ] + _alignment([main, short], row)


@rule("block")
def explain_block(row: Row, context: Context) -> list[Step]:
    return [Step(f"a use of the block `{row.node.kind}`: {number(row.params)} params and "
                 f"{number(row.macs)} MACs in its layers")]


def _alignment(branches: list[Row], row: Row) -> list[Step]:
    """A note where branches' receptive fields are not centred alike (Araujo et al. 2019)."""
    if row.field is None or row.field.aligned:
        return []
    return [Step("receptive field: the branches' fields are not centred alike ("
                 + "; ".join(_field_text(b.field) for b in branches if b.field is not None)
                 + "); the field shown covers them all")]


# ---------------------------------------------------------------------------------------------
# receptive fields

def _field_text(field: Field) -> str:
    return (f"size {'×'.join(number(v) for v in field.size)}, "
            f"start {'×'.join(number(v) for v in field.start)}")


def field_steps(row: Row, context: Context) -> list[Step]:
    """r_out = r + (F − 1)·j, j_out = j·S, start_out = start − P·j (Araujo et al. 2019), for a
    leaf with a sliding window."""
    if not row.node.leaf or row.field is None or row.input_field is None:
        return []
    window = KINDS[row.node.kind].window(row.node.args, row.input_shape)
    if window == IDENTITY or not isinstance(window, Window):
        return []
    rf_in, rf_out = row.input_field, row.field
    values = list(zip(rf_in.size, rf_in.jump, rf_in.start, window.kernel, window.stride,
                      window.pad_before, rf_out.size, rf_out.jump, rf_out.start))
    steps = []
    for suffix, (r, j, u, k, s, p, r2, j2, u2) in _grouped_axes(values, _axes_of(row)):
        steps.append(Step(f"receptive field{suffix}", "r + (F − 1)·j",
                          f"{n(r)} + ({n(k)} − 1)·{n(j)}", r2))
        steps.append(Step("jump", "j·S", f"{n(j)}·{n(s)}", j2, same_line=True))
        steps.append(Step("start", "u − P·j", f"{n(u)} − {n(p)}·{n(j)}", u2, same_line=True))
    return steps


# ---------------------------------------------------------------------------------------------
# The whole analysis

def context_of(analysis: Analysis) -> Context:
    return Context(analysis.spec.layout, {row.node.path: row for row in analysis.rows},
                   analysis.shortcuts)


def explanations(analysis: Analysis) -> list[list[str]]:
    """The working of every row, as lines of text (for JSON)."""
    context = context_of(analysis)
    return [lines(explain_row(row, context)) for row in analysis.rows]


def lines(steps: list[Step]) -> list[str]:
    out: list[str] = []
    for step in steps:
        if step.same_line and out:
            out[-1] += ",  " + step.text()
        else:
            out.append(step.text())
    return out


def render_text(analysis: Analysis, report: dict, depth: int | None = None,
                checks: list | None = None) -> str:
    """Every row's heading (`0 conv out=10 kernel=5 padding=2: 32×32×3 → 32×32×10`) and its
    working, indented by nesting depth; under a layer, the verdict on each of its `expect`s."""
    from cnncalc.checks import show
    from cnncalc.render import layer_label

    verdicts: dict[str, list[str]] = {}
    for check in checks or []:
        if check.where.startswith("layer "):
            mark = {True: "✓", None: "? (it depends on the input's sizes)"}.get(
                check.ok, f"✗ (it is {show(check.actual, check.figure)})")
            verdicts.setdefault(check.where, []).append(
                f"expected {check.figure} {show(check.expected, check.figure)}: {mark}")

    context = context_of(analysis)
    layout = analysis.spec.layout
    text = [f"{report['name']}: input {shape_text(analysis.input_shape, layout)} "
            f"({LAYOUT_WORDS.get((layout, len(analysis.input_shape)), layout)})", ""]
    branched = {child.path for row in analysis.rows if row.node.kind in ("concat", "add")
                for child in row.node.children}
    for row, layer in zip(analysis.rows, report["layers"]):
        if depth is not None and row.depth >= depth:
            continue
        indent = "  " * row.depth
        label = layer_label(layer).rstrip()
        if row.node.path in branched:
            label = f"branch {row.node.path.rsplit('.', 1)[-1]}"
        text.append(f"{indent}{label}: {shape_text(row.input_shape, layout)} → "
                    f"{shape_text(row.output_shape, layout)}")
        text += [f"{indent}    {line}" for line in lines(explain_row(row, context))]
        text += [f"{indent}    {line}" for line in
                 verdicts.get(f"layer {row.node.path} ({row.node.kind})", [])]
    return "\n".join(text) + "\n"


LAYOUT_WORDS = {
    ("hwc", 2): "length × channels", ("hwc", 3): "height × width × channels",
    ("hwc", 4): "depth × height × width × channels",
    ("chw", 2): "channels × length", ("chw", 3): "channels × height × width",
    ("chw", 4): "channels × depth × height × width",
}
