"""Dropout, padding, upsampling, channel shuffle, channel slices, layer scale and the identity."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from cnncalc.dims import AXES, Fit, is_int, numel
from cnncalc.errors import SpecError
from cnncalc.field import Window
from cnncalc.kinds.base import (
    INPUT,
    MAX_INT,
    SPATIAL,
    SPATIAL_INPUT,
    Args,
    LeafKind,
    NoCounterpart,
    PosInt,
    PositiveFloat,
    Probability,
    SpatialNonNeg,
    SpatialPos,
    call_arguments,
    exact_type,
    groups_divide,
    leaf_kind,
    module,
    need_rank,
    one_or_list,
    op_name,
    own,
    per_axis,
    spatial,
)
from cnncalc.working import Step, axes_of, grouped_axes, n, number, size_letter


class DropoutArgs(Args):
    p: Probability = 0.5


@leaf_kind
class Dropout(LeafKind):
    name = "dropout"
    args = DropoutArgs
    torch = "Dropout"
    passes_through = True
    summary = "dropout (identity at inference)"
    what = "value"
    example = """
name: dropout-half
spec:
  input: [4096]
  layers: [dropout: 0.5]
expected:
  output: [4096]
  params: 0
"""

    def saved(self, args: DropoutArgs, shape, out, training):
        if args.p == 0:
            return []            # PyTorch returns the input itself
        if args.p == 1:
            return [own(1, "a zero it multiplies by")]
        # the CPU multiplies by a mask of the input's dtype; CUDA's fused kernel keeps a
        # one-byte mask
        elements = training.batch * numel(shape)
        if training.device == "cuda":
            return [own(elements, "the mask", "bool")]
        return [own(elements, "the mask (in the input's dtype, on the CPU)")]

    def output_is_input(self, args: DropoutArgs):
        return args.p == 0

    def output_channels_last(self, args, shape, input_last):
        return input_last        # element-wise

    def explain(self, row, context) -> list[Step]:
        return [Step(f"in training, each {self.what} is zeroed with probability p = "
                     f"{number(row.node.args.p)}; at inference it passes through; no parameters")]

    def build(self, nn, args: DropoutArgs, shape):
        return getattr(nn, self.torch)(args.p)

    def read(self, nn, module, shape):
        if type(module) is not getattr(nn, self.torch):
            return None
        return DropoutArgs(p=module.p)

    def read_call(self, op, args, kwargs, shape):
        return DropoutArgs(p=float(call_arguments(args, kwargs, ("p",)).get("p", 0.5)))


class DropPathArgs(Args):
    p: Probability = 0.0


@leaf_kind
class DropPath(LeafKind):
    name = "drop_path"
    args = DropPathArgs
    torch = "StochasticDepth(p, \"row\") (torchvision; the identity in eval mode)"
    also = ("StochasticDepth", "DropPath", "stochastic_depth")
    passes_through = True
    summary = "stochastic depth (identity at inference)"
    example = """
name: drop-path
spec:
  input: [96, 56, 56]
  layers: [drop_path: 0.1]
expected:
  # the identity at inference: shape unchanged, no parameters, no MACs
  output: [96, 56, 56]
  params: 0
  macs: 0
"""

    def explain(self, row, context) -> list[Step]:
        return [Step(f"in training, the whole sample's path is dropped with probability p = "
                     f"{number(row.node.args.p)} (stochastic depth); at inference it passes "
                     "through; no parameters")]

    def saved(self, args: DropPathArgs, shape, out, training):
        # torchvision's stochastic_depth ("row"): x times a mask of one value per sample
        return [own(training.batch, "the mask, one value per sample")] if args.p > 0 else []

    def output_is_input(self, args: DropPathArgs):
        return args.p == 0

    def output_channels_last(self, args, shape, input_last):
        return input_last        # x times a mask per sample: element-wise

    def build(self, nn, args: DropPathArgs, shape):
        class StochasticDepth(nn.Module):
            """torchvision's StochasticDepth(p, "row"): the identity in eval mode; in training
            each sample's path is kept with probability 1 − p and scaled by 1/(1 − p)."""

            def __init__(self, p: float):
                super().__init__()
                self.p, self.mode = p, "row"      # as torchvision's (what `read` reads)

            def forward(self, x):
                p = self.p
                if not self.training or p == 0:
                    return x
                noise = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - p)
                if p < 1:
                    noise.div_(1 - p)
                return x * noise

        return StochasticDepth(float(args.p))

    def read(self, nn, module, shape):
        # torchvision.ops.StochasticDepth (or a copy of it), by its class name: torch.nn has none
        if type(module).__name__ != "StochasticDepth" or not isinstance(
                getattr(module, "p", None), float):
            return None
        return DropPathArgs(p=module.p)


