"""The composite kinds, one object each: `sequential`, `repeat`, `concat`, `add`, `mul`, `split`,
`residual`, and a block's use (not a kind a spec names: any name defined under `blocks:`).

A composite owns every stage's view of it, as a leaf kind does:

- `expand(ex, value, entry)`: the node it makes from the spec's value (`ex` is the expander,
  `entry` the entry's path, positions, rounding and block);
- `analyze(walker, node, shape, rf, depth)`: its output shape and receptive field from its
  children's (the walker analyses each child and keeps their rows);
- `explain(row, context)`: how it combines its children, in words and numbers;
- `build(builder, node)`: the PyTorch module (`builder` builds the children; torch is handed in
  through it, so nothing here imports torch);
- `branches(node, shortcuts)`: the lists of nodes `validate --against` may pair in any order
  (None: its children run in order);
- `chained` and `reads(node)`: how values flow (cnncalc.graph.dataflow): whether its children
  run one after another or each on its input, and what its output is computed from;
  `operations()`, `cuts()` and `combines(n)`: what a model runs to cut its input for the
  branches (`cut_by`: split's chunk) and to join n branches (`combined_by`, in `torch_names`
  forms), and how many times (a + b + c: 2); `cnncalc import` reads the same names back;
- `arguments`, `torch`, `summary` and `schema(entry)`: its line in `cnncalc kinds` and the
  editor schema; `example`: a worked case the test suite runs;
- for `cnncalc import`, the inverse: `read_call(op, args, kwargs, rank)`, whether a functional
  call in a model's `forward` combines branches as this composite does (`torch.cat` on dim 1 is
  `concat`'s), and `write(...)`, the entry as a spec writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from cnncalc.analyze import label_of, same_shape, shape_text, symbolic_ratio
from cnncalc.dims import AXES, broadcast_dim, ceil_div, is_int
from cnncalc.errors import Pos, SpecError
from cnncalc.field import union
from cnncalc.graph import Node, child_path
from cnncalc.kinds.base import KINDS, MAX_INT, Args, PosInt, call_arguments, torch_names
from cnncalc.kinds.conv import Conv, ConvArgs
from cnncalc.kinds.norm import BatchNorm, BatchNormArgs
from cnncalc.loader import Map, Seq, shown
from cnncalc.working import Step, alignment, branch_rows, n, number

if TYPE_CHECKING:
    from cnncalc.analyze import Row
    from cnncalc.working import Context

MAX_REPEAT = 1_000_000
SHORTCUTS = ("identity", "projection", "auto", "optional", "none")


@dataclass(frozen=True, slots=True)
class Entry:
    """Where an entry is: its path, its position and its value's, the rounding it inherits and
    the block it was written in."""

    path: str
    pos: Pos | None
    value_pos: Pos | None
    rounding: str
    block: str | None


class Composite:
    name: ClassVar[str]
    torch: ClassVar[str]
    summary: ClassVar[str]
    arguments: ClassVar[list[tuple[str, bool, Any]]]    # (YAML name, required, default)
    example: ClassVar[str]
    leaf: ClassVar[bool] = False
    block_use: ClassVar[bool] = False
    chained: ClassVar[bool] = True      # children one after another (else each on the input)
    # What a model runs to join its branches, and to cut its input for them (`split`'s chunk),
    # in `torch_names` forms: `validate --against` pairs them, `cnncalc import` reads them back
    combined_by: ClassVar[tuple[str, ...]] = ()     # nothing joins its children: they run in order
    cut_by: ClassVar[tuple[str, ...]] = ()

    def expand(self, ex: Any, value: Any, entry: Entry) -> Node:
        raise NotImplementedError

    def reads(self, node: Node) -> list:
        """The values its output is computed from: its last child's (its input if none)."""
        return [(node.children[-1].path, "out")] if node.children else [(node.path, "in")]

    def analyze(self, walker: Any, node: Node, shape: tuple, rf: Any, depth: int) -> tuple:
        return walker.children(node.children, shape, rf, depth + 1)

    def explain(self, row: Row, context: Context) -> list[Step]:
        raise NotImplementedError

    def build(self, builder: Any, node: Node) -> Any:
        return builder.sequential(node.children, node)

    def branches(self, node: Node, shortcuts: dict) -> list[list[Node]] | None:
        return None

    def train(self, walker: Any, node: Node, value: Any) -> Any:
        """The training walk (cnncalc/train.py): the tensor its output is, from its input's;
        what it saves itself goes through `walker.save(node, value)`. Not declared: refused
        by name (a composite's tensors can't be guessed)."""
        raise SpecError(f"layer {node.path} ({node.kind}): the composite `{self.name}` has no "
                        "training rule yet, so its training figures are unknown", node.pos,
                        hints=["leave out --train"])

    def in_order(self, walker: Any, node: Node, value: Any) -> Any:
        """The children one after the other: a sequential, a repeat, a block's use."""
        return walker.sequence(node.children, value)

    def operations(self) -> frozenset[str]:
        return torch_names(self.cut_by + self.combined_by)

    def joins(self) -> frozenset[str]:
        """The operations that join its branches (`combined_by`'s)."""
        return torch_names(self.combined_by)

    def combines(self, branches: int) -> int:
        """How many of `combined_by` a model runs to join `branches` branches."""
        return branches - 1 if self.combined_by else 0

    def cuts(self) -> int:
        """How many of `cut_by` a model runs before the branches."""
        return 1 if self.cut_by else 0

    def schema(self, entry: dict) -> dict:
        raise NotImplementedError

    def read_call(self, op: str, args: tuple, kwargs: dict, rank: int) -> bool:
        """`op(branches, *args, **kwargs)` in a model's `forward` combines its tensor inputs as
        this composite combines its branches (`rank`: of each input, batch included)."""
        return False

    def mapping(self, ex: Any, value: Any, entry: Entry, allowed: tuple,
                example: str) -> tuple[Map, dict, str]:
        """The arguments of a composite written as a mapping (`repeat`, `residual`), its
        options, and the rounding its entries inherit."""
        if not isinstance(value, Map):
            raise SpecError(f"`{self.name}` takes a mapping", entry.value_pos, hints=[example])
        args, options = ex.options(value)
        ex.only_keys(args, allowed, self.name, entry.value_pos)
        return args, options, options.get("rounding", entry.rounding)

    def __repr__(self) -> str:
        return f"<composite {self.name}>"


