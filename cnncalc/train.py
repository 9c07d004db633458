"""Training figures from an analysis, without running anything: the backward's FLOPs, what
autograd keeps for it, the gradients, the optimizer's state and the peak of a training step.

Each kind's rules are its own (cnncalc/kinds: `saved`, `output_is_input`, `backward_macs`,
`param_tensors`; a composite's `train`). This module walks the network once as a forward pass
does, following each tensor (a `Value`) from layer to layer, so that a storage kept by two
layers (a conv's output, kept by the ReLU after it as its output and by nothing else) is
counted once, charged to the first layer that keeps it, as PyTorch holds it once.

Counts (FLOPs, MACs) are per sample, as every count cnncalc reports; memory is for the batch.
Proven against PyTorch by tests/test_train_vs_torch.py and `cnncalc validate --train`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.analyze import Analysis, Row, add_up
from cnncalc.dims import numel
from cnncalc.errors import SpecError
from cnncalc.graph import Key, Node, dataflow, reachable
from cnncalc.kinds.base import Saved, Training
from cnncalc.report import DTYPE_BYTES

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
TRAIN_DTYPES = ("float32", "float16", "bfloat16", "float64")
DEVICES = ("cuda", "cpu")
OWN_DTYPE_BYTES = {"int64": 8, "bool": 1}
STEP_BYTES = 4       # Adam's `step`: a 0-d float32 tensor per parameter tensor (torch 2.13)


@dataclass(frozen=True, slots=True)
class TrainOptions:
    batch: int = 1
    dtype: str = "float32"
    optimizer: str = "adam"
    device: str = "cuda"

    @property
    def bytes_per_element(self) -> int:
        return DTYPE_BYTES[self.dtype]


@dataclass(eq=False, slots=True)
class Storage:
    """The memory under one or more tensors (a view shares its base's): its bytes for the
    batch, and the layer that first kept it (None: not kept yet)."""

    bytes: Any
    kept_by: str | None = None    # "" for the network's input: never charged
    kept_at: int | None = None    # the forward moment at which it was first kept


@dataclass(eq=False, slots=True)
class Value:
    """A tensor of the forward pass: its shape (one sample), whether it needs a gradient, its
    storage, and whether it is laid out channels last (after `linear` in hwc or a layer norm
    over the channels, which move the channels last and back: PyTorch keeps those strides)."""

    shape: tuple
    grad: bool
    storage: Storage
    last: bool = False
    gapped: bool = False          # a channel range of a batch: not contiguous
    # references: read by name (`from`, `{from: [...]}`) besides the next entry; the events
    # before which it was made and at which its last reader's backward starts (its gradient
    # waits between the two)
    named: bool = False
    made: int = 0
    read_at: int = 0
    readers: int = 0
    free: bool = False            # its gradient is the loss's broadcast 1, or a view of it
    born: int = 0                 # the forward moment that made it


@dataclass(slots=True)
class Kept:
    """One storage a layer is charged for."""

    label: str
    bytes: Any


@dataclass(slots=True)
class LayerTrain:
    backward_macs: Any = 0        # per sample
    saved_bytes: Any = 0          # the batch
    kept: list[Kept] = field(default_factory=list)
    input_grad: bool = False      # the layer's input needs a gradient
    shared: list[tuple[str, str]] = field(default_factory=list)   # (what, the layer it's charged to)
    recorded: bool = True         # autograd recorded it (its input needs a gradient, or params)


@dataclass(slots=True)
class Event:
    """One step of the forward, as the backward undoes it in reverse: a leaf, or a composite's
    combining (a sum, a concatenation, a product). Bytes for the batch."""

    path: str
    kept: Any                     # what it was charged for: freed once its backward has run
    param_grads: Any              # the gradients of its parameters, made by its backward
    out_grad: Any                 # the gradient arriving from above (its output's size)
    in_grad: Any                  # the gradient it passes down (its input's size, where needed)
    held: Any = 0                 # gradients other branches hold while its backward runs
    out: Any = None               # the Value it made, and those its gradient goes to
    sources: list = field(default_factory=list)
    view: bool = False            # its backward passes the gradient on as it is, or as views
    # the gradients it passes down that meet one already waiting for the same tensor: autograd
    # sums the two out of place (a new tensor) once its backward has run, one tensor at a time,
    # freeing the one that waited: the largest such sum (`summed`)
    sums: Any = 0
    # the gradient arriving outlives its backward: a branch not yet run holds it too
    shared: bool = False
    rest: Any = 0                 # the rest of its storage, where it arrives as a view (in held)
    copies: Any = 0               # parameter gradients copied into the parameters' layout
    # what its backward holds only while it runs: a copy of the gradient arriving, a
    # parameter's gradient at the output's size before its sum (`backward_temporary`)
    temporary: Any = 0
    # what it holds at its largest once the gradient arriving is released, beside what it
    # keeps and the gradient it passes down (`backward_late_temporary`)
    late: Any = 0
    # where a gradient of its own already waits for its input, autograd adds the gradient it
    # passes down to that one in place (by the late moment, its first operation's)
    merged: Any = 0
    dense: bool = False           # its backward copies the gradient arriving where not contiguous
    reduced: list = field(default_factory=list)   # a sum's broadcast sources: new gradients
    # the values whose gradient, waiting for the rest of it, `held` counts (a branch's input)
    waits: list = field(default_factory=list)


@dataclass(slots=True)
class Moment:
    """The forward just after one operation (a leaf's, or a composite's sum, concatenation or
    product): what was kept by then, and the storages alive besides (its inputs and output,
    the inputs of the modules it runs in, branches' outputs waiting to be joined)."""

    kept: Any
    storages: list[Storage]
    extra: Any = 0                # made and freed by the operation (`forward_temporary`)


@dataclass(slots=True)
class TrainFigures:
    options: TrainOptions
    layers: dict[str, LayerTrain]     # by path, every node (composites sum their children)
    forward_macs: Any
    backward_macs: Any
    saved_bytes: Any
    param_bytes: Any
    buffer_bytes: Any
    input_bytes: Any
    output_bytes: Any
    gradient_bytes: Any
    optimizer_bytes: Any
    param_tensors: list               # elements of each parameter tensor
    events: list[Event]
    outputs: int = 1                  # the loss sums each output's sum
    released: Any = 0                 # kept by layers no gradient reaches: freed before
    during_forward: Any = 0           # the largest forward moment, beyond `base_bytes`

    @property
    def base_bytes(self):
        """What a steady-state step starts with: the weights, buffers, optimizer state and the
        input batch (gradients were set to None after the last step)."""
        return self.param_bytes + self.buffer_bytes + self.optimizer_bytes + self.input_bytes

    @property
    def loss_bytes(self):
        """The loss (`output.sum()`, one element) and, in the backward, its gradient."""
        return 2 * self.options.bytes_per_element

    @property
    def forward_peak(self):
        """At the end of the forward (everything kept, the output and the loss), or at an
        operation before it where more is alive (a last layer whose input nothing keeps: a
        concatenation's branches, a resize's input, with its output)."""
        return self.base_bytes + max(self.saved_bytes + self.output_bytes + self.loss_made,
                                     self.during_forward)

    @property
    def loss_made(self):
        """The most the loss holds as it is made: `output.sum()`, one element; of several
        outputs, the sum of their sums, one `+` at a time (Python's `sum`): the first output's
        sum (the start, held until the end), the running total, the next output's sum and the
        new total: three elements for two outputs, four from three on."""
        return min(2 * self.outputs - 1, 4) * self.options.bytes_per_element

    @property
    def backward_peak(self):
        """The largest of, for each layer's backward in turn (the last layer first): what the
        layers before it keep (a storage is freed once the backward of the first layer that
        kept it has run, as its other keepers come after it), the gradients of the parameters
        after it, its own gradients (arriving, passed down, of its parameters) and those others
        hold; within it, once the gradient arriving is released (`late`); and, once it has run,
        the moments autograd sums two gradients for one tensor or copies a parameter's
        gradient into the parameter's layout."""
        peak = 0
        kept = self.saved_bytes - self.released
        grads = 0
        for event in reversed(self.events):
            # an output's gradient is d(sum)/d(output): a broadcast 1 (out_grad 0)
            during = (self.base_bytes + kept + grads + event.out_grad + event.in_grad
                      + event.param_grads + event.held + event.temporary + self.loss_bytes)
            # once it has run, what it kept and the gradient that arrived are freed (unless
            # what it passes down are views of that gradient, or a branch holds it)
            after = during - event.temporary - event.kept - (
                0 if event.view or event.shared else event.out_grad + event.rest)
            # the sum is made while both gradients it adds are there; then the parameters'
            # gradients are stored, each copied where laid out otherwise
            peak = max(peak, during, after + event.sums if event.sums else 0,
                       after - event.sums + event.copies if event.copies else 0,
                       after + event.kept + event.late - event.merged if event.late else 0)
            kept -= event.kept
            grads += event.param_grads
        return peak

    @property
    def optimizer_temporaries(self):
        """Adam's: on CUDA (`foreach`) the square roots of all the tensors at once; on the CPU
        (torch.optim.adam's for-loop, a tensor at a time, in the parameters' order) the square
        root of a tensor and its quotient, while the previous tensor's `denom` (that quotient)
        is still held by the loop's variable. SGD's updates are in place."""
        if self.options.optimizer in ("sgd", "momentum") or not self.param_tensors:
            return 0
        per = self.options.bytes_per_element
        sizes = self.param_tensors
        if self.options.device == "cuda":
            return add_up(sizes) * per
        return max(2 * size + before for before, size in zip([0, *sizes], sizes)) * per

    @property
    def optimizer_peak(self):
        """Every gradient, Adam's temporaries, and the loss (still referenced)."""
        return (self.base_bytes + self.gradient_bytes + self.optimizer_temporaries
                + self.options.bytes_per_element)

    @property
    def peak_bytes(self):
        """The largest set of live tensors during a steady-state step."""
        return max(self.forward_peak, self.backward_peak, self.optimizer_peak)

    @property
    def forward_flops(self):
        return 2 * self.forward_macs

    @property
    def backward_flops(self):
        return 2 * self.backward_macs

    def as_dict(self) -> dict:
        from cnncalc.report import plain

        return {"optimizer": self.options.optimizer, "device": self.options.device,
                "forward_flops": plain(self.forward_flops),      # per sample, as `flops`
                "backward_flops": plain(self.backward_flops),    # per sample
                "param_bytes": plain(self.param_bytes),
                "buffer_bytes": plain(self.buffer_bytes),
                "input_bytes": plain(self.input_bytes),
                "saved_activation_bytes": plain(self.saved_bytes),
                "gradient_bytes": plain(self.gradient_bytes),
                "optimizer_bytes": plain(self.optimizer_bytes),
                "optimizer_temporary_bytes": plain(self.optimizer_temporaries),
                "peak_bytes": plain(self.peak_bytes),
                "peak_in": self.peak_phase}

    @property
    def peak_phase(self) -> str:
        peak = self.peak_bytes
        return ("forward" if peak == self.forward_peak else
                "backward" if peak == self.backward_peak else "optimizer step")


def check_options(options: TrainOptions) -> None:
    if options.dtype not in TRAIN_DTYPES:
        raise SpecError(f"training needs a floating-point dtype, not {options.dtype}",
                        hints=["--dtype float32, float16, bfloat16 or float64"])


class _Walker:
    """Follows the forward pass, as cnncalc.analyze does, with Values instead of shapes."""

    def __init__(self, analysis: Analysis, options: TrainOptions):
        self.rows: dict[str, Row] = {row.node.path: row for row in analysis.rows}
        self.shortcuts = analysis.shortcuts
        self.layout = analysis.spec.layout
        self.options = options
        self.training = Training(options.batch, options.device)
        self.layers: dict[str, LayerTrain] = {}
        self.tensors: list = []           # elements of each parameter tensor
        self.events: list[Event] = []
        self._open: list[list[str]] = []
        # every node's input and output by key (cnncalc.graph.Key), for references
        self.values: dict[tuple[str, str], Value] = {}
        # (composite, its branches' events, bytes): the gradient from above they hold
        # (a join, its events, bytes, whether they receive it): what they hold of its gradient
        self.held_out: list[tuple[str, list[Event], Any, bool]] = []
        self.dead: set = set()          # outputs no gradient reaches (`dead_outputs`)
        self.released: Any = 0          # what their layers keep: freed with the forward
        self.claimed: dict[str, int] = {}   # by path: how many of its `kept` its events free
        # the forward's moments: what is kept by each, and the values the modules running
        # hold (their inputs; branches' outputs not yet joined)
        self.moments: list[Moment] = []
        self.kept_bytes: Any = 0
        self.holding: list[Value] = []

    def new(self, shape: tuple, grad: bool, last: bool = False) -> Value:
        """A tensor with a storage of its own."""
        return Value(tuple(shape), grad, Storage(self.bytes_of(shape)), last,
                     born=len(self.moments))

    def view(self, value: Value, shape: tuple) -> Value:
        """A view of `value` (a slice, a flatten): its storage, whole. Fewer channels of a
        batch of more than one sample leave gaps (not contiguous)."""
        gapped = value.gapped or (shape[0] != value.shape[0] and self.options.batch > 1
                                  and len(shape) == len(value.shape))
        return Value(tuple(shape), value.grad, value.storage, value.last, gapped,
                     born=len(self.moments))

    def sequence(self, nodes: list[Node], value: Value) -> Value:
        for node in nodes:
            value = self.node(node, value)
        return value

    def node(self, node: Node, value: Value) -> Value:
        holding = len(self.holding)
        self.holding.append(value)          # the module's input, for as long as it runs
        if node.src is not None:            # `from: NAME`: the previous entry's stays too
            value = self.values[node.src]
            self.holding.append(value)
            value.named = True
        value.read_at = max(value.read_at, len(self.events))
        if node.leaf:
            value.readers += 1      # the layers that use it (a composite passes it on)
        self.values[(node.path, "in")] = value
        layer = self.layers[node.path] = LayerTrain(input_grad=value.grad)
        if self._open:
            self._open[-1].append(node.path)
        if node.leaf:
            out = self.leaf(node, value, layer)
            self.moment([out], self.forward_temporary(node, layer))
        else:
            self._open.append([])
            out = node.composite.train(self, node, value)
            below = [self.layers[path] for path in self._open.pop()]
            layer.backward_macs = add_up(b.backward_macs for b in below)
            layer.saved_bytes = add_up([layer.saved_bytes, *(b.saved_bytes for b in below)])
        out.made = len(self.events)
        self.values[(node.path, "out")] = out
        del self.holding[holding:]
        return out

    def moment(self, values: list[Value], extra: Any = 0) -> None:
        """An operation has made its output (one of `values`, with its inputs), and `extra`
        bytes it frees at once."""
        storages = {id(v.storage): v.storage for v in [*self.holding, *values]}
        self.moments.append(Moment(self.kept_bytes, list(storages.values()), extra))

    def forward_temporary(self, node: Node, layer: LayerTrain):
        """What a layer autograd doesn't record makes beside its output and frees (where it
        records, the same tensors are kept, and charged)."""
        if layer.recorded:
            return 0
        row = self.rows[node.path]
        items = node.leaf_kind.forward_temporary(node.args, row.input_shape, row.output_shape,
                                                 self.training)
        return add_up(self.item_bytes(item) for item in items)

    def during_forward(self, named: list[Value]):
        """The most alive at a forward moment beyond what a step starts with: what was kept
        by then, and the storages alive then that nothing kept yet; `named`, the values that
        references read, stay alive from when they are made to the end of the forward (held
        by name, as a model's own dict of them does)."""
        most = 0
        for index, moment in enumerate(self.moments):
            storages = {id(s): s for s in moment.storages}
            storages.update((id(v.storage), v.storage) for v in named if v.born <= index)
            alive = add_up(s.bytes for s in storages.values() if s.kept_by != ""
                           and (s.kept_at is None or s.kept_at > index))
            most = max(most, moment.kept + alive + moment.extra)
        return most

    def named(self, key) -> Value:
        """The value a `{from: [...]}` reads: its gradient comes from this reader too."""
        value = self.values[key]
        value.named = True
        value.read_at = max(value.read_at, len(self.events))
        return value

    def waiting(self) -> None:
        """A value read by name has several readers: autograd keeps the first gradient to
        arrive (from the last reader) until the producer's backward, summing the others into
        it; every event between holds it, except those it arrives at itself. Where the last
        reader is a sum or a concatenation, that first gradient is the one the reader received
        (a concatenation's: a view of it, its whole storage held until the next reader's is
        added), which its other inputs receive too (`add: {from: [a, .]}`: `.`'s layer
        receives the very tensor `a` waits with)."""
        values = {id(v): v for v in self.values.values() if v.named and v.grad}
        for value in values.values():
            size = self.value_bytes(value)
            last = self.events[value.read_at] if value.read_at < len(self.events) else None
            if last is None or not last.view or value not in last.sources:
                last = None           # a gradient of its own: of the value's size
            passed = {id(s) for s in last.sources} if last is not None else set()
            # the next reader to run adds its gradient: from then on the sum is held
            until = max((i for i in range(value.made, value.read_at)
                         if value in self.events[i].sources), default=value.made - 1)
            for i in range(value.made, value.read_at):
                event = self.events[i]
                if id(event.out) in passed:
                    event.shared = True
                elif last is not None and i >= until:
                    whole = self.value_bytes(last.out)
                    event.held = event.held + whole
                    self.held_out.append((last.path, [event], whole, False))
                elif not any(v is value for v in event.waits):  # one tensor, not two
                    event.held = event.held + size

    def summed(self, outputs: list[Value]) -> None:
        """A tensor read by several layers gets one gradient from each: autograd keeps the
        first that arrives (the backward runs the events in reverse; an output's first is the
        loss's) and adds each later one to it out of place, a new tensor of its size, after the
        backward that made it; where one backward passes several on (a join's), one at a time,
        each sum replacing the gradient that waited before the next is made."""
        arrived = {id(value) for value in outputs if value.grad}
        for event in reversed(self.events):
            for source in event.sources:
                if not source.grad:
                    continue
                if id(source) in arrived:
                    event.sums = max(event.sums, self.value_bytes(source))
                arrived.add(id(source))

    def merged(self, outputs: list[Value]) -> None:
        """The gradients a layer passes down that autograd adds in place to one already
        waiting for the same tensor: where that one is a tensor of its own (a layer's, a sum's
        handed on whole to an identity shortcut, a concatenation's piece), not the loss's
        broadcast 1 or one made from it. Only a kind's late moment (`backward_late_temporary`)
        sees it; the rest follow the out-of-place rule of `summed`, as measured."""
        first: dict[int, Event | None] = {id(v): None for v in outputs if v.grad}
        for event in reversed(self.events):
            for source in event.sources:
                if not source.grad:
                    continue
                if id(source) not in first:
                    first[id(source)] = event
                    continue
                by = first[id(source)]
                if by is not None and not by.out.free:
                    event.merged = event.merged + self.value_bytes(source)

    def leaf(self, node: Node, value: Value, layer: LayerTrain) -> Value:
        kind, args = node.leaf_kind, node.args
        row = self.rows[node.path]
        shape, out_shape = row.input_shape, row.output_shape
        saved = kind.saved(args, shape, out_shape, self.training)
        tensors = kind.param_tensors(args, shape)
        if saved is None or tensors is None:
            raise SpecError(f"layer {node.path} ({node.kind}): the kind `{node.kind}` has no "
                            "training rule yet, so its training figures are unknown", node.pos,
                            hints=["leave out --train, or replace the layer"])
        dead = (node.path, "out") in self.dead
        if not dead:
            self.tensors.extend(tensors)
        has_params = bool(tensors)
        # a view of its input is the same storage
        last = kind.output_channels_last(args, shape, value.last)
        if kind.output_is_input(args) and not (kind.view_needs_order and value.last):
            out = self.view(value, out_shape)
            out.last = last
        else:
            out = self.new(out_shape, value.grad or has_params, last)
        if not (value.grad or has_params):
            layer.recorded = False       # autograd records nothing: no input needs a gradient
            return out
        layer.backward_macs = 0 if dead else kind.backward_macs(args, shape, out_shape,
                                                                 value.grad)
        for item in saved:
            if item.what == "input":
                self.save(node, value, item.label)
            elif item.what == "output":
                self.save(node, out, item.label)
            elif item.what == "input_dense" and (value.last or value.gapped):
                self.charge(node, Kept(f"{item.label} (a copy)", self.value_bytes(value)))
            elif item.what == "input_dense":
                self.save(node, value, item.label)
            elif item.what == "input_last":
                # moved channels last: the same storage where it already is laid out so,
                # else a copy of its own
                if value.last:
                    self.save(node, value, item.label)
                else:
                    self.charge(node, Kept(f"{item.label} (a copy)",
                                           self.value_bytes(value)))
            else:
                self.own(node, item)
        if dead:
            self.released = add_up([self.released, *(k.bytes for k in layer.kept)])
            return out
        # a view's backward gives a view of the gradient (a slice's fills a new one)
        view = kind.output_is_input(args) and kind.gradient_view and out.storage is value.storage
        per = self.options.bytes_per_element
        self.event(node, out, self.value_bytes(value) if value.grad and not view else 0,
                   add_up(tensors) * per, [value], view)
        event = self.events[-1]
        # a parameter's gradient made at the output's size before its sum: freed with the
        # backward, as a copy of the gradient arriving is
        event.temporary = kind.backward_temporary(args, shape, out_shape, value.grad,
                                                  self.training) * per
        event.late = kind.backward_late_temporary(args, shape, out_shape, self.training) * per
        event.copies = kind.gradient_copies(args, shape, value.last) * per
        event.dense = kind.dense_gradient
        return out

    def event(self, node: Node, out: Value, in_grad, param_grads, sources: list[Value],
              view: bool = False) -> None:
        # what the node was charged for since its last event (a product of several factors
        # is one event per product, each freeing what it kept)
        kept = self.layers[node.path].kept[self.claimed.get(node.path, 0):]
        self.claimed[node.path] = self.claimed.get(node.path, 0) + len(kept)
        self.events.append(Event(node.path, add_up(k.bytes for k in kept), param_grads,
                                 self.value_bytes(out), in_grad, out=out, sources=sources,
                                 view=view))

    def free_gradients(self, outputs: list[Value]) -> None:
        """The loss sums each output: an output no layer reads gets a broadcast 1 (no memory)
        as its gradient, and so does what a view of it was taken from."""
        for value in outputs:
            value.free = value.readers == 0
        for event in reversed(self.events):
            if event.out.free:
                event.out_grad = 0
                if event.view:
                    for source in event.sources:
                        source.free = source.free or (source.readers == 1 and not any(
                            source is r for r in event.reduced))
        for path, events, size, receives in self.held_out:
            if self.values[(path, "out")].free:       # the branches hold the broadcast 1
                for event in events:
                    event.held = event.held - size
                    if receives:                    # and receive a view of it
                        event.rest = 0

    def dense_copies(self) -> None:
        """A kind whose backward needs the gradient arriving contiguous copies it where it is
        the loss's broadcast 1 (an output's) or a concatenation's channel range of a batch of
        more than one (a view with gaps)."""
        for event in self.events:
            if event.dense and (event.out.free or (event.rest and self.options.batch > 1)):
                event.temporary = event.temporary + self.value_bytes(event.out)

    def save(self, node: Node, value: Value, label: str) -> None:
        """`node` keeps `value`: its whole storage, charged to it unless a layer before kept
        it."""
        storage = value.storage
        if storage.kept_by is None:
            storage.kept_by = node.path
            storage.kept_at = len(self.moments)
            self.charge(node, Kept(label, storage.bytes))
        else:
            self.layers[node.path].shared.append((label, storage.kept_by))

    def own(self, node: Node, item: Saved) -> None:
        self.charge(node, Kept(item.label, self.item_bytes(item)))

    def item_bytes(self, item: Saved):
        per = (OWN_DTYPE_BYTES[item.dtype] if item.dtype else self.options.bytes_per_element)
        return item.elements * per

    def charge(self, node: Node, kept: Kept) -> None:
        layer = self.layers[node.path]
        layer.kept.append(kept)
        layer.saved_bytes = layer.saved_bytes + kept.bytes
        self.kept_bytes = self.kept_bytes + kept.bytes

    def fresh(self, node: Node, shape: tuple, sources: list[Value], product: bool = False,
              partial: tuple | None = None, sums: bool = False) -> Value:
        """A composite's combined output from `sources`: a sum (`sums`) or a concatenation
        passes its gradient down as it is (or as views), but a sum makes a new one for a
        broadcast branch, summed to its size; a product makes one of the output's size for
        each factor that needs it (a broadcast factor's is then summed to its size).
        `partial`: the shape of what it made before the output from all but the last source
        (a sum of three or more, one `+` at a time), alive beside the output as it is made."""
        grad = any(source.grad for source in sources)
        out = self.new(shape, grad)
        self.moment([*sources, out, *([self.new(partial, grad)] if partial else [])])
        for source in sources:
            source.readers += 1
        if (node.path, "out") in self.dead:
            kept = self.layers[node.path].kept
            self.released = add_up([self.released, *(k.bytes for k in kept)])
            return out
        if grad:
            keys, sizes = (self.sum_gradients(sources, shape) if sums
                           else (["out"] * len(sources), {}))
            reduced = [s for s, key in zip(sources, keys) if key != "out"]
            made = {key for s, key in zip(sources, keys) if key != "out" and s.grad}
            passed = (add_up(self.value_bytes(s) for s in sources if s.grad) if product else
                      add_up(sizes[key] for key in made))
            self.event(node, out, passed, 0, sources, view=not product)
            self.events[-1].reduced = reduced
            if product:         # the output-sized ones before their sums: while it runs
                self.events[-1].temporary = self.product_gradients(out, sources) - passed
        return out

    def product_gradients(self, out: Value, factors: list[Value]):
        """The most a product's backward holds of its gradients: one of the output's size for
        each factor that needs it; then autograd sums a broadcast factor's to the factor's
        size, one factor at a time, while the output-sized ones not yet summed are held."""
        needs = [f for f in factors if f.grad]
        full = self.value_bytes(out)
        most = held = len(needs) * full
        for factor in needs:
            if factor.shape != out.shape:
                reduced = self.value_bytes(factor)
                most = max(most, held + reduced)
                held = held - full + reduced
        return most

    def branched(self, node: Node, branches: list[list[Node]], value: Value,
                 pieces: list[Value] | None = None, sums: bool = False,
                 products: bool = False) -> list[Value]:
        """Each branch on `value` (or branch i on `pieces[i]`, a split's), with the gradients
        the others hold during its backward. The join's backward hands each branch the
        gradient arriving from above: a sum (`sums`) that very tensor, a concatenation a view
        of it; an identity branch (none of its own layers) passes it on to the input at once.
        Autograd then runs the last branch first, each branch whole. While branch k runs:
        - the gradient from above (the output's size, once) is held by the branches before
          it, still to run, and by an identity branch until the first branch to run adds its
          gradient for the input to it (a split's cut waits for every piece: until the end);
          the first layer to run of branch k receives it (or its part of it), so there that
          part is its arriving gradient;
        - the branches that ran before it have left their gradient for the input waiting: one
          tensor of the input's size, summed as each arrives (a split's: one per piece).
        A product (`products`) hands each factor a gradient of its own instead, of the factor's
        size: while branch k runs, those of the branches before it wait, and an identity
        factor's is at the input from the start, waiting with the gradients added to it."""
        outs, spans = [], []
        for b, children in enumerate(branches):
            start = len(self.events)
            outs.append(self.sequence(children, value if pieces is None else pieces[b]))
            self.holding.append(outs[-1])     # until the branches are joined
            spans.append((start, len(self.events)))
        out_bytes = self.bytes_of(self.rows[node.path].output_shape)
        ran = [start != end for start, end in spans]
        keys, sizes = (self.sum_gradients(outs, self.shape_of(node)) if sums
                       else (["out"] * len(outs), {}))
        identity = value.grad and not all(ran)
        # two identity branches: the join's backward sums their gradients for the input, a
        # tensor of its own that waits from the start
        summed = pieces is None and value.grad and ran.count(False) > 1
        for k, (start, end) in enumerate(spans):
            if start == end:
                continue
            after = [j for j in range(k + 1, len(spans)) if ran[j]]     # they ran before it
            if products:
                waiting = self.value_bytes(value) if value.grad and (after or identity) else 0
                waiting = add_up([waiting, *(self.value_bytes(outs[j]) for j in range(k)
                                             if ran[j])])
                for event in self.events[start:end]:
                    event.held = event.held + waiting
                    if value.grad and (after or identity):
                        event.waits.append(value)
                continue
            waiting = 0
            if value.grad and (after or summed):
                waiting = (add_up(self.value_bytes(pieces[j]) for j in after) if pieces
                           else self.value_bytes(value))
                if pieces is None:
                    for event in self.events[start:end]:
                        event.waits.append(value)
            # the gradients the branches still to run hold, and an identity branch's
            held = {keys[j] for j in range(k) if ran[j]}
            if identity and not summed and (pieces is not None or not after):
                held.update(keys[j] for j in range(len(spans)) if not ran[j])
            receive = {id(event): event for event in self.receivers(start, end)}
            rest = 0 if sums else out_bytes - self.value_bytes(outs[k])
            for event in receive.values():
                event.shared = event.shared or keys[k] in held
                event.rest = rest
            for event in self.events[start:end]:
                mine = id(event) in receive         # its arriving gradient is keys[k]'s
                above = rest if mine else 0         # the join's, where a concatenation's
                if "out" in held and not (mine and keys[k] == "out"):
                    above = out_bytes
                event.held = add_up([event.held, waiting, above,
                                     *(sizes[key] for key in held
                                       if key != "out" and not (mine and key == keys[k]))])
                if above:
                    self.held_out.append((node.path, [event], above, mine))
        return outs

    def sum_gradients(self, terms: list[Value], shape: tuple) -> tuple[list, dict]:
        """The gradient each term of a sum receives, as a key: "out", the sum's own (passed on
        as it is), or another (of `sizes`, its bytes). The terms are added one at a time,
        ((a + b) + c), and autograd runs the last `+` first: each passes its gradient on as it
        is to a term of its own shape, and sums it to the size of a broadcast one, a new
        tensor."""
        keys: list = ["out"] * len(terms)
        sizes: dict = {}
        key: Any = "out"
        current = tuple(shape)
        for j in range(len(terms) - 1, 0, -1):
            if terms[j].shape != current:
                keys[j] = ("term", j)
                sizes[keys[j]] = self.value_bytes(terms[j])
            else:
                keys[j] = key
            partial = broadcast_shape([t.shape for t in terms[:j]])
            if partial != current:
                key = ("partial", j)
                sizes[key] = self.bytes_of(partial)
            current = partial
        keys[0] = key
        return keys, sizes

    def receivers(self, start: int, end: int) -> list[Event]:
        """The events of a branch (events[start:end]) that receive the gradient its join hands
        it: the first to run, and while one passes it on as it is (a view: `identity`,
        `flatten`), the layer before it."""
        receive = [self.events[end - 1]]
        for i in range(end - 1, start, -1):
            event = self.events[i]
            if not (event.view and len(event.sources) == 1
                    and event.sources[0] is self.events[i - 1].out):
                break
            receive.append(self.events[i - 1])
        return receive

    def shape_of(self, node: Node) -> tuple:
        return self.rows[node.path].output_shape

    def value_bytes(self, value: Value):
        return self.bytes_of(value.shape)

    def bytes_of(self, shape: tuple):
        return self.options.batch * numel(shape) * self.options.bytes_per_element


def broadcast_shape(shapes: list[tuple]) -> tuple:
    """The shape PyTorch broadcasts `shapes` to (aligned on the right; 1 stretches)."""
    rank = max(len(shape) for shape in shapes)
    padded = [(1,) * (rank - len(shape)) + tuple(shape) for shape in shapes]
    return tuple(max(sizes, key=lambda size: size != 1) for sizes in zip(*padded))


def dead_outputs(root: Node, shortcuts: dict | None = None) -> set[Key]:
    """The outputs no gradient reaches from the loss: entries that only an `upsample: {like:
    ...}` reads (it takes their size, not their values). Their layers are recorded and keep
    what they keep in the forward, but their backward never runs: no backward FLOPs, no
    gradients, no optimizer state for their parameters."""
    edges = dataflow(root)
    for node in root.walk():
        if node.leaf and node.refs:
            edges[(node.path, "out")] = [(node.path, "in")]
    outputs = ([key for _, key in root.outputs] if root.outputs is not None else
               [(root.children[-1].path, "out")] if root.children else [])
    live = reachable(edges, outputs)
    dead = {key for key in edges if key[1] == "out" and key not in live}
    for path, resolved in (shortcuts or {}).items():   # a dead residual's projection too
        if (path, "out") in dead:
            dead.update((inner.path, "out") for node in resolved for inner in node.walk())
    return dead


def train_figures(analysis: Analysis, options: TrainOptions) -> TrainFigures:
    """The training figures of the analysed network for `options` (SpecError for a kind
    without training rules, or a dtype that can't train)."""
    check_options(options)
    walker = _Walker(analysis, options)
    if analysis.root.outputs is not None:         # only references can leave an entry dead
        walker.dead = dead_outputs(analysis.root, analysis.shortcuts)
    # the network's input is given, not kept: it needs no gradient and is never charged
    input_shape = tuple(analysis.input_shape)
    start = Value(input_shape, False, Storage(walker.bytes_of(input_shape), kept_by=""))
    walker.values[("", "in")] = start
    out = walker.sequence(analysis.root.children, start)
    walker.waiting()
    outputs = ([walker.values[key] for _, key in analysis.root.outputs]
               if analysis.root.outputs is not None else [out])
    walker.summed(outputs)
    walker.free_gradients(outputs)
    walker.merged(outputs)
    walker.dense_copies()
    during = walker.during_forward([walker.values[key] for key in named_keys(analysis)])
    top = [walker.layers[row.node.path] for row in analysis.rows if row.depth == 0]
    per = options.bytes_per_element
    params = analysis.total("params")
    tensors = walker.tensors
    return TrainFigures(
        options, walker.layers, analysis.total("macs"),
        add_up(layer.backward_macs for layer in top),
        add_up(layer.saved_bytes for layer in top),
        params * per, buffer_bytes(analysis, per),
        walker.bytes_of(input_shape), output_bytes(outputs), add_up(tensors) * per,
        optimizer_bytes(options.optimizer, add_up(tensors) * per, len(tensors)), tensors,
        walker.events, len(outputs), walker.released, during)


def named_keys(analysis: Analysis) -> set[Key]:
    """The values held by name during the forward: those references read (`from`, `{from:
    [...]}`, `like`), and the outputs where there are several or references (gathered at the
    end), as the cross-check's model (cnncalc/crosscheck/build.py) holds them."""
    root = analysis.root
    read = {key for node in root.walk()
            for key in ((node.src,) if node.src is not None else ()) + tuple(node.refs)}
    if root.outputs is not None and (len(root.outputs) > 1 or read):
        read.update(key for _, key in root.outputs)
    return read


def buffer_bytes(analysis: Analysis, per: int):
    """The buffers: of the network's dtype, but for int64 counters (batch norm's
    `num_batches_tracked`), 8 bytes each."""
    counters = add_up(row.node.leaf_kind.int64_buffers(row.node.args, row.input_shape)
                      for row in analysis.leaves)
    return (analysis.total("buffers") - counters) * per + counters * OWN_DTYPE_BYTES["int64"]


def output_bytes(outputs: list[Value]):
    """What the outputs hold beyond what is kept for the backward and the input: each storage
    once (an output that a layer keeps, or the input itself, is counted there)."""
    storages = {id(v.storage): v.storage for v in outputs}
    return add_up(s.bytes for s in storages.values() if s.kept_by is None)


def optimizer_bytes(optimizer: str, param_bytes, tensors: int):
    """SGD keeps nothing; momentum one buffer per parameter; Adam and AdamW two (the averages
    of the gradient and of its square) and a `step` counter per parameter tensor."""
    if optimizer == "sgd":
        return 0
    if optimizer == "momentum":
        return param_bytes
    return 2 * param_bytes + STEP_BYTES * tensors



def add_to_report(report: dict, figures: TrainFigures) -> dict:
    """The training figures in a `summary` report: `backward_flops` (per sample, as `flops`)
    and `saved_bytes` (the batch) on every layer, and `totals.train`."""
    from cnncalc.report import plain

    for layer in report["layers"]:
        train = figures.layers[layer["path"]]
        layer["backward_flops"] = plain(2 * train.backward_macs)
        layer["saved_bytes"] = plain(train.saved_bytes)
    report["per_sample"] = [*report["per_sample"], "backward_flops"]
    report["totals"]["train"] = figures.as_dict()
    return report


def refuse_symbolic(analysis: Analysis) -> None:
    if analysis.symbolic:
        raise SpecError("the training figures need numbers for the input sizes",
                        hints=["give them with `--input`, e.g. `--input 3x224x224`"])


def explain_steps(row: Row, figures: TrainFigures) -> list:
    """`explain --train`: a layer's backward FLOPs and what it keeps, in words and numbers."""
    from cnncalc.working import Step, n

    layer = figures.layers[row.node.path]
    if not row.node.leaf:
        return ([Step(f"training: keeps {k.label} ({n(k.bytes)} bytes)") for k in layer.kept]
                if layer.kept else [])
    if not layer.recorded:
        return [Step("training: nothing is recorded for its backward: no parameters, and its "
                     "input needs no gradient (no layer with parameters before it)")]
    steps = []
    forward = row.macs
    if forward:
        if layer.input_grad:
            steps.append(Step("backward FLOPs", "2·(weight gradient + input gradient)",
                              f"2·({n(forward)} + {n(forward)})", 2 * layer.backward_macs))
        else:
            steps.append(Step("backward FLOPs", "2·weight gradient (its input needs none)",
                              f"2·{n(forward)}", 2 * layer.backward_macs))
    batch = figures.options.batch
    for kept in layer.kept:
        steps.append(Step(f"keeps {kept.label} for the backward (bytes, batch {n(batch)})",
                          result=kept.bytes))
    for what, by in layer.shared:
        steps.append(Step(f"keeps {what}, already kept by layer {by} (counted there)" if by
                          else f"keeps {what}: the network's input, not counted"))
    if not layer.kept and not layer.shared:
        steps.append(Step("keeps nothing for the backward (it needs only the sizes)"))
    return steps
