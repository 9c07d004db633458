"""Model-vs-spec drift: does the team's PyTorch code still build the network its spec describes?

    cnncalc validate specs/net.yaml --against mypkg.model:build_net

imports `mypkg.model` (the current directory first on `sys.path`, as `python -m` does), calls
`build_net()`, runs the model once on the spec's input, measuring its leaf modules
(`measure.py`) and tracing what it runs (`trace.py`: its leaf modules and the functions its
`forward` calls, `torch.flatten`, `F.relu`, `+` …) in the same pass; then walks the spec's layers
and the model's operations side by side and names the first pair that parts ways.

Every layer of the spec, parameter-free ones included, pairs with one operation of the model:
the same operation (the kind's `operations()`: `relu` is `nn.ReLU`, in place or not, `F.relu`,
`torch.relu`, `x.relu_()` …; a join, the `+` of `residual` and `add`, `*` of `mul`, `torch.cat`
of `concat`, is one more layer after its branches) with the same output shape, params and
FLOPs. What may go unpaired, on either side: what is the identity in eval mode (dropout,
identity; the kinds' `passes_through`), and in the model copies and layout (`.contiguous()`,
a `torch.cat` of one tensor) and work on tensors that don't come from the input. A module of
the team's own (not `torch.nn`'s, without children) pairs on its figures alone. The totals
(params, FLOPs and output shape of the whole model) are compared too.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cnncalc.crosscheck.diff import per_sample
from cnncalc.errors import SpecError, printable
from cnncalc.kinds import COMPOSITES, KINDS
from cnncalc.kinds.base import torch_names
from cnncalc.report import flops

FIGURES = ("output_shape", "params", "flops")


@dataclass(frozen=True, slots=True)
class Leaf:
    """One layer of the spec, or one operation of the model, with what is compared."""

    label: str            # spec: "path (kind)"; model: "qualified.name (Class)" or the function
    output_shape: tuple   # one sample, channels first
    params: int
    flops: int | float    # per sample, as every report counts them (the model's: ÷ batch)
    line: int | None = None
    col: int | None = None
    operation: str = ""   # spec: its kind; model: the module's class or the function, as traced
    # model: the kinds it may be (None: any, a module of the team's own); spec: unused
    kinds: frozenset[str] | None = None
    optional: bool = False    # may go unpaired (the module's docstring says which)
    input_shape: tuple = ()   # the spec's leaves only
    source: str | None = None     # model: where it was called, file:line
    call: bool = False        # model: a function or method, not a module
    # spec: the output shape is compared (not for a join before the last: a + b of a + b + c)
    shaped: bool = True

    def figures(self) -> dict:
        return {"output_shape": list(self.output_shape), "params": self.params,
                "flops": self.flops}

    def pairs_with(self, other: Leaf) -> bool:
        """This spec layer and the model's operation `other` agree (the model's output with
        the channels last counts as the same shape: code moves axes as it likes)."""
        return (self.same_operation(other) and (self.params, self.flops) == (other.params,
                                                                             other.flops)
                and (not self.shaped or other.output_shape in _layouts(self.output_shape)))

    def same_operation(self, other: Leaf) -> bool:
        return other.kinds is None or self.operation in other.kinds


def _layouts(shape: tuple) -> tuple:
    """A spec's output shape as code may hold it: as it is, with the channels last, or without
    the trailing 1s (`x.mean([2, 3])` for a global_avgpool)."""
    squeezed = shape
    while len(squeezed) > 1 and squeezed[-1] == 1:
        squeezed = squeezed[:-1]
    return shape, (*shape[1:], *shape[:1]), squeezed


# ---------------------------------------------------------------------------------------------
# The user's factory

MAX_TARGET = 1000   # characters of `--against`: what is parsed (literals included) stays small

LITERALS = ("literal values only: numbers, strings, True, False, None, and lists, tuples, "
            "dicts and sets of them")

# What a non-literal argument is, in words (the first such node found names it)
_NOT_LITERAL = ((ast.Call, "a call"), (ast.Attribute, "an attribute access"),
                (ast.Name, "a name (quote it if it is a string)"), (ast.Lambda, "a lambda"),
                (ast.Starred, "unpacking"), (ast.BinOp, "arithmetic"), (ast.BoolOp, "logic"),
                (ast.Compare, "a comparison"), (ast.Subscript, "indexing"),
                (ast.JoinedStr, "an f-string"), (ast.NamedExpr, "an assignment"),
                (ast.IfExp, "a conditional expression"),
                ((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "a comprehension"))


@dataclass(frozen=True, slots=True)
class Target:
    """`--against module:factory(args)`, parsed: the factory's arguments are literal values,
    read with `ast.literal_eval`, never evaluated as code."""

    text: str                       # as given
    module: str
    attribute: str                  # `factory` or `Class.method`
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    called: bool = False            # written with parentheses

    def call(self) -> str:
        """The call as written (`m:net(num_classes=10)`), or `m:net()`."""
        return self.text.strip() if self.called else f"{self.text.strip()}()"


def parse_target(text: str) -> Target:
    """`package.module:factory`, `module:Class.method`, either with literal arguments
    (`m:net(10, num_classes=3)`); a SpecError (bad input, on `--against`) otherwise."""
    if len(text) > MAX_TARGET:
        raise SpecError(f"the --against value is {len(text):,} characters long; at most "
                        f"{MAX_TARGET:,}", file="--against",
                        hints=["give large settings a default in the factory instead"])
    module, _, rest = text.partition(":")
    module = module.strip()
    if not module or not rest.strip():
        raise SpecError(f"--against {text!r}: write it as package.module:factory",
                        hints=["e.g. --against mypkg.models:resnet18 (a function or class that "
                               "builds the nn.Module), or mypkg.models:net(num_classes=10)"],
                        file="--against")
    if not all(part.isidentifier() for part in module.split(".")):
        raise _target_error(text, 0, len(module), f"`{module}` isn't a module name",
                            "write the module as you would import it: package.module")
    start = text.index(":") + 1
    start += len(rest) - len(rest.lstrip())
    source = rest.strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        offset = (getattr(exc, "offset", None) or 1) - 1
        raise _target_error(text, start + min(offset, len(source)), 1,
                            f"the factory call isn't valid: {getattr(exc, 'msg', exc)}",
                            "e.g. mypkg.models:net(num_classes=10)") from None
    call = tree if isinstance(tree, ast.Call) else None
    path = _dotted(call.func if call else tree)
    if path is None:
        named = call.func if call else tree
        raise _target_error(text, start + _col(source, named), _width(source, named),
                            "name the factory (a function, or Class.method), then its "
                            "arguments in parentheses", "e.g. mypkg.models:net(num_classes=10)")
    if call is None:
        return Target(text, module, path)
    args, kwargs = [], {}
    # (how the argument is named in an error, its value, the whole argument)
    given: list[tuple[str, ast.expr, ast.AST]] = [
        *((f"{i}", arg, arg) for i, arg in enumerate(call.args, 1)),
        *((f"`{kw.arg}`", kw.value, kw) for kw in call.keywords)]
    for label, value, node in given:
        if isinstance(node, ast.keyword) and node.arg is None:
            raise _target_error(text, start + _col(source, node), _width(source, node),
                                "`**` unpacking isn't supported: write each argument", LITERALS)
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            culprit, what = _not_literal(value)
            raise _target_error(text, start + _col(source, culprit), _width(source, culprit),
                                f"argument {label} of the factory isn't a literal value: "
                                f"`{ast.get_source_segment(source, culprit)}` is {what}",
                                LITERALS) from None
        if not isinstance(node, ast.keyword):
            args.append(literal)
        elif node.arg in kwargs:
            raise _target_error(text, start + _col(source, node), _width(source, node),
                                f"argument {label} is given twice", "give each argument once")
        else:
            kwargs[node.arg] = literal
    return Target(text, module, path, tuple(args), kwargs, called=True)


def _dotted(node) -> str | None:
    """`net` or `Class.method` as written, or None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _not_literal(node) -> tuple[ast.AST, str]:
    """The first part of `node` (outermost first) that isn't a literal, and what it is."""
    for sub in ast.walk(node):
        for kind, what in _NOT_LITERAL:
            if isinstance(sub, kind):
                return sub, what
    return node, "not a literal"