COMPOSITES: dict[str, Composite] = {}


def composite_kind(cls: type[Composite]) -> type[Composite]:
    if cls.name in COMPOSITES or cls.name in KINDS:
        raise RuntimeError(f"kind {cls.name!r} registered twice")
    COMPOSITES[cls.name] = cls()
    return cls


def _layers_schema(entry: dict) -> dict:
    return {"type": "array", "items": entry}


@composite_kind
class Sequential(Composite):
    name = "sequential"
    torch = "Sequential"
    summary = "the entries in order"
    arguments = [("entries or layers", True, None)]
    train = Composite.in_order
    # mapping form: `sequential: {layers: [...], id: ..., name: ...}`
    example = """
name: sequential
spec:
  input: [3, 8, 8]
  layers:
    - sequential: [conv: {out: 4, kernel: 3, padding: 1}, relu]
expected:
  # (8 − 3 + 2)/1 + 1 = 8; params (3·3·3 + 1)·4 = 112
  output: [4, 8, 8]
  params: 112
"""

    def expand(self, ex, value, entry: Entry) -> Node:
        if isinstance(value, Map):      # the mapping form, which can carry options
            args, options, rounding = self.mapping(ex, value, entry, ("layers",),
                                                   "`sequential: {layers: [...]}`")
            if "layers" not in args:
                raise SpecError("`sequential` needs `layers`", entry.value_pos)
            node = ex.new(entry.path, self, entry.pos, rounding, block=entry.block)
            node.children = ex.sequence(args["layers"], entry.path, rounding, entry.block)
            return ex.finish(node, options, value)
        if not isinstance(value, Seq):
            raise SpecError("`sequential` takes a list of layer entries",
                            entry.value_pos or entry.pos,
                            hints=["e.g. `sequential: [conv: ..., relu]`, or the entries on "
                                   "the lines below it, indented, each starting with `- `"])
        node = ex.new(entry.path, self, entry.pos, entry.rounding, block=entry.block)
        node.children = ex.sequence(value, entry.path, entry.rounding, entry.block)
        return node

    def explain(self, row, context) -> list[Step]:
        return []   # a branch or a list of layers: its heading (in → out) says it all

    def schema(self, entry: dict) -> dict:
        layers = _layers_schema(entry)
        return {"anyOf": [layers, _mapping_schema({"layers": layers}, ["layers"])]}


def _mapping_schema(properties: dict, required: list) -> dict:
    """A list-form composite's mapping form (`sequential: {layers: [...]}`), which can also
    carry the options every entry may (`id`, `when`, ...: the schema adds them)."""
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": required}


