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
from cnncalc.dims import is_int, numel
from cnncalc.errors import SpecError
from cnncalc.graph import Node
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
class Value:
    """A tensor of the forward pass: its shape (one sample), whether it needs a gradient, and
    the layer that first kept it (None: not kept yet)."""

    shape: tuple
    grad: bool
    kept_by: str | None = None
    producer: str = ""            # the path of the node whose output it is ("" for the input)


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

    @property
    def forward_flops(self):
        return 2 * self.forward_macs

    @property
    def backward_flops(self):
        return 2 * self.backward_macs

    def as_dict(self) -> dict:
        from cnncalc.report import plain

        return {"optimizer": self.options.optimizer, "device": self.options.device,
                "forward_flops": plain(self.forward_flops),
                "backward_flops": plain(self.backward_flops),
                "saved_activation_bytes": plain(self.saved_bytes),
                "gradient_bytes": plain(self.gradient_bytes),
                "optimizer_bytes": plain(self.optimizer_bytes)}


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
        self._open: list[list[str]] = []

    def sequence(self, nodes: list[Node], value: Value) -> Value:
        for node in nodes:
            value = self.node(node, value)
        return value

    def node(self, node: Node, value: Value) -> Value:
        layer = self.layers[node.path] = LayerTrain(input_grad=value.grad)
        if self._open:
            self._open[-1].append(node.path)
        if node.leaf:
            return self.leaf(node, value, layer)
        self._open.append([])
        out = node.composite.train(self, node, value)
        below = [self.layers[path] for path in self._open.pop()]
        layer.backward_macs = add_up(b.backward_macs for b in below)
        layer.saved_bytes = add_up([layer.saved_bytes, *(b.saved_bytes for b in below)])
        return out

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
        self.tensors.extend(tensors)
        has_params = bool(tensors)
        if kind.output_is_input(args):
            out = value
        else:
            out = Value(out_shape, value.grad or has_params, producer=node.path)
        if not (value.grad or has_params):
            return out                   # autograd records nothing: no input needs a gradient
        layer.backward_macs = kind.backward_macs(args, shape, out_shape, value.grad)
        for item in saved:
            if item.what == "input":
                self.save(node, value, item.label)
            elif item.what == "output":
                self.save(node, out, item.label)
            else:
                self.own(node, item)
        return out

    def save(self, node: Node, value: Value, label: str) -> None:
        """`node` keeps `value`: charged to it unless a layer before kept it."""
        if value.kept_by is None:
            value.kept_by = node.path
            self.charge(node, Kept(label, self.value_bytes(value)))

    def own(self, node: Node, item: Saved) -> None:
        per = (OWN_DTYPE_BYTES[item.dtype] if item.dtype else self.options.bytes_per_element)
        self.charge(node, Kept(item.label, item.elements * per))

    def charge(self, node: Node, kept: Kept) -> None:
        layer = self.layers[node.path]
        layer.kept.append(kept)
        layer.saved_bytes = layer.saved_bytes + kept.bytes

    def fresh(self, node: Node, shape: tuple, grad: bool) -> Value:
        return Value(tuple(shape), grad, producer=node.path)

    def shape_of(self, node: Node) -> tuple:
        return self.rows[node.path].output_shape

    def value_bytes(self, value: Value):
        return self.options.batch * numel(value.shape) * self.options.bytes_per_element


def train_figures(analysis: Analysis, options: TrainOptions) -> TrainFigures:
    """The training figures of the analysed network for `options` (SpecError for a kind
    without training rules, or a dtype that can't train)."""
    check_options(options)
    walker = _Walker(analysis, options)
    # the network's input is given, not kept: it needs no gradient and is never charged
    start = Value(tuple(analysis.input_shape), False, kept_by="", producer="")
    out = walker.sequence(analysis.root.children, start)
    top = [walker.layers[row.node.path] for row in analysis.rows if row.depth == 0]
    per = options.bytes_per_element
    params = analysis.total("params")
    tensors = walker.tensors
    return TrainFigures(
        options, walker.layers, analysis.total("macs"),
        add_up(layer.backward_macs for layer in top),
        add_up(layer.saved_bytes for layer in top),
        params * per, analysis.total("buffers") * per,
        walker.value_bytes(Value(tuple(analysis.input_shape), False)),
        walker.value_bytes(out), params * per,
        optimizer_bytes(options.optimizer, params * per, len(tensors)), tensors)


def optimizer_bytes(optimizer: str, param_bytes, tensors: int):
    """SGD keeps nothing; momentum one buffer per parameter; Adam and AdamW two (the averages
    of the gradient and of its square) and a `step` counter per parameter tensor."""
    if optimizer == "sgd":
        return 0
    if optimizer == "momentum":
        return param_bytes
    return 2 * param_bytes + STEP_BYTES * tensors


def numeric(value) -> bool:
    return is_int(value)
