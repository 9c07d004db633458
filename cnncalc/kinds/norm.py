"""Normalisation layers."""

from __future__ import annotations

from typing import Literal

from cnncalc.dims import Fit, in_layout, is_int, numel
from cnncalc.errors import SpecError
from cnncalc.field import IDENTITY
from cnncalc.kinds.base import (
    INPUT,
    INPUT_CONTIGUOUS,
    SPATIAL,
    SPATIAL_INPUT,
    Args,
    Epsilon,
    LeafKind,
    NoCounterpart,
    PosInt,
    Probability,
    exact_type,
    groups_divide,
    leaf_kind,
    module,
    need_rank,
    own,
    spatial,
)
from cnncalc.working import Step, affine_steps, n, prod_text


class BatchNormArgs(Args):
    eps: Epsilon = 1e-5
    momentum: Probability = 0.1
    affine: bool = True


class AffinePerChannel(LeafKind):
    """A scale γ and a shift β per channel when `affine`."""

    def params(self, args, shape):
        return 2 * shape[0] if args.affine else 0

    def param_tensors(self, args, shape):
        return [shape[0], shape[0]] if args.affine else []


@leaf_kind
class BatchNorm(AffinePerChannel):
    name = "batchnorm"
    args = BatchNormArgs
    torch = "BatchNorm1d/2d/3d"
    also = ("batch_norm",)
    summary = "batch normalisation"
    sized_by_input = True
    example = """
name: batchnorm-64
spec:
  input: [64, 56, 56]
  layers: [batchnorm]
expected:
  # params 2·64 = 128 (γ, β); buffers 2·64 + 1 = 129 (running mean, variance, batch counter)
  output: [64, 56, 56]
  params: 128
  buffers: 129
"""

    def buffers(self, args, shape):
        return 2 * shape[0] + 1      # running_mean, running_var, num_batches_tracked

    def explain(self, row, context) -> list[Step]:
        c = row.input_shape[0]
        what = ("normalises each channel (batch statistics in training, running averages at "
                "inference)")
        return affine_steps(row, what) + [
            Step("buffers", "2·C + 1 (running mean and variance per channel, and a batch counter)",
                 f"2·{n(c)} + 1", row.buffers)]

    def int64_buffers(self, args, shape):
        return 1                     # num_batches_tracked

    def saved(self, args, shape, out, training):
        # the batch's mean and inverse standard deviation per channel, in the input's dtype
        return [INPUT, own(shape[0], "the batch mean per channel"),
                own(shape[0], "the inverse std per channel")]

    def build(self, nn, args: BatchNormArgs, shape):
        # BatchNorm1d takes (N, C) and (N, C, L)
        return module(nn, "BatchNorm", max(len(shape) - 1, 1))(
            shape[0], eps=args.eps, momentum=args.momentum, affine=args.affine)

    def read(self, nn, module, shape):
        if not exact_type(nn, module, "BatchNorm"):
            return None
        if not module.track_running_stats or module.momentum is None:
            raise NoCounterpart("track_running_stats=False or momentum=None: a `batchnorm` "
                                "keeps running statistics with a momentum")
        return BatchNormArgs(eps=module.eps, momentum=module.momentum, affine=module.affine)


class GroupNormArgs(Args):
    groups: PosInt
    affine: bool = True
    eps: Epsilon = 1e-5


# group and instance norm divide by statistics over every spatial position (also in eval
# mode): each output depends on the whole input, so there is no sliding-window field

@leaf_kind
class GroupNorm(AffinePerChannel):
    name = "groupnorm"
    args = GroupNormArgs
    torch = "GroupNorm"
    dense_gradient = True         # native_group_norm_backward(grad.contiguous(), …)
    also = ("group_norm",)
    summary = "group normalisation"
    position_wise = False
    example = """
name: groupnorm-32
spec:
  input: [64, 8, 8]
  layers: [groupnorm: 32]
expected:
  # 64/32 = 2 channels per group; params 2·64 = 128
  output: [64, 8, 8]
  params: 128
  buffers: 0
"""

    def shape(self, args: GroupNormArgs, shape, fit: Fit):
        # channels may depend on the input size (after flatten)
        groups_divide(fit, shape[0], args.groups, "groupnorm")
        return tuple(shape)

    def explain(self, row, context) -> list[Step]:
        c, g = row.input_shape[0], row.node.args.groups
        per = c // g if is_int(c) else c / g
        return [Step("channels per group", "C/G", f"{n(c)}/{n(g)}", per)] + affine_steps(
            row, f"normalises each of the {g} groups of channels over its channels and positions")

    def saved(self, args: GroupNormArgs, shape, out, training):
        stats = training.batch * args.groups
        return [INPUT_CONTIGUOUS, own(stats, "the mean per sample and group"),
                own(stats, "the inverse std per sample and group")]

    def build(self, nn, args: GroupNormArgs, shape):
        return nn.GroupNorm(args.groups, shape[0], eps=args.eps, affine=args.affine)

    def read(self, nn, module, shape):
        if type(module) is not nn.GroupNorm:
            return None
        return GroupNormArgs(groups=module.num_groups, affine=module.affine, eps=module.eps)