def _col(source: str, node) -> int:
    """The node's 0-based offset in `source`, in characters (ast counts lines, and UTF-8
    bytes within one)."""
    lines = source.splitlines(keepends=True)
    line = lines[node.lineno - 1].encode()[:node.col_offset].decode(errors="ignore")
    return sum(map(len, lines[:node.lineno - 1])) + len(line)


def _width(source: str, node) -> int:
    return len(ast.get_source_segment(source, node) or " ")


def _target_error(text: str, col: int, width: int, message: str, hint: str) -> SpecError:
    """A SpecError on `--against` that shows the value with the part at fault underlined."""
    shown = printable(text)         # one character for one, so the marks line up
    marks = " " * col + "^" * max(1, min(width, len(shown) - col))
    return SpecError(f"{message}\n  {shown}\n  {marks}", hints=[hint], file="--against")


def load_factory(target: str | Target):
    """`package.module:factory` (or `module:Class.method`) -> the callable; SpecError if not."""
    if isinstance(target, str):
        target = parse_target(target)
    module_name, attribute = target.module, target.attribute
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)     # as `python -m` does: the current directory first
    try:
        obj = importlib.import_module(module_name)
    except Exception as exc:
        raise SpecError(f"can't import `{module_name}`: {type(exc).__name__}: {exc}",
                        hints=["run from the directory that holds the package, or install it"],
                        file="--against") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n)))
            from difflib import get_close_matches

            close = get_close_matches(part, names, n=1, cutoff=0.6)
            raise SpecError(f"`{module_name}` has no `{attribute}`",
                            hints=[f"did you mean `{close[0]}`?"] if close else [],
                            file="--against")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"`{module_name}:{attribute}` isn't callable: it must build the model",
                        file="--against")
    return obj


def build_model(target: str | Target, device: str):
    """Call the factory, with its arguments, with the default device set to `device` (meta:
    no memory)."""
    import torch
    from torch import nn

    if isinstance(target, str):
        target = parse_target(target)
    factory = load_factory(target)
    try:
        with torch.device(device):
            model = factory(*target.args, **target.kwargs)
    except Exception as exc:
        raise SpecError(f"`{target.call()}` raised {type(exc).__name__}: {exc}",
                        file="--against") from None
    if not isinstance(model, nn.Module):
        raise SpecError(f"`{target.call()}` returned a {type(model).__name__}, not a "
                        "torch.nn.Module", file="--against")
    return model.eval()


