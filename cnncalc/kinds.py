"""Every leaf kind of the spec language, and its static rules, in one explicit table.

A kind's rules are pure functions of its validated arguments and the input shape of ONE sample,
channels first (`(C, *spatial)`, or `(N,)` after flatten):

- `shape(args, shape, fit)`  -> output shape (raises SpecError when the layer can't apply)
- `params(args, shape)`      -> learnable parameters, as `sum(p.numel())` over the PyTorch module
- `buffers(args, shape)`     -> non-learnable state, as `sum(b.numel())`
- `macs(args, shape, out)`   -> multiply-accumulates of conv/conv_transpose/linear, bias excluded
- `window(args, shape)`      -> the sliding window per spatial axis for receptive fields:
                                 `IDENTITY` (position-wise), a `Window`, or None (not defined)

FLOPs are 2 × MACs, as `torch.utils.flop_counter.FlopCounterMode` counts them. The PyTorch
builders live apart, in `cnncalc.crosscheck`, so this module never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from cnncalc.dims import (AXES, Fit, SlidingContext, ceil_div, effective_kernel, is_int, numel,
                          sliding_out)
from cnncalc.errors import SpecError

MAX_INT = 2**31 - 1  # PyTorch stores sizes and arguments as 32/64-bit ints; bounds the work too

PosInt = Annotated[int, Field(ge=1, le=MAX_INT)]
NonNegInt = Annotated[int, Field(ge=0, le=MAX_INT)]
SpatialPos = Union[PosInt, Annotated[list[PosInt], Field(min_length=1, max_length=3)]]
SpatialNonNeg = Union[NonNegInt, Annotated[list[NonNegInt], Field(min_length=1, max_length=3)]]
PositiveFloat = Annotated[float, Field(gt=0, le=1e6)]
# PyTorch takes any eps; one of 1 or more is a slip (`batchnorm: 64` meant as channels): refused
Epsilon = Annotated[float, Field(gt=0, lt=1)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Args(BaseModel):
    """Arguments of a leaf kind. The first field is what a scalar shorthand fills."""

    # No NaN or infinity: they would make the JSON report invalid (and mean nothing here).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True,
                              allow_inf_nan=False)


class NoArgs(Args):
    pass


# ---------------------------------------------------------------------------------------------
# Argument models

class ConvArgs(Args):
    out: PosInt
    kernel: SpatialPos
    stride: SpatialPos = 1
    padding: Union[SpatialNonNeg, Literal["same", "valid"]] = 0
    dilation: SpatialPos = 1
    groups: PosInt = 1
    bias: bool = True


class ConvTransposeArgs(Args):
    out: PosInt
    kernel: SpatialPos
    stride: SpatialPos = 1
    padding: SpatialNonNeg = 0
    output_padding: SpatialNonNeg = 0
    dilation: SpatialPos = 1
    groups: PosInt = 1
    bias: bool = True


class MaxPoolArgs(Args):
    kernel: SpatialPos
    stride: SpatialPos | None = None
    padding: SpatialNonNeg = 0
    dilation: SpatialPos = 1
    ceil_mode: bool = False


class AvgPoolArgs(Args):
    kernel: SpatialPos
    stride: SpatialPos | None = None
    padding: SpatialNonNeg = 0
    ceil_mode: bool = False
    count_include_pad: bool = True


class AdaptivePoolArgs(Args):
    output: SpatialPos


class LinearArgs(Args):
    out: PosInt
    bias: bool = True


class BatchNormArgs(Args):
    eps: Epsilon = 1e-5
    momentum: Probability = 0.1
    affine: bool = True


class GroupNormArgs(Args):
    groups: PosInt
    affine: bool = True


class InstanceNormArgs(Args):
    affine: bool = False


class LayerNormArgs(Args):
    affine: bool = True


class LRNArgs(Args):
    size: PosInt
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


class LeakyReluArgs(Args):
    slope: float = 0.01


class EluArgs(Args):
    alpha: float = 1.0


class PReluArgs(Args):
    channels: Union[Literal[1], Literal["all"]] = 1


class DropoutArgs(Args):
    p: Probability = 0.5


class ZeroPadArgs(Args):
    padding: SpatialNonNeg


class UpsampleArgs(Args):
    scale: Union[PositiveFloat, Annotated[list[PositiveFloat], Field(min_length=1, max_length=3)]]
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear"] = "nearest"


# ---------------------------------------------------------------------------------------------
# Helpers shared by the rules

@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window per spatial axis: effective kernel, stride and padding before."""

    kernel: tuple
    stride: tuple
    pad_before: tuple


