"""The pieces every kind's explanation is written with (see `explain` on each kind): one line
of working (`Step`), numbers as the lecture writes them, and the sliding-window working that
convolution and pooling share.

Notation as in the README and the CS231n notes: × between a shape's sizes, · for products,
− for minus; the input size along an axis is written with the axis's letter (L; H, W; D, H, W;
W alone where all axes have the same numbers, as CS231n writes a square input), F a kernel,
S a stride, P a padding, D a dilation, C input channels, K output channels (filters), G groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnncalc.dims import AXES, effective_kernel, fmt, in_layout, is_int, unseen_text
from cnncalc.units import grouped

if TYPE_CHECKING:
    from cnncalc.analyze import Row
    from cnncalc.field import Field


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
    from cnncalc.symbolic import show  # only reached with symbolic sizes

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
    input_shape: tuple = ()       # the network's, for a reference to `input`

    def shape(self, shape) -> str:
        return shape_text(shape, self.layout)

    def value(self, key) -> tuple:
        """The shape a reference names: a node's output or input (cnncalc.graph.Key)."""
        path, port = key
        if path == "":
            return self.input_shape
        row = self.rows[path]
        return row.output_shape if port == "out" else row.input_shape

    def named(self, key) -> str:
        """A reference as the spec would write it: its id, or where it is."""
        path, port = key
        if path == "":
            return "input"
        row = self.rows[path]
        if port == "in":
            return f"the input of layer {path}" if path else "input"
        return row.node.id or f"layer {path} ({row.node.kind})"


# ---------------------------------------------------------------------------------------------
# Shared by several kinds

def axes_of(row: Row) -> tuple:
    return AXES[len(row.input_shape) - 1]


def grouped_axes(values: list[tuple], axes: tuple) -> list[tuple[str, tuple]]:
    """One entry with no axis name when every axis has the same numbers, else one per axis."""
    if len(set(values)) == 1:
        return [("", values[0])]
    return [(f" {axis}", v) for axis, v in zip(axes, values)]


def size_letter(suffix: str, axes: tuple) -> str:
    """The input size's letter in a formula: the axis of a per-axis entry (`out H = (H − F …`),
    L for 1-D, and CS231n's W for the entry that stands for every axis of a square input."""
    return suffix.strip() or (axes[0] if len(axes) == 1 else "W")


def dilation_letter(axes: tuple) -> str:
    """D is the dilation, spelt out where D is also an axis (depth, in 3-D)."""
    return "dilation" if "D" in axes else "D"


def sliding_steps(row: Row, context: Context, kernel, stride, dilation, pads, *,
                  ceil_mode: bool = False, same: bool = False) -> list[Step]:
    """F_eff (with dilation) and the output size per axis, the last step leading to the shape."""
    steps: list[Step] = []
    sizes = row.input_shape[1:]
    outs = row.output_shape[1:]
    axes = axes_of(row)
    if any(d > 1 for d in dilation):
        for suffix, (k, d) in grouped_axes(list(zip(kernel, dilation)), axes):
            steps.append(Step(f"F_eff{suffix}", f"{dilation_letter(axes)}·(F − 1) + 1",
                              f"{n(d)}·({n(k)} − 1) + 1", effective_kernel(k, d)))
    keff = [effective_kernel(k, d) for k, d in zip(kernel, dilation)]
    f_name = "F_eff" if any(d > 1 for d in dilation) else "F"
    per_axis_values = list(zip(sizes, keff, stride, pads, outs))
    groups = grouped_axes(per_axis_values, axes)
    for index, (suffix, (w, k, s, (before, after), out)) in enumerate(groups):
        label, size = f"out{suffix}", size_letter(suffix, axes)
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
            steps[last] = with_then(steps[last], context.shape(row.output_shape))
    return steps


def with_then(step: Step, then: str) -> Step:
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
            steps.append(Step("(ceil_mode: the last window would start in the right padding, "
                              "so PyTorch drops it)"))
        else:
            steps.append(Step(label, f"⌈({size} − {f_name} + {pad_general})/S⌉ + 1",
                              f"⌈({span})/{n(s)}⌉ + 1", out))
            if remainder:
                steps.append(Step("(ceil_mode: rounded up; the last window runs past the "
                                  "input, as PyTorch does)"))
        return steps
    if remainder:
        exact = (w - k + before + after) / s + 1
        # `axis` is every axis's name when they all have the same numbers (a square input)
        unseen = unseen_text(remainder, axis if isinstance(axis, tuple) else (axis,), "is", after)
        return [Step(label, f"⌊({size} − {f_name} + {pad_general})/S⌋ + 1", f"⌊({span})/{n(s)}⌋ + 1", out),
                Step(f"(rounding floor: ({span})/{n(s)} + 1 = {fmt(exact)}, rounded down as "
                     f"PyTorch does: {unseen})")]
    return [Step(label, general, f"({span})/{n(s)} + 1", out)]


def filters_text(kernel, c_per_group, layout: str) -> str:
    dims = (*kernel, c_per_group) if layout == "hwc" else (c_per_group, *kernel)
    return "×".join(number(d) for d in dims)


def kernel_letters(kernel, axes) -> str:
    """`F·F` for a square kernel, as CS231n writes it; `F_H·F_W` where the sizes differ."""
    if len(set(kernel)) == 1:
        return "·".join("F" for _ in kernel)
    return "·".join(f"F_{axis}" for axis in axes)


def affine_steps(row: Row, what: str) -> list[Step]:
    args: Any = row.node.args      # a norm's, with `affine`
    if not args.affine:
        return [Step(f"{what}; no learnable parameters (affine: false)")]
    c = row.input_shape[0]
    return [Step(what),
            Step("params", "2·C (a scale γ and a shift β per channel)", f"2·{n(c)}", row.params)]


def branch_rows(row: Row, context: Context) -> list[Row]:
    return [context.rows[child.path] for child in row.node.children if child.path in context.rows]


def alignment(branches: list[Row], row: Row) -> list[Step]:
    """A note where branches' receptive fields are not centred alike (Araujo et al. 2019)."""
    if row.field is None or row.field.aligned:
        return []
    return [Step("receptive field: the branches' fields are not centred alike ("
                 + "; ".join(field_text(b.field) for b in branches if b.field is not None)
                 + "); the field shown covers them all")]


# ---------------------------------------------------------------------------------------------
# receptive fields

def field_text(field: Field) -> str:
    return (f"size {'×'.join(number(v) for v in field.size)}, "
            f"start {'×'.join(number(v) for v in field.start)}")