# ---------------------------------------------------------------------------------------------
# Pairing the leaves

def spec_leaves(analysis) -> tuple[list[Leaf], dict[int, list[int]]]:
    """The spec's layers in execution order as written (a composite's joins after its
    branches), and each node's indices among them (by id): a leaf's one, a composite's joins."""
    rows = {id(row.node): row for row in analysis.rows}
    leaves: list[Leaf] = []
    index: dict[int, list[int]] = {}

    def add(node, leaf: Leaf) -> None:
        index.setdefault(id(node), []).append(len(leaves))
        leaves.append(leaf)

    def walk(node) -> None:
        row = rows.get(id(node))
        line, col = (node.pos.line, node.pos.col) if node.pos else (None, None)
        if node.leaf and row is not None:
            add(node, Leaf(f"{node.path} ({node.kind}" + (f" {node.name!r}" if node.name else "")
                           + ")", tuple(row.output_shape), row.params, flops(row.macs), line, col,
                           operation=node.kind, optional=node.leaf_kind.passes_through
                           or _squeezes(node.leaf_kind, row.input_shape, row.output_shape),
                           input_shape=tuple(row.input_shape)))
            return
        branches = node.composite.branches(node, analysis.shortcuts)
        if branches is not None and row is not None:
            # the cut (split's chunk): before the branches, several tensors (no one shape)
            for _ in range(node.composite.cuts()):
                add(node, Leaf(f"{node.path} ({node.impl.name}: cutting its input)", (), 0, 0,
                               line, col, operation=node.impl.name,
                               input_shape=tuple(row.input_shape), shaped=False,
                               optional=len(branches) == 1))
        for child in (node.children if branches is None
                      else [n for branch in branches for n in branch]):
            walk(child)
        # the join: after every branch, or of the entries a `{from: [...]}` names
        inputs = len(branches) if branches is not None else len(node.refs)
        if inputs and row is not None:
            joins = node.composite.combines(inputs)
            for i in range(joins):
                add(node, Leaf(f"{node.path} ({node.impl.name}: joining its branches)",
                               tuple(row.output_shape), 0, 0, line, col, operation=node.impl.name,
                               input_shape=tuple(row.output_shape), shaped=i == joins - 1))

    walk(analysis.root)
    return leaves, index


def _squeezes(kind, shape: tuple, out: tuple) -> bool:
    """A reshape that only drops sizes of 1 (a flatten of [C, 1, 1]): code that reduced
    without keeping them (`x.mean([2, 3])`) has nothing to run for it."""
    return kind.reshapes and _layouts(tuple(shape))[2] == tuple(out)


def _operations() -> dict[str, frozenset[str]]:
    """Each operation the tracer names -> the kinds it may be (the kinds' `operations()`)."""
    out: dict[str, set[str]] = {}
    for table in (KINDS, COMPOSITES):
        for name, kind in table.items():
            for op in kind.operations():
                out.setdefault(op, set()).add(name)
    return {op: frozenset(kinds) for op, kinds in out.items()}


# Copies, type changes and axes moved: no operation of the spec's (a `torch.cat` of one tensor
# is a copy too; a spec's shapes are channels first whatever the code's layout)
COPIES = torch_names(["contiguous", "clone", "detach", "to", "float", "type_as", "permute",
                      "movedim", "transpose"])
JOINS_OF_ONE = frozenset(["torch.cat", "torch.concat", "torch.concatenate"])


def model_leaves(traced, calls, batch: int) -> list[Leaf]:
    """The model's operations (trace.Trace), per sample: a module's figures are its measured
    call's (measure.Measured, `calls` in execution order), a function's are its output shape
    and the parameters given to it (`self.gamma * x`; its FLOPs count in the totals)."""
    from collections import deque

    measured: dict[str, deque] = {}
    for m in calls:
        if m.leaf:
            measured.setdefault(m.name, deque()).append(m)
    operations = _operations()
    passing = {name for name, kind in KINDS.items() if kind.passes_through}
    prepared = {name: torch_names(kind.prepared_by) for name, kind in KINDS.items()}
    cuts = frozenset().union(*(torch_names(c.cut_by) for c in COMPOSITES.values()))
    ops = traced.calls()
    out = []
    for i, op in enumerate(ops):
        kinds: frozenset[str] | None = operations.get(op.name, frozenset())
        module = op.category == "module"
        if module and not kinds:
            kinds = None        # the team's own module: its figures say what it is
        optional = (_copy(op) or not op.inputs
                    or (op.name in JOINS_OF_ONE and len(op.input_shapes) == 1)
                    or bool(kinds and kinds <= passing)
                    or _prepares(ops, i, operations, prepared))
        queue = measured.get(op.path) if module else None
        m = queue.popleft() if queue else None
        shape = m.output_shape if m is not None else op.output_shape
        label = (f"{op.path or '(the model)'} ({op.name})" if module
                 else op.name + (f" in `{op.path}`" if op.path else ""))
        out.append(Leaf(label, tuple(shape[1:]) if shape is not None else (),
                        m.params if m is not None else op.parameters,
                        per_sample(m.flops, batch) if m is not None else 0,
                        operation=op.name, kinds=kinds, optional=optional,
                        source=_relative(op.source), call=not module))
        if not module and len(op.output_shapes) > 1 and op.name in cuts:
            # a cut's pieces: the first is the cut (split's) or a slice, each other a slice
            # that a spec of slices (as `import` writes one) pairs, else left unpaired
            out[-1] = replace(out[-1], output_shape=tuple(op.output_shapes[0][1:]))
            out += [replace(out[-1], label=f"{label} (piece {k})",
                            output_shape=tuple(piece[1:]), optional=True)
                    for k, piece in enumerate(op.output_shapes[1:], 1)]
    return out