@leaf_kind
class Dropout2d(Dropout):
    name = "dropout2d"
    torch = "Dropout2d"
    summary = "channel dropout"
    what = "whole channel"
    example = """
name: dropout2d-needs-an-image
spec:
  input: [8, 16]
  layers: [dropout2d]
expected:
  error: ["`dropout2d` needs a [C, H, W] input"]
"""

    def saved(self, args: DropoutArgs, shape, out, training):
        if args.p in (0, 1):
            return super().saved(args, shape, out, training)
        # one value per sample and channel, on either device (no fused kernel)
        return [own(training.batch * shape[0], "the mask, one value per sample and channel")]

    def shape(self, args, shape, fit: Fit):
        need_rank(shape, (3,), "dropout2d", "a [C, H, W] input")
        return tuple(shape)


class ZeroPadArgs(Args):
    padding: SpatialNonNeg


@leaf_kind
class ZeroPad(LeafKind):
    name = "zeropad"
    spatial = True
    position_wise = False
    args = ZeroPadArgs
    torch = "ZeroPad1d/2d/3d"
    also = ("pad", "ConstantPad{n}d")
    summary = "zero padding"
    example = """
name: zeropad-2
spec:
  input: [3, 28, 28]
  layers: [zeropad: 2]
expected:
  # 28 + 2·2 = 32; the field starts 2 pixels into the padding
  output: [3, 32, 32]
  layers:
    "0": {receptive_field: {size: [1, 1], start: [-2, -2]}}
"""

    def shape(self, args: ZeroPadArgs, shape, fit: Fit):
        need_rank(shape, SPATIAL, "zeropad", SPATIAL_INPUT)
        pads = per_axis(args.padding, len(shape) - 1, "padding")
        return (shape[0], *(w + 2 * p for w, p in zip(spatial(shape), pads)))

    def window(self, args: ZeroPadArgs, shape):
        pads = per_axis(args.padding, len(shape) - 1, "padding")
        return Window((1,) * len(pads), (1,) * len(pads), pads)

    def explain(self, row, context) -> list[Step]:
        pads = per_axis(row.node.args.padding, len(row.input_shape) - 1, "padding")
        values = list(zip(row.input_shape[1:], pads, row.output_shape[1:]))
        axes = axes_of(row)
        groups = grouped_axes(values, axes)
        return [Step(f"out{suffix}", f"{size_letter(suffix, axes)} + 2P", f"{n(w)} + 2·{n(p)}", out,
                     then=context.shape(row.output_shape) if i == len(groups) - 1 else "")
                for i, (suffix, (w, p, out)) in enumerate(groups)] + [Step("no parameters")]

    def saved(self, args, shape, out, training):
        return []            # its backward needs only the sizes

    def build(self, nn, args: ZeroPadArgs, shape):
        n_axes = len(shape) - 1
        pads = args.padding if isinstance(args.padding, list) else [args.padding] * n_axes
        return module(nn, "ZeroPad", n_axes)(tuple(x for p in reversed(pads) for x in (p, p)))

    def read(self, nn, module, shape):
        if not exact_type(nn, module, "ZeroPad"):
            return None
        sides = list(module.padding)     # (left, right) of the last axis first
        pairs = [(sides[i], sides[i + 1]) for i in range(0, len(sides), 2)][::-1]
        if any(before != after for before, after in pairs):
            raise NoCounterpart(f"padding={tuple(sides)}: a `zeropad` pads both sides of an "
                                "axis alike")
        return ZeroPadArgs(padding=one_or_list([before for before, _ in pairs]))