IDENTITY = "identity"  # the window of a position-wise layer: output i sees input i


def spatial(shape) -> tuple:
    return tuple(shape[1:])


def per_axis(value, ndim: int, name: str) -> tuple:
    """An int or a per-axis list, as one value per spatial axis."""
    if isinstance(value, list):
        if len(value) != ndim:
            raise SpecError(f"`{name}` has {len(value)} values but the input has {ndim} spatial "
                            f"dimension{'s' if ndim != 1 else ''} ({', '.join(AXES[ndim])})",
                            hints=[f"write one value per spatial axis, or a single number"])
        return tuple(value)
    return (value,) * ndim


def need_rank(shape, ranks: tuple, kind: str, what: str) -> None:
    if len(shape) not in ranks:
        # not the shape itself: the analysis adds it as the spec writes it (its layout)
        raise SpecError(f"`{kind}` needs {what}, not a {len(shape)}-dimensional one",
                        hints=_rank_hints(shape, kind))


def _rank_hints(shape, kind: str) -> list[str]:
    if len(shape) == 1:
        return [f"the input was flattened earlier; put `{kind}` before `flatten`"]
    return []


SPATIAL = (2, 3, 4)   # sample ranks with 1, 2 or 3 spatial axes


def channels(shape):
    return shape[0]


def zero(*_):
    return 0


def same_shape(args, shape, fit):
    return tuple(shape)


def check_groups(c_in, out, groups: int, kind: str) -> None:
    if is_int(c_in) and c_in % groups:
        raise SpecError(f"`{kind}` has {groups} groups but {c_in} input channels: "
                        f"channels must divide evenly into groups",
                        hints=[f"groups that fit: {', '.join(map(str, divisors(c_in)[:8]))}"])
    if out % groups:
        raise SpecError(f"`{kind}` has {groups} groups but {out} output channels: "
                        f"output channels must divide evenly into groups",
                        hints=[f"out must be a multiple of {groups}"])


def divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


# ---------------------------------------------------------------------------------------------
# conv

def conv_geometry(args: ConvArgs, shape):
    """Per-axis kernel, stride, dilation, effective kernel and (before, after) padding."""
    n = len(shape) - 1
    kernel = per_axis(args.kernel, n, "kernel")
    stride = per_axis(args.stride, n, "stride")
    dilation = per_axis(args.dilation, n, "dilation")
    keff = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation))
    if args.padding == "valid":
        pads = ((0, 0),) * n
    elif args.padding == "same":
        pads = tuple(same_padding(w, ke, s) for w, ke, s in zip(spatial(shape), keff, stride))
    else:
        pads = tuple((p, p) for p in per_axis(args.padding, n, "padding"))
    return kernel, stride, dilation, keff, pads


def same_padding(size, kernel_eff: int, stride: int):
    """TensorFlow's 'same': ceil(W / S) outputs; an odd total puts the extra zero at the end."""
    if stride == 1:
        total = kernel_eff - 1
    else:
        total = (ceil_div(size, stride) - 1) * stride + kernel_eff - size
        if is_int(total):
            total = max(total, 0)
        else:
            import sympy

            total = sympy.Max(total, 0)
    before = total // 2
    return before, total - before


def conv_shape(args: ConvArgs, shape, fit: Fit):
    need_rank(shape, SPATIAL, "conv", "a [C, L], [C, H, W] or [C, D, H, W] input")
    check_groups(shape[0], args.out, args.groups, "conv")
    kernel, stride, dilation, keff, pads = conv_geometry(args, shape)
    context = SlidingContext(spatial(shape), kernel, stride, tuple(p[0] for p in pads),
                             max(dilation))
    axes = AXES[len(kernel)]
    if args.padding == "same":
        return (args.out, *(ceil_div(w, s) for w, s in zip(spatial(shape), stride)))
    return (args.out, *(sliding_out(fit, w, ke, b + a, s, axis=ax, context=context)
                        for w, ke, (b, a), s, ax in zip(spatial(shape), keff, pads, stride, axes)))


