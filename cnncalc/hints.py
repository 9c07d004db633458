"""Hints and notes that name the fix a newcomer is looking for: the input sizes that would fit a
strict layer, what flooring really skips, `layout: hwc` for an H×W×C input, an `expect` shape
in another order, a strict error inside a generated projection, a `linear` straight after a
spatial layer. Pure functions over plain values (and the analysis' rows), so the core's error
paths can call them; none imports torch, sympy or numpy."""

from __future__ import annotations

from cnncalc.dims import AXES, joined, unseen_text
from cnncalc.errors import Pos, SpecError

# -- strict rounding -----------------------------------------------------------------------


def fitting_inputs(size: int, kernel_eff: int, pad: int, stride: int) -> tuple[int | None, int]:
    """The input sizes nearest to `size`, below (None if none) and above, for which
    (W − F + 2P)/S + 1 is a whole number: W ≥ F − 2P and W ≡ F − 2P (mod S). `size` itself,
    twice, where it fits (an axis that fits keeps its size in a hint for all axes)."""
    least = max(1, kernel_eff - 2 * pad)
    first = least + (kernel_eff - 2 * pad - least) % stride
    if size < first:
        return None, first
    at_or_below = first + (size - first) // stride * stride
    if at_or_below < size:
        return at_or_below, at_or_below + stride
    return size, size


def input_fit_hint(sizes, kernels_eff, pads, strides, *, network_input: bool = True) -> str:
    """"an input of 227×227 (or 223×223) would fit": the input sizes nearest to the one given,
    per axis, above first (cropping loses data, padding doesn't); `network_input` False for a
    layer deeper in the network ("an input of 27×27 to this layer")."""
    fits = [fitting_inputs(*q) for q in zip(sizes, kernels_eff, pads, strides)]
    below = [b for b, _ in fits]
    text = f"an input of {joined([a for _, a in fits])}"
    if not network_input:
        text += " to this layer"
    if all(b is not None for b in below) and below != list(sizes):
        text += f" (or {joined(below)})"
    return text + " would fit"


def strict_geometry_hints(exc, spatial, args, kind: str, written, lead: str = "an input of",
                          note: bool = True) -> None:
    """Add to a StrictRoundingError of a conv or pool with these arguments (a dict, or the
    Args model) on an input of `spatial` sizes: the input sizes that fit (`lead` and
    `written(sizes)` word them; `written` None leaves the hint out) before the first "or …"
    hint, and a floor note that says exactly what is skipped."""
    from cnncalc.dims import fmt

    def get(key, default):
        value = args.get(key) if isinstance(args, dict) else getattr(args, key, None)
        value = default if value is None or value == "valid" else value
        return list(value) if isinstance(value, (list, tuple)) else [value] * len(spatial)

    kernel = get("kernel", 1)
    stride = get("stride", None) if "pool" in kind else get("stride", 1)
    if stride[0] is None:        # a pool's default stride: its kernel
        stride = kernel
    pad, dilation = get("padding", 0), get("dilation", 1)
    if not all(isinstance(v, int) for v in (*kernel, *stride, *pad, *dilation, *spatial)):
        return
    if written is not None:
        window = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
        fits = [fitting_inputs(*q) for q in zip(spatial, window, pad, stride)]
        text = f"{lead} {written([a for _, a in fits])}"
        below = [b for b, _ in fits]
        if all(b is not None for b in below) and below != list(spatial):
            text += f" (or {written(below)})"
        first_or = next((i for i, h in enumerate(exc.hints) if h.startswith("or ")), len(exc.hints))
        exc.hints.insert(first_or, text + " would fit")
    if note:
        index = AXES[len(spatial)].index(exc.axes[0])
        exact = (f"PyTorch would silently floor {fmt(exc.exact)} to {exc.floored}: "
                 + unseen_text(exc.unseen, exc.axes, after=pad[index]))
        exc.notes = [exact if n == exc.floor_note() else n for n in exc.notes]


def strict_file_hints(exc, loaded) -> None:
    """The input sizes that fit, for a spec file with a strict error: from the layer's own
    geometry when it is the first layer (its input is the spec's `input`), else from the whole
    network's accepted sizes (`cnncalc inputs`' solver), where they can be found. The floor
    note is dims.unseen_text's already, as the floor layer's working and validate's note word
    it (tests/test_explain.py)."""
    if not exc.message.startswith("layer ") or loaded.file == "<command line>":
        return      # the one-line commands word their own hints (cnncalc.commands.conv)
    path = exc.message.split(" ", 2)[1]
    leaves = [n for n in loaded.root.walk() if n.leaf]
    node = next((n for n in leaves if n.path == path), None)
    if node is None:        # a strict error comes from a conv or a pool
        return
    hwc = loaded.spec.layout == "hwc"
    dims = list(loaded.spec.input)
    channels, spatial = (dims[-1], dims[:-1]) if hwc else (dims[0], dims[1:])

    def written(sizes) -> str:
        return "`[" + ", ".join(map(str, [*sizes, channels] if hwc else [channels, *sizes])) + "]`"

    if node is leaves[0]:
        strict_geometry_hints(exc, spatial, node.args, node.kind, written, lead="input", note=False)
        return
    fits = network_fits(loaded, spatial)
    if fits is not None:
        above, below = fits
        text = f"input {written(above)}"
        if below is not None:
            text += f" (or {written(below)})"
        first_or = next((i for i, h in enumerate(exc.hints) if h.startswith("or ")), len(exc.hints))
        exc.hints.insert(first_or, text + " would fit")


