"""Fully connected layers and flattening."""

from __future__ import annotations

from cnncalc.dims import AXES, Fit, in_layout, numel
from cnncalc.kinds.base import (
    INPUT,
    INPUT_CHANNELS_LAST,
    INPUT_CONTIGUOUS,
    Args,
    LeafKind,
    NoCounterpart,
    PosInt,
    call_arguments,
    leaf_kind,
    op_name,
)
from cnncalc.working import Step, axes_of, n, number, prod_text


class LinearArgs(Args):
    out: PosInt
    bias: bool = True


@leaf_kind
class Linear(LeafKind):
    name = "linear"
    args = LinearArgs
    torch = "Linear"
    also = ("ChannelsLastLinear",)      # the build of `linear` in `layout: hwc`
    summary = ("fully connected, on the last dimension as the layout writes it: W (L in 1-D) "
               "in chw, the channels in hwc")
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

    def in_layout(self, layout: str) -> LeafKind:
        return LINEAR_ON_CHANNELS if layout == "hwc" else self

    def note(self, row, previous: LeafKind | None, layout: str) -> str | None:
        if len(row.input_shape) < 2 or previous is None or not previous.spatial:
            return None
        axis = AXES[len(row.input_shape) - 1][-1]
        return (f"layer {row.node.path} (linear) follows a {previous.name} and acts on {axis} "
                f"alone ({row.input_shape[-1]} values), separately at each position of the other "
                "axes, as nn.Linear does; to classify the whole feature map, put `flatten` "
                "before it")

    def explain(self, row, context) -> list[Step]:
        n_in = row.input_shape[-1]
        steps = []
        if len(row.input_shape) > 1:
            axis = axes_of(row)[-1]
            steps.append(Step(f"acts on {axis}, the last dimension ({number(n_in)} values), at "
                              "each of the other positions"))
        return steps + self.figures(row, n_in)

    def figures(self, row, n_in) -> list[Step]:
        args = row.node.args
        steps = []
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

    def saved(self, args, shape, out, training):
        # for the weight gradient; on a [C, …] sample the matmul folds it into rows (a copy
        # where it isn't contiguous)
        return [INPUT_CONTIGUOUS] if len(shape) > 1 else [INPUT]

    def param_tensors(self, args: LinearArgs, shape):
        weight = shape[-1] * args.out
        return [weight, args.out] if args.bias else [weight]

    def build(self, nn, args: LinearArgs, shape):
        return nn.Linear(shape[-1], args.out, bias=args.bias)

    def read(self, nn, module, shape):
        if type(module) is not nn.Linear:
            return None
        return LinearArgs(out=module.out_features, bias=module.bias is not None)


class LinearOnChannels(Linear):
    """`linear` in a `layout: hwc` spec: on the last dimension as the spec writes it, the
    channels, at each position (Keras's Dense on `[H, W, C]`); nn.Linear on channels-last.
    Not registered: a spec names it `linear`."""

    summary = "fully connected on the channels at each position (layout: hwc)"
    position_wise = True       # each position's channels alone: the field stays one position

    def shape(self, args: LinearArgs, shape, fit: Fit):
        return (args.out, *shape[1:])

    def params(self, args: LinearArgs, shape):
        return shape[0] * args.out + (args.out if args.bias else 0)

    def note(self, row, previous: LeafKind | None, layout: str) -> str | None:
        if len(row.input_shape) < 2 or previous is None or not previous.spatial:
            return None
        return (f"layer {row.node.path} (linear) follows a {previous.name} and acts on the "
                f"channels ({row.input_shape[0]} values) separately at each position, as "
                "Keras's Dense does in hwc; to classify the whole feature map, put `flatten` "
                "before it")

    def explain(self, row, context) -> list[Step]:
        n_in = row.input_shape[0]
        steps = []
        if len(row.input_shape) > 1:
            steps.append(Step(f"acts on the channels, the last dimension in hwc ({number(n_in)} "
                              "values), at each position (as Keras's Dense; PyTorch: nn.Linear "
                              "on channels-last)"))
        return steps + self.figures(row, n_in)

    def saved(self, args, shape, out, training):
        # x.movedim(1, -1) is a view; the matmul behind nn.Linear folds it to rows of
        # channels, a copy unless the input already lies channels last
        # (in order already where there is one channel or one position)
        in_order = len(shape) == 1 or shape[0] == 1 or numel(shape[1:]) == 1
        return [INPUT] if in_order else [INPUT_CHANNELS_LAST]

    def output_channels_last(self, args, shape, input_last):
        return len(shape) > 1    # its output, moved back, keeps the channels-last strides

    def param_tensors(self, args: LinearArgs, shape):
        weight = shape[0] * args.out
        return [weight, args.out] if args.bias else [weight]

    def build(self, nn, args: LinearArgs, shape):
        class ChannelsLastLinear(nn.Linear):
            """nn.Linear on the channels moved last, then moved back."""

            def forward(self, x):
                return super().forward(x.movedim(1, -1)).movedim(-1, 1)

        return ChannelsLastLinear(shape[0], args.out, bias=args.bias)


LINEAR_ON_CHANNELS = LinearOnChannels()


@leaf_kind
class Flatten(LeafKind):
    name = "flatten"
    torch = "Flatten"
    also = ("view", "reshape")         # x.view(x.size(0), -1)
    reshapes = True
    summary = "all dimensions of the sample become one"
    position_wise = False
    view_needs_order = True  # a copy where the input lies channels last
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

    def saved(self, args, shape, out, training):
        return []

    def output_is_input(self, args):
        return True          # a view (of an input in order: see `view_needs_order`)

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