@composite_kind
class Repeat(Composite):
    name = "repeat"
    torch = "Sequential"
    summary = "the layers, `times` times in a row"
    arguments = [("times", True, None), ("layers", True, None)]
    train = Composite.in_order
    example = """
name: repeat-3
spec:
  input: [8, 16, 16]
  layers:
    - repeat: {times: 3, layers: [conv: {out: 8, kernel: 3, padding: 1}, relu]}
expected:
  # three times (3·3·8 + 1)·8 = 584 params; each conv 16·16·8·(3·3·8) = 147,456 MACs
  output: [8, 16, 16]
  params: 1_752
  macs: 442_368
"""

    def expand(self, ex, value, entry: Entry) -> Node:
        args, options, rounding = self.mapping(ex, value, entry, ("times", "layers"),
                                               "`repeat: {times: N, layers: [...]}`")
        times = args.get("times")
        if "times" not in args:
            raise SpecError(f"`repeat` needs `times`: a whole number from 0 to {MAX_REPEAT:,}",
                            entry.value_pos)
        if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= MAX_REPEAT:
            raise SpecError(f"`times` must be a whole number from 0 to {MAX_REPEAT:,}, not "
                            f"{shown(times)}", args.at("times"))
        if "layers" not in args:
            raise SpecError("`repeat` needs `layers`", entry.value_pos)
        path = entry.path
        node = ex.new(path, self, entry.pos, rounding, block=entry.block)
        first_path = child_path(path, 0)
        before = ex.count
        first = ex.new(first_path, SEQUENTIAL, args.at("layers"), rounding, block=entry.block)
        first.children = ex.sequence(args["layers"], first_path, rounding, entry.block)
        ex.reserve((ex.count - before) * (times - 1),
                   f"`repeat` {times:,} times expands to more than {{limit:,}} layers",
                   args.at("times"))
        # `times: 0` adds nothing (a stage of one block: `times: "${blocks - 1}"`); its layers
        # are still expanded once, so that their mistakes show
        node.children = [first] + [first.renamed(first_path, child_path(path, r))
                                   for r in range(1, times)] if times else []
        return ex.finish(node, options, value)

    def explain(self, row, context) -> list[Step]:
        times = len(row.node.children)
        if not times:
            return [Step("times: 0: no layers; the input passes through unchanged")]
        return [Step(f"the same layers {times} time{'s' if times != 1 else ''} in a row")]

    def schema(self, entry: dict) -> dict:
        return {"type": "object", "additionalProperties": False, "required": ["times", "layers"],
                "properties": {"times": {"type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
                               "layers": _layers_schema(entry)}}

    def write(self, times: int, layers: list, name: str | None) -> dict:
        return {self.name: {"times": times, "layers": layers, **({"name": name} if name else {})}}


class Branched(Composite):
    """concat, add and mul: every branch gets the entry's input, and their outputs are
    combined; or, with `{from: [a, b, ...]}`, the outputs of the entries named (`node.refs`)."""

    arguments = [("branches or from", True, None)]
    chained = False
    # the join hands its output's gradient itself to every branch (a sum), not a part of it
    # or a new one: an identity branch keeps that tensor waiting (cnncalc/train.py, `branched`)
    sums: ClassVar[bool] = False
    # or a gradient of its own to each branch, of the branch's output's size (a product)
    products: ClassVar[bool] = False

    def expand(self, ex, value, entry: Entry) -> Node:
        options: dict = {}
        rounding = entry.rounding
        branches_pos = entry.value_pos
        value_map = value
        if isinstance(value, Map):      # the mapping form: `{branches: [...]}` or `{from: [...]}`
            args, options, rounding = self.mapping(ex, value, entry, ("branches",),
                                                   f"`{self.name}: {{branches: [[...], ...]}}` "
                                                   f"or `{self.name}: {{from: [a, b]}}`")
            sources = options.get("from")
            if isinstance(sources, Seq):
                if "branches" in args:
                    raise SpecError(f"`{self.name}` takes `branches` or a list `from`, not both",
                                    value.at("from"),
                                    hints=["`from: NAME` (one name) gives the branches their input"])
                options = {k: v for k, v in options.items() if k != "from"}
                node = ex.new(entry.path, self, entry.pos, rounding, block=entry.block)
                node.refs = self.sources(ex, sources, value.at("from"))
                return ex.finish(node, options, value_map)
            if "branches" not in args:
                raise SpecError(f"`{self.name}` needs `branches` (lists of entries) or `from` "
                                "(a list of names)", entry.value_pos,
                                hints=[f"e.g. `{self.name}: {{from: [a, b]}}`"])
            value, branches_pos = args["branches"], args.at("branches")
        if not isinstance(value, Seq) or not value:
            raise SpecError(f"`{self.name}` takes a list of branches, each a list of entries",
                            branches_pos, hints=[f"e.g. `{self.name}: [[conv: ...], []]`"])
        node = ex.new(entry.path, self, entry.pos, rounding, block=entry.block)
        node.children = _branches(ex, self.name, value, entry, rounding)
        return ex.finish(node, options, value_map) if options else node

    def sources(self, ex, names: Seq, pos) -> tuple:
        """`from: [a, b, ...]`: two or more names, each resolved where the entry is."""
        if len(names) < 2:
            raise SpecError(f"`{self.name}: {{from: [...]}}` combines two or more entries, "
                            f"not {len(names)}", pos,
                            hints=["name the entry's own input `.` if it is one of them"])
        return tuple(ex.lookup(name, names.at(i)) for i, name in enumerate(names))

    def reads(self, node: Node) -> list:
        return list(node.refs) if node.refs else [(c.path, "out") for c in node.children]

    def analyze(self, walker, node: Node, shape, rf, depth):
        outs, fields = [], []
        if node.refs:
            for key in node.refs:
                out, field = walker.resolve(key)
                outs.append(out)
                fields.append(field)
        for branch in node.children:
            out, branch_rf = walker.node(branch, shape, rf, depth + 1)
            outs.append(out)
            fields.append(branch_rf)
        labels = [f"`{walker.label(key)}`" for key in node.refs] if node.refs else None
        out = self.combine(outs, walker.constraints, walker.layout, labels=labels)
        if any(tuple(o[1:]) != tuple(out[1:]) for o in outs):
            # a branch broadcast along a spatial axis: each of its values reaches every output
            # position along it, so there is no sliding-window field
            return out, None
        return out, union(fields)

    def combine(self, outs: list, constraints: list | None, layout: str,
                labels: list | None = None) -> tuple:
        raise NotImplementedError

    def build(self, builder, node: Node):
        if node.refs:
            return builder.joined(node.refs, self.combined)
        return builder.branches(self.name, node.children, self.combined)

    def combined(self, torch: Any, outs: list) -> Any:
        raise NotImplementedError

    def train(self, walker, node: Node, value):
        if node.refs:        # `{from: [...]}`: the values named, by key
            return self.joined(walker, node, [walker.named(key) for key in node.refs])
        return self.joined(walker, node, walker.branched(node, [[b] for b in node.children],
                                                         value, sums=self.sums,
                                                         products=self.products))

    def joined(self, walker, node: Node, outs: list):
        """`torch.cat` and `+` keep nothing for the backward (it needs only the sizes)."""
        if len(outs) == 1 and self.name != "concat":
            return outs[0]               # `combined` returns the one branch's output itself
        return walker.fresh(node, walker.shape_of(node), outs, sums=self.sums)

    def branches(self, node: Node, shortcuts: dict):
        if node.refs:
            return None      # nothing of its own to pair: its inputs are entries elsewhere
        return [branch.children for branch in node.children]

    def schema(self, entry: dict) -> dict:
        branches = {"type": "array", "minItems": 1, "items": _layers_schema(entry)}
        names = {"type": "array", "minItems": 2,
                 "items": {"type": "string", "pattern": r"^([A-Za-z_][A-Za-z0-9_]*|\.)$"},
                 "description": "the outputs of these entries, by `id` (`.`: the previous "
                                "entry's), combined"}
        return {"anyOf": [branches, _mapping_schema({"branches": branches}, ["branches"]),
                          _mapping_schema({"from": names}, ["from"])]}

    def read_call(self, op, args, kwargs, rank):
        return op in self.joins() and self.reads_arguments(args, kwargs, rank)

    def reads_arguments(self, args: tuple, kwargs: dict, rank: int) -> bool:
        return not args and not kwargs

    def write(self, branches: list) -> dict:
        return {self.name: branches}


def _branches(ex, kind: str, branches: Seq, entry: Entry, rounding: str) -> list[Node]:
    """A composite's branches as written, each a sequential of its entries (`[]`: none)."""
    nodes = []
    for b, branch in enumerate(branches):
        if not isinstance(branch, Seq):
            raise SpecError(f"branch {b} of `{kind}` must be a list of entries "
                            "(`[]` for the identity)", branches.at(b))
        branch_path = child_path(entry.path, b)
        child = ex.new(branch_path, SEQUENTIAL, branches.at(b), rounding, block=entry.block)
        child.children = ex.sequence(branch, branch_path, rounding, entry.block)
        nodes.append(child)
    return nodes


def _labels(labels: list | None, count: int) -> list[str]:
    """What messages call the combined values: `p2` for a `from` list, else branch 0, 1, …"""
    return labels or [f"branch {b}" for b in range(count)]


@composite_kind
class Concat(Branched):
    name = "concat"
    torch = "torch.cat(…, dim=1)"
    combined_by = ("cat", "concat", "concatenate")
    summary = ("every branch gets the same input; outputs joined along channels "
               "(`[]` is the identity branch)")
    example = """
name: dense-layer
spec:
  input: [64, 8, 8]
  layers:
    - concat: [[], [conv: {out: 32, kernel: 3, padding: 1}]]
expected:
  # channels 64 + 32 = 96; params (3·3·64 + 1)·32 = 18,464
  output: [96, 8, 8]
  params: 18_464
"""

    def combine(self, outs, constraints, layout, labels=None):
        """Channels joined; spatial sizes must match (an equality recorded for symbols that
        agree at some sizes only); messages show shapes in the spec's `layout`."""
        first = outs[0]
        names = _labels(labels, len(outs))
        for b, out in enumerate(outs[1:], 1):
            if len(out) != len(first) or not same_shape(out[1:], first[1:], constraints,
                                                         f"concat: {names[b]} agrees", offset=1):
                what = "branches" if labels is None else "inputs"
                raise SpecError(f"`concat` needs {what} of the same spatial size, but {names[0]} "
                                f"gives {shape_text(first, layout)} and {names[b]} gives "
                                f"{shape_text(out, layout)}",
                                hints=["pad or pool one branch so the sizes match"
                                       if labels is None else "resize one of them to the "
                                       "other's size (`upsample: {like: NAME}`)"])
        return (sum(out[0] for out in outs), *first[1:])

    def combines(self, branches: int) -> int:
        return 1 if branches > 1 else 0     # one torch.cat joins them all

    def combined(self, torch, outs):
        return torch.cat(outs, dim=1)

    def reads_arguments(self, args, kwargs, rank):
        given = call_arguments(args, kwargs, ("dim",))
        return set(given) <= {"dim"} and given.get("dim", 0) % rank == 1

    def explain(self, row, context) -> list[Step]:
        if row.node.refs:
            channels = [context.value(key)[0] for key in row.node.refs]
            return [Step(f"{_sources_text(row, context)}, joined along channels (spatial sizes "
                         "match)"),
                    Step("channels", " + ".join(f"C{i}" for i in range(len(channels))),
                         " + ".join(n(c) for c in channels), row.output_shape[0],
                         then=context.shape(row.output_shape))]
        branches = branch_rows(row, context)
        channels = [b.output_shape[0] for b in branches]
        return [Step(f"every branch gets the {context.shape(row.input_shape)} input; their "
                     "outputs are joined along channels (spatial sizes match)"),
                Step("channels", " + ".join(f"C{i}" for i in range(len(channels))),
                     " + ".join(n(c) for c in channels), row.output_shape[0],
                     then=context.shape(row.output_shape))] + alignment(branches, row)


@composite_kind
class Add(Branched):
    name = "add"
    sums = True
    torch = "sum of the branches (+)"
    combined_by = ("add", "Tensor.__radd__", "Tensor.__iadd__")   # a + b, sum([a, b]), +=
    summary = ("element-wise sum of the branches; shapes broadcast as PyTorch's (equal, or 1, "
               "on each axis)")
    example = """
name: add-two-branches
spec:
  input: [16, 8, 8]
  layers:
    - add: [[conv: {out: 16, kernel: 3, padding: 1}], [conv: {out: 16, kernel: 1}]]
expected:
  # shapes match, so the sum is 16×8×8; params (3·3·16 + 1)·16 + (16 + 1)·16 = 2,592
  output: [16, 8, 8]
  params: 2_592
"""

    def joined(self, walker, node: Node, outs: list):
        """`combined` adds one branch at a time: from three on, the last `+` makes the output
        while the sum of the others is alive."""
        if len(outs) < 3:
            return super().joined(walker, node, outs)
        partial = broadcast(self.name, [out.shape for out in outs[:-1]], None, walker.layout)
        return walker.fresh(node, walker.shape_of(node), outs, partial=partial, sums=True)

    def combine(self, outs, constraints, layout, labels=None, residual: bool = False):
        """Branches broadcast as PyTorch does; a residual's layers and shortcut must match
        exactly (no broadcasting)."""
        if not residual:
            return broadcast(self.name, outs, constraints, layout, labels)
        first = outs[0]
        for b, out in enumerate(outs[1:], 1):
            what = "the layers and the shortcut agree" if residual else f"add: branch {b} agrees"
            if not same_shape(out, first, constraints, what):
                what = ("the layers and the shortcut" if residual else f"branch 0 and branch {b}")
                hints = (["use `shortcut: projection` (or `auto`) to match channels and size"]
                         if residual else ["add a 1×1 conv to one branch to match the shapes"])
                raise SpecError(f"`{'residual' if residual else 'add'}` needs equal shapes, but "
                                f"{what} give {shape_text(first, layout)} and "
                                f"{shape_text(out, layout)}", hints=hints)
        return tuple(first)

    def combined(self, torch, outs):
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return total

    def reads_arguments(self, args, kwargs, rank):
        return not args and kwargs.get("alpha", 1) == 1 and set(kwargs) <= {"alpha"}

    def explain(self, row, context) -> list[Step]:
        return combined_steps(row, context, "summed", "channels are not added up")


def broadcast(kind: str, outs: list, constraints: list | None, layout: str,
              labels: list | None = None) -> tuple:
    """The shape of `add` or `mul` of the branches' outputs, as PyTorch broadcasts them: the
    same rank, and on each axis equal sizes or one of them 1 (a [C, 1, 1] gate times a
    [C, H, W] map)."""
    result = tuple(outs[0])
    which = _labels(labels, len(outs))
    for b, out in enumerate(outs[1:], 1):
        def error(b=b, out=out):
            return SpecError(f"`{kind}` needs shapes that broadcast (on each axis equal, or one "
                             f"of them 1), but {which[0]} gives {shape_text(outs[0], layout)} and "
                             f"{which[b]} gives {shape_text(out, layout)}",
                             hints=["make the sizes equal, or 1 where a branch is to be repeated "
                                    "(global_avgpool gives 1 along every spatial axis)"])
        if len(out) != len(result):
            raise error()
        names = ("channels", *AXES.get(len(out) - 1, ())) if len(out) > 1 else ("size",)
        result = tuple(broadcast_dim(x, y, constraints, f"{kind}: {which[b]} along {name}", error)
                       for x, y, name in zip(result, out, names))
    return result


def _sources_text(row, context) -> str:
    """`the outputs of p2 (64×16×16) and layer 3 (upsample) (128×16×16)`: a `from` list."""
    named = [f"{context.named(key)} ({context.shape(context.value(key))})"
             for key in row.node.refs]
    return "the outputs of " + ", ".join(named[:-1]) + " and " + named[-1]


def combined_steps(row, context, how: str, note: str) -> list[Step]:
    """`add`'s and `mul`'s working: the branches' shapes, and the broadcast where they differ."""
    if row.node.refs:
        same = len({context.value(key) for key in row.node.refs}) == 1
        return [Step(f"{_sources_text(row, context)}, {how} element by element"
                     + ("" if same else "; a size of 1 is repeated along its axis (broadcasting, "
                        "as PyTorch's)") + f" → {context.shape(row.output_shape)}; {note}")]
    branches = branch_rows(row, context)
    shapes = {context.shape(b.output_shape) for b in branches}
    if len(shapes) == 1:
        return [Step(f"{len(branches)} branches, each {context.shape(row.output_shape)}, {how} "
                     f"element by element: shape unchanged, {note}")] + alignment(branches, row)
    return [Step(f"{len(branches)} branches, "
                 + ", ".join(context.shape(b.output_shape) for b in branches)
                 + f", {how} element by element; a size of 1 is repeated along its axis "
                 f"(broadcasting, as PyTorch's) → {context.shape(row.output_shape)}; {note}")]


@composite_kind
class Mul(Branched):
    name = "mul"
    products = True
    torch = "product of the branches (*)"
    combined_by = ("mul", "Tensor.__rmul__", "Tensor.__imul__")
    summary = ("element-wise product of the branches (gating); shapes broadcast as PyTorch's "
               "(`[]` is the identity branch)")
    example = """
name: squeeze-and-excitation
spec:
  input: [64, 14, 14]
  layers:
    - mul:
        - []
        - [global_avgpool, conv: {out: 16, kernel: 1}, relu, conv: {out: 64, kernel: 1}, sigmoid]
expected:
  # the gate is 64×1×1, broadcast over the 14×14 map: the output is 64×14×14.
  # params (64 + 1)·16 + (16 + 1)·64 = 2,128; MACs 64·16 + 16·64 = 2,048 (the product counts none)
  output: [64, 14, 14]
  params: 2_128
  macs: 2_048
"""

    def combine(self, outs, constraints, layout, labels=None):
        return broadcast(self.name, outs, constraints, layout, labels)

    def combined(self, torch, outs):
        total = outs[0]
        for out in outs[1:]:
            total = total * out
        return total

    def joined(self, walker, node: Node, outs: list):
        """a·b keeps b when a needs a gradient and a when b does, one product at a time. The
        backward runs the last product first: the gradient it makes for its right factor
        waits (for that factor's own layers, which run after every product) while the
        products before it run theirs."""
        total = outs[0]
        products = []
        for out in outs[1:]:
            if total.grad:
                walker.save(node, out, "a factor, for the other's gradient")
            if out.grad:
                walker.save(node, total, "a factor, for the other's gradient")
            shape = broadcast(self.name, [total.shape, out.shape], None, walker.layout)
            start = len(walker.events)
            total = walker.fresh(node, shape, [total, out], product=True)
            products.append((walker.events[start:], out))
        waiting = 0
        for events, factor in reversed(products):
            for event in events:
                event.held = event.held + waiting
            if factor.grad:
                waiting = waiting + walker.value_bytes(factor)
        return total

    def explain(self, row, context) -> list[Step]:
        return combined_steps(row, context, "multiplied", "no parameters of its own")


class SplitArgs(Args):
    """`split`'s cut: `sizes` (channels per slice) or `parts` (equal slices)."""

    sizes: list[PosInt] | None = None
    parts: PosInt | None = None


@composite_kind
class Split(Composite):
    name = "split"
    torch = "torch.split / torch.chunk along channels, then torch.cat"
    cut_by = ("split", "torch.functional.split", "chunk", "tensor_split")
    combined_by = ("cat", "concat", "concatenate")
    summary = ("the channels cut into consecutive slices, slice i to branch i, outputs joined "
               "along channels (`[]` is the identity branch)")
    arguments = [("parts or sizes", True, None), ("branches", True, None)]
    example = """
name: shufflenet-split
spec:
  input: [116, 28, 28]
  layers:
    - split:
        parts: 2
        branches:
          - []
          - [conv: {out: 58, kernel: 1, bias: false}, batchnorm, relu]
expected:
  # 116/2 = 58 channels to each branch; the identity keeps its 58, the conv gives 58:
  # 58 + 58 = 116. params 58·58 = 3,364 + 2·58 = 116 (batchnorm): 3,480;
  # MACs 28·28·58·58 = 2,637,376 (the cut and the join count none)
  output: [116, 28, 28]
  params: 3_480
  macs: 2_637_376
"""

    def expand(self, ex, value, entry: Entry) -> Node:
        form = "`split: {parts: 2, branches: [[], [...]]}` or `split: {sizes: [16, 48], ...}`"
        args, options, rounding = self.mapping(ex, value, entry, ("sizes", "parts", "branches"),
                                               form)
        cuts = [key for key in ("sizes", "parts") if key in args]
        if len(cuts) != 1:
            raise SpecError("`split` takes either `sizes` or `parts`" if cuts else
                            "`split` needs `sizes` (channels per slice) or `parts` (equal slices)",
                            args.at(cuts[-1]) if cuts else entry.value_pos, hints=[form])
        try:
            node_args = SplitArgs.model_validate({cuts[0]: args[cuts[0]]})
        except ValidationError:
            what = ("a list of whole numbers, each at least 1" if cuts[0] == "sizes"
                    else "a whole number, at least 1")
            raise SpecError(f"`{cuts[0]}` must be {what}, not {shown(args[cuts[0]])}",
                            args.at(cuts[0])) from None
        slices = len(node_args.sizes) if node_args.sizes is not None else node_args.parts
        branches = args.get("branches")
        if not isinstance(branches, Seq):
            raise SpecError("`split` needs `branches`: a list with one list of entries per slice "
                            "(`[]` for the identity)",
                            args.at("branches") if "branches" in args else entry.value_pos,
                            hints=[form])
        if len(branches) != slices:
            cut = (f"{len(node_args.sizes)} sizes" if node_args.sizes is not None
                   else f"parts: {node_args.parts}")
            raise SpecError(f"`split` cuts {slices} slice{'s' if slices != 1 else ''} ({cut}) "
                            f"but has {len(branches)} branch{'es' if len(branches) != 1 else ''}",
                            args.at("branches"),
                            hints=["write one branch per slice; `[]` passes a slice through"])
        node = ex.new(entry.path, self, entry.pos, rounding, args=node_args, block=entry.block)
        node.children = _branches(ex, self.name, branches, entry, rounding)
        return ex.finish(node, options, value)

    def write(self, sizes: list[int], branches: list) -> dict:
        """The cut of `sizes` channels, slice i to `branches[i]`: `parts` where they're equal."""
        cut = {"parts": len(sizes)} if len(set(sizes)) == 1 else {"sizes": sizes}
        return {self.name: {**cut, "branches": branches}}

    def sizes(self, node: Node, channels) -> list[int]:
        """The channels of each slice; an error where the cut doesn't fit the channels."""
        args: SplitArgs = node.args  # type: ignore[assignment]
        if not is_int(channels):
            raise SpecError(f"`split` needs a known number of channels, not {channels}",
                            hints=["split before `flatten`, or give the input sizes as numbers"])
        if args.sizes is not None:
            if sum(args.sizes) != channels:
                raise SpecError(f"`split`'s sizes add up to {' + '.join(map(str, args.sizes))} = "
                                f"{sum(args.sizes)}, but the input has {channels} channels",
                                hints=["the sizes must add up to the input's channels"])
            return list(args.sizes)
        parts = args.parts or 1
        if channels % parts:
            fit = [str(d) for d in range(1, min(channels, 64) + 1) if channels % d == 0]
            raise SpecError(f"`split` cuts {channels} channels into {args.parts} parts, but "
                            f"{args.parts} doesn't divide {channels}",
                            hints=[f"parts that fit: {', '.join(fit[:8])}", "or give `sizes`"])
        return [channels // parts] * parts

    def analyze(self, walker, node: Node, shape, rf, depth):
        outs, fields = [], []
        for branch, size in zip(node.children, self.sizes(node, shape[0])):
            out, branch_rf = walker.node(branch, (size, *shape[1:]), rf, depth + 1)
            outs.append(out)
            fields.append(branch_rf)
        first = outs[0]
        for b, out in enumerate(outs[1:], 1):
            if len(out) != len(first) or not same_shape(out[1:], first[1:], walker.constraints,
                                                         f"split: branch {b} agrees", offset=1):
                raise SpecError(f"`split` joins its branches along channels, so their spatial "
                                f"sizes must match, but branch 0 gives "
                                f"{shape_text(first, walker.layout)} and branch {b} gives "
                                f"{shape_text(out, walker.layout)}",
                                hints=["pad or pool one branch so the sizes match"])
        # each output position sees the same positions of the input as `add`'s would
        return (sum(out[0] for out in outs), *first[1:]), union(fields)

    def explain(self, row, context) -> list[Step]:
        branches = branch_rows(row, context)
        args: SplitArgs = row.node.args
        channels = row.input_shape[0]
        steps = []
        if args.parts is not None:
            steps.append(Step("channels per slice", "C/N", f"{n(channels)}/{n(args.parts)}",
                              channels // args.parts))
        starts = [0]
        for b in branches:
            starts.append(starts[-1] + b.input_shape[0])
        steps.append(Step("slices: " + "; ".join(
            f"channels {start}–{stop - 1} to branch {i}"
            for i, (start, stop) in enumerate(zip(starts, starts[1:])))))
        outs = [b.output_shape[0] for b in branches]
        steps.append(Step("channels", " + ".join(f"C{i}" for i in range(len(outs))),
                          " + ".join(n(c) for c in outs), row.output_shape[0],
                          then=context.shape(row.output_shape)))
        return steps + alignment(branches, row)

    def combines(self, branches: int) -> int:
        return 1 if branches > 1 else 0     # one torch.cat (of one piece: a copy)

    def build(self, builder, node: Node):
        # PyTorch's own cut, not cnncalc's sizes: a wrong rule shows as a disagreement
        args: SplitArgs = node.args  # type: ignore[assignment]
        if args.sizes is not None:
            sizes = list(args.sizes)
            return builder.split(node.children, lambda torch, x: torch.split(x, sizes, dim=1))
        parts = args.parts
        return builder.split(node.children, lambda torch, x: torch.chunk(x, parts, dim=1))

    def branches(self, node: Node, shortcuts: dict):
        return [branch.children for branch in node.children]

    chained = False

    def reads(self, node: Node) -> list:
        return [(child.path, "out") for child in node.children]   # joined: every branch's

    def train(self, walker, node: Node, value):
        """torch.split and torch.chunk give views of the input (their backward needs only the
        sizes); each branch runs on its slice; torch.cat keeps nothing."""
        value.readers += 1       # the cut reads it
        pieces = [walker.view(value, walker.rows[branch.path].input_shape)
                  for branch in node.children]
        outs = walker.branched(node, [[b] for b in node.children], value, pieces)
        return walker.fresh(node, walker.shape_of(node), outs)

    def schema(self, entry: dict) -> dict:
        branches = {"type": "array", "minItems": 1, "items": _layers_schema(entry)}
        sizes = {"type": "array", "minItems": 1,
                 "items": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
                 "description": "channels of each slice, adding up to the input's"}
        parts = {"type": "integer", "minimum": 1, "maximum": MAX_INT,
                 "description": "equal slices; must divide the channels"}
        return {"type": "object", "additionalProperties": False,
                "properties": {"sizes": sizes, "parts": parts, "branches": branches},
                "required": ["branches"],
                "oneOf": [{"required": ["sizes"]}, {"required": ["parts"]}]}


@composite_kind
class Residual(Composite):
    name = "residual"
    torch = "layers(x) + shortcut(x)"
    combined_by = ("add",)
    summary = ("add of the layers and the shortcut: identity, projection, auto, optional, none "
               "or entries")
    arguments = [("layers", True, None), ("shortcut", False, "identity")]
    chained = False

    def reads(self, node: Node) -> list:
        # both, even with `shortcut: none` (an empty shortcut, not an entry of the spec)
        return [(child.path, "out") for child in node.children]
    example = """
name: basic-block-downsampling
spec:
  input: [64, 55, 55]
  layers:
    - residual:
        shortcut: auto
        layers: [conv: {out: 128, kernel: 3, stride: 2, padding: 1, bias: false}, batchnorm]
expected:
  # (55 − 3 + 2·1)/2 + 1 = 28; the shapes differ, so auto is a projection: a 1×1 conv with
  # stride 2, (55 − 1)/2 + 1 = 28, to 128 channels (64·128 = 8,192 params) and a batchnorm (256);
  # layers 3·3·64·128 = 73,728 + 256: 82,432 params in all
  output: [128, 28, 28]
  params: 82_432
"""

    def expand(self, ex, value, entry: Entry) -> Node:
        args, options, rounding = self.mapping(ex, value, entry, ("layers", "shortcut"),
                                               "`residual: {layers: [...], shortcut: identity}`")
        if "layers" not in args:
            raise SpecError("`residual` needs `layers`", entry.value_pos)
        path, block = entry.path, entry.block
        node = ex.new(path, self, entry.pos, rounding, block=block)
        main_path, short_path = child_path(path, "layers"), child_path(path, "shortcut")
        main = ex.new(main_path, SEQUENTIAL, args.at("layers"), rounding, block=block)
        main.children = ex.sequence(args["layers"], main_path, rounding, block)
        shortcut = args.get("shortcut", "identity")
        short = ex.new(short_path, SEQUENTIAL, args.at("shortcut") if "shortcut" in args
                       else entry.value_pos, rounding, block=block)
        if isinstance(shortcut, Seq):
            short.children = ex.sequence(shortcut, short_path, rounding, block)
        elif shortcut in SHORTCUTS:
            node.shortcut = shortcut
        else:
            close = get_close_matches(str(shortcut), SHORTCUTS, n=1, cutoff=0.5)
            raise SpecError(f"`shortcut` can't be {shown(shortcut)}: write identity, projection, "
                            "auto, optional, none, or a list of entries", args.at("shortcut"),
                            hints=[f"did you mean `{close[0]}`?"] if close else [])
        node.children = [main, short]
        return ex.finish(node, options, value)

    def analyze(self, walker, node: Node, shape, rf, depth):
        main, short = node.children
        main_out, main_rf = walker.node(main, shape, rf, depth + 1)
        mode = node.shortcut
        if mode == "optional":
            # decided from the spec, not from sizes: the same with symbols and on a 1×1 map
            keeps = _stride_one(main) and main_out[0] == shape[0]
            mode = "identity" if keeps else "none"
            walker.shortcuts[node.path] = [] if keeps else None
        if mode == "none":
            return main_out, main_rf
        # With symbols, `auto` takes the identity only when the layers keep the shape at every
        # size; where they keep it at some sizes only, the projection is taken and marked.
        maybe_identity = False
        if mode == "auto":
            mode = "identity" if same_shape(main_out, shape) else "projection"
            if mode == "projection" and not all(is_int(d) for d in (*main_out, *shape)):
                from cnncalc.symbolic import maybe_equal_shapes

                maybe_identity = maybe_equal_shapes(main_out, shape)
        if mode == "projection":
            short = self.projection(walker, node, short, shape, main_out, rf, main_rf)
        mark = len(walker.constraints)     # the shortcut's conditions and the add's
        short_out, short_rf = walker.node(short, shape, rf, depth + 1)
        try:
            out = ADD.combine([main_out, short_out], walker.constraints, walker.layout,
                              residual=True)
        except SpecError as exc:
            if node.shortcut != "optional":
                raise
            raise SpecError(f"`shortcut: optional` adds the identity here (every layer has stride "
                            f"1 and the channels are kept), but the layers give "
                            f"{shape_text(main_out, walker.layout)} for a "
                            f"{shape_text(shape, walker.layout)} input",
                            hints=["pad the layers so that they keep the size, or use "
                                   "`shortcut: none` (or `auto`)"]) from exc
        if maybe_identity:
            from cnncalc.symbolic import auto_identity_case

            auto_identity_case(walker.constraints, mark, main_out, shape, label_of(node))
        return out, union([main_rf, short_rf])

    def projection(self, walker, node: Node, short: Node, shape, main_out, rf, main_rf) -> Node:
        """The 1×1 convolution (no bias) and batchnorm that map the input to the main branch's
        channels and size, with the main branch's overall stride (as torchvision's
        downsample)."""
        if len(shape) < 2 or len(main_out) != len(shape):
            raise SpecError("a projection shortcut needs spatial input and output of the same rank",
                            hints=["write the shortcut's layers explicitly"])
        if rf is not None and main_rf is not None:
            stride = [jo // ji for jo, ji in zip(main_rf.jump, rf.jump)]
        else:
            stride = [ceil_div(w, o) if is_int(w) and is_int(o) else symbolic_ratio(w, o)
                      for w, o in zip(shape[1:], main_out[1:])]
        if not all(is_int(s) and s >= 1 for s in stride):
            hints = ["write the shortcut's layers explicitly"]
            if not all(is_int(d) for d in (*shape, *main_out)):
                hints.append("with symbolic sizes it depends on the size here (after a layer "
                             "without a receptive field: upsample, conv_transpose, ...)")
            raise SpecError("can't derive the projection's stride from the layers", hints=hints)
        path = short.path
        conv = Node(child_path(path, 0), KINDS[Conv.name], short.pos, node.rounding,
                    args=ConvArgs(out=main_out[0], kernel=1,
                                  stride=stride[0] if len(set(stride)) == 1 else stride,
                                  bias=False), block=node.block)
        norm = Node(child_path(path, 1), KINDS[BatchNorm.name], short.pos, node.rounding,
                    args=BatchNormArgs(), block=node.block)
        resolved = Node(path, SEQUENTIAL, short.pos, node.rounding, children=[conv, norm],
                        block=node.block)
        walker.shortcuts[node.path] = resolved.children
        return resolved

    def explain(self, row, context) -> list[Step]:
        mode = row.node.shortcut
        optional = ""
        if mode == "optional":
            identity = context.shortcuts.get(row.node.path) is not None
            mode = "identity" if identity else "none"
            main_row = context.rows[row.node.children[0].path]
            channels = f"{n(main_row.input_shape[0])} → {n(main_row.output_shape[0])}"
            optional = ("shortcut: optional, and every layer has stride 1 and the channels are "
                        "kept, so " if identity else
                        "shortcut: optional, and a layer inside strides, so " if
                        not _stride_one(row.node.children[0]) else
                        f"shortcut: optional, and the channels change ({channels}), so ")
        if mode == "none":
            (main,) = branch_rows(row, context)
            return [Step(f"{optional or 'shortcut: none, so '}no shortcut: the output is the "
                         f"layers' {context.shape(row.output_shape)}")]
        main, short = branch_rows(row, context)
        if mode == "auto":
            mode = "projection" if row.node.path in context.shortcuts else "identity"
        if mode == "projection":
            conv = context.shortcuts[row.node.path][0].args
            stride = conv.stride if isinstance(conv.stride, int) else "×".join(map(str, conv.stride))
            how = (f"shortcut: projection (1×1 conv to {number(conv.out)} channels, stride "
                   f"{stride}, no bias, then batchnorm)")
        elif mode == "identity":
            how = (f"{optional}the identity (the input itself)" if optional else
                   "shortcut: identity (the input itself)")
        else:
            how = "shortcut: its own layers"
        return [Step(f"layers: {context.shape(main.input_shape)} → "
                     f"{context.shape(main.output_shape)}; {how} gives "
                     f"{context.shape(short.output_shape)}"),
                Step(f"the two are summed element by element → {context.shape(row.output_shape)}")
                ] + alignment([main, short], row)

    def build(self, builder, node: Node):
        main, short = node.children
        if node.shortcut == "none":
            return builder.sequential([main])      # the layers alone
        if node.shortcut == "optional":
            # PyTorch's side decides for itself, so that the analysis' decision is checked
            return builder.optional_residual(builder.node(main), builder.node(short))
        resolved = builder.shortcuts.get(node.path)
        if resolved is not None:     # a projection the analysis resolved
            short = Node(short.path, SEQUENTIAL, short.pos, short.rounding, children=resolved)
        return builder.residual(builder.node(main), builder.node(short))

    def train(self, walker, node: Node, value):
        main, short = node.children
        if _no_shortcut(node, walker.shortcuts):
            return walker.node(main, value)
        resolved = walker.shortcuts.get(node.path)
        if resolved is not None:     # a projection, or optional's identity ([])
            short = Node(short.path, SEQUENTIAL, short.pos, short.rounding, children=resolved)
        out, shortcut = walker.branched(node, [[main], [short]], value, sums=True)
        return walker.fresh(node, walker.shape_of(node), [out, shortcut], sums=True)

    def branches(self, node: Node, shortcuts: dict):
        main, short = node.children
        if _no_shortcut(node, shortcuts):
            return None                 # the layers run in order
        resolved = shortcuts.get(node.path)
        return [main.children, resolved if resolved is not None else short.children]

    def write(self, layers: list, shortcut: list | None) -> dict:
        """`layers(x) + shortcut(x)`; `shortcut` None where `auto` makes it (see
        `reads_as_auto`), `[]` for the identity."""
        value: dict = {"layers": layers}
        if shortcut is None:
            value["shortcut"] = "auto"
        elif shortcut:
            value["shortcut"] = shortcut
        return {self.name: value}

    def write_optional(self, layers: list) -> dict:
        return {self.name: {"layers": layers, "shortcut": "optional"}}

    def optional_adds(self, leaves: list, shape: tuple, out: tuple) -> bool:
        """`shortcut: optional` adds the identity to layers whose leaves have these arguments,
        for an input of `shape` giving `out` (decided as `analyze` decides it)."""
        return out[0] == shape[0] and all(_args_stride_one(args) for args in leaves)

    def reads_as_auto(self, shortcut: list, shape: tuple, out: tuple) -> bool:
        """A shortcut of (kind, args) pairs is what `shortcut: auto` makes for an input of
        `shape` and layers giving `out`: the identity where they match, else the projection
        (a 1×1 conv with the layers' stride, no bias, then a batchnorm with its defaults)."""
        if tuple(shape) == tuple(out):
            return not shortcut
        if len(shortcut) != 2 or len(shape) != len(out) or len(shape) < 2:
            return False
        (conv, conv_args), (norm, norm_args) = shortcut
        if conv is not KINDS[Conv.name] or norm is not KINDS[BatchNorm.name]:
            return False
        stride = [ceil_div(w, o) for w, o in zip(shape[1:], out[1:])]
        expected = ConvArgs(out=out[0], kernel=1, stride=stride[0] if len(set(stride)) == 1
                            else stride, bias=False)
        return conv_args == expected and norm_args == BatchNormArgs()

    def schema(self, entry: dict) -> dict:
        layers = _layers_schema(entry)
        return {"type": "object", "additionalProperties": False, "required": ["layers"],
                "properties": {"layers": layers,
                               "shortcut": {"anyOf": [{"enum": list(SHORTCUTS)}, layers],
                                            "default": "identity"}}}


def _no_shortcut(node: Node, shortcuts: dict) -> bool:
    """`shortcut: none`, or `optional` where the analysis left the shortcut out (None)."""
    return node.shortcut == "none" or (node.shortcut == "optional"
                                       and shortcuts.get(node.path, []) is None)


def _stride_one(main: Node) -> bool:
    """Every layer inside has stride 1 (a pooling without `stride` strides by its kernel)."""
    return all(_args_stride_one(node.args) for node in main.walk() if node.leaf)


def _args_stride_one(args) -> bool:
    stride = getattr(args, "stride", 1)
    if stride is None:
        stride = getattr(args, "kernel", 1)
    return all(s == 1 for s in (stride if isinstance(stride, list) else [stride]))


class BlockUse(Composite):
    """A use of a block from `blocks:`: its layers with the parameters substituted, in order.
    (Expanded by the expander, which knows the blocks; not a kind a spec can name.)"""

    name = "block"
    torch = "Sequential"
    summary = "a use of a block"
    arguments = []
    block_use = True
    train = Composite.in_order
    example = """
name: block-use
spec:
  input: [3, 8, 8]
  blocks:
    conv_relu:
      params: {width: required}
      layers: [conv: {out: $width, kernel: 3, padding: 1}, relu]
  layers: [conv_relu: 4, conv_relu: {width: 8}]
expected:
  # (3·3·3 + 1)·4 = 112 and (3·3·4 + 1)·8 = 296
  output: [8, 8, 8]
  params: 408
"""

    def explain(self, row, context) -> list[Step]:
        return [Step(f"a use of the block `{row.node.kind}`: {number(row.params)} params and "
                     f"{number(row.macs)} MACs in its layers")]


class LaterBlockUse(BlockUse):
    """A use of a block that reads `$in_channels`: its layers are made when the analysis
    reaches it, from the channels of its input (`expand(node, channels)`, the expander's).
    Every other stage sees an ordinary block use, with its layers."""

    def __init__(self, expand: Any):
        self.expand_with = expand

    def analyze(self, walker, node: Node, shape, rf, depth):
        node.children = self.expand_with(node, shape[0])
        return walker.children(node.children, shape, rf, depth + 1)

    def explain(self, row, context) -> list[Step]:
        return super().explain(row, context) + [
            Step("$in_channels, the channels of its input", "", "", row.input_shape[0])]


SEQUENTIAL = COMPOSITES["sequential"]
ADD: Add = COMPOSITES["add"]  # type: ignore[assignment]
BLOCK = BlockUse()