def network_fits(loaded, spatial: list) -> tuple[list[int], list[int] | None] | None:
    """The nearest network inputs the whole network accepts: each spatial size's next accepted
    size above the spec's, and below it where every size has one; None where that isn't known
    cheaply: a symbolic input, no sympy, a solver that refuses (a long period, too many layers,
    sizes it can't solve). Only an error's path gets here, so only it imports sympy."""
    import importlib.util

    if not all(isinstance(d, int) for d in spatial) or importlib.util.find_spec("sympy") is None:
        return None
    from cnncalc.dims import AXES
    from cnncalc.inputs import accepted_inputs

    try:
        accepted = accepted_inputs(loaded)
    except SpecError:
        return None
    above: list[int] = []
    below: list[int | None] = []
    for size, name in zip(spatial, AXES[len(spatial)]):
        fits = accepted.get(name)
        if fits is None or fits.minimum is None or size in fits:
            return None     # not a size of its own, none accepted, or not this size's fault
        up, down = nearest(fits, size)
        if up is None:
            return None
        above.append(up)
        below.append(down)
    return above, (None if None in below or below == list(spatial) else
                   [b for b in below if b is not None])


def nearest(fits, size: int) -> tuple[int | None, int | None]:
    """The accepted sizes next above and below `size`, from the closed form (every x ≥ start
    with x ≡ start mod the period, for each start, and the exceptions): no search."""
    above = [x for x in fits.exceptions if x > size]
    below = [x for x in fits.exceptions if x < size]
    for start in fits.starts.values():
        lowest = max(start, size + 1)
        above.append(lowest + (start - lowest) % fits.period)
        if size - 1 >= start:
            below.append(size - 1 - (size - 1 - start) % fits.period)
    return min(above, default=None), max(below, default=None)


# -- layout ----------------------------------------------------------------------------------


def looks_hwc(dims, layout: str) -> bool:
    """`[227, 227, 3]` read channels first: 227 channels of 227×3, which is seldom meant."""
    dims = list(dims)
    return (layout == "chw" and len(dims) == 3 and all(isinstance(d, int) for d in dims)
            and dims[0] == dims[1] > 4 and dims[2] in (1, 3, 4))


def layout_hint(spec) -> str | None:
    if not looks_hwc(spec.input, spec.layout):
        return None
    dims = list(spec.input)
    return (f"`input: [{', '.join(map(str, dims))}]` is read channels first ({dims[0]} channels "
            f"of {dims[1]}×{dims[2]}); for height × width × channels write `layout: hwc`")


def reordered(expected, actual) -> str | None:
    """A note for an expected shape that holds the actual sizes in another order."""
    if not isinstance(expected, (list, tuple)) or not isinstance(actual, (list, tuple)):
        return None
    if (list(expected) == list(actual) or len(expected) != len(actual)
            or not all(isinstance(v, int) for v in (*expected, *actual))
            or sorted(expected) != sorted(actual)):
        return None
    return ("the same sizes in another order: shapes follow the spec's layout (channels first "
            "unless it says `layout: hwc`)")


# -- generated projections --------------------------------------------------------------------


def projection_error(exc: SpecError, root) -> SpecError:
    """A strict error in the 1×1 convolution that `shortcut: auto` (or `projection`) generates
    names a layer that isn't in the file: point at the `residual` entry, whose rounding the
    projection takes, instead of stride and padding the user can't write."""
    if not exc.message.startswith("layer ") or ".shortcut." not in exc.message.split(" (", 1)[0]:
        return exc
    path = exc.message.split(" ", 2)[1]
    residual = next((n for n in root.walk() if n.path == path.rsplit(".shortcut.", 1)[0]), None)
    # only a residual has a shortcut mode
    if residual is None or residual.shortcut not in ("auto", "projection"):
        return exc
    exc.notes.append(f"this 1×1 convolution is the projection that `shortcut: {residual.shortcut}` "
                     f"generates for the `residual` entry"
                     + (f" at line {residual.pos.line}" if residual.pos else ""))
    exc.hints = ["write `rounding: floor` among the `residual` entry's arguments (next to "
                 "`shortcut`) to accept PyTorch's flooring: its projection takes that rounding",
                 "or write the shortcut's layers explicitly"]
    return exc


# -- linear ------------------------------------------------------------------------------------

def print_linear_notes(analysis, file: str) -> None:
    """The notes of `linear_notes` on standard error, `file:line:col: note: …`."""
    import sys

    from cnncalc.errors import printable

    for pos, note in linear_notes(analysis):
        where = f"{file}:{pos.line}:{pos.col}" if pos else file
        print(printable(f"{where}: note: {note}"), file=sys.stderr)


def linear_notes(analysis) -> list[tuple[Pos | None, str]]:
    """(position, note) for each layer that its kind finds legal but usually a mistake after the
    layer before it (`LeafKind.note`: a `linear` straight after a spatial layer is a forgotten
    `flatten`). Position-wise layers such as relu or batchnorm between them don't count."""
    notes, previous = [], None
    for row in analysis.rows:
        node = row.node
        if not node.leaf:
            continue
        note = node.leaf_kind.note(row, previous, analysis.spec.layout)
        if note:
            notes.append((node.pos, note))
        if tuple(row.input_shape) != tuple(row.output_shape) or node.leaf_kind.spatial:
            previous = node.leaf_kind      # a position-wise layer (relu, batchnorm) passes it on
    return notes