def _copy(op) -> bool:
    """A copy or a change of layout: a function of COPIES, or a module of the team's own without
    parameters that only reorders its input's axes (ConvNeXt's `Permute`)."""
    if op.name in COPIES:
        return True
    shapes = (*op.input_shapes[:1], op.output_shape)
    return (op.category == "module" and op.module is not None and len(shapes) == 2
            and None not in shapes and shapes[0] != shapes[1]
            and sorted(shapes[0]) == sorted(shapes[1])
            and next(op.module.parameters(), None) is None)


def _prepares(ops: list, i: int, operations: dict, prepared: dict) -> bool:
    """Op i belongs to the operation of a kind that comes after it, past copies and the other
    ops that prepare it (a conv's pad; a channel shuffle's view and transpose)."""
    candidates = [kind for kind, names in prepared.items() if ops[i].name in names]
    for kind in candidates:
        j = i + 1
        while j < len(ops) and ops[j].name in prepared[kind] | COPIES \
                and kind not in operations.get(ops[j].name, ()):
            j += 1
        if j < len(ops) and kind in operations.get(ops[j].name, ()):
            return True
    return False


def _relative(source) -> str | None:
    """`file:line`, the file relative to the current directory when it is below it."""
    if source is None:
        return None
    path = os.path.relpath(source.file)
    return f"{source.file if path.startswith('..') else path}:{source.line}"


MAX_ORDERS_OF = 5   # branches tried in every order up to this many; beyond, as written and reversed
MAX_INTERLEAVED = 2     # two branches, one of at most this many entries: any interleaving
MAX_PATH_ORDERS = 120   # orders of a list's paths (see _paths) tried, as written first
MAX_WORK = 500_000  # leaf-state steps; past it (nested many-branch concats) branches keep their order


class _TooMuchWork(Exception):
    pass