class UpsampleArgs(Args):
    scale: PositiveFloat | Annotated[list[PositiveFloat], Field(min_length=1, max_length=3)] | None = None
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear"] = "nearest"
    size: SpatialPos | None = None      # the output's spatial size
    like: str | None = None             # an earlier entry whose spatial size is the output's

    @model_validator(mode="after")
    def _one_target(self):
        given = [k for k in ("scale", "size", "like") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `scale`, `size` and `like`" + (
                f", not {' and '.join(f'`{k}`' for k in given)}" if given else ""))
        return self


UPSAMPLE_RANKS = {"linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,),
                  "nearest": SPATIAL}
UPSAMPLE_INPUTS = {"linear": "a [C, L] input", "bilinear": "a [C, H, W] input",
                   "bicubic": "a [C, H, W] input", "trilinear": "a [C, D, H, W] input",
                   "nearest": SPATIAL_INPUT}


def upsample_scales(args: UpsampleArgs, shape) -> tuple:
    return per_axis(args.scale, len(shape) - 1, "scale")


@leaf_kind
class Upsample(LeafKind):
    spatial = True
    name = "upsample"
    args = UpsampleArgs
    torch = "Upsample"
    also = ("interpolate", "UpsamplingNearest2d", "UpsamplingBilinear2d", "ResizeLike")
    summary = ("resizing by a scale factor, to a `size`, or to the spatial size of an earlier "
               "entry's output (`like: NAME`)")
    position_wise = False
    references = ("like",)
    example = """
name: upsample-2
spec:
  input: [64, 14, 14]
  layers: [upsample: 2]
expected:
  # ⌊14·2⌋ = 28; no parameters; no receptive field (positions are interpolated)
  output: [64, 28, 28]
  params: 0
"""

    def shape(self, args: UpsampleArgs, shape, fit: Fit):
        need_rank(shape, UPSAMPLE_RANKS[args.mode], f"upsample` with `mode: {args.mode}",
                  UPSAMPLE_INPUTS[args.mode])
        if args.size is not None:
            return (shape[0], *per_axis(args.size, len(shape) - 1, "size"))
        if args.like is not None:
            like = (fit.refs or {})["like"]
            if len(like) != len(shape):
                raise SpecError(f"`like: {args.like}` names an output of {len(like) - 1} spatial "
                                f"dimensions, but the input has {len(shape) - 1}",
                                hints=["resize to an entry with as many spatial axes"])
            return (shape[0], *like[1:])       # follows symbolic sizes as they are
        # PyTorch: floor(size × scale), computed in double precision.
        out = (shape[0], *(fit.floor_scale(w, s)
                           for w, s in zip(spatial(shape), upsample_scales(args, shape))))
        for size, axis in zip(out[1:], AXES[len(out) - 1]):
            fit.at_least(size, 1, f"the upsampled size along {axis} is at least 1",
                         lambda: SpecError(f"the output would have size {size}: every size must "
                                           "be at least 1"))
        return out

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        if args.scale is None:
            like = "the input" if args.like == "input" else f"`{args.like}`'s output"
            target = (f"`size: {args.size}`" if args.size is not None else
                      f"the spatial size of {like} "
                      f"({context.shape(context.value(row.node.refs[0]))})")
            return [Step(f"resized to {target} → {context.shape(row.output_shape)}"),
                    Step(f"{args.mode} interpolation; no parameters")]
        scales = upsample_scales(args, row.input_shape)
        values = list(zip(row.input_shape[1:], scales, row.output_shape[1:]))
        axes = axes_of(row)
        groups = grouped_axes(values, axes)
        return [Step(f"out{suffix}", f"⌊{size_letter(suffix, axes)}·scale⌋", f"⌊{n(w)}·{n(s)}⌋",
                     out, then=context.shape(row.output_shape) if i == len(groups) - 1 else "")
                for i, (suffix, (w, s, out)) in enumerate(groups)] + [
            Step(f"{args.mode} interpolation; no parameters")]

    def saved(self, args, shape, out, training):
        return []            # its backward needs only the sizes

    def build(self, nn, args: UpsampleArgs, shape):
        if args.like is not None:
            return _resize_like(nn)(args.mode)
        if args.size is not None:
            return nn.Upsample(size=tuple(args.size) if isinstance(args.size, list) else args.size,
                               mode=args.mode)
        assert args.scale is not None      # one of scale, size and like (UpsampleArgs)
        scale = (tuple(float(s) for s in args.scale) if isinstance(args.scale, list)
                 else float(args.scale))
        return nn.Upsample(scale_factor=scale, mode=args.mode)

    def read(self, nn, module, shape):
        if type(module) is _resize_like(nn):       # what `build` makes of `like`
            return UpsampleArgs(like="input", mode=module.mode)   # the name: the importer's
        if type(module) is not nn.Upsample:
            return None
        return self.read_settings(module.size, module.scale_factor, module.mode)

    def sized_by(self, args):
        return "like" if args.size is not None else None

    def refer(self, args, names):
        return args.model_copy(update={"size": None, "scale": None, **names})

    def read_call(self, op, args, kwargs, shape):
        given = call_arguments(args, kwargs, ("size", "scale_factor", "mode"))
        return self.read_settings(given.get("size"), given.get("scale_factor"),
                                  given.get("mode", "nearest"))

    def read_settings(self, size, scale, mode):
        if size is not None:
            # the size this run gave (a size read from another tensor is written as its
            # numbers: right at this input size)
            sizes = [int(s) for s in size] if isinstance(size, (tuple, list)) else int(size)
            return UpsampleArgs(size=one_or_list(sizes), mode=mode)
        if scale is None:
            raise NoCounterpart("neither a size nor a scale factor")
        scales = [float(s) for s in scale] if isinstance(scale, (tuple, list)) else float(scale)
        return UpsampleArgs(scale=one_or_list(scales), mode=mode)