def conv_params(args: ConvArgs, shape):
    n = len(shape) - 1
    return args.out * (shape[0] // args.groups) * numel(per_axis(args.kernel, n, "kernel")) + (
        args.out if args.bias else 0)


def conv_macs(args: ConvArgs, shape, out):
    return numel(out) * (shape[0] // args.groups) * numel(per_axis(args.kernel, len(shape) - 1, "kernel"))


def conv_window(args: ConvArgs, shape):
    _, stride, _, keff, pads = conv_geometry(args, shape)
    return Window(keff, stride, tuple(p[0] for p in pads))


# ---------------------------------------------------------------------------------------------
# conv_transpose: out = (W − 1)·S − 2P + D·(F − 1) + output_padding + 1

def conv_transpose_geometry(args: ConvTransposeArgs, shape):
    """Per-axis kernel, stride, padding, output_padding and dilation."""
    n = len(shape) - 1
    return (per_axis(args.kernel, n, "kernel"), per_axis(args.stride, n, "stride"),
            per_axis(args.padding, n, "padding"), per_axis(args.output_padding, n, "output_padding"),
            per_axis(args.dilation, n, "dilation"))


def conv_transpose_shape(args: ConvTransposeArgs, shape, fit: Fit):
    need_rank(shape, SPATIAL, "conv_transpose", "a [C, L], [C, H, W] or [C, D, H, W] input")
    check_groups(shape[0], args.out, args.groups, "conv_transpose")
    n = len(shape) - 1
    kernel, stride, padding, out_pad, dilation = conv_transpose_geometry(args, shape)
    sizes = []
    for w, k, s, p, op, d, axis in zip(spatial(shape), kernel, stride, padding, out_pad, dilation,
                                       AXES[n]):
        if op >= s and op >= d:
            raise SpecError(f"output_padding {op} along {axis} must be smaller than the stride "
                            f"({s}) or the dilation ({d})",
                            hints=[f"output_padding {max(s, d) - 1} or less"])
        size = (w - 1) * s - 2 * p + d * (k - 1) + op + 1
        if is_int(size) and size < 1:
            raise SpecError(f"`conv_transpose` output along {axis} would be {size}: "
                            f"({axis} − 1)·S − 2P + {'dilation' if n == 3 else 'D'}·(F − 1) "
                            "+ output_padding + 1 = "
                            f"({w} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {size}",
                            hints=["reduce the padding"])
        if not is_int(size):
            from cnncalc.symbolic import require_positive

            require_positive(fit.constraints, size, f"the output along {axis} is at least 1")
        sizes.append(size)
    return (args.out, *sizes)


def conv_transpose_params(args: ConvTransposeArgs, shape):
    n = len(shape) - 1
    return shape[0] * (args.out // args.groups) * numel(per_axis(args.kernel, n, "kernel")) + (
        args.out if args.bias else 0)


def conv_transpose_macs(args: ConvTransposeArgs, shape, out):
    # Every input element is multiplied by a whole (out/groups)·F filter, as FlopCounterMode counts.
    n = len(shape) - 1
    return numel(shape) * (args.out // args.groups) * numel(per_axis(args.kernel, n, "kernel"))


# ---------------------------------------------------------------------------------------------
# pooling

def pool_geometry(args, shape):
    n = len(shape) - 1
    kernel = per_axis(args.kernel, n, "kernel")
    stride = per_axis(args.stride, n, "stride") if args.stride is not None else kernel
    padding = per_axis(args.padding, n, "padding")
    dilation = per_axis(getattr(args, "dilation", 1), n, "dilation")
    return kernel, stride, padding, dilation


def pool_shape(kind: str):
    def rule(args, shape, fit: Fit):
        need_rank(shape, SPATIAL, kind, "a [C, L], [C, H, W] or [C, D, H, W] input")
        kernel, stride, padding, dilation = pool_geometry(args, shape)
        for k, p in zip(kernel, padding):
            limit = k / 2    # half the kernel as written, even with dilation (as PyTorch checks)
            if p > limit:
                raise SpecError(f"`{kind}` padding {p} is more than half the window ({k}): "
                                "PyTorch rejects it",
                                hints=[f"padding {int(limit)} or less"])
        if kind == "avgpool" and len(kernel) == 3:
            # AvgPool3d (only the 3-D one) wants the window to fit the input before padding.
            for w, k, ax in zip(spatial(shape), kernel, AXES[3]):
                if is_int(w) and w < k:
                    raise SpecError(f"`avgpool` window {k} is larger than the input along {ax} "
                                    f"({w}): PyTorch's AvgPool3d rejects it, even with padding",
                                    hints=[f"kernel {w} or less along {ax}"])
                if not is_int(w):
                    from cnncalc.symbolic import require_at_least

                    require_at_least(fit.constraints, w, k, f"AvgPool3d's {k}-wide window fits "
                                     f"along {ax} before padding")
        context = SlidingContext(spatial(shape), kernel, stride, padding, max(dilation), pooling=True)
        window_fit = replace(fit, word="window")
        return (shape[0], *(sliding_out(window_fit, w, effective_kernel(k, d), 2 * p, s, axis=ax,
                                        ceil_mode=args.ceil_mode, context=context)
                            for w, k, s, p, d, ax in zip(spatial(shape), kernel, stride, padding,
                                                         dilation, AXES[len(kernel)])))
    return rule


def pool_window(args, shape):
    kernel, stride, padding, dilation = pool_geometry(args, shape)
    return Window(tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation)), stride, padding)


