"""Graph -> per-node figures: input and output shape, params, buffers, MACs, output elements and
receptive field; totals over the leaves. Nothing here depends on batch size or dtype: those only
scale memory, and the report applies them."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.dims import AXES, Fit, ceil_div, is_int, joined, numel, same_dim
from cnncalc.errors import SpecError
from cnncalc.graph import Node, child_path
from cnncalc.kinds import IDENTITY, KINDS, BatchNormArgs, ConvArgs, Window
from cnncalc.limits import check_size
from cnncalc.spec import Spec


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field of an output position, per spatial axis, in input pixels (Araujo, Norris
    & Sim, "Computing receptive fields of convolutional neural networks", Distill 2019):
    size r, jump j (effective stride) and start u (left edge of output 0's field; negative
    values lie in the padding)."""

    size: tuple
    jump: tuple
    start: tuple
    aligned: bool = True   # False where branches of a concat/add see differently aligned fields

    def through(self, window: Window) -> "Field | None":
        """The field after `window`; None where symbolic sizes make it too complex to follow."""
        if not all(is_int(p) for p in window.pad_before) and not _simple(self.start):
            return None
        return Field(tuple(r + (k - 1) * j for r, k, j in zip(self.size, window.kernel, self.jump)),
                     tuple(j * s for j, s in zip(self.jump, window.stride)),
                     tuple(u - p * j for u, p, j in zip(self.start, window.pad_before, self.jump)),
                     self.aligned)


@dataclass(slots=True)
class Row:
    node: Node
    depth: int
    input_shape: tuple
    output_shape: tuple
    params: int = 0
    buffers: int = 0
    macs: int = 0
    activations: int = 0         # output elements of the leaves at or below this node
    field: Field | None = None
    input_field: Field | None = None   # the field of this node's input (for explanations)


@dataclass(slots=True)
class Analysis:
    spec: Spec
    root: Node
    input_shape: tuple           # channels first
    output_shape: tuple
    rows: list[Row]              # every node but the root, in execution order
    shortcuts: dict = field(default_factory=dict)    # residual path -> resolved shortcut nodes
    constraints: list = field(default_factory=list)  # symbolic inputs only
    _totals: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def leaves(self) -> list[Row]:
        return [row for row in self.rows if row.node.leaf]

    def total(self, figure: str):
        """The sum of `figure` over the leaves (computed once: reports ask for each often)."""
        if figure not in self._totals:
            self._totals[figure] = add_up(getattr(row, figure) for row in self.rows
                                          if row.node.leaf)
        return self._totals[figure]

    @property
    def symbolic(self) -> bool:
        return not all(is_int(d) for d in self.input_shape)


def input_shape_of(spec: Spec, override: list | None = None) -> tuple:
    """The spec's input (or an override), channels first, with names turned into symbols."""
    dims = list(override if override is not None else spec.input)
    if spec.layout == "hwc" and len(dims) > 1:
        dims = [dims[-1], *dims[:-1]]
    if any(isinstance(d, str) for d in dims):
        from cnncalc.symbolic import to_symbols

        dims = to_symbols(dims)
    return tuple(dims)


MAX_SYMBOLIC_LAYERS = 1_000   # each symbolic layer costs sympy milliseconds (1,000 convs: ~20 s); ResNet-152 has 457


def analyze(spec: Spec, root: Node, input_shape: tuple | None = None) -> Analysis:
    shape = input_shape if input_shape is not None else input_shape_of(spec)
    if not all(is_int(d) for d in shape):
        layers = sum(1 for node in root.walk() if node.leaf)
        if layers > MAX_SYMBOLIC_LAYERS:
            raise SpecError(f"the network has {layers:,} layers: symbolic sizes are analysed for "
                            f"at most {MAX_SYMBOLIC_LAYERS:,}", root.pos,
                            hints=["give the input sizes as numbers: `cnncalc summary SPEC --input 3x224x224`"])
    walker = _Walker(spec.layout)
    rank = len(shape) - 1
    start = Field((1,) * rank, (1,) * rank, (0,) * rank) if rank >= 1 else None
    out, _ = walker.children(root.children, shape, start, 0)
    return Analysis(spec, root, shape, out, walker.rows, walker.shortcuts, walker.constraints)