@cache
def _resize_like(nn: Any) -> Any:
    """`upsample: {like: NAME}`: `F.interpolate(x, size=like.shape[2:])`, the tensor named
    handed in as the second argument (the builder passes a node's `refs`)."""

    class ResizeLike(nn.Module):
        def __init__(self, mode: str):
            super().__init__()
            self.mode = mode

        def forward(self, x, like):
            return nn.functional.interpolate(x, size=tuple(like.shape[2:]), mode=self.mode)

    return ResizeLike


@leaf_kind
class Identity(LeafKind):
    name = "identity"
    torch = "Identity"
    passes_through = True
    summary = "no-op"
    example = """
name: identity
spec:
  input: [3, 5, 5]
  layers: [identity]
expected:
  output: [3, 5, 5]
  params: 0
"""

    def explain(self, row, context) -> list[Step]:
        return [Step("passes its input through unchanged")]

    def saved(self, args, shape, out, training):
        return []

    def output_is_input(self, args):
        return True

    def output_channels_last(self, args, shape, input_last):
        return input_last        # the input itself

    def build(self, nn, args, shape):
        return nn.Identity()

    def read(self, nn, module, shape):
        return self.args() if type(module) is nn.Identity else None


class ChannelShuffleArgs(Args):
    groups: PosInt


