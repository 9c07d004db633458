"""`cnncalc import`: the spec of a PyTorch model, written from what it runs.

    spec_text(parse_target("mypkg.models:net(num_classes=10)"), [3, 224, 224])

The model is built on the meta device and run once by `trace.py`, which records its leaf
modules and the functions its `forward` calls, with shapes and data flow. Then:

1. each call becomes an item: a leaf module or a one-input function is the kind that reads it
   (`read`/`read_call` on the spine, cnncalc.kinds), a function of several tensors is the
   composite that combines so (`+` is `add`'s, `torch.cat` on dim 1 `concat`'s); what none reads
   is an error that names it, its type and where it was called;
2. the module hierarchy nests the items: a module whose calls take one tensor and give one is a
   group (a leaf's `like` is a tensor it takes); a module a tensor enters or leaves at several
   places is spread into its parent (a DenseNet layer's leading `torch.cat` of every earlier
   output is first moved up, out of it), and so are PyTorch's own containers (`nn.Sequential`);
3. each group's items (and the model's), a graph from one input to its outputs, become a list
   of entries (`_decompose`): an item with one input follows its input, and one of several is a
   composite whose branches run from the nearest point every input passes through (its
   dominator) to each input; `x + f(x)` is a `residual`, a cut's pieces starting the branches
   of one `torch.cat` a `split`. A value read on paths that don't join so (an FPN's earlier
   level, a C2f's pieces, a `like`'s tensor) is named: `id`, and `from` or `{from: [...]}` where
   it is read; several outputs are `outputs`;
4. any module class is a block, used once per module, whose parameters are the arguments that
   differ between its uses (the others are written in its layers); runs of equal entries become
   `repeat`, so a ResNet reads like its paper's table.

The spec is then analysed (the static path) and its params, buffers, FLOPs and output shapes
compared with the model's: a difference is a bug of this module, reported, never written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncalc.crosscheck.drift import COPIES, Target, build_model
from cnncalc.crosscheck.measure import fixed_and_unused
from cnncalc.crosscheck.trace import Op, Ref, TraceFailed, trace
from cnncalc.errors import SpecError
from cnncalc.kinds import BUILTIN_NAMES, COMPOSITES, KINDS, LeafKind
from cnncalc.kinds.base import Args, NoCounterpart, op_name, torch_names
from cnncalc.kinds.composite import Add, Branched, Concat, Mul, Repeat, Residual, Split
from cnncalc.kinds.conv import Conv
from cnncalc.kinds.linear import Flatten
from cnncalc.kinds.other import Identity, Scale, Slice

# Reserved in block parameters (spec language version 2), and what a spec can't call a block
RESERVED = frozenset(("in_channels", "id", "from", "when", "name", "expect", "rounding"))
MAX_RUN = 4         # calls a kind may read as one layer (`read_run`)
MAX_PERIOD = 64     # entries in a repeated run: longer ones are rare, and the search is quadratic
REPEAT: Repeat = COMPOSITES[Repeat.name]      # type: ignore[assignment]
RESIDUAL: Residual = COMPOSITES[Residual.name]    # type: ignore[assignment]
ADD = COMPOSITES[Add.name]
MUL = COMPOSITES[Mul.name]
CONCAT = COMPOSITES[Concat.name]
SPLIT: Split = COMPOSITES[Split.name]     # type: ignore[assignment]
CUTS = torch_names(SPLIT.cut_by)     # split's chunk: read as slices, written as `split` where
SLICE = KINDS[Slice.name]
FLATTEN = KINDS[Flatten.name]
CONV: Conv = KINDS[Conv.name]     # type: ignore[assignment]
SCALE = KINDS[Scale.name]
# arguments that hold names (`id`, `from`, a kind's references): never a block's parameters
NAMES = frozenset(("id", "from", *(r for kind in KINDS.values() for r in kind.references)))


# ---------------------------------------------------------------------------------------------
# Items: what the model ran, one value each

@dataclass(eq=False)
class Item:
    id: int                 # the value it gives: its op's index
    inputs: list[int]       # the values it takes
    order: int              # when it ran
    chain: tuple            # paths of the (non-leaf) modules it ran in, outermost first


@dataclass(eq=False)
class Leaf(Item):
    kind: LeafKind = None   # type: ignore[assignment]
    args: Args = None       # type: ignore[assignment]
    label: str = ""         # a module's path, or the function called
    # reference arguments: the value each reads (upsample's `like`); `args` say what they fix
    # at this input size, where a reference can't be written (None: they don't)
    refs: dict[str, int] = field(default_factory=dict)
    piece: tuple[int, int, int] | None = None   # a cut's piece: (the cut, its index, pieces)


@dataclass(eq=False)
class Combine(Item):
    composite: Branched = None      # type: ignore[assignment]


@dataclass(eq=False)
class Group(Item):
    path: str = ""
    module: nn.Module = None        # type: ignore[assignment]
    items: list[Item] = field(default_factory=list)
    entries: list = field(default_factory=list)     # after decomposition


class Unsupported(SpecError):
    pass


def _where(op: Op) -> str:
    """`layer1.0.conv1` (Conv2d) at net.py:12, or `torch.roll` in `layer1.0`'s forward at …"""
    at = ""
    if op.source:
        file = op.source.file
        with contextlib.suppress(ValueError):
            if not os.path.relpath(file).startswith(".."):
                file = os.path.relpath(file)
        at = f" at {file}:{op.source.line}"
    if op.module is not None:
        return f"`{op.path}` ({op.name}){at}"
    owner = f"`{op.path}`'s forward" if op.path else "the model's forward"
    return f"`{op.name}` in {owner}{at}"


def _error(op: Op, what: str, hints: list[str] | None = None) -> Unsupported:
    return Unsupported(f"{_where(op)}: {what}", hints=hints or [])


def _is_tensor(value) -> bool:
    return isinstance(value, Ref) or (isinstance(value, (list, tuple)) and bool(value)
                                       and all(isinstance(v, Ref) for v in value))