class _Walker:
    def __init__(self, layout: str):
        self.layout = layout
        self.rows: list[Row] = []
        self.shortcuts: dict[str, list[Node]] = {}
        self.constraints: list = []
        self._open: list[list[Row]] = []   # rows of the direct children of open composites
        self._memo: dict = {}              # (id(args), kind, rounding, input shape) -> figures

    def children(self, nodes: list[Node], shape, rf, depth):
        for node in nodes:
            shape, rf = self.node(node, shape, rf, depth)
        return shape, rf

    def node(self, node: Node, shape, rf, depth):
        row = Row(node, depth, shape, shape, input_field=rf)
        self.rows.append(row)
        first_constraint = len(self.constraints)
        if self._open:
            self._open[-1].append(row)
        if not node.leaf:
            self._open.append([])
        try:
            if node.leaf:
                out, rf = self.leaf(node, row, shape, rf)
            elif node.kind in ("concat", "add"):
                out, rf = self.branches(node, shape, rf, depth)
            elif node.kind == "residual":
                out, rf = self.residual(node, shape, rf, depth)
            else:
                out, rf = self.children(node.children, shape, rf, depth + 1)
        except SpecError as exc:
            exc = _locate(exc, node, shape_text(shape, self.layout))
            if not node.leaf and node.kind == node.block and node.pos is not None:
                # a block use: the position is in the block's definition; say which use it was
                exc.notes.append(f"in block `{node.kind}` used at line {node.pos.line}, "
                                 f"column {node.pos.col}")
            raise exc from None
        row.output_shape = out
        row.field = rf
        for constraint in self.constraints[first_constraint:]:
            if constraint.where is None:    # the innermost node that recorded it
                constraint.where = _label(node)
        if not node.leaf:
            # A composite sums its direct children (each already the sum of its leaves):
            # linear in the number of nodes, whatever the nesting depth.
            below = self._open.pop()
            row.params = add_up(r.params for r in below)
            row.buffers = add_up(r.buffers for r in below)
            row.macs = add_up(r.macs for r in below)
            row.activations = add_up(r.activations for r in below)
        return out, rf

    def leaf(self, node: Node, row: Row, shape, rf):
        # The rules are pure functions of (arguments, input shape), and the iterations of a
        # `repeat` share their arguments objects: each distinct pair is computed once.
        key = (id(node.args), node.kind, node.rounding, shape)
        figures = self._memo.get(key)
        if figures is None:
            kind = KINDS[node.kind]
            args = node.args
            out = kind.shape(args, shape, Fit(node.rounding, constraints=self.constraints))
            _check_positive(out)
            check_size(out)
            window = kind.window(args, shape) if len(out) == len(shape) else None
            figures = (out, kind.params(args, shape), kind.buffers(args, shape),
                       kind.macs(args, shape, out), numel(out), window)
            self._memo[key] = figures
        out, row.params, row.buffers, row.macs, row.activations, window = figures
        if rf is not None and window is not None:
            rf = rf if window == IDENTITY else rf.through(window)
        else:
            rf = None
        return out, rf

    def branches(self, node: Node, shape, rf, depth):
        outs, fields = [], []
        for branch in node.children:
            out, branch_rf = self.node(branch, shape, rf, depth + 1)
            outs.append(out)
            fields.append(branch_rf)
        return (combine(node.kind, outs, constraints=self.constraints, layout=self.layout),
                union(fields))

    def residual(self, node: Node, shape, rf, depth):
        main, short = node.children
        main_out, main_rf = self.node(main, shape, rf, depth + 1)
        mode = node.shortcut
        # With symbols, `auto` takes the identity only when the layers keep the shape at every
        # size; where they keep it at some sizes only, the projection is taken and marked.
        maybe_identity = False
        if mode == "auto":
            mode = "identity" if _same_shape(main_out, shape) else "projection"
            if mode == "projection" and not all(is_int(d) for d in (*main_out, *shape)):
                from cnncalc.symbolic import maybe_equal_shapes

                maybe_identity = maybe_equal_shapes(main_out, shape)
        if mode == "projection":
            short = self.projection(node, short, shape, main_out, rf, main_rf)
        mark = len(self.constraints)     # the shortcut's conditions and the add's
        short_out, short_rf = self.node(short, shape, rf, depth + 1)
        out = combine("add", [main_out, short_out], residual=True, constraints=self.constraints,
                      layout=self.layout)
        if maybe_identity:
            from cnncalc.symbolic import auto_identity_case

            auto_identity_case(self.constraints, mark, main_out, shape, _label(node))
        return out, union([main_rf, short_rf])

    def projection(self, node: Node, short: Node, shape, main_out, rf, main_rf) -> Node:
        """The 1×1 convolution (no bias) and batchnorm that map the input to the main branch's
        channels and size, with the main branch's overall stride (as torchvision's
        downsample)."""
        if len(shape) < 2 or len(main_out) != len(shape):
            raise SpecError("a projection shortcut needs spatial input and output of the same rank",
                            hints=["write the shortcut's layers explicitly"])
        if rf is not None and main_rf is not None:
            stride = [jo // ji for jo, ji in zip(main_rf.jump, rf.jump)]
        else:
            stride = [ceil_div(w, o) if is_int(w) and is_int(o) else _symbolic_ratio(w, o)
                      for w, o in zip(shape[1:], main_out[1:])]
        if not all(is_int(s) and s >= 1 for s in stride):
            hints = ["write the shortcut's layers explicitly"]
            if not all(is_int(d) for d in (*shape, *main_out)):
                hints.append("with symbolic sizes it depends on the size here (after a layer "
                             "without a receptive field: upsample, conv_transpose, ...)")
            raise SpecError("can't derive the projection's stride from the layers", hints=hints)
        path = short.path
        conv = Node(child_path(path, 0), "conv", short.pos, node.rounding,
                    args=ConvArgs(out=main_out[0], kernel=1,
                                  stride=stride[0] if len(set(stride)) == 1 else stride,
                                  bias=False), leaf=True, block=node.block)
        norm = Node(child_path(path, 1), "batchnorm", short.pos, node.rounding,
                    args=BatchNormArgs(), leaf=True, block=node.block)
        resolved = Node(path, "sequential", short.pos, node.rounding, children=[conv, norm],
                        block=node.block)
        self.shortcuts[node.path] = resolved.children
        return resolved


def combine(kind: str, outs: list, residual: bool = False, constraints: list | None = None,
            layout: str = "chw") -> tuple:
    """Output of concat (channels joined) or add (shapes must match exactly). With symbolic
    sizes that agree at some sizes only, the agreement goes into `constraints`; messages show
    shapes in the spec's `layout`."""
    first = outs[0]
    if kind == "add":
        for b, out in enumerate(outs[1:], 1):
            what = "the layers and the shortcut agree" if residual else f"add: branch {b} agrees"
            if not _same_shape(out, first, constraints, what):
                what = ("the layers and the shortcut" if residual else f"branch 0 and branch {b}")
                hints = (["use `shortcut: projection` (or `auto`) to match channels and size"]
                         if residual else ["add a 1×1 conv to one branch to match the shapes"])
                raise SpecError(f"`{'residual' if residual else 'add'}` needs equal shapes, but "
                                f"{what} give {shape_text(first, layout)} and "
                                f"{shape_text(out, layout)}", hints=hints)
        return tuple(first)
    for b, out in enumerate(outs[1:], 1):
        if len(out) != len(first) or not _same_shape(out[1:], first[1:], constraints,
                                                         f"concat: branch {b} agrees", offset=1):
            raise SpecError(f"`concat` needs branches of the same spatial size, but branch 0 "
                            f"gives {shape_text(first, layout)} and branch {b} gives "
                            f"{shape_text(out, layout)}",
                            hints=["pad or pool one branch so the sizes match"])
    return (sum(out[0] for out in outs), *first[1:])


def union(fields: list) -> Field | None:
    """The largest receptive field over branches: the union of their regions."""
    if any(f is None for f in fields) or len({len(f.size) for f in fields}) != 1:
        return None
    first = fields[0]
    if all(f == first for f in fields):
        return first
    if not all(is_int(v) for f in fields for v in (*f.size, *f.jump, *f.start)):
        return None     # branches' fields depend on a symbolic size differently: not kept
    starts = tuple(min(f.start[a] for f in fields) for a in range(len(first.size)))
    ends = tuple(max(f.start[a] + f.size[a] for f in fields) for a in range(len(first.size)))
    jumps = tuple(max(f.jump[a] for f in fields) for a in range(len(first.size)))
    # Aligned: equal jumps and equal centres (2·start + size), so the union is a translate of one
    # field for every output position. Nested fields of one centre (a 1×1 and a 3×3 branch) are.
    aligned = all(f.jump == first.jump and f.aligned
                  and all(2 * u + r == 2 * u0 + r0 for u, r, u0, r0
                          in zip(f.start, f.size, first.start, first.size)) for f in fields)
    return Field(tuple(e - s for e, s in zip(ends, starts)), jumps, starts, aligned)


def in_layout(shape, layout: str) -> tuple:
    """A channels-first shape as the spec writes it (`hwc`: channels last)."""
    if layout == "hwc" and len(shape) > 1:
        return (*shape[1:], shape[0])
    return tuple(shape)


def _same_shape(a, b, constraints: list | None = None, what: str = "", offset: int = 0) -> bool:
    """Equal shapes; `constraints` and `what` as in dims.same_dim (`offset`: index of a[0])."""
    if len(a) != len(b):
        return False
    rank = len(a) + offset
    axes = ("channels", *AXES.get(rank - 1, ())) if rank > 1 else ("size",)
    return all(same_dim(x, y, constraints, f"{what} along {axes[i + offset]}" if what else "")
               for i, (x, y) in enumerate(zip(a, b)))


def shape_text(shape, layout: str) -> str:
    """A channels-first shape as messages show it: in the spec's layout, `8×6×3`."""
    return joined(in_layout(shape, layout))


def _check_positive(shape) -> None:
    for d in shape:
        if is_int(d) and d < 1:
            raise SpecError(f"the output would have size {d}: every size must be at least 1")


def add_up(values):
    """The sum of figures: `sum` for numbers; one sympy Add for expressions (adding them one by
    one re-flattens the growing sum each time: quadratic in the number of layers)."""
    values = list(values)
    if all(is_int(v) for v in values):
        return sum(values)
    import sympy

    return sympy.Add(*values)


def _simple(values) -> bool:
    """Whether symbolic values are still small enough to carry on (see symbolic.MAX_OPERATIONS)."""
    if all(is_int(v) for v in values):
        return True
    from cnncalc.symbolic import MAX_OPERATIONS, operations

    return all(is_int(v) or operations(v) <= MAX_OPERATIONS for v in values)


def _symbolic_ratio(w, o):
    """ceil(w / o) for symbolic sizes: a number only if it is the same at every size."""
    from cnncalc.symbolic import ceil_ratio

    return ceil_ratio(w, o)


def _label(node: Node) -> str:
    return f"layer {node.path} ({node.kind}{', ' + repr(node.name) if node.name else ''})"


def _locate(exc: SpecError, node: Node, shape: str) -> SpecError:
    """Give an error from a rule the layer's position and name, once (the innermost node)."""
    if exc.pos is None:
        exc.pos = node.pos
        label = _label(node)
        # rules' messages quote no shape (they don't know the layout): this note does
        exc.notes.insert(0, f"its input is {shape}")
        exc.message = f"{label}: {exc.message}"
    return exc