@leaf_kind
class ChannelShuffle(LeafKind):
    name = "channel_shuffle"
    args = ChannelShuffleArgs
    torch = "ChannelShuffle"
    # ShuffleNet's own: x.view(N, g, C/g, H, W).transpose(1, 2).contiguous().view(N, C, H, W),
    # the last view paired, what comes before it part of it
    also = ("view", "reshape")
    prepared_by = ("view", "reshape", "transpose", "permute", "contiguous")
    summary = "reorders the channels (ShuffleNet's channel shuffle)"
    example = """
name: channel-shuffle-3
spec:
  input: [12, 7, 7]
  layers: [channel_shuffle: 3]
expected:
  # 3 groups of 12/3 = 4 channels, interleaved: the order changes, the shape doesn't; each
  # output position reads the same input position only, so the field stays one pixel
  output: [12, 7, 7]
  params: 0
  macs: 0
  layers:
    "0": {receptive_field: {size: [1, 1], jump: [1, 1], start: [0, 0]}}
"""

    def shape(self, args: ChannelShuffleArgs, shape, fit: Fit):
        # PyTorch: "channel_shuffle expects input with > 2 dims"
        need_rank(shape, SPATIAL, "channel_shuffle", SPATIAL_INPUT)
        groups_divide(fit, shape[0], args.groups, "channel_shuffle")
        return tuple(shape)

    def explain(self, row, context) -> list[Step]:
        c, g = row.input_shape[0], row.node.args.groups
        per = c // g if is_int(c) else c / g
        return [Step("channels per group", "C/G", f"{n(c)}/{n(g)}", per),
                Step(f"the {g} groups are interleaved (channel i of every group, then i + 1, …); "
                     "shape unchanged, no parameters")]

    def saved(self, args, shape, out, training):
        return []            # its backward needs only the sizes

    def build(self, nn, args: ChannelShuffleArgs, shape):
        return nn.ChannelShuffle(args.groups)

    def read(self, nn, module, shape):
        if type(module) is not nn.ChannelShuffle:
            return None
        return ChannelShuffleArgs(groups=module.groups)

    def read_run(self, calls):
        """x.view(N, g, C/g, H, W).transpose(1, 2) (.contiguous()) .view(N, C, H, W)."""
        names = [op_name(op) for op, *_ in calls]
        if len(calls) < 3 or names[0] not in ("view", "reshape") or names[1] != "transpose":
            return None
        _, _, _, shape, split = calls[0]
        _, args, kwargs, _, _ = calls[1]
        last = 3 if names[2] == "contiguous" else 2
        if (last >= len(calls) or names[last] not in ("view", "reshape") or kwargs
                or sorted(args) != [1, 2] or len(split) != len(shape) + 1
                or split[0] * split[1] != shape[0] or split[2:] != shape[1:]
                or calls[last][4] != shape):
            return None
        return last + 1, ChannelShuffleArgs(groups=split[0])


class ScaleArgs(Args):
    init: float = 1.0


@leaf_kind
class Scale(LeafKind):
    name = "scale"
    args = ScaleArgs
    torch = "x * gamma.view(C, 1, …)"
    also = ("ChannelScale", "Tensor.mul", "torch.mul")   # crosscheck/build.py's, or in forward
    summary = "a learnt factor per channel (layer scale)"
    example = """
name: layer-scale
spec:
  input: [96, 56, 56]
  layers: [scale: {init: 1.0e-6}]
expected:
  # one factor γ per channel: 96 params; the product is not a MAC (FlopCounterMode counts none)
  output: [96, 56, 56]
  params: 96
  macs: 0
"""

    def params(self, args: ScaleArgs, shape):
        return shape[0]

    def explain(self, row, context) -> list[Step]:
        return [Step("multiplies each channel by a learnt factor γ (layer scale); shape unchanged"),
                Step("params", "C", "", row.params)]

    def saved(self, args, shape, out, training):
        return [INPUT]       # for γ's gradient

    def param_tensors(self, args, shape):
        return [shape[0]]

    def backward_temporary(self, args, shape, out, input_grad, training):
        return training.batch * numel(out)      # γ's gradient, grad·x, before its sum

    def build(self, nn, args: ScaleArgs, shape):
        from cnncalc.crosscheck.build import ChannelScale

        return ChannelScale(shape[0], args.init)

    def read(self, nn, module, shape):
        from cnncalc.crosscheck.build import ChannelScale

        # the factor's starting value doesn't change a figure (and a meta tensor has none)
        return self.args() if type(module) is ChannelScale else None

Index = Annotated[StrictInt, Field(ge=-MAX_INT, le=MAX_INT)]


class SliceArgs(Args):
    # a YAML list [start, stop]; a tuple so that its two places have their own types
    channels: Annotated[tuple[Index, Index | None], Field(strict=False)]

    @field_validator("channels", mode="wrap")
    @classmethod
    def _two(cls, value, handler):
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("write two values, [start, stop] (stop may be null)")
        return handler(value)


def channel_range(args: SliceArgs, channels: int) -> tuple[int, int]:
    """The slice's first channel and one past its last, as Python resolves `start:stop`; an
    error where it is empty or reaches outside the channels (PyTorch would give fewer channels,
    or none, without a word)."""
    start, stop = args.channels
    written = f"[{start}, {'null' if stop is None else stop}]"
    if not is_int(channels):
        raise SpecError(f"`slice` needs a known number of channels, not {channels}",
                        hints=["slice before `flatten`, or give the input sizes as numbers"])
    if not -channels <= start < channels or (stop is not None and not -channels <= stop <= channels):
        raise SpecError(f"`slice: {written}` reaches outside the input's {channels} channels",
                        hints=[f"start runs from 0 to {channels - 1}, or from −{channels} to −1 "
                               f"counting from the end; stop up to {channels}, or `null` for the "
                               "end"])
    first = start + channels if start < 0 else start
    last = channels if stop is None else stop + channels if stop < 0 else stop
    if last <= first:
        raise SpecError(f"`slice: {written}` is empty: it starts at channel {first} and stops "
                        f"before channel {last}",
                        hints=["`stop` is one past the last channel taken, as in Python"])
    return first, last