class _Pairer:
    """Pairs the spec's layers with the model's operations in execution order.

    The spec is walked as a tree so that the branches of a `residual`, `concat` or `add` may
    run in any order (code often computes the shortcut first), their join after them. The state
    after each step is the set of model positions j reachable so far, each with the most pairs
    found getting there (a linked list of (spec index, model index)) and the optional spec
    layers left unpaired since the last pair. Optional layers and operations may go unpaired
    (see the module's docstring); a layer that can't pair records a failure, and the failure
    with the most pairs before it is where code and spec part ways."""

    def __init__(self, analysis, spec: list[Leaf], index: dict[int, list[int]], model: list[Leaf],
                 any_order: bool = True):
        self.analysis, self.spec, self.index, self.model = analysis, spec, index, model
        self.any_order, self.work = any_order, 0
        # (pairs so far, linked pairs, free spec leaves since the last pair, the leaf that
        # couldn't pair or None at the spec's end)
        self.failures: list[tuple] = []
        self.candidates: list[tuple] = []

    def run(self):
        states = self.node(self.analysis.root, {0: (0, None, ())})
        done = [state for j, state in states.items() if all(t.optional for t in self.model[j:])]
        if done:
            return _unlink(max(done, key=lambda state: state[0])[1]), None
        for count, pairs, skipped in states.values():
            self.failures.append((count, pairs, skipped, None))
        scored = []
        for count, pairs, skipped, k in self.failures:
            culprit, failed = self.culprit(pairs, skipped, k)
            score = (count, -_distance(*(side[i] if i is not None else None
                                         for side, i in zip((self.spec, self.model), culprit))))
            scored.append((score, pairs, culprit, failed))
        best = max(scored, key=lambda failure: failure[0])   # the first of equals: as written
        # for `_pair`'s retries: the failures that got as far, best first, each as named and
        # as it failed (the layer that couldn't pair and the model's next operation)
        self.candidates = list(dict.fromkeys(
            pair for score, _, culprit, failed in sorted(scored, key=lambda f: f[0], reverse=True)
            if score[0] == best[0][0] for pair in (culprit, failed)))
        return _unlink(best[1]), best[2]

    def culprit(self, pairs, skipped: tuple, k: int | None) -> tuple[tuple, tuple]:
        """Which spec layer and model operation to name for a failure after `pairs`: the layer
        that couldn't pair and the model's next operation that can't go unpaired, when both got
        inputs of the same size; otherwise an optional one in between changed the shape
        differently, and the closest pair of those is named."""
        m = len(self.model)
        last = pairs[0][1] if pairs else -1
        t = last + 1
        while t < m and self.model[t].optional:
            t += 1
        free_model = list(range(last + 1, t))
        t = t if t < m else None
        spec_input = (self.spec[k].input_shape if k is not None
                      else tuple(self.analysis.output_shape))
        model_input = (self.model[t - 1].output_shape if t is not None and t > 0
                       else tuple(self.analysis.input_shape) if t is not None
                       else self.model[-1].output_shape if self.model else ())
        # sizes, not shapes: code reshapes between modules (`torch.flatten`) as it likes
        if math.prod(spec_input) == math.prod(model_input) or not (skipped or free_model):
            return (k, t), (k, t)
        pairs_between = [(a, b) for a in (*skipped, k) for b in (*free_model, t)
                         if (a, b) != (k, t)]
        return min(pairs_between, key=lambda ab: _distance(
            self.spec[ab[0]] if ab[0] is not None else None,
            self.model[ab[1]] if ab[1] is not None else None)), (k, t)

    def node(self, node, states: dict) -> dict:
        if node.leaf:
            return self.leaf(self.index[id(node)][0], states)
        branches = node.composite.branches(node, self.analysis.shortcuts)
        own = self.index.get(id(node), [])      # its cut (if any), then its joins
        if branches is None:
            return self.sequence_of(own, self.sequence(node.children, states))
        cuts = node.composite.cuts() if own else 0
        states = self.sequence_of(own[:cuts], states)
        return self.sequence_of(own[cuts:], self.branches(branches, states))

    def sequence_of(self, joins: list[int], states: dict) -> dict:
        for k in joins:
            states = self.leaf(k, states)
        return states

    def branches(self, branches: list, states: dict) -> dict:
        orders: Iterable[Sequence[list]]
        if self.any_order and len(branches) == 2 and min(map(len, branches)) <= MAX_INTERLEAVED:
            return self.interleaved(branches[0], branches[1], states)
        if not self.any_order:
            orders = [branches]
        elif len(branches) <= MAX_ORDERS_OF:
            orders = itertools.permutations(branches)
        else:
            orders = [branches, branches[::-1]]
        merged: dict = {}
        for order in orders:
            after = states
            for branch in order:
                after = self.sequence(branch, after)
            for j, state in after.items():
                _merge(merged, j, state)
        return merged

    def interleaved(self, a: list, b: list, states: dict) -> dict:
        """Two branches, one of them short, in any interleaving of their entries (either
        order included): code may compute a short side path in the middle of the other
        (LR-ASPP's low classifier between the head's gate and its high classifier)."""
        grid: dict[tuple[int, int], dict] = {(0, 0): states}
        for i in range(len(a) + 1):
            for k in range(len(b) + 1):
                if (i, k) == (0, 0):
                    continue
                merged: dict = {}
                for before, node in (((i - 1, k), a[i - 1] if i else None),
                                     ((i, k - 1), b[k - 1] if k else None)):
                    if node is not None:
                        for j, state in self.node(node, grid[before]).items():
                            _merge(merged, j, state)
                grid[(i, k)] = merged
        return grid[(len(a), len(b))]

    def sequence(self, nodes, states: dict) -> dict:
        paths = _paths(nodes) if self.any_order else None
        if paths is None:
            for node in nodes:
                states = self.node(node, states)
            return states
        # a list with references: its paths may run in any order their reads allow (code often
        # computes a side path where its source is, not where the spec lists it)
        merged: dict = {}
        for order in paths:
            after = states
            for path in order:
                for node in path:
                    after = self.node(node, after)
            for j, state in after.items():
                _merge(merged, j, state)
        return merged

    def leaf(self, k: int, states: dict) -> dict:
        spec, model = self.spec[k], self.model
        self.work += len(states)
        if self.any_order and self.work > MAX_WORK:
            raise _TooMuchWork
        out: dict = {}
        for j, (count, pairs, skipped) in states.items():
            paired = False
            for p in range(j, len(model)):     # the next operation, past optional ones
                if spec.pairs_with(model[p]):
                    _merge(out, p + 1, (count + 1, ((k, p), pairs), ()))
                    paired = True
                if not model[p].optional:
                    break
            if spec.optional:
                _merge(out, j, (count, pairs, skipped + (k,)))
            elif not paired:
                self.failures.append((count, pairs, skipped, k))
        return out


