"""Activations and the softmaxes: position-wise, shape unchanged."""

from __future__ import annotations

from typing import ClassVar, Literal

from cnncalc.dims import numel
from cnncalc.kinds.base import (
    INPUT,
    OUTPUT,
    Args,
    LeafKind,
    NoCounterpart,
    call_arguments,
    leaf_kind,
)
from cnncalc.working import Step, number


class Activation(LeafKind):
    """An element-wise function: `formula` for the explanation, and PyTorch's module of the
    same name as `torch`, built with `torch_arguments`."""

    summary = "activation"
    formula: ClassVar[str]
    # what its backward reads: its input, or its output where the derivative is written with
    # it (relu, sigmoid, tanh: PyTorch's derivatives.yaml)
    keeps: ClassVar[str] = "input"

    def saved(self, args, shape, out, training):
        return [OUTPUT if self.keeps == "output" else INPUT]

    def output_channels_last(self, args, shape, input_last):
        return input_last        # element-wise: the input's strides

    def explain(self, row, context) -> list[Step]:
        return [Step(f"{self.formula} on every value; shape unchanged, no parameters")]

    def build(self, nn, args, shape):
        return getattr(nn, self.torch)(**self.torch_arguments(args))

    def torch_arguments(self, args) -> dict:
        return {}

    # the functional form's arguments after the input (F.elu(x, alpha, inplace))
    call_names: ClassVar[tuple] = ("inplace",)

    def read(self, nn, module, shape):
        if type(module) is not getattr(nn, self.torch, None):
            return None
        return self.read_arguments(vars(module))

    def read_last(self, nn, module, shape):
        return self.read(nn, module, shape)     # element-wise: any layout

    def read_call(self, op, args, kwargs, shape):
        # F.leaky_relu, torch.relu_, Tensor.sigmoid: `operations()` says which (the importer
        # asks only a kind whose operations name the call)
        return self.read_arguments(call_arguments(args, kwargs, self.call_names))

    def read_arguments(self, given: dict):
        """The arguments from PyTorch's (the module's attributes or the call's); in-place or
        not computes the same."""
        return self.args()


ACTIVATION_EXAMPLE = """
name: {name}
spec:
  input: [3, 4, 4]
  layers: [{name}]
expected:
  # element-wise: shape unchanged, no parameters, no MACs; the field stays one pixel
  output: [3, 4, 4]
  params: 0
  macs: 0
  layers:
    "0": {{receptive_field: {{size: [1, 1], jump: [1, 1], start: [0, 0]}}}}
"""


@leaf_kind
class ReLU(Activation):
    name = "relu"
    keeps = "output"
    torch = "ReLU"
    formula = "max(0, x)"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class ReLU6(Activation):
    name = "relu6"
    torch = "ReLU6"
    formula = "min(max(0, x), 6)"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class GELU(Activation):
    name = "gelu"
    torch = "GELU"
    formula = "x·Φ(x)"
    example = ACTIVATION_EXAMPLE.format(name=name)
    call_names = ("approximate",)

    def read_arguments(self, given):
        if given.get("approximate", "none") != "none":
            raise NoCounterpart(f"approximate={given['approximate']!r}: `gelu` is the exact one")
        return self.args()


@leaf_kind
class SiLU(Activation):
    name = "silu"
    torch = "SiLU"
    formula = "x·σ(x)"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class Sigmoid(Activation):
    name = "sigmoid"
    keeps = "output"
    torch = "Sigmoid"
    formula = "σ(x) = 1/(1 + e^(−x))"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class Tanh(Activation):
    name = "tanh"
    keeps = "output"
    torch = "Tanh"
    formula = "tanh(x)"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class Hardswish(Activation):
    name = "hardswish"
    torch = "Hardswish"
    formula = "x·min(max(x + 3, 0), 6)/6"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class Hardsigmoid(Activation):
    name = "hardsigmoid"
    torch = "Hardsigmoid"
    formula = "min(max(x + 3, 0), 6)/6"
    example = ACTIVATION_EXAMPLE.format(name=name)


@leaf_kind
class Mish(Activation):
    name = "mish"
    torch = "Mish"
    formula = "x·tanh(ln(1 + e^x))"
    example = ACTIVATION_EXAMPLE.format(name=name)


class EluArgs(Args):
    alpha: float = 1.0


@leaf_kind
class ELU(Activation):
    name = "elu"
    args = EluArgs
    torch = "ELU"
    formula = "x if x > 0, else α·(e^x − 1)"
    example = ACTIVATION_EXAMPLE.format(name=name)

    def torch_arguments(self, args: EluArgs) -> dict:
        return {"alpha": args.alpha}

    call_names = ("alpha", "inplace")

    def read_arguments(self, given):
        return EluArgs(alpha=float(given.get("alpha", 1.0)))