class _Reader:
    """Trace -> items (step 1), with the checks that nothing is left out or counted twice."""

    def __init__(self, model: nn.Module, ops: list[Op], calls: list[Op], sizes: tuple = ()):
        self.model, self.ops, self.sizes = model, ops, sizes
        self.calls = {op.index for op in calls}
        self.alias: dict[int, int] = {}
        self.items: list[Item] = []
        self.shapes: dict[int, tuple] = {}
        self.pieces: dict[int, list[int]] = {}  # a cut (split's chunk): the value of each piece
        self.skip: set[int] = set()     # calls read as part of an earlier one's layer
        self.last: set[int] = set()     # ops whose output holds the channels last (`layout`)
        self.called: list[nn.Module] = []   # leaf modules read by `layout`
        self.left_out: list[str] = []       # fixed modules forward never calls, described
        self.left_out_params = 0

    def value(self, ref: Ref) -> int:
        index = self.pieces[ref.op][ref.output] if ref.op in self.pieces else ref.op
        while index in self.alias:
            index = self.alias[index]
        return index

    def cut(self, op: Op, chain: tuple, inputs: list[int]) -> bool:
        """`torch.chunk`/`torch.split` along the channels (`split`'s cut): each piece is a
        `slice` of the channels, a value of its own (ids past the trace's ops; `self.ops`
        names the cut for each, for errors), which `concat` joins as `split` would."""
        shape = op.input_shapes[0] if op.input_shapes else ()
        if (len(inputs) != 1 or len(shape) < 2
                or any(out[:1] + out[2:] != shape[:1] + shape[2:] for out in op.output_shapes)
                or sum(out[1] for out in op.output_shapes) != shape[1]):
            return False
        self.pieces[op.index] = []
        start = 0
        for i, out in enumerate(op.output_shapes):
            piece = len(self.ops)
            self.ops.append(op)
            self.pieces[op.index].append(piece)
            self.shapes[piece] = out[1:]
            args = SLICE.args.model_validate({"channels": [start, start + out[1]]})
            self.items.append(Leaf(piece, inputs, op.index, chain, SLICE, args, op.name,
                                   piece=(op.index, i, len(op.output_shapes))))
            start += out[1]
        return True

    def run(self) -> list[Item]:
        called: Counter = Counter()
        for op in list(self.ops):       # `cut` adds ops for the pieces
            if op.index not in self.calls:      # the model's input
                self.shapes[op.index] = op.output_shapes[0][1:]
                continue
            if op.name in CUTS and self.cut(op, tuple(p for p in op.scope if p),
                                            [self.value(r) for r in op.inputs]):
                continue
            if len(op.output_shapes) != 1:
                raise _error(op, f"gives {len(op.output_shapes)} tensors; a layer gives one "
                             "(only a cut of the channels, as `split`'s, is read)")
            chain = tuple(p for p in op.scope if p)
            if self.layout(op, chain):
                continue
            if len(op.inputs) != len(op.input_shapes):
                raise _error(op, "uses a tensor the model didn't compute from its input (a "
                             "parameter or a constant in `forward`): no kind says that",
                             ["make it a module (e.g. a learnt scale) or a layer's argument"])
            if not op.inputs:
                raise _error(op, "takes no tensor the model computed")
            self.shapes[op.index] = op.output_shapes[0][1:]
            chain = tuple(p for p in op.scope if p)
            inputs = [self.value(r) for r in op.inputs]
            if op.index in self.skip:          # read with the call before it
                continue
            if op.name in COPIES and len(inputs) == 1 and \
                    op.output_shapes[0] == op.input_shapes[0]:
                self.alias[op.index] = inputs[0]    # `.detach()`, `.contiguous()`: the same value
                continue
            if op.module is not None:           # a leaf module's call
                called[id(op.module)] += 1
                padded = self.padded_conv(op, chain, inputs)
                if padded is not None:
                    called[id(self.ops[padded.id].module)] += 1
                self.items.append(padded or self.module(op, chain, inputs))
                continue
            item = self.run_of(op, chain, inputs) or self.function(op, chain, inputs)
            if item is not None:
                self.items.append(item)
        for module in self.called:
            called[id(module)] += 1
        self.unused_parameters(called)
        return self.items

    def module(self, op: Op, chain: tuple, inputs: list[int]) -> Item:
        shape = op.input_shapes[0][1:]
        found = [(len(args.model_dump(exclude_defaults=True)), kind, args)
                 for kind, args in _readings(op, lambda kind: kind.read(nn, op.module, shape))]
        if not found:
            raise _error(op, "no layer kind of the spec language is this module",
                         ["`cnncalc kinds` lists every kind and the PyTorch module it is"])
        # AdaptiveAvgPool2d(1) is global_avgpool and adaptive_avgpool: 1; the one with fewer
        # arguments written
        _, kind, args = min(found, key=lambda f: f[0])
        # a kind's reference arguments are the module's further tensors (cnncalc's ResizeLike)
        if len(inputs) != 1 + (len(kind.references) if len(inputs) > 1 else 0):
            raise _error(op, f"takes {len(inputs)} tensors; a layer takes one")
        return Leaf(op.index, inputs[:1], op.index, chain, kind, args, op.path,
                    refs=dict(zip(kind.references, inputs[1:])))

    def size_source(self, op: Op) -> int | None:
        """The value whose shape `op`'s output size was read from (`F.interpolate(x,
        size=y.shape[-2:])`): the latest whole shape read before `op` whose spatial sizes
        are the output's; None where there is none (a size written as numbers)."""
        out = op.output_shapes[0]
        for before, ref, shape in reversed(self.sizes):
            if before <= op.index and len(shape) == len(out) and shape[2:] == out[2:]:
                value = self.value(ref)
                if self.shapes.get(value, ())[1:] == out[2:]:
                    return value
        return None

    def layout(self, op: Op, chain: tuple) -> bool:
        """The channels moved last and back (ConvNeXt's `Permute`, `x.permute(0, 2, 3, 1)`):
        the permutes are no layers, and what runs between them is read as on the channels
        first (`read_last`: nn.Linear there is a 1×1 conv, LayerNorm(C) a layernorm over the
        channels); a parameter multiplied in (`self.gamma * x`, of one value per channel) is
        `scale`. True when `op` was read here."""
        if op.module is None and len(op.inputs) == 1 and op.parameters and \
                op.name in SCALE.operations() and len(op.input_shapes) == 2:
            shape = op.output_shapes[0][1:]
            value = self.value(op.inputs[0])
            if op.parameters == shape[0] and op.output_shapes[0] in op.input_shapes:
                self.shapes[op.index] = shape
                self.items.append(Leaf(op.index, [value], op.index, chain, SCALE,
                                       SCALE.args(), op.name))
                return True
            return False
        if len(op.inputs) != 1 or len(op.output_shapes) != 1:
            return False
        given, out = op.input_shapes[0], op.output_shapes[0]
        last = op.inputs[0].op in self.last
        moved = (_moves(op, given, out, to_last=True) and not last
                 or _moves(op, given, out, to_last=False) and last)
        if moved:
            self.alias[op.index] = self.value(op.inputs[0])
            if not last:
                self.last.add(op.index)
            return True
        if not last:
            return False
        sample = (given[-1], *given[1:-1])      # as the spec holds it, channels first
        item = None
        if op.module is not None:
            for kind, args in _readings(op, lambda kind: kind.read_last(nn, op.module, sample)):
                item = Leaf(op.index, [self.value(op.inputs[0])], op.index, chain, kind, args,
                            op.path)
                self.called.append(op.module)
                break
        if item is None:
            raise _error(op, "runs on the channels moved last (after a `permute`), where only "
                         "element-wise layers, nn.Linear (a 1×1 conv) and LayerNorm over the "
                         "channels are read")
        self.last.add(op.index)
        self.shapes[op.index] = (out[-1], *out[1:-1])
        self.items.append(item)
        return True

    def padded_conv(self, op: Op, chain: tuple, inputs: list[int]) -> Item | None:
        """A zero pad and the conv right after it on its output alone: `padding: same` with a
        stride, as cnncalc builds it (`Conv.read_padded`), the pad skipped into the conv."""
        after = self.ops[op.index + 1] if op.index + 1 < len(self.ops) else None
        if (after is None or after.module is None or after.inputs != (Ref(op.index),)
                or len(inputs) != 1):
            return None
        args = CONV.read_padded(nn, op.module, after.module, op.input_shapes[0][1:])
        if args is None:
            return None
        self.skip.add(after.index)
        self.alias[op.index] = after.index
        self.shapes[after.index] = after.output_shapes[0][1:]
        return Leaf(after.index, inputs, op.index, chain, CONV, args, after.path)

    def run_of(self, op: Op, chain: tuple, inputs: list[int]) -> Item | None:
        """A run of calls from `op`, each on the one before's output alone, that a kind reads
        as one layer (`read_run`): the layer, with the run's last value; the rest skipped."""
        run = [op]
        while len(run) < MAX_RUN and run[-1].index + 1 < len(self.ops):
            after = self.ops[run[-1].index + 1]
            if after.module is not None or after.inputs != (Ref(run[-1].index),):
                break
            run.append(after)
        if len(run) < 2 or len(inputs) != 1:
            return None
        calls = [(o.name, tuple(a for a in o.args if not _is_tensor(a)),
                  {k: v for k, v in o.kwargs.items() if not _is_tensor(v)},
                  o.input_shapes[0][1:], o.output_shapes[0][1:] if o.output_shapes else ())
                 for o in run]
        for kind in KINDS.values():
            found = kind.read_run(calls)
            if found is not None:
                count, args = found
                last = run[count - 1]
                self.skip.update(o.index for o in run[1:count])
                for o in run[:count - 1]:
                    self.alias[o.index] = last.index
                self.shapes[last.index] = last.output_shapes[0][1:]
                return Leaf(last.index, inputs, op.index, chain, kind, args, op.name)
        return None

    def function(self, op: Op, chain: tuple, inputs: list[int]) -> Item | None:
        plain = tuple(a for a in op.args if not _is_tensor(a))
        kwargs = {k: v for k, v in op.kwargs.items() if not _is_tensor(v)}
        rank = len(op.input_shapes[0])
        for composite in COMPOSITES.values():
            if composite.read_call(op.name, plain, kwargs, rank):
                if len(inputs) == 1 and composite is CONCAT:
                    self.alias[op.index] = inputs[0]     # `torch.cat([x])` is x
                    return None
                assert isinstance(composite, Branched)
                return Combine(op.index, inputs, op.index, chain, composite)
        if len(inputs) == 1:
            shape = op.input_shapes[0][1:]
            found = []
            for kind in KINDS.values():
                if op.name not in kind.operations():
                    continue
                try:
                    args = kind.read_call(op.name, plain, kwargs, shape)
                except NoCounterpart as exc:
                    raise _error(op, f"{exc}") from None
                if args is not None:
                    found.append((len(args.model_dump(exclude_defaults=True)), kind, args))
            if found:
                _, kind, args = min(found, key=lambda f: f[0])
                reference = kind.sized_by(args)
                source = self.size_source(op) if reference else None
                if reference and source is not None:
                    return Leaf(op.index, inputs, op.index, chain, kind, args, op.name,
                                refs={reference: source})
                out = op.output_shapes[0][1:]
                if kind is not FLATTEN and len(out) < len(shape) and out == shape[:len(out)]:
                    # x.mean([2, 3]): the pool, then its sizes of 1 dropped (a `flatten`)
                    pooled = len(self.ops)
                    self.ops.append(op)
                    self.shapes[pooled] = (*out, *[1] * (len(shape) - len(out)))
                    self.items.append(Leaf(pooled, inputs, op.index, chain, kind, args, op.name))
                    return Leaf(op.index, [pooled], op.index, chain, FLATTEN, FLATTEN.args(),
                                op.name)
                return Leaf(op.index, inputs, op.index, chain, kind, args, op.name)
        raise _error(op, "no layer kind or composite of the spec language does this",
                     ["`cnncalc kinds` lists them (the import reads each kind's "
                      "`operations()`)"])

    def unused_parameters(self, called: Counter) -> None:
        """Modules with parameters that forward never called (their params would be missing;
        fixed ones are left out, and said) or called more than once (shared weights, counted
        once by PyTorch)."""
        fixed = fixed_and_unused(self.model, lambda name, module: called[id(module)] > 0)
        self.left_out = [f"`{name}` ({type(module).__name__}): {params:,} fixed parameters "
                         "forward never calls" for name, module, params in fixed]
        self.left_out_params = sum(params for _, _, params in fixed)
        for name, module in self.model.named_modules():
            if next(module.children(), None) is not None or any(m is module for _, m, _ in fixed):
                continue
            params = sum(p.numel() for p in module.parameters())
            if params and called[id(module)] == 0:
                raise Unsupported(f"`{name}` ({type(module).__name__}) has {params:,} "
                                  "parameters but forward never calls it: a spec counts what "
                                  "runs",
                                  hints=["remove the module, or import a model whose forward "
                                         "uses all of it"])
            if params and called[id(module)] > 1:
                raise Unsupported(f"`{name}` ({type(module).__name__}) is called "
                                  f"{called[id(module)]} times with the same {params:,} "
                                  "parameters: shared weights have no counterpart in the spec "
                                  "language")


