"""Fully connected layers and flattening."""

from __future__ import annotations

from cnncalc.dims import AXES, Fit, in_layout, numel
from cnncalc.kinds.base import Args, LeafKind, NoCounterpart, PosInt, call_arguments, leaf_kind, op_name
from cnncalc.working import Step, axes_of, n, number, prod_text


class LinearArgs(Args):
    out: PosInt
    bias: bool = True


@leaf_kind
class Linear(LeafKind):
    name = "linear"
    args = LinearArgs
    torch = "Linear"
    summary = "fully connected, on W (L in 1-D), the channels-first last dimension"
    # On a [C, H, W] sample it mixes every position along the last axis (W), so each output
    # sees the whole axis: not a sliding window (found by tests/test_receptive_field.py).
    position_wise = False
    example = """
name: classifier
spec:
  input: [4096]
  layers: [linear: 1000]
expected:
  # params (4096 + 1)·1000 = 4,097,000; MACs 4096·1000 = 4,096,000
  output: [1000]
  params: 4_097_000
  macs: 4_096_000
"""

    def shape(self, args: LinearArgs, shape, fit: Fit):
        return (*shape[:-1], args.out)

    def params(self, args: LinearArgs, shape):
        return shape[-1] * args.out + (args.out if args.bias else 0)

    def macs(self, args: LinearArgs, shape, out):
        return numel(shape) * args.out

    def note(self, row, previous: LeafKind | None, layout: str) -> str | None:
        if len(row.input_shape) < 2 or previous is None or not previous.spatial:
            return None
        axis = AXES[len(row.input_shape) - 1][-1]
        channels = " (not on the channels, as Keras's Dense would)" if layout == "hwc" else ""
        return (f"layer {row.node.path} (linear) follows a {previous.name} and acts on {axis} "
                f"alone ({row.input_shape[-1]} values), separately at each position of the other "
                f"axes{channels}, as nn.Linear does; to classify the whole feature map, put "
                "`flatten` before it")

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        n_in = row.input_shape[-1]
        steps = []
        if len(row.input_shape) > 1:
            # PyTorch's last dimension, channels-first: W (L in 1-D), which `hwc` doesn't show last
            axis = axes_of(row)[-1]
            values, others = f"({number(n_in)} values)", "at each of the other positions"
            steps.append(Step(f"acts on {axis} {values} {others}, not on the channels shown "
                              "last: PyTorch's tensor is channels-first" if context.layout == "hwc"
                              else f"acts on {axis}, the last dimension {values}, {others}"))
        if args.bias:
            steps.append(Step("params", "(in + 1)·out", f"({n(n_in)} + 1)·{n(args.out)}",
                              row.params))
        else:
            steps.append(Step("params", "in·out (no bias)", f"{n(n_in)}·{n(args.out)}",
                              row.params))
        if len(row.input_shape) > 1:
            steps.append(Step("MACs", "in elements · out",
                              f"{prod_text(row.input_shape)} · {n(args.out)}", row.macs))
        else:
            steps.append(Step("MACs", "in·out", f"{n(n_in)}·{n(args.out)}", row.macs))
        return steps

    def build(self, nn, args: LinearArgs, shape):
        return nn.Linear(shape[-1], args.out, bias=args.bias)

    def read(self, nn, module, shape):
        if type(module) is not nn.Linear:
            return None
        return LinearArgs(out=module.out_features, bias=module.bias is not None)


@leaf_kind
class Flatten(LeafKind):
    name = "flatten"
    torch = "Flatten"
    also = ("view", "reshape")         # x.view(x.size(0), -1)
    summary = "all dimensions of the sample become one"
    position_wise = False
    example = """
name: flatten-vgg
spec:
  input: [512, 7, 7]
  layers: [flatten]
expected:
  # 512·7·7 = 25,088 values
  output: [25_088]
"""

    def shape(self, args, shape, fit: Fit):
        return (numel(shape),)

    def explain(self, row, context) -> list[Step]:
        steps = [Step("values", "", prod_text(in_layout(row.input_shape, context.layout)),
                      row.output_shape[0], then=context.shape(row.output_shape))]
        if context.layout == "hwc" and len(row.input_shape) > 1:
            steps.append(Step("(PyTorch flattens channels first: the order is C, then "
                              f"{', '.join(axes_of(row))})"))
        return steps

    def build(self, nn, args, shape):
        return nn.Flatten()

    def read(self, nn, module, shape):
        if type(module) is not nn.Flatten:
            return None
        return self.read_dims(module.start_dim, module.end_dim, shape)

    def read_call(self, op, args, kwargs, shape):
        if op_name(op) in ("view", "reshape"):
            # x.view(x.size(0), -1): the sizes after the batch are one, all of the sample
            sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            if len(sizes) == 2 and sizes[1] in (-1, numel(shape)) and not kwargs:
                return self.args()
            return None
        if op_name(op) != "flatten":
            return None
        dims = call_arguments(args, kwargs, ("start_dim", "end_dim"))
        return self.read_dims(dims.get("start_dim", 0), dims.get("end_dim", -1), shape)

    def read_dims(self, start: int, end: int, shape):
        rank = len(shape) + 1          # with the batch
        if start % rank != 1 or end % rank != rank - 1:
            raise NoCounterpart(f"flattening dimensions {start} to {end}: a `flatten` keeps the "
                                "batch and joins every other dimension (start_dim=1)")
        return self.args()
