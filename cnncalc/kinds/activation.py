"""Activations and the softmaxes: position-wise, shape unchanged."""

from __future__ import annotations

from typing import ClassVar, Literal

from cnncalc.kinds.base import INPUT, OUTPUT, Args, LeafKind, leaf_kind
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

    def build(self, nn, args: PReluArgs, shape):
        return nn.PReLU(shape[0] if args.channels == "all" else 1)


class ChannelSoftmax(LeafKind):
    what: ClassVar[str]

    def explain(self, row, context) -> list[Step]:
        return [Step(f"at each position the C = {number(row.input_shape[0])} channel values "
                     f"become {self.what}; shape unchanged, no parameters")]

    def saved(self, args, shape, out, training):
        return [OUTPUT]      # the derivative is written with the result

    def build(self, nn, args, shape):
        return getattr(nn, self.torch.split("(")[0])(dim=1)


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