def adaptive_shape(kind: str):
    def rule(args: AdaptivePoolArgs, shape, fit: Fit):
        need_rank(shape, SPATIAL, kind, "a [C, L], [C, H, W] or [C, D, H, W] input")
        return (shape[0], *per_axis(args.output, len(shape) - 1, "output"))
    return rule


def adaptive_window(args: AdaptivePoolArgs, shape):
    """Uniform windows only when every input size is a multiple of the output size."""
    out = per_axis(args.output, len(shape) - 1, "output")
    sizes = spatial(shape)
    if all(is_int(w) and w % o == 0 for w, o in zip(sizes, out)):
        steps = tuple(w // o for w, o in zip(sizes, out))
        return Window(steps, steps, (0,) * len(out))
    return None


def global_shape(args, shape, fit: Fit):
    need_rank(shape, SPATIAL, "global_avgpool", "a [C, L], [C, H, W] or [C, D, H, W] input")
    return (shape[0],) + (1,) * (len(shape) - 1)


def global_window(args, shape):
    sizes = spatial(shape)
    return Window(sizes, sizes, (0,) * len(sizes))


# ---------------------------------------------------------------------------------------------
# linear, flatten

def linear_shape(args: LinearArgs, shape, fit: Fit):
    return (*shape[:-1], args.out)


def linear_params(args: LinearArgs, shape):
    return shape[-1] * args.out + (args.out if args.bias else 0)


def linear_macs(args: LinearArgs, shape, out):
    return numel(shape) * args.out


def linear_window(args, shape):
    # On a [C, H, W] sample it mixes every position along the last axis (W), so each output
    # sees the whole axis: not a sliding window (found by tests/test_receptive_field.py).
    return None


def flatten_shape(args, shape, fit: Fit):
    return (numel(shape),)


# ---------------------------------------------------------------------------------------------
# normalisation

def affine_per_channel(args, shape):
    return 2 * shape[0] if args.affine else 0


def batchnorm_buffers(args, shape):
    return 2 * shape[0] + 1      # running_mean, running_var, num_batches_tracked


def groupnorm_shape(args: GroupNormArgs, shape, fit: Fit):
    if is_int(shape[0]) and shape[0] % args.groups:
        raise SpecError(f"`groupnorm` has {args.groups} groups but {shape[0]} channels: channels "
                        "must divide evenly into groups",
                        hints=[f"groups that fit: {', '.join(map(str, divisors(shape[0])[:8]))}"])
    if not is_int(shape[0]):    # channels that depend on the input size (after flatten)
        from cnncalc.symbolic import require_divisible

        require_divisible(fit.constraints, shape[0], args.groups,
                          f"`groupnorm`'s {args.groups} groups divide the channels")
    return tuple(shape)


def rank_checked(kind: str, ranks: tuple, what: str):
    def rule(args, shape, fit: Fit):
        need_rank(shape, ranks, kind, what)
        return tuple(shape)
    return rule


def instancenorm_shape(args, shape, fit: Fit):
    need_rank(shape, SPATIAL, "instancenorm", "a [C, L], [C, H, W] or [C, D, H, W] input")
    if is_int(numel(spatial(shape))) and numel(spatial(shape)) == 1:
        # PyTorch: "Expected more than 1 spatial element" (it normalises over the positions)
        raise SpecError("`instancenorm` needs more than one spatial position",
                        hints=["put it before the pooling that reduces the size to 1, or use "
                               "`layernorm`"])
    if not is_int(numel(spatial(shape))):
        from cnncalc.symbolic import require_at_least

        require_at_least(fit.constraints, numel(spatial(shape)), 2,
                         "`instancenorm` needs more than one spatial position")
    return tuple(shape)


def layernorm_params(args: LayerNormArgs, shape):
    return 2 * numel(shape) if args.affine else 0


def prelu_params(args: PReluArgs, shape):
    return shape[0] if args.channels == "all" else 1


# ---------------------------------------------------------------------------------------------
# padding, upsampling

def zeropad_shape(args: ZeroPadArgs, shape, fit: Fit):
    need_rank(shape, SPATIAL, "zeropad", "a [C, L], [C, H, W] or [C, D, H, W] input")
    pads = per_axis(args.padding, len(shape) - 1, "padding")
    return (shape[0], *(w + 2 * p for w, p in zip(spatial(shape), pads)))


def zeropad_window(args: ZeroPadArgs, shape):
    pads = per_axis(args.padding, len(shape) - 1, "padding")
    return Window((1,) * len(pads), (1,) * len(pads), pads)


UPSAMPLE_RANKS = {"linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,),
                  "nearest": SPATIAL}


def upsample_scales(args: UpsampleArgs, shape) -> tuple:
    return per_axis(args.scale, len(shape) - 1, "scale")


def upsample_shape(args: UpsampleArgs, shape, fit: Fit):
    need_rank(shape, UPSAMPLE_RANKS[args.mode], f"upsample` with `mode: {args.mode}",
              {"linear": "a [C, L] input", "bilinear": "a [C, H, W] input",
               "bicubic": "a [C, H, W] input", "trilinear": "a [C, D, H, W] input",
               "nearest": "a [C, L], [C, H, W] or [C, D, H, W] input"}[args.mode])
    # PyTorch: floor(size × scale), computed in double precision.
    out = (shape[0], *(_floor_scale(w, s) for w, s in zip(spatial(shape), upsample_scales(args, shape))))
    for size, axis in zip(out[1:], AXES[len(out) - 1]):
        if not is_int(size):
            from cnncalc.symbolic import require_positive

            require_positive(fit.constraints, size, f"the upsampled size along {axis} is at least 1")
    return out


def _floor_scale(size, scale: float):
    if is_int(size):
        return int(size * scale // 1)
    from cnncalc.symbolic import floor_scale

    return floor_scale(size, scale)


# ---------------------------------------------------------------------------------------------
# The table

@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    args: type[Args]
    shape: Callable
    params: Callable
    buffers: Callable
    macs: Callable
    window: Callable
    torch: str          # the PyTorch module the cross-check builds
    summary: str        # one line for `--help` and docs


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    if kind.name in KINDS:
        raise RuntimeError(f"kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind


def identity_window(args, shape):
    return IDENTITY


def no_window(args, shape):
    return None


register(Kind("conv", ConvArgs, conv_shape, conv_params, zero, conv_macs, conv_window,
              "Conv1d/2d/3d", "convolution"))
register(Kind("conv_transpose", ConvTransposeArgs, conv_transpose_shape, conv_transpose_params,
              zero, conv_transpose_macs, no_window, "ConvTranspose1d/2d/3d",
              "transposed convolution"))
register(Kind("maxpool", MaxPoolArgs, pool_shape("maxpool"), zero, zero, zero, pool_window,
              "MaxPool1d/2d/3d", "max pooling"))
register(Kind("avgpool", AvgPoolArgs, pool_shape("avgpool"), zero, zero, zero, pool_window,
              "AvgPool1d/2d/3d", "average pooling"))
register(Kind("adaptive_avgpool", AdaptivePoolArgs, adaptive_shape("adaptive_avgpool"), zero,
              zero, zero, adaptive_window, "AdaptiveAvgPool1d/2d/3d", "adaptive average pooling"))
register(Kind("adaptive_maxpool", AdaptivePoolArgs, adaptive_shape("adaptive_maxpool"), zero,
              zero, zero, adaptive_window, "AdaptiveMaxPool1d/2d/3d", "adaptive max pooling"))
register(Kind("global_avgpool", NoArgs, global_shape, zero, zero, zero, global_window,
              "AdaptiveAvgPool1d/2d/3d(1)", "average over all spatial positions"))
register(Kind("linear", LinearArgs, linear_shape, linear_params, zero, linear_macs,
              linear_window, "Linear", "fully connected, on the last dimension"))
register(Kind("flatten", NoArgs, flatten_shape, zero, zero, zero, no_window, "Flatten",
              "all dimensions of the sample become one"))
register(Kind("batchnorm", BatchNormArgs, same_shape, affine_per_channel, batchnorm_buffers,
              zero, identity_window, "BatchNorm1d/2d/3d", "batch normalisation"))
# group and instance norm divide by statistics over every spatial position (also in eval
# mode): each output depends on the whole input, so there is no sliding-window field
register(Kind("groupnorm", GroupNormArgs, groupnorm_shape, affine_per_channel, zero, zero,
              no_window, "GroupNorm", "group normalisation"))
register(Kind("instancenorm", InstanceNormArgs, instancenorm_shape, affine_per_channel, zero,
              zero, no_window, "InstanceNorm1d/2d/3d", "instance normalisation"))
register(Kind("layernorm", LayerNormArgs, same_shape, layernorm_params, zero, zero, no_window,
              "LayerNorm", "layer normalisation over the whole sample"))
register(Kind("lrn", LRNArgs,
              rank_checked("lrn", SPATIAL, "a [C, L], [C, H, W] or [C, D, H, W] input"),
              zero, zero, zero, identity_window, "LocalResponseNorm",
              "local response normalisation across channels"))

ACTIVATIONS = {
    "relu": (NoArgs, "ReLU"), "relu6": (NoArgs, "ReLU6"), "gelu": (NoArgs, "GELU"),
    "silu": (NoArgs, "SiLU"), "sigmoid": (NoArgs, "Sigmoid"), "tanh": (NoArgs, "Tanh"),
    "hardswish": (NoArgs, "Hardswish"), "elu": (EluArgs, "ELU"),
    "leaky_relu": (LeakyReluArgs, "LeakyReLU"),
}
for _name, (_args, _torch) in ACTIVATIONS.items():
    register(Kind(_name, _args, same_shape, zero, zero, zero, identity_window, _torch, "activation"))

register(Kind("prelu", PReluArgs, same_shape, prelu_params, zero, zero, identity_window, "PReLU",
              "activation with learnt slopes"))
register(Kind("softmax", NoArgs, same_shape, zero, zero, zero, identity_window, "Softmax(dim=1)",
              "softmax over channels"))
register(Kind("log_softmax", NoArgs, same_shape, zero, zero, zero, identity_window,
              "LogSoftmax(dim=1)", "log-softmax over channels"))
register(Kind("dropout", DropoutArgs, same_shape, zero, zero, zero, identity_window, "Dropout",
              "dropout (identity at inference)"))
register(Kind("dropout2d", DropoutArgs,
              rank_checked("dropout2d", (3,), "a [C, H, W] input"),
              zero, zero, zero, identity_window, "Dropout2d", "channel dropout"))
register(Kind("zeropad", ZeroPadArgs, zeropad_shape, zero, zero, zero, zeropad_window,
              "ZeroPad1d/2d/3d", "zero padding"))
register(Kind("upsample", UpsampleArgs, upsample_shape, zero, zero, zero, no_window, "Upsample",
              "upsampling by a scale factor"))
register(Kind("identity", NoArgs, same_shape, zero, zero, zero, identity_window, "Identity",
              "no-op"))

COMPOSITE_KINDS = ("sequential", "repeat", "concat", "add", "residual")


def first_argument(kind: Kind) -> str | None:
    """The argument a scalar shorthand (`linear: 4096`) fills."""
    fields = list(kind.args.model_fields)
    return fields[0] if fields else None