@leaf_kind
class Slice(LeafKind):
    name = "slice"
    args = SliceArgs
    torch = "x[:, start:stop]"
    # crosscheck's module, or in forward; a piece of a cut (`x.chunk(2, 1)`: import's slices)
    also = ("ChannelSlice", "Tensor.__getitem__", "narrow", "torch.split", "Tensor.split",
            "torch.functional.split", "chunk", "tensor_split")
    summary = "channels start to stop − 1, as Python slices them (null stop: to the end)"
    example = """
name: slice-channels
spec:
  input: [24, 7, 7]
  layers: [slice: {channels: [-16, null]}, slice: [2, -2]]
expected:
  # −16 counts from the end: channels 24 − 16 = 8 to 23, 16 of them; then 2 to 16 − 2 = 14
  # (14 − 2 = 12 channels); each position reads its own input position: field 1×1
  output: [12, 7, 7]
  params: 0
  macs: 0
  layers:
    "1": {receptive_field: {size: [1, 1]}}
"""

    def shape(self, args: SliceArgs, shape, fit: Fit):
        first, last = channel_range(args, shape[0])
        return (last - first, *shape[1:])

    def explain(self, row, context) -> list[Step]:
        start, stop = row.node.args.channels
        c = row.input_shape[0]
        first, last = channel_range(row.node.args, c)
        steps = []
        if start < 0:
            steps.append(Step("start", "C + start", f"{n(c)} + ({n(start)})", first))
        if stop is None:
            steps.append(Step("stop: null, to the end: C", "", "", last))
        elif stop < 0:
            steps.append(Step("stop", "C + stop", f"{n(c)} + ({n(stop)})", last))
        steps.append(Step("channels", "stop − start", f"{n(last)} − {n(first)}",
                          row.output_shape[0], then=context.shape(row.output_shape)))
        steps.append(Step(f"channels {first} to {last - 1} of the input, each position unchanged; "
                          "no parameters"))
        return steps

    def saved(self, args, shape, out, training):
        return []            # SliceBackward needs only the sizes

    def output_is_input(self, args):
        return True          # `x[:, start:stop]` is a view of its input

    gradient_view = False    # its backward fills zeros of the input's size around the gradient

    def output_channels_last(self, args, shape, input_last):
        # a channel range of a channels-last tensor: its positions still fold into rows
        return input_last

    def build(self, nn, args: SliceArgs, shape):
        return _channel_slice(nn)(*args.channels)

    def read(self, nn, module, shape):
        if type(module) is not _channel_slice(nn):
            return None
        return self.args.model_validate({"channels": [module.start, module.stop]})

    def read_call(self, op, args, kwargs, shape):
        """`x[:, a:b]` (step 1, every later axis whole) and `x.narrow(1, start, length)`."""
        if op.endswith("narrow"):
            given = call_arguments(args, kwargs, ("dim", "start", "length"))
            if given.get("dim") != 1 or not isinstance(given.get("start"), int):
                return None
            return self.args.model_validate(
                {"channels": [given["start"], given["start"] + given["length"]]})
        index = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(index, tuple) or len(index) != 2:
            return None
        whole, channels = index
        if (whole != slice(None) or not isinstance(channels, slice)
                or channels.step not in (None, 1)):
            return None
        return self.args.model_validate({"channels": [channels.start or 0, channels.stop]})


@cache
def _channel_slice(nn: Any) -> Any:
    class ChannelSlice(nn.Module):
        """`x[:, start:stop]`: PyTorch's own slicing, not cnncalc's range."""

        def __init__(self, start: int, stop: int | None):
            super().__init__()
            self.start, self.stop = start, stop

        def forward(self, x):
            return x[:, self.start:self.stop]

    return ChannelSlice