class InstanceNormArgs(Args):
    affine: bool = False
    eps: Epsilon = 1e-5


@leaf_kind
class InstanceNorm(AffinePerChannel):
    name = "instancenorm"
    args = InstanceNormArgs
    torch = "InstanceNorm1d/2d/3d"
    also = ("instance_norm",)
    summary = "instance normalisation"
    position_wise = False
    sized_by_input = True
    example = """
name: instancenorm-affine
spec:
  input: [32, 16, 16]
  layers: [instancenorm: {affine: true}]
expected:
  # params 2·32 = 64; no running statistics by default
  output: [32, 16, 16]
  params: 64
  buffers: 0
"""

    def shape(self, args, shape, fit: Fit):
        need_rank(shape, SPATIAL, "instancenorm", SPATIAL_INPUT)
        # PyTorch: "Expected more than 1 spatial element" (it normalises over the positions)
        fit.at_least(numel(spatial(shape)), 2, "`instancenorm` needs more than one spatial position",
                     lambda: SpecError("`instancenorm` needs more than one spatial position",
                                       hints=["put it before the pooling that reduces the size to "
                                              "1, or use `layernorm`"]))
        return tuple(shape)

    def explain(self, row, context) -> list[Step]:
        return affine_steps(row, "normalises each channel of each sample over its positions")

    def saved(self, args: InstanceNormArgs, shape, out, training):
        # PyTorch runs it as a batch norm of the N·C channels of a (1, N·C, …) view
        stats = training.batch * shape[0]
        saved = [INPUT_CONTIGUOUS, own(stats, "the mean per sample and channel"),
                 own(stats, "the inverse std per sample and channel")]
        if args.affine:
            saved.append(own(stats, "γ repeated for every sample"))
        return saved

    def build(self, nn, args: InstanceNormArgs, shape):
        return module(nn, "InstanceNorm", len(shape) - 1)(shape[0], eps=args.eps,
                                                          affine=args.affine)

    def read(self, nn, module, shape):
        if not exact_type(nn, module, "InstanceNorm"):
            return None
        if module.track_running_stats:
            raise NoCounterpart("track_running_stats=True: an `instancenorm` keeps no running "
                                "statistics")
        return InstanceNormArgs(affine=module.affine, eps=module.eps)


class LayerNormArgs(Args):
    affine: bool = True
    over: Literal["sample", "channels"] = "sample"
    eps: Epsilon = 1e-5


@leaf_kind
class LayerNorm(LeafKind):
    name = "layernorm"
    args = LayerNormArgs
    torch = "LayerNorm (over: channels: LayerNorm(C) on channels-last)"
    also = ("ChannelsLastLayerNorm", "layer_norm")
    summary = "layer normalisation over the whole sample, or over the channels at each position"
    position_wise = False    # over the sample; over the channels `window` gives the identity
    sized_by_input = True
    example = """
name: layernorm-whole-sample
spec:
  input: [4, 3, 3]
  layers: [layernorm: {over: channels, eps: 1.0e-6}, layernorm]
expected:
  # over the channels (ConvNeXt's LayerNorm2d): 2·4 = 8 params, and each position is normalised
  # on its own, so the field stays one pixel; over the sample: a scale and a shift for each of
  # the 4·3·3 = 36 elements, 72 params
  output: [4, 3, 3]
  params: 80
  layers:
    "0": {params: 8, receptive_field: {size: [1, 1], jump: [1, 1], start: [0, 0]}}
"""

    def params(self, args: LayerNormArgs, shape):
        if not args.affine:
            return 0
        return 2 * (shape[0] if args.over == "channels" else numel(shape))

    def window(self, args: LayerNormArgs, shape):
        # over the channels each position is normalised on its own; over the sample, every
        # output depends on every input
        return IDENTITY if args.over == "channels" else None

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        if args.over == "channels":
            what = (f"normalises each position over its C = {n(row.input_shape[0])} channels")
            if not args.affine:
                return [Step(f"{what}; no learnable parameters (affine: false)")]
            return [Step(what), Step("params", "2·C (a scale and a shift per channel)",
                                     f"2·{n(row.input_shape[0])}", row.params)]
        what = "normalises over the whole sample"
        if not args.affine:
            return [Step(f"{what}; no learnable parameters (affine: false)")]
        return [Step(what), Step("params", "2·(elements of the sample) (a scale and a shift each)",
                                 f"2·{prod_text(in_layout(row.input_shape, context.layout))}",
                                 row.params)]

    def saved(self, args: LayerNormArgs, shape, out, training):
        n = training.batch
        if args.over == "channels":
            # it keeps the channels-last view of its input (the same storage)
            positions = n * numel(spatial(shape))
            return [INPUT, own(positions, "the mean per position"),
                    own(positions, "the inverse std per position")]
        return [INPUT, own(n, "the mean per sample"), own(n, "the inverse std per sample")]

    def output_channels_last(self, args: LayerNormArgs, shape, input_last):
        # over the channels: moved last, normalised, moved back (channels-last strides)
        return args.over == "channels" and len(shape) > 1

    def param_tensors(self, args: LayerNormArgs, shape):
        if not args.affine:
            return []
        size = shape[0] if args.over == "channels" else numel(shape)
        return [size, size]

    def build(self, nn, args: LayerNormArgs, shape):
        if args.over == "sample":
            return nn.LayerNorm(list(shape), eps=args.eps, elementwise_affine=args.affine)

        from cnncalc.crosscheck.build import ChannelsLastLayerNorm

        return ChannelsLastLayerNorm(shape[0], eps=args.eps, elementwise_affine=args.affine)

    def read(self, nn, module, shape):
        from cnncalc.crosscheck.build import ChannelsLastLayerNorm

        # torchvision's LayerNorm2d (ConvNeXt's; a copy by its class name, as torch.nn has
        # none): LayerNorm(C) on the channels moved last, as ChannelsLastLayerNorm
        channels_last = (type(module) is ChannelsLastLayerNorm
                         or (type(module).__name__ == "LayerNorm2d"
                             and isinstance(module, nn.LayerNorm)))
        if type(module) is not nn.LayerNorm and not channels_last:
            return None
        if module.elementwise_affine and getattr(module, "bias", True) is None:
            raise NoCounterpart("bias=False: an affine `layernorm` has a scale and a shift")
        over: Literal["sample", "channels"] = "channels" if channels_last else "sample"
        if over == "channels" and tuple(module.normalized_shape) != tuple(shape[:1]):
            raise NoCounterpart(f"normalized_shape={tuple(module.normalized_shape)} on "
                                f"{shape[0]} channels")
        if over == "sample" and tuple(module.normalized_shape) != tuple(shape):
            raise NoCounterpart(f"normalized_shape={tuple(module.normalized_shape)} on a "
                                f"{tuple(shape)} sample: a `layernorm` normalises the whole "
                                "sample, or the channels at each position")
        return LayerNormArgs(affine=module.elementwise_affine, over=over, eps=module.eps)


    def read_last(self, nn, module, shape):
        if type(module) is not nn.LayerNorm or tuple(module.normalized_shape) != tuple(shape[:1]):
            return None
        return LayerNormArgs(affine=module.elementwise_affine, over="channels", eps=module.eps)