def _paths(nodes) -> list[list[list]] | None:
    """A list of entries with references cut into paths, each a run of entries that read the
    one before (a new path starts at an entry with `from`, at a `{from: [...]}`, and at and
    after an entry that a reference reads: code computes a value where it is needed), and the
    orders of the paths that run every path after the paths it reads: as written first, at
    most MAX_PATH_ORDERS of them. None for a list without references."""
    if not any(node.src is not None or node.refs for node in nodes):
        return None
    read = {key[0] for node in nodes for below in node.walk()
            for key in ((below.src,) if below.src is not None else ()) + below.refs}
    paths: list[list] = []
    for i, node in enumerate(nodes):
        if (i == 0 or node.src is not None or (node.refs and not node.leaf)
                or nodes[i - 1].path in read or node.path in read):
            paths.append([node])
        else:
            paths[-1].append(node)
    owner = {node.path: p for p, path in enumerate(paths) for node in path}

    def source(key) -> int | None:
        """The path (in this list) whose entry wrote the value `key` names."""
        parts = key[0].split(".")
        for n in range(len(parts), 0, -1):
            p = owner.get(".".join(parts[:n]))
            if p is not None:
                return p
        return None

    reads: list[set] = []
    for p, path in enumerate(paths):
        keys = [key for node in path for below in node.walk()
                for key in ((below.src,) if below.src is not None else ()) + below.refs]
        if p > 0 and path[0].src is None and not path[0].refs:
            keys.append((nodes[nodes.index(path[0]) - 1].path, "out"))
        reads.append({q for q in map(source, keys) if q is not None and q != p})
    # every order that runs a path after those it reads, as written first, at most MAX_PATH_ORDERS
    orders: list[list[int]] = []

    def extend(order: list[int], done: set) -> None:
        if len(orders) >= MAX_PATH_ORDERS:
            return
        if len(order) == len(paths):
            orders.append(list(order))
            return
        for p in range(len(paths)):
            if p not in done and reads[p] <= done:
                extend([*order, p], done | {p})

    extend([], set())
    return [[paths[p] for p in order] for order in orders]


def _distance(s: Leaf | None, t: Leaf | None) -> float:
    """How unlike a spec layer and an operation are: 0 when they agree (a different operation
    counts 1; log-scale differences of the figures)."""
    if s is None or t is None:
        return math.inf
    size = math.prod(s.output_shape), math.prod(t.output_shape)
    return ((not s.same_operation(t)) + sum(abs(math.log1p(a) - math.log1p(b))
                for a, b in ((s.params, t.params), (s.flops, t.flops), size))
            + (len(s.output_shape) != len(t.output_shape))
            + sum(a != b for a, b in zip(s.output_shape, t.output_shape)))


def _merge(states: dict, j: int, state: tuple) -> None:
    if j not in states or states[j][0] < state[0]:
        states[j] = state


def _unlink(pairs) -> list[tuple[int, int]]:
    out = []
    while pairs is not None:
        out.append(pairs[0])
        pairs = pairs[1]
    return out[::-1]


# ---------------------------------------------------------------------------------------------
# The whole comparison

def compare(analysis, measurement, traced, spec_file: str, target: str,
            left_out: int = 0) -> dict:
    """The `validate --against --format json` contract (`left_out`: params of fixed modules
    forward never ran, not counted; `check` adds their names as "left_out"):

        {"ok", "file", "against", "batch", "device", "paired", "spec_leaves", "model_leaves",
         "unpaired_spec": [labels], "unpaired_model": [labels],
         "divergence": null | {"spec": leaf | null, "model": leaf | null,
                               "differs": ["operation" and figures], "one_side": see _pair},
         "totals": {"spec": figures, "model": figures, "agree"}}

    `spec_leaves` counts the spec's layers (joins included), `model_leaves` the model's
    operations; a leaf is {"label", "operation", "output_shape", "params", "flops", "line",
    "col", "source"}. A model that raises in `forward` gets `failure`'s object instead: "error"
    (its exception), "raised_in", "paired", "model_leaves" (those that ran), "divergence",
    "totals": null.
    """
    batch = measurement.batch
    ours, index = spec_leaves(analysis)
    theirs = model_leaves(traced, measurement.modules, batch)
    pairs, divergence = _pair(analysis, ours, index, theirs)
    paired_spec = {i for i, _ in pairs}
    paired_model = {j for _, j in pairs}
    out = measurement.output_shape
    totals: dict[str, Any] = {
        "spec": {"output_shape": list(analysis.output_shape), "params": analysis.total("params"),
                 "flops": flops(analysis.total("macs"))},
        "model": {"output_shape": list(out[1:]) if out is not None else None,
                  "params": measurement.params - left_out,
                  "flops": per_sample(measurement.flops, batch)},
    }
    if len(analysis.outputs) > 1:       # a tuple of outputs, in `outputs` order
        totals["spec"]["output_shape"] = [list(shape) for _, shape, _ in analysis.outputs]
        totals["model"]["output_shape"] = [list(shape[1:]) if shape is not None else None
                                           for shape in measurement.output_shapes or ()]
    totals["agree"] = totals["spec"] == totals["model"]
    return {"ok": divergence is None and totals["agree"], "file": spec_file, "against": target,
            "batch": batch, "device": measurement.device, "paired": len(pairs),
            "spec_leaves": len(ours), "model_leaves": len(theirs),
            "unpaired_spec": [leaf.label for i, leaf in enumerate(ours) if i not in paired_spec],
            "unpaired_model": [leaf.label for j, leaf in enumerate(theirs) if j not in paired_model],
            "divergence": divergence, "totals": totals}


MAX_RETRIES = 8     # culprits tried as a layer on one side only