# ---------------------------------------------------------------------------------------------
# Step 2: nesting by modules

def _readings(op: Op, read: Callable[[Any], Any]) -> Iterator[tuple[Any, Any]]:
    """Each kind that reads `op`'s module (`read(kind)`: its arguments or None), with them; a
    setting no spec can say is an error naming the module."""
    for kind in KINDS.values():
        try:
            args = read(kind)
        except NoCounterpart as exc:
            raise _error(op, f"{exc}") from None
        if args is not None:
            yield kind, args


def _moves(op: Op, given: tuple, out: tuple, to_last: bool) -> bool:
    """`op` moves the channels last (`x.permute(0, 2, 3, 1)`), or back (`(0, 3, 1, 2)`), and
    does nothing else: a module without parameters (ConvNeXt's `Permute`) or a call of
    `permute`/`movedim`, read by its dims where it has them, else by the shapes."""
    if len(given) < 3 or sorted(given) != sorted(out):
        return False
    n = len(given)
    order = [0, *range(2, n), 1] if to_last else [0, n - 1, *range(1, n - 1)]
    if op.module is not None:
        if next(op.module.parameters(), None) is not None or next(op.module.children(),
                                                                  None) is not None:
            return False
        dims = getattr(op.module, "dims", None)
        if dims is not None:
            return [d % n for d in dims] == order
        if given == out:
            # read by its shapes only where they change: a module that keeps them (a pool
            # of a 1×1 map) is the layer some kind reads, not a move
            return False
    elif op_name(op.name) == "permute":
        dims = op.args[1:] if len(op.args) > 2 else op.args[1] if len(op.args) == 2 else None
        return dims is not None and [d % n for d in dims] == order
    elif op_name(op.name) != "movedim":
        return False
    return tuple(given[d] for d in order) == tuple(out)