class LeakyReluArgs(Args):
    slope: float = 0.01


@leaf_kind
class LeakyReLU(Activation):
    name = "leaky_relu"
    args = LeakyReluArgs
    torch = "LeakyReLU"
    formula = "x if x > 0, else slope·x"
    example = ACTIVATION_EXAMPLE.format(name=name)

    def torch_arguments(self, args: LeakyReluArgs) -> dict:
        return {"negative_slope": args.slope}

    call_names = ("negative_slope", "inplace")

    def read_arguments(self, given):
        return LeakyReluArgs(slope=float(given.get("negative_slope", 0.01)))


class PReluArgs(Args):
    channels: Literal[1] | Literal["all"] = 1


@leaf_kind
class PReLU(LeafKind):
    name = "prelu"
    args = PReluArgs
    torch = "PReLU"
    summary = "activation with learnt slopes"
    example = """
name: prelu-per-channel
spec:
  input: [16, 8, 8]
  layers: [prelu: all]
expected:
  # one learnt slope per channel: 16 params (`prelu` alone: 1)
  output: [16, 8, 8]
  params: 16
"""

    def params(self, args: PReluArgs, shape):
        return shape[0] if args.channels == "all" else 1

    def explain(self, row, context) -> list[Step]:
        if row.node.args.channels == "all":
            return [Step("x if x > 0, else a·x with a learnt slope a per channel"),
                    Step("params", "C", "", row.params)]
        return [Step("x if x > 0, else a·x with one learnt slope a"),
                Step("params", "", "", row.params)]

    def saved(self, args, shape, out, training):
        return [INPUT]

    def param_tensors(self, args: PReluArgs, shape):
        return [self.params(args, shape)]

    def backward_temporary(self, args, shape, out, input_grad, training):
        # PyTorch's _prelu_kernel_backward makes the slopes' gradient at the input's size (then
        # summed to theirs) and the input's, needed or not: where it isn't, the largest moment
        # is the kernel's, before the slopes' own gradient exists
        full = training.batch * numel(shape)
        return full if input_grad else 2 * full - self.params(args, shape)

    def build(self, nn, args: PReluArgs, shape):
        return nn.PReLU(shape[0] if args.channels == "all" else 1)

    def read(self, nn, module, shape):
        if type(module) is not nn.PReLU:
            return None
        if module.num_parameters == 1:
            return PReluArgs()
        if module.num_parameters == shape[0]:
            return PReluArgs(channels="all")
        raise NoCounterpart(f"num_parameters={module.num_parameters} on {shape[0]} channels: "
                            "a `prelu` has one slope, or one per channel")


class ChannelSoftmax(LeafKind):
    what: ClassVar[str]

    def explain(self, row, context) -> list[Step]:
        return [Step(f"at each position the C = {number(row.input_shape[0])} channel values "
                     f"become {self.what}; shape unchanged, no parameters")]

    def saved(self, args, shape, out, training):
        return [OUTPUT]      # the derivative is written with the result

    def build(self, nn, args, shape):
        return getattr(nn, self.torch.split("(")[0])(dim=1)

    def read(self, nn, module, shape):
        if type(module) is not getattr(nn, self.torch.split("(")[0]):
            return None
        return self.read_dim(module.dim, shape)

    def read_call(self, op, args, kwargs, shape):
        return self.read_dim(call_arguments(args, kwargs, ("dim",)).get("dim"), shape)

    def read_dim(self, dim, shape):
        if dim is None or dim % (len(shape) + 1) != 1:
            raise NoCounterpart(f"dim={dim}: `{self.name}` is over the channels (dim=1)")
        return self.args()


@leaf_kind
class Softmax(ChannelSoftmax):
    name = "softmax"
    torch = "Softmax(dim=1)"
    summary = "softmax over channels"
    what = "probabilities"
    example = """
name: softmax-classes
spec:
  input: [1000]
  layers: [softmax]
expected:
  output: [1000]
  params: 0
"""


@leaf_kind
class LogSoftmax(ChannelSoftmax):
    name = "log_softmax"
    torch = "LogSoftmax(dim=1)"
    summary = "log-softmax over channels"
    what = "log-probabilities"
    example = """
name: log-softmax-per-position
spec:
  input: [21, 8, 8]
  layers: [log_softmax]
expected:
  # over the 21 channels at each of the 8·8 positions
  output: [21, 8, 8]
  params: 0
"""