def _pair(analysis, ours: list[Leaf], index: dict, theirs: list[Leaf]):
    """The pairs (spec index, model index) and the divergence dict (None when they agree).
    Its "one_side" is "spec" when the spec's layer is what the model lacks (with it left out,
    everything else pairs), "model" when the model's operation is what the spec lacks, else
    null (they differ)."""
    any_order = True
    try:
        pairer = _Pairer(analysis, ours, index, theirs)
        pairs, stop = pairer.run()
    except _TooMuchWork:      # bounded work whatever the spec: branches in their written order
        any_order = False
        pairer = _Pairer(analysis, ours, index, theirs, any_order=False)
        pairs, stop = pairer.run()
    if stop is None:
        return pairs, None
    one_side = None
    for k, j in pairer.candidates[:MAX_RETRIES]:
        if k is not None and _pairs_without(analysis, ours, k, index, theirs, None, any_order):
            stop, one_side = (k, j), "spec"
            break
        if j is not None and _pairs_without(analysis, ours, None, index, theirs, j, any_order):
            stop, one_side = (k, j), "model"
            break
    s = ours[stop[0]] if stop[0] is not None else None
    t = theirs[stop[1]] if stop[1] is not None else None
    differs: list[str] = []
    if s is not None and t is not None and one_side is None:
        differs = (["operation"] * (not s.same_operation(t))
                   + [f for f in FIGURES if s.figures()[f] != t.figures()[f]])
    return pairs, {"spec": _leaf_dict(s), "model": _leaf_dict(t), "differs": differs,
                   "one_side": one_side}


def _pairs_without(analysis, ours, k, index, theirs, j, any_order: bool) -> bool:
    """Whether everything pairs with spec layer `k` or model operation `j` left out."""
    ours = [replace(leaf, optional=True) if i == k else leaf for i, leaf in enumerate(ours)]
    theirs = [replace(leaf, optional=True) if i == j else leaf for i, leaf in enumerate(theirs)]
    try:
        return _Pairer(analysis, ours, index, theirs, any_order=any_order).run()[1] is None
    except _TooMuchWork:
        return False


def failure(analysis, failed, traced, spec_file: str, target: str, device: str) -> dict:
    """The report of a model that raised in `forward` (measure.ForwardFailed): the error, the
    module whose own code raised, and where code and spec had already parted before it: the
    leaf modules that returned are paired with the spec's leaves as `compare` pairs them all;
    a pair that disagrees is where they parted. None when every one of them agrees (the
    shapes parted in the module that raised, or in `forward` code between modules)."""
    error = failed.error
    message = str(error).splitlines()[0] if str(error) else ""
    raised = failed.running[-1] if failed.running else None
    raised_in = None if raised is None else {
        "module": raised.name, "type": raised.type, "leaf": raised.leaf,
        "input_shape": list(raised.input_shape[1:]) if raised.input_shape else None}
    ours, index = spec_leaves(analysis)
    theirs = model_leaves(traced, failed.finished, failed.batch)
    pairs, divergence = _pair(analysis, ours, index, theirs)
    if divergence is not None and (divergence["spec"] is None or divergence["model"] is None):
        divergence = None       # every leaf that ran pairs: no parting before the raise
    return {"ok": False, "file": spec_file, "against": target, "batch": failed.batch,
            "device": device, "error": f"{type(error).__name__}: {message}",
            "raised_in": raised_in, "paired": len(pairs), "model_leaves": len(theirs),
            "divergence": divergence, "totals": None}


def _leaf_dict(leaf: Leaf | None) -> dict | None:
    if leaf is None:
        return None
    return {"label": leaf.label, "operation": leaf.operation, **leaf.figures(),
            "line": leaf.line, "col": leaf.col, "source": leaf.source,
            "call": leaf.call}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _agree_before(n: int) -> str:
    """'the 30 layers before it agree', in good English for 0 and 1."""
    if n == 0:
        return "no layer before it was paired"
    return "the one layer before it agrees" if n == 1 else f"the {n} layers before it agree"


def _raised_in(raised: dict) -> str:
    where = f"`{raised['module']}` ({raised['type']})" if raised["module"] \
        else f"the model itself ({raised['type']})"
    shape = raised["input_shape"]
    given = f", on input {_show(shape)}" if shape is not None else ""
    if raised["leaf"]:
        return f"raised in module {where}{given}"
    return f"raised in the forward of {where}{given}, outside its child modules"


def describe(result: dict) -> list[str]:
    """`file:line:col: message` lines for people (empty when code and spec agree)."""
    if result.get("error"):
        return _describe_failure(result)
    lines = []
    d = result["divergence"]
    if d is not None:
        s, t = d["spec"], d["model"]
        where = _where(result["file"], s)
        if s is None:
            lines.append(f"{where}: error: the spec ends, but the model goes on with "
                         f"{_model(t)} ({_figures_text(t)})")
        elif t is None:
            lines.append(f"{where}: error: spec layer {s['label']} has no counterpart: the "
                         "model's operations end before it")
        elif d.get("one_side") == "spec":
            lines.append(f"{where}: error: spec layer {s['label']} has no counterpart in the "
                         f"model: where it would be, the model goes on with {_model(t)}")
        elif d.get("one_side") == "model":
            lines.append(f"{where}: error: the model runs {_model(t)}, which the spec doesn't "
                         f"have: it comes before spec layer {s['label']}")
        else:
            lines.append(f"{where}: error: code and spec part ways at spec layer {s['label']} "
                         f"vs model {_model(t)}")
            lines += _differences(d, s, t)
        lines.append(f"  note: {_agree_before(result['paired'])}")
    elif not result["totals"]["agree"]:
        totals = result["totals"]
        lines.append(f"{result['file']}: error: every leaf layer agrees, but the whole model "
                     "doesn't (params or FLOPs outside leaf modules, or a different output)")
        for figure in FIGURES:
            if totals["spec"][figure] != totals["model"][figure]:
                lines.append(f"  {figure.replace('_', ' ')}: {_show(totals['spec'][figure])} "
                             f"(spec) vs {_show(totals['model'][figure])} (model)")
    return lines