def _flatten_concats(items: list[Item]) -> None:
    """`cat([a, b, c])` after `cat([a, b])` is `cat([cat([a, b]), c])` (DenseNet's layers each
    join every earlier output; written as a chain of two-branch concats)."""
    seen: dict[tuple, int] = {}
    for item in items:
        if isinstance(item, Combine) and item.composite is CONCAT:
            key = tuple(item.inputs)
            if len(key) > 2 and key[:-1] in seen:
                item.inputs = [seen[key[:-1]], key[-1]]
            seen.setdefault(key, item.id)


def _flatten_sums(items: list[Item], outputs: list[int]) -> list[Item]:
    """`a + b + c` runs as `(a + b) + c`: one `add` of three branches, where the inner sum is
    read by the outer alone in the same module (as `add`'s branches are built, and paired by
    `--against`); so too `*`."""
    readers = Counter(v for item in items for v in _reads(item))
    gone: set[int] = set()
    sums: dict[int, Combine] = {}
    for item in items:
        if not (isinstance(item, Combine) and item.composite in (ADD, MUL)):
            continue
        inputs: list[int] = []
        for u in item.inputs:
            inner = sums.get(u)
            if (inner is not None and inner.composite is item.composite and readers[u] == 1
                    and u not in outputs and inner.chain == item.chain):
                inputs.extend(inner.inputs)
                gone.add(u)
            else:
                inputs.append(u)
        item.inputs = inputs
        sums[item.id] = item
    return [item for item in items if item.id not in gone]


def _reads(item: Item) -> list[int]:
    """The values `item` reads: its inputs, and a leaf's references (`like`)."""
    return item.inputs + list(item.refs.values()) if isinstance(item, Leaf) else item.inputs


class _Nester:
    def __init__(self, model: nn.Module, items: list[Item], outputs: list[int]):
        self.modules = dict(model.named_modules())
        self.outputs = set(outputs)
        self.consumers: dict[int, list[Item]] = {}
        for item in items:
            for v in _reads(item):
                self.consumers.setdefault(v, []).append(item)

    def nest(self, items: list[Item], depth: int) -> list[Item]:
        """The items at this depth: those run here, and a group (or the spread items) for each
        module run inside."""
        out: list[Item] = []
        inner: dict[str, list[Item]] = {}
        for item in items:
            if len(item.chain) > depth:
                inner.setdefault(item.chain[depth], []).append(item)
            else:
                out.append(item)
        for path, below in inner.items():
            out.extend(self.group(path, self.nest(below, depth + 1), depth))
        return sorted(out, key=lambda i: i.order)

    def outside(self, item: Item, path: str) -> bool:
        return path not in item.chain

    def group(self, path: str, items: list[Item], depth: int) -> list[Item]:
        if _container(self.modules[path]):
            return items        # its children in order, nothing of its own: its parent's list
        hoisted: list[Item] = []
        while True:
            ids = {i.id for i in items}
            inputs = list(dict.fromkeys(v for i in items for v in _reads(i) if v not in ids))
            outputs = [i for i in items if i.id in self.outputs
                       or any(self.outside(c, path) for c in self.consumers.get(i.id, []))]
            if len(inputs) == 1 and len(outputs) == 1:
                out = outputs[0]
                return hoisted + [Group(out.id, inputs, out.order, out.chain[:depth], path,
                                        self.modules[path], items)]
            first = min(items, key=lambda i: i.order)
            if not (isinstance(first, Combine) and not set(first.inputs) & ids):
                return hoisted + items          # spread into the parent
            first.chain = first.chain[:depth]
            hoisted.append(first)
            items = [i for i in items if i is not first]
            if not items:
                return hoisted


# ---------------------------------------------------------------------------------------------
# Step 3: a graph from one input to its outputs as a list of entries, nested or by name

class _Named(Exception):
    """`value` is read on paths that don't join as one composite's branches: it needs a name."""

    def __init__(self, value: int):
        self.value = value


class _Crossed(Exception):
    """A branch runs through a named value: its composite combines by names instead."""