class LRNArgs(Args):
    size: PosInt
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


@leaf_kind
class LRN(LeafKind):
    name = "lrn"
    args = LRNArgs
    torch = "LocalResponseNorm"
    also = ("local_response_norm",)
    summary = "local response normalisation across channels"
    example = """
name: alexnet-lrn
spec:
  input: [96, 55, 55]
  layers: [lrn: 5]
expected:
  # across 5 neighbouring channels at each position: shape unchanged, no parameters
  output: [96, 55, 55]
  params: 0
  layers:
    "0": {receptive_field: {size: [1, 1]}}
"""

    def shape(self, args, shape, fit: Fit):
        need_rank(shape, SPATIAL, "lrn", SPATIAL_INPUT)
        return tuple(shape)

    def explain(self, row, context) -> list[Step]:
        return [Step(f"divides each value by a sum over {row.node.args.size} neighbouring "
                     "channels at the same position; shape unchanged, no parameters")]

    def saved(self, args: LRNArgs, shape, out, training):
        # PyTorch's Python implementation: x², padded along channels and averaged (avg_pool
        # keeps the padded squares), k + α·avg, raised to β (pow keeps its base), x / that
        n = training.batch
        return [INPUT, own(self.padded(args, shape, n), "the squares, padded along channels"),
                own(n * numel(shape), "k + α·(average of the squares)"),
                own(n * numel(shape), "the divisor")]

    def padded(self, args: LRNArgs, shape, batch):
        return batch * (shape[0] + args.size - 1) * numel(spatial(shape))

    def backward_temporary(self, args, shape, out, input_grad, training):
        # the quotient's backward: the divisor's gradient is −g·((x / d) / d), four tensors
        # of the input's size at once (x / d, its quotient by d, −g, the product), one of them
        # the gradient it passes on
        return 3 * training.batch * numel(shape)

    def backward_late_temporary(self, args, shape, out, training):
        # the average's backward, the arriving gradient released: the padded squares (kept),
        # the gradient of the average (padded) and of α·average, and x's from the quotient;
        # the most with few channels and a wide window
        return self.padded(args, shape, training.batch) - training.batch * numel(shape)

    def forward_temporary(self, args, shape, out, training):
        # the most alive beside its output's size: x² and its padded copy, or the average,
        # α·average and k + α·average (one statement: the average is freed at its end)
        n = training.batch
        return [own(max(self.padded(args, shape, n), 2 * n * numel(shape)),
                    "the squares padded, or the average's terms")]

    def build(self, nn, args: LRNArgs, shape):
        return nn.LocalResponseNorm(args.size, alpha=args.alpha, beta=args.beta, k=args.k)

    def read(self, nn, module, shape):
        if type(module) is not nn.LocalResponseNorm:
            return None
        return LRNArgs(size=module.size, alpha=module.alpha, beta=module.beta, k=module.k)