def _describe_failure(result: dict) -> list[str]:
    """A model that raised: the error, the module that raised, and where code and spec had
    already parted before it (or that every leaf module that ran agrees)."""
    lines = [f"{result['file']}: error: the model fails on the spec's input: {result['error']}"]
    raised = result.get("raised_in")
    if raised is not None:
        lines.append(f"  note: {_raised_in(raised)}")
    d = result.get("divergence")
    if d is not None:
        s, t = d["spec"], d["model"]
        lines.append(f"{_where(result['file'], s)}: note: code and spec had already parted "
                     f"before it, at spec layer {s['label']} vs model {_model(t)}")
        lines += _differences(d, s, t)
        lines.append(f"  note: {_agree_before(result['paired'])}")
    elif "paired" in result:
        ran = result["model_leaves"]
        lines.append("  note: no operation ran before it" if ran == 0 else
                     "  note: the one operation that ran before it agrees with the spec"
                     if ran == 1 else
                     f"  note: the {ran} operations that ran before it agree with the spec")
    return lines


def _model(leaf: dict) -> str:
    """`module fc (Linear) at net.py:30`, `call torch.flatten in `body` at net.py:31`."""
    where = f" at {leaf['source']}" if leaf.get("source") else ""
    return f"{'call' if leaf.get('call') else 'module'} {leaf['label']}{where}"


def _differences(d: dict, s: dict, t: dict) -> list[str]:
    return [f"  {figure.replace('_', ' ')}: {_show(s[figure])} (spec) vs {_show(t[figure])} "
            "(model)" for figure in d["differs"]]


def _where(file: str, leaf: dict | None) -> str:
    return file + (f":{leaf['line']}:{leaf['col']}" if leaf and leaf["line"] else "")


def _figures_text(leaf: dict) -> str:
    return ", ".join(f"{f.replace('_', ' ')} {_show(leaf[f])}" for f in FIGURES)


def _show(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(_show(shape) for shape in value)      # several outputs
    if isinstance(value, list):
        return "×".join(map(str, value)) or "scalar"
    return f"{value:,}" if isinstance(value, int) else str(value)


def check(analysis, spec_file: str, target: str | Target, batch: int, device: str) -> dict:
    """Build the model and run it on the input of the spec (loaded, analysed and sized for the
    device by `validate`'s prepare step), compare."""
    import torch

    from cnncalc.crosscheck.measure import ForwardFailed, fixed_and_unused, measure
    from cnncalc.crosscheck.trace import Tracing

    if isinstance(target, str):
        target = parse_target(target)
    model = build_model(target, device)
    x = torch.zeros((batch, *analysis.input_shape), device=device)
    with Tracing(model, x) as tracing:      # measured and traced in one forward pass
        try:
            measurement = measure(model, x)
        except ForwardFailed as failed:
            # The code can't run on what the spec says its input is: drift, not bad input.
            return failure(analysis, failed, tracing.result(()), spec_file, target.text, device)
    ran = {m.name for m in measurement.modules}
    fixed = fixed_and_unused(model, lambda name, module: name in ran)
    result = compare(analysis, measurement, tracing.result(()), spec_file, target.text,
                     sum(params for _, _, params in fixed))
    result["left_out"] = [name for name, _, _ in fixed]
    return result


def report(result: dict, table: bool) -> None:
    """One result for people: a model that fails on the spec's input on standard error; for
    the table format, where code and spec part ways (or that they agree) on standard output."""
    # printable: the model's module names and its exception's text go to the terminal too
    lines = describe(result)
    if result.get("error"):
        print(printable("\n".join(lines), keep="\n"), file=sys.stderr)
    elif table:
        print(printable("\n".join(lines) if lines else _agreement(result), keep="\n"))


def _agreement(result: dict) -> str:
    free = (f"; left unpaired, as they change nothing in eval mode: "
            f"{_count(len(result['unpaired_spec']), 'spec layer')}, "
            f"{_count(len(result['unpaired_model']), 'model operation')}"
            if result["unpaired_spec"] or result["unpaired_model"] else "")
    named = [f"\n  unpaired in the {side}: {_names(result[f'unpaired_{side}'])}"
             for side in ("spec", "model") if result[f"unpaired_{side}"]]
    if result.get("left_out"):
        named.append(f"\n  not counted, fixed parameters forward never runs: "
                     f"{_names(result['left_out'])}")
    return (f"{result['file']}: agrees with {result['against']}: "
            f"{_count(result['paired'], 'layer')} paired with what the model runs on operation, "
            f"output shape, params and FLOPs, and the totals{free}" + "".join(named))


MAX_NAMED = 8


def _names(labels: list[str]) -> str:
    more = len(labels) - MAX_NAMED
    return "; ".join(labels[:MAX_NAMED]) + (f"; and {more} more" if more > 0 else "")