def _decompose(items: list[Item], source: int, sinks: list[int], base: str,
               ops: list[Op]) -> tuple[list, list[str]]:
    """One scope's items (a group's, or the model's), a graph from `source` to `sinks`, as a
    list of entries `(item, branches, wiring)`, and the names of `sinks` as `outputs` writes
    them. Values read on one path, or on branches that join again, nest: an item follows its
    input, a composite's branches run from the nearest value every input passes through (its
    dominator) to each input. A value read elsewhere too is named: the list is cut into runs,
    each ending at a named value (or a sink) in the order the model ran them, a run starting
    elsewhere than after the one before takes its input `from` a name, and a composite whose
    branches would cross a named value combines names (`{from: [...]}`). The names are found by
    trying: a value met twice is named, and the walk starts again. `wiring` holds what the
    entry writes for them: `id`, `from`, `sources` (`{from: [...]}`) and `refs` (`like`)."""
    producer = {i.id: i for i in items}
    order = {i.id: (i.order, i.id) for i in items}
    idom: dict[int, int | None] = {source: None}
    depth = {source: 0}

    def lca(values: list[int]) -> int:
        a = values[0]
        for b in values[1:]:
            while a != b:
                if depth[a] < depth[b]:
                    b = idom[b]     # type: ignore[assignment]
                else:
                    a = idom[a]     # type: ignore[assignment]
        return a

    for item in sorted(items, key=lambda i: i.order):
        if any(v not in depth for v in item.inputs):
            raise AssertionError("an item before its input")
        d = lca(item.inputs)
        idom[item.id], depth[item.id] = d, depth[d] + 1

    named: set[int] = set()
    for item in items:
        if isinstance(item, Leaf):
            for arg, value in list(item.refs.items()):
                if value in producer:
                    named.add(value)
                elif value != source:       # read outside this scope: not visible in it
                    if item.kind.sized_by(item.args) is None:   # nothing else says the size
                        raise _error(ops[item.id], f"its `{arg}` reads a tensor computed "
                                     "outside its module; a block sees only its own entries")
                    del item.refs[arg]
        elif isinstance(item, Group) and not item.entries:
            item.entries, _ = _decompose(item.items, item.inputs[0], [item.id], item.path, ops)
    while True:
        try:
            runs = _runs(sorted(named | set(sinks) - {source}, key=order.__getitem__), named,
                         source, producer, lca, order)
            break
        except _Named as exc:
            if exc.value in named:
                raise AssertionError("a named value met twice") from None
            named.add(exc.value)
    emitted = {id(item) for _, _, entries in runs for item in _items(entries)}
    for item in items:
        if id(item) not in emitted:
            raise Unsupported(f"{_where(ops[item.id])}: computed, but the model's output doesn't "
                              "depend on it",
                              hints=["a spec describes what the output is computed from"])
    return _wire(runs, items, source, sinks, base)


def _runs(heads: list[int], named: set[int], source: int, producer: dict, lca,
          order: dict) -> list:
    """Each head's run: (head, the value it starts from or None for `{from: [...]}`, its
    entries `(item, branches or None)`); `_Named` for a value met twice, and for the last
    entry of a run that the model ran before the run before it ended, so that the runs are
    in the model's order (as `validate --against` pairs them)."""
    emitted: set[int] = set()

    def walk(end: int, stop: int | None) -> tuple[list, int | None]:
        """From `end` back to `stop` (a branch: `_Crossed` at a named value), or at the top to
        the first named value or the source."""
        out: list = []
        v = end
        while v != stop:
            if v == source or (v in named and (stop is not None or v != end)):
                if stop is not None:
                    raise _Crossed
                break
            item = producer[v]
            if id(item) in emitted:
                raise _Named(v)
            emitted.add(id(item))
            if not isinstance(item, Combine):
                out.append((item, None))
                v = item.inputs[0]
                continue
            a = lca(item.inputs)
            before = set(emitted)
            try:
                out.append((item, [walk(u, a)[0] for u in item.inputs]))
                v = a
            except _Crossed:
                emitted.clear()
                emitted.update(before)
                for u in item.inputs:
                    if u not in named and u != source:
                        raise _Named(u) from None
                out.append((item, None))
                if stop is not None:
                    raise
                return out[::-1], None
        return out[::-1], v

    runs: list = []
    for head in heads:
        start, entries = walk(head, None)[::-1]
        early = [item for item in _items(entries)        # a composite's branches too
                 if runs and order[item.id] < order[runs[-1][0]]]
        if early:
            raise _Named(early[-1].id)
        runs.append((head, start, entries))
    return runs


def _items(entries: list):
    for item, branches in entries:
        yield item
        for branch in branches or ():
            yield from _items(branch)


def _wire(runs: list, items: list[Item], source: int, sinks: list[int],
          base: str) -> tuple[list, list[str]]:
    """The runs as one list, with the names the references read: each named value read by
    name somewhere gets one (from its module's path, unique in the list)."""
    read: list[int] = []        # the values read by name, in the order they are read
    previous = source
    for head, start, entries in runs:
        if start is None:       # `{from: [...]}`
            read.extend(u for u in entries[0][0].inputs if u != previous)
        elif start != previous:
            read.append(start)
        read.extend(v for item in _items(entries) if isinstance(item, Leaf)
                    for v in item.refs.values())
        previous = head
    last = runs[-1][0] if runs else source
    if len(sinks) > 1:
        read.extend(v for v in sinks if v != last)
    producer = {i.id: i for i in items}
    names: dict[int, str] = {source: "input"}
    for v in sorted(set(read) - {source}, key=lambda v: (producer[v].order, v)):
        names[v] = _id_name(producer[v], base, set(names.values()))

    def wired(entries: list) -> list:
        out = []
        for item, branches in entries:
            wiring: dict = {}
            if isinstance(item, Leaf) and item.refs:
                wiring["refs"] = {arg: names[v] for arg, v in item.refs.items()}
            out.append((item, [wired(b) for b in branches] if branches is not None else None,
                        wiring))
        return out

    listed: list = []
    previous = source
    for head, start, entries in runs:
        entries = wired(entries)
        first = entries[0][2]
        if start is None:
            first["sources"] = ["." if u == previous else names[u]
                                for u in entries[0][0].inputs]
        elif start != previous:
            first["from"] = names[start]
        if head in names:
            entries[-1][2]["id"] = names[head]
        listed.extend(entries)
        previous = head
    outputs = ["." if v == last else names[v] for v in sinks]
    return listed, outputs


