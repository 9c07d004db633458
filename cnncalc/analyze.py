"""Graph -> per-node figures: input and output shape, params, buffers, MACs, output elements and
receptive field; totals over the leaves. Nothing here depends on batch size or dtype: those only
scale memory, and the report applies them."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnncalc.dims import AXES, Fit, in_layout, is_int, joined, numel, same_dim
from cnncalc.errors import SpecError
from cnncalc.field import Field
from cnncalc.graph import Node
from cnncalc.limits import check_size
from cnncalc.spec import Spec

__all__ = ["Analysis", "Field", "Row", "analyze", "in_layout", "input_shape_of"]


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
    # the network's outputs: (the name written in `outputs`, "." for the default; shape, field)
    outputs: list[tuple[str, tuple, Field | None]] = field(default_factory=list)
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


MAX_SYMBOLIC_LAYERS = 1_000   # sympy works per layer (bench/README.md); ResNet-152 has 457


def analyze(spec: Spec, root: Node, input_shape: tuple | None = None) -> Analysis:
    shape = input_shape if input_shape is not None else input_shape_of(spec)
    if not all(is_int(d) for d in shape):
        layers = sum(1 for node in root.walk() if node.leaf)
        if layers > MAX_SYMBOLIC_LAYERS:
            raise SpecError(f"the network has {layers:,} layers: symbolic sizes are analysed for "
                            f"at most {MAX_SYMBOLIC_LAYERS:,}", root.pos,
                            hints=["give the input sizes as numbers: "
                                   "`cnncalc summary SPEC --input 3x224x224`"])
    walker = _Walker(spec.layout, references=root.outputs is not None)
    rank = len(shape) - 1
    start = Field((1,) * rank, (1,) * rank, (0,) * rank) if rank >= 1 else None
    walker.start = (shape, start)
    out, rf = walker.children(root.children, shape, start, 0)
    outputs = [(name, *walker.resolve(key)) for name, key in root.outputs or ()]
    if not outputs:
        outputs = [(".", out, rf)]
    return Analysis(spec, root, shape, outputs[0][1], walker.rows, outputs, walker.shortcuts,
                    walker.constraints)


class _Walker:
    def __init__(self, layout: str, references: bool = False):
        self.layout = layout
        self.rows: list[Row] = []
        self.shortcuts: dict[str, list[Node]] = {}
        self.constraints: list = []
        self._open: list[list[Row]] = []   # rows of the direct children of open composites
        self._memo: dict = {}              # (id(args), kind, rounding, input shape) -> figures
        # rows by path, for references (cnncalc.graph.Key); none kept in a network without
        self.by_path: dict[str, Row] | None = {} if references else None
        self.start: tuple = ((), None)     # the network's input and its field

    def resolve(self, key) -> tuple:
        """The shape and receptive field a reference names (an earlier node's output, or the
        input of a node that is running)."""
        path, port = key
        if path == "":
            return self.start
        assert self.by_path is not None
        row = self.by_path[path]
        return (row.output_shape, row.field) if port == "out" else (row.input_shape,
                                                                     row.input_field)

    def label(self, key) -> str:
        """A reference as messages name it: its id, `input`, or the layer's path."""
        path, port = key
        if path == "":
            return "input"
        assert self.by_path is not None
        node = self.by_path[path].node
        return (node.id or f"layer {path}") if port == "out" else f"the input of layer {path}"

    def children(self, nodes: list[Node], shape, rf, depth):
        for node in nodes:
            shape, rf = self.node(node, shape, rf, depth)
        return shape, rf

    def node(self, node: Node, shape, rf, depth):
        if node.src is not None:            # `from: NAME`
            shape, rf = self.resolve(node.src)
        row = Row(node, depth, shape, shape, input_field=rf)
        self.rows.append(row)
        if self.by_path is not None:
            self.by_path[node.path] = row
        first_constraint = len(self.constraints)
        if self._open:
            self._open[-1].append(row)
        if not node.leaf:
            self._open.append([])
        try:
            if node.leaf:
                out, rf = self.leaf(node, row, shape, rf)
            else:
                out, rf = node.composite.analyze(self, node, shape, rf, depth)
        except SpecError as exc:
            exc = _locate(exc, node, shape_text(shape, self.layout))
            if not node.leaf and node.composite.block_use and node.pos is not None:
                # a block use: the position is in the block's definition; say which use it was
                exc.notes.append(f"in block `{node.kind}` used at line {node.pos.line}, "
                                 f"column {node.pos.col}")
            raise exc from None
        row.output_shape = out
        row.field = rf
        for constraint in self.constraints[first_constraint:]:
            if constraint.where is None:    # the innermost node that recorded it
                constraint.where = label_of(node)
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
        refs = None
        if node.refs:       # upsample's `like`: the shapes named are part of what it depends on
            kind = node.leaf_kind
            names = [r for r in kind.references if getattr(node.args, r) is not None]
            refs = {name: self.resolve(ref)[0] for name, ref in zip(names, node.refs)}
            key = (*key, *refs.values())
        figures = self._memo.get(key)
        if figures is None:
            kind = node.leaf_kind
            args = node.args
            out = kind.shape(args, shape, Fit(node.rounding, constraints=self.constraints,
                                              refs=refs))
            _check_positive(out)
            check_size(out)
            window = kind.window(args, shape) if len(out) == len(shape) else None
            figures = (out, kind.params(args, shape), kind.buffers(args, shape),
                       kind.macs(args, shape, out), numel(out), window)
            self._memo[key] = figures
        out, row.params, row.buffers, row.macs, row.activations, window = figures
        return out, rf.after(window) if rf is not None else None


def same_shape(a, b, constraints: list | None = None, what: str = "", offset: int = 0) -> bool:
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


def symbolic_ratio(w, o):
    """ceil(w / o) for symbolic sizes: a number only if it is the same at every size."""
    from cnncalc.symbolic import ceil_ratio

    return ceil_ratio(w, o)


def label_of(node: Node) -> str:
    return f"layer {node.path} ({node.kind}{', ' + repr(node.name) if node.name else ''})"


def _locate(exc: SpecError, node: Node, shape: str) -> SpecError:
    """Give an error from a rule the layer's position and name, once (the innermost node)."""
    if exc.pos is None:
        exc.pos = node.pos
        label = label_of(node)
        # rules' messages quote no shape (they don't know the layout): this note does
        exc.notes.insert(0, f"its input is {shape}")
        exc.message = f"{label}: {exc.message}"
    return exc