def _id_name(item: Item, base: str, taken: set[str]) -> str:
    """An `id` for `item`'s output: its module's path in the scope (`cv1`, `m_0`), or the
    function or composite's name; letters, digits and `_`, unique among `taken`."""
    label = (item.path if isinstance(item, Group) else item.label if isinstance(item, Leaf)
             else item.composite.name if isinstance(item, Combine) else "")
    name = re.sub(r"\W", "_", _snake(_relative(label, base)).replace(".", "_")).strip("_")
    if not name or not name[0].isalpha():
        name = f"x_{name}" if name else "x"
    if name in BUILTIN_NAMES or name == "input":
        name += "_out"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    return unique


# ---------------------------------------------------------------------------------------------
# Step 4: writing, with blocks and repeats

class Written(dict):
    """A leaf's or a block use's arguments, every one written (those equal to `defaults` are
    left out at the end): the values a block may turn into parameters."""

    def __init__(self, data=(), defaults: dict | None = None):
        super().__init__(data)
        self.defaults = defaults or {}

    def like(self, data) -> Written:
        return Written(data, self.defaults)


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name.strip("_")).lower()
    return re.sub(r"[^a-z0-9_]", "_", name) or "block"


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1:] if base and path.startswith(base + ".") else path


def _container(module: nn.Module) -> bool:
    """PyTorch's own containers (Sequential, ModuleList, ModuleDict): their children in order,
    nothing of their own."""
    return type(module) in (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _key(entry) -> str:
    """An entry without its names, for comparing."""
    return json.dumps(_without_names(entry), sort_keys=True)


def _without_names(value):
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if not
                (k == "name" and isinstance(value, Written))}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def _merge_names(copies: list):
    """The first copy, keeping only the names every copy has alike."""
    first = copies[0]
    if isinstance(first, dict):
        out = first.like({}) if isinstance(first, Written) else {}
        for k, v in first.items():
            if k == "name" and isinstance(first, Written):
                if all(isinstance(c, dict) and c.get("name") == v for c in copies):
                    out[k] = v
            else:
                out[k] = _merge_names([c[k] for c in copies])
        return out
    if isinstance(first, list):
        return [_merge_names([c[i] for c in copies]) for i in range(len(first))]
    return first


def _first_name(entries: list) -> str | None:
    for entry in entries:
        if isinstance(entry, dict):
            args = next(iter(entry.values()))
            if isinstance(args, Written) and "name" in args:
                return str(args["name"])
    return None


def _compress(entries: list) -> list:
    """Runs of equal entries (names aside) as `repeat`, the longest run first."""
    keys = [_key(e) for e in entries]
    out: list = []
    i, n = 0, len(entries)
    while i < n:
        best = (0, 1, 1)      # (covered, length, count)
        for length in range(1, min((n - i) // 2, MAX_PERIOD) + 1):
            count = 1
            while (i + (count + 1) * length <= n
                   and keys[i + count * length:i + (count + 1) * length] == keys[i:i + length]):
                count += 1
            if count > 1 and length * count > best[0]:
                best = (length * count, length, count)
        _, length, count = best
        if count == 1:
            out.append(entries[i])
            i += 1
            continue
        copies = [entries[i + c * length:i + (c + 1) * length] for c in range(count)]
        first, last = _first_name(copies[0]), _first_name(list(reversed(copies[-1])))
        name = f"{first} to {last}" if first and last else None
        written = REPEAT.write(count, _merge_names(copies), name)
        written[REPEAT.name] = Written(written[REPEAT.name])
        out.append(written)
        i += length * count
    return out


@dataclass(eq=False)
class _Block:
    name: str
    params: dict            # name -> default, or "required"
    layers: list


class _Writer:
    def __init__(self, shapes: dict[int, tuple]):
        self.shapes = shapes
        self.uses: dict[int, tuple[str, Written]] = {}      # id(group) -> (block, arguments)
        self.blocks: dict[str, _Block] = {}

    # -- entries

    def entries(self, entries: list, base: str) -> list:
        out: list = []
        entry: dict
        for item, branches, wiring in entries:
            if isinstance(item, Leaf):
                fields = type(item.args).model_fields
                read = item.kind.refer(item.args, wiring["refs"]) if item.refs else item.args
                args = Written(read.model_dump(),
                               {k: f.default for k, f in fields.items() if not f.is_required()})
                if item.label:      # '' for a model that is one module (`nn.Linear(4, 2)`)
                    args["name"] = _relative(item.label, base)
                entry = {item.kind.name: args}
            elif isinstance(item, Combine):
                entry = (self.combine(item, branches, base) if branches is not None
                         else {item.composite.name: {"from": wiring["sources"]}})
            else:
                block, args = self.uses[id(item)]
                use = args.like(args)
                use["name"] = _relative(item.path, base)
                entry = {block: use}
            out.append(_wired(entry, wiring))
        return _compress(out)

    def combine(self, item: Combine, branches: list, base: str) -> dict:
        if item.composite is CONCAT:
            split = self.split(branches, base)
            if split is not None:
                return split
        written = [self.entries(b, base) for b in branches]
        if item.composite is ADD and len(branches) == 2:
            start = self.shapes[_start(item, branches)]
            for main, short in ((0, 1), (1, 0)):
                pairs = _leaf_pairs(branches[short])
                out = self.shapes[item.inputs[main]]
                if pairs is not None and RESIDUAL.reads_as_auto(pairs, start, out):
                    entry = RESIDUAL.write(written[main], None)
                    return _WithIdentity(entry, written[main]) if not pairs else entry
        return item.composite.write(written)

    def split(self, branches: list, base: str) -> dict | None:
        """A concat whose branches start with the pieces of one cut, in order (ShuffleNet V2's
        `chunk` and `cat`): `split`, the pieces' slices left out; else None."""
        firsts = [branch[0][0] if branch else None for branch in branches]
        pieces = [f.piece if isinstance(f, Leaf) else None for f in firsts]
        if any(p is None or p[:1] + p[2:] != (pieces[0][0], len(branches))   # type: ignore[index]
               or p[1] != i for i, p in enumerate(pieces)):
            return None
        sizes = [self.shapes[f.id][0] for f in firsts]     # type: ignore[union-attr]
        return SPLIT.write(sizes, [self.entries(b[1:], base) for b in branches])

    # -- blocks

    def make_blocks(self, root: list) -> None:
        """Every module class's uses as blocks, the innermost classes first."""
        uses: list[tuple[int, Group]] = []

        def walk(entries: list) -> int:
            height = 0
            for item, branches, _ in entries:
                if branches is not None:
                    for b in branches:
                        height = max(height, walk(b))
                elif isinstance(item, Group):
                    inner = walk(item.entries)
                    uses.append((inner, item))
                    height = max(height, inner + 1)
            return height

        walk(root)
        units: dict[tuple, list[Group]] = {}
        for height, group in sorted(uses, key=lambda u: u[0]):
            units.setdefault((height, type(group.module)), []).append(group)
        for (_, cls), groups in units.items():
            bodies = self.optional([self.entries(g.entries, g.path) for g in groups], groups)
            shapes: dict[str, list[int]] = {}
            for i, body in enumerate(bodies):
                shapes.setdefault(_key(_abstract(body)), []).append(i)
            # the shape most uses have takes the class's name
            for members in sorted(shapes.values(), key=len, reverse=True):
                name = self.block_name(cls.__name__)
                params, layers, args = _parameters([bodies[i] for i in members])
                self.blocks[name] = _Block(name, params, layers)
                for i, a in zip(members, args):
                    self.uses[id(groups[i])] = (name, a)

    def optional(self, bodies: list[list], groups: list[Group]) -> list[list]:
        """Uses of one class that add `x` where they keep the shape and stride 1, and don't
        elsewhere (torchvision's `use_res_connect`), as one `shortcut: optional` block."""
        forms: list = []
        for body, group in zip(bodies, groups):
            shape, out = self.shapes[group.inputs[0]], self.shapes[group.id]
            adds = RESIDUAL.optional_adds(_leaf_args(group.entries), shape, out)
            if len(body) == 1 and isinstance(body[0], _WithIdentity):
                forms.append(RESIDUAL.write_optional(body[0].layers) if adds else None)
            else:
                forms.append(None if adds else RESIDUAL.write_optional(body))
        alike: dict[str, list[int]] = {}
        for i, form in enumerate(forms):
            if form is not None:
                alike.setdefault(_key(_abstract(form)), []).append(i)
        bodies = list(bodies)
        for members in alike.values():
            if len({_key(_abstract(bodies[i])) for i in members}) > 1:   # it joins some
                for i in members:
                    bodies[i] = [forms[i]]
        return bodies

    def block_name(self, cls: str) -> str:
        base = _snake(cls)
        if base in BUILTIN_NAMES:
            base += "_block"
        name, n = base, 2
        while name in self.blocks:
            name, n = f"{base}_{n}", n + 1
        return name


def _wired(entry: dict, wiring: dict) -> dict:
    """`entry` with the `id` and `from` of its wiring among its arguments (a composite's list
    in its mapping form)."""
    extra = {k: wiring[k] for k in ("id", "from") if k in wiring}
    if not extra:
        return entry
    (kind, value), = entry.items()
    if isinstance(value, list):
        value = {"branches": value}
    if isinstance(value, dict):
        value.update(extra)         # in place: a `_WithIdentity` keeps its layers
        entry[kind] = value
        return entry
    raise AssertionError(f"`{kind}` has no arguments for {extra}")


class _WithIdentity(dict):
    """A `residual` entry whose shortcut is the identity, with its layers as written."""

    def __init__(self, entry: dict, layers: list):
        super().__init__(entry)
        self.layers = layers


def _leaf_args(entries: list) -> list:
    """The arguments of every leaf in `entries`, through composites and groups."""
    out: list = []
    for item, branches, _ in entries:
        if isinstance(item, Leaf):
            out.append(item.args)
        elif isinstance(item, Group):
            out.extend(_leaf_args(item.entries))
        else:
            for branch in branches or ():
                out.extend(_leaf_args(branch))
    return out


def _start(item: Combine, branches: list) -> int:
    """The value the branches of `item` start from."""
    for branch, value in zip(branches, item.inputs):
        if not branch:
            return value
        return branch[0][0].inputs[0]
    raise AssertionError


def _leaf_pairs(branch: list) -> list | None:
    """(kind, args) of a branch made of leaves (through containers only), else None."""
    out: list = []
    for item, _, wiring in branch:
        if not isinstance(item, Leaf) or wiring:
            return None
        out.append((item.kind, item.args))
    return out


def _abstract(value):
    """An entry with its arguments' values left out: what every use of one block shares."""
    if isinstance(value, Written):
        return {k: (_abstract(v) if isinstance(v, (list, dict)) and not _scalars(v)
                    else v if k in NAMES else "?")
                for k, v in value.items() if k != "name"}
    if isinstance(value, dict):
        return {k: _abstract(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_abstract(v) for v in value]
    return value


def _scalars(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, (int, float, str, bool)) for v in value)


def _parameters(bodies: list[list]) -> tuple[dict, list, list[Written]]:
    """One block for bodies of one shape: its parameters (the values that differ, each with a
    default when most uses have one value), its layers and each use's arguments."""
    params: dict[str, list] = {}
    owners: dict[str, str] = {}

    def expression(values: list, key: str, owner: str) -> Any:
        if all(v == values[0] for v in values):
            return values[0]
        ints = all(type(v) is int for v in values)
        for pname, pvalues in params.items():
            if values == pvalues:
                return f"${pname}"
            if ints and all(type(p) is int and p > 0 for p in pvalues):
                ratios = {v // p for v, p in zip(values, pvalues)}
                if len(ratios) == 1 and all(v == p * min(ratios) for v, p in zip(values, pvalues)):
                    return f"${{{pname} * {min(ratios)}}}"
                divisors = {p // v if v else 0 for v, p in zip(values, pvalues)}
                k = min(divisors)
                if len(divisors) == 1 and k > 1 and all(p // k == v for v, p in zip(values, pvalues)):
                    return f"${{{pname} // {k}}}"
        pname = _param_name(key, owner, params)
        params[pname] = values
        owners[pname] = owner
        return f"${pname}"

    def merge(copies: list, owner: str) -> Any:
        first = copies[0]
        if isinstance(first, Written):
            out = first.like({})
            here = str(first.get("name", owner))
            for k, v in first.items():
                values = [c[k] for c in copies]
                if k == "name":
                    if all(x == v for x in values):
                        out[k] = v
                elif isinstance(v, (list, dict)) and not _scalars(v):
                    out[k] = merge(values, here)
                else:
                    out[k] = expression(values, k, here)
            return out
        if isinstance(first, dict):
            return {k: merge([c[k] for c in copies], owner) for k in first}
        if isinstance(first, list):
            return [merge([c[i] for c in copies], owner) for i in range(len(first))]
        return first

    layers = merge(bodies, "")
    defaults: dict[str, Any] = {}
    for pname, values in params.items():
        value, count = Counter(json.dumps(v) for v in values).most_common(1)[0]
        defaults[pname] = json.loads(value) if count * 2 > len(values) else "required"
    given = {p: d for p, d in defaults.items() if d != "required"}
    args = [Written({p: values[i] for p, values in params.items()}, given)
            for i in range(len(bodies))]
    return defaults, layers, args


def _param_name(key: str, owner: str, taken: dict) -> str:
    name = key if key not in taken and key not in RESERVED else None
    if name is None and owner:
        name = _snake(f"{owner}_{key}".replace(".", "_"))
        if not name[0].isalpha():
            name = f"branch_{name}"     # a branch's path, `1.0`: a parameter starts with a letter
    if name is None or name in taken or name in RESERVED:
        n = 2
        while f"{key}{n}" in taken:
            n += 1
        name = f"{key}{n}"
    return name


# ---------------------------------------------------------------------------------------------
# YAML

def _plain(value):
    """Written dicts as plain data, leaf arguments in their short forms."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, args), = value.items()
            if isinstance(args, Written):
                args = {k: _plain(v) for k, v in args.items()
                        if k not in args.defaults or args.defaults[k] != v}
                if key in KINDS:
                    short = KINDS[key].shorthand(args)
                    return key if short is None else _Entry({key: short})
                return _Entry({key: args}) if args else key
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Entry(dict):
    """An entry `kind: arguments`, written `- linear: 10` rather than `- {linear: 10}`."""


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Entry, lambda dumper, value: dumper.represent_mapping(
        "tag:yaml.org,2002:map", value, flow_style=False))
    return Dumper


@dataclass(frozen=True, slots=True)
class Imported:
    text: str               # the spec
    params: int             # the model's figures, which the spec's were checked against
    buffers: int
    flops: int
    output_shapes: tuple    # one per output, in order


def import_model(target: Target, shape: list[int]) -> Imported:
    """The spec of the model `target` builds, for one sample of `shape` (channels first)."""
    model = build_model(target, "meta")
    return spec_of(model, shape, target.text.strip(), target.call(),
                   _snake(target.attribute.split(".")[-1]))


def spec_of(model: nn.Module, shape: list[int], origin: str, call: str = "the model",
            name: str = "imported") -> Imported:
    """The spec of `model` (on the meta device) for one sample of `shape`; `origin` is what
    the header says it was imported from, `call` how errors name the factory's call."""
    import yaml

    x = torch.empty((1, *shape), device="meta")
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            traced = trace(model, x)
    except TraceFailed as exc:
        where = f" in `{exc.running[-1]}`" if exc.running and exc.running[-1] else ""
        raise SpecError(f"`{call}` raised{where} on a {'x'.join(map(str, shape))} "
                        f"input: {type(exc.error).__name__}: {exc.error}",
                        hints=["check --input: channels first, one sample"]) \
            from None
    if not traced.outputs or None in traced.outputs:
        raise Unsupported("the model returns a tensor it didn't compute from its input (a "
                          "parameter or a constant): a spec's outputs are computed"
                          if traced.outputs else "the model returns no tensor")
    reader = _Reader(model, list(traced.ops), traced.calls(), traced.sizes)
    items = reader.run()
    outputs = [reader.value(ref) for ref in traced.outputs]    # type: ignore[arg-type]
    _flatten_concats(items)
    items = _flatten_sums(items, outputs)
    top = _Nester(model, items, outputs).nest(items, 0)
    entries, names = _decompose(top, 0, outputs, "", reader.ops)
    writer = _Writer(reader.shapes)
    writer.make_blocks(entries)
    layers = writer.entries(entries, "")
    params = sum(p.numel() for p in model.parameters()) - reader.left_out_params
    buffers = sum(b.numel() for b in model.buffers())
    flops = counter.get_total_flops()
    out_shapes = tuple(tuple(reader.shapes[v]) for v in outputs)
    spec: dict = {"name": name, "input": list(shape)}
    # a model that returns its input: one layer that does the same
    body: dict = {"layers": _plain(layers) or [Identity.name]}
    if writer.blocks:
        body = {"blocks": {b.name: {"params": b.params, "layers": _plain(b.layers)} if b.params
                           else {"layers": _plain(b.layers)} for b in writer.blocks.values()},
                **body}
    if len(outputs) > 1:
        body["outputs"] = names
    header = (f"# Written by `cnncalc import {origin} --input "
              f"{'x'.join(map(str, shape))}` from the model PyTorch {torch.__version__} ran:\n"
              "# each entry's `name` is its module's path (or the function its forward "
              "called);\n# blocks are the model's own module classes, their parameters what "
              "differs between uses.\n"
              + "".join(f"# Left out: {line} (not counted).\n" for line in reader.left_out))
    dump = dict(Dumper=_dumper(), width=100, sort_keys=False, default_flow_style=None,
                allow_unicode=True)
    text = header + yaml.dump(spec, **dump) + yaml.dump(body, **dump)
    text = _verify(text, (params, buffers, flops, out_shapes), header.count("\n") + 2)
    return Imported(text, params, buffers, flops, out_shapes)


def _verify(text: str, model: tuple, top: int) -> str:
    """The spec's figures against the model's (params, buffers, FLOPs, output shapes); with
    `rounding: floor` (on line `top`) where PyTorch floors a size strict rounding refuses."""
    from cnncalc.dims import StrictRoundingError
    from cnncalc.pipeline import analyze_loaded, load_text
    from cnncalc.report import flops as flops_of

    try:
        analysis = analyze_loaded(load_text(text, "<imported>"))
    except StrictRoundingError as exc:
        lines = text.split("\n")
        first = f" (first at line {exc.pos.line + 1})" if exc.pos else ""
        lines.insert(top, f"rounding: floor   # PyTorch floors (W − F + 2P)/S + 1{first}")
        text = "\n".join(lines)
        analysis = analyze_loaded(load_text(text, "<imported>"))
    ours = (analysis.total("params"), analysis.total("buffers"), flops_of(analysis.total("macs")),
            tuple(tuple(out) for _, out, _ in analysis.outputs))
    if ours != model:
        names = ("params", "buffers", "FLOPs", "output shapes")
        differ = "; ".join(f"{n}: spec {a}, model {b}" for n, a, b in zip(names, ours, model)
                           if a != b)
        raise AssertionError(f"the imported spec's figures differ from the model's: {differ}")
    return text
