"""Convolution and transposed convolution."""

from __future__ import annotations

from typing import Any, Literal

from cnncalc.dims import (
    AXES,
    Fit,
    SlidingContext,
    ceil_div,
    effective_kernel,
    in_layout,
    is_int,
    numel,
    sliding_out,
)
from cnncalc.errors import SpecError
from cnncalc.field import Window
from cnncalc.kinds.base import (
    INPUT,
    SPATIAL,
    SPATIAL_INPUT,
    Args,
    LeafKind,
    NoCounterpart,
    PosInt,
    SpatialNonNeg,
    SpatialPos,
    as_torch,
    exact_type,
    groups_divide,
    leaf_kind,
    module,
    need_rank,
    one_or_list,
    own,
    per_axis,
    spatial,
)
from cnncalc.working import (
    Step,
    axes_of,
    dilation_letter,
    filters_text,
    grouped_axes,
    kernel_letters,
    n,
    number,
    prod_text,
    size_letter,
    sliding_steps,
)


def check_groups(c_in, out: int, groups: int, kind: str, fit: Fit) -> None:
    groups_divide(fit, c_in, groups, kind, "input channels")
    if out % groups:
        raise SpecError(f"`{kind}` has {groups} groups but {out} output channels: "
                        f"output channels must divide evenly into groups",
                        hints=[f"out must be a multiple of {groups}"])


class ConvArgs(Args):
    out: PosInt
    kernel: SpatialPos
    stride: SpatialPos = 1
    padding: SpatialNonNeg | Literal["same", "valid"] = 0
    dilation: SpatialPos = 1
    groups: PosInt = 1
    bias: bool = True


def conv_geometry(args: ConvArgs, shape, fit: Fit | None = None):
    """Per-axis kernel, stride, dilation, effective kernel and (before, after) padding."""
    n_axes = len(shape) - 1
    kernel = per_axis(args.kernel, n_axes, "kernel")
    stride = per_axis(args.stride, n_axes, "stride")
    dilation = per_axis(args.dilation, n_axes, "dilation")
    keff = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation))
    if args.padding == "valid":
        pads: tuple = ((0, 0),) * n_axes
    elif args.padding == "same":
        fit = fit or Fit("strict")
        pads = tuple(same_padding(w, ke, s, fit) for w, ke, s in zip(spatial(shape), keff, stride))
    else:
        pads = tuple((p, p) for p in per_axis(args.padding, n_axes, "padding"))
    return kernel, stride, dilation, keff, pads


def same_padding(size, kernel_eff: int, stride: int, fit: Fit):
    """TensorFlow's 'same': ceil(W / S) outputs; an odd total puts the extra zero at the end."""
    if stride == 1:
        total = kernel_eff - 1
    else:
        total = fit.max((ceil_div(size, stride) - 1) * stride + kernel_eff - size, 0)
    before = total // 2
    return before, total - before


@leaf_kind
class Conv(LeafKind):
    name = "conv"
    spatial = True
    position_wise = False
    args = ConvArgs
    torch = "Conv1d/2d/3d"
    # TensorFlow's `same` with a stride: PyTorch pads first (`build`)
    prepared_by = ("ZeroPad{n}d", "ConstantPad{n}d", "pad")
    # a 1×1 conv computes what nn.Linear does on the channels moved last (ConvNeXt's blocks)
    also = ("Linear",)
    summary = "convolution"
    example = """
name: cs231n-conv
spec:
  input: [3, 32, 32]
  layers: [conv: {out: 10, kernel: 5, padding: 2}]
expected:
  # (32 − 5 + 2·2)/1 + 1 = 32; params (5·5·3 + 1)·10 = 760; MACs 32·32·10·(5·5·3) = 768,000
  output: [10, 32, 32]
  params: 760
  macs: 768_000
  flops: 1_536_000
"""

    def shape(self, args: ConvArgs, shape, fit: Fit):
        need_rank(shape, SPATIAL, "conv", SPATIAL_INPUT)
        check_groups(shape[0], args.out, args.groups, "conv", fit)
        kernel, stride, dilation, keff, pads = conv_geometry(args, shape, fit)
        if args.padding == "same":
            return (args.out, *(ceil_div(w, s) for w, s in zip(spatial(shape), stride)))
        context = SlidingContext(spatial(shape), kernel, stride, tuple(p[0] for p in pads),
                                 max(dilation))
        return (args.out, *(sliding_out(fit, w, ke, b + a, s, axis=ax, context=context)
                            for w, ke, (b, a), s, ax in zip(spatial(shape), keff, pads, stride,
                                                            AXES[len(kernel)])))

    def params(self, args: ConvArgs, shape):
        kernel = per_axis(args.kernel, len(shape) - 1, "kernel")
        return args.out * (shape[0] // args.groups) * numel(kernel) + (args.out if args.bias else 0)

    def macs(self, args: ConvArgs, shape, out):
        kernel = per_axis(args.kernel, len(shape) - 1, "kernel")
        return numel(out) * (shape[0] // args.groups) * numel(kernel)

    def window(self, args: ConvArgs, shape):
        _, stride, _, keff, pads = conv_geometry(args, shape)
        return Window(keff, stride, tuple(p[0] for p in pads))

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        kernel, stride, dilation, _, pads = conv_geometry(args, row.input_shape)
        c, g, k_out = row.input_shape[0], args.groups, args.out
        per_group = c // g if is_int(c) else c / g
        letters = kernel_letters(kernel, axes_of(row))
        filters = f"{number(k_out)} filter{'s' if k_out != 1 else ''}"
        steps = [Step(f"{filters}, each {filters_text(kernel, per_group, context.layout)}"
                      + (f" (groups {g}: each filter sees C/G = {n(c)}/{g} = {number(per_group)} "
                         f"of the {number(c)} input channels)" if g > 1 else ""))]
        steps += sliding_steps(row, context, kernel, stride, dilation, pads,
                               same=args.padding == "same")
        channels = f"({n(c)}/{g})" if g > 1 else n(c)
        c_general = "C/G" if g > 1 else "C"
        weights = f"{prod_text(kernel)}·{channels}"
        if args.bias:
            steps.append(Step("params", f"({letters}·{c_general} + 1)·K",
                              f"({weights} + 1)·{n(k_out)}", row.params))
        else:
            steps.append(Step("params", f"{letters}·{c_general}·K (no bias)",
                              f"{weights}·{n(k_out)}", row.params))
        out_elements = prod_text(in_layout(row.output_shape, context.layout))
        steps.append(Step("MACs", f"out elements · ({letters}·{c_general})",
                          f"{out_elements} · ({weights})", row.macs))
        return steps

    def saved(self, args: ConvArgs, shape, out, training):
        # for the weight gradient (the weight itself is a parameter). Where `same` pads one
        # side more than the other, a zero-padded copy is made first and the conv keeps that:
        # PyTorch's padding='same' (stride 1) pads it by the difference only, the layer
        # cnncalc builds for a stride above 1 (TensorFlow's rule) by the whole padding
        _, stride, _, _, pads = conv_geometry(args, shape)
        if any(before != after for before, after in pads):
            by_difference = all(s == 1 for s in stride)
            padded = numel(w + (after - before if by_difference else before + after)
                           for w, (before, after) in zip(spatial(shape), pads))
            return [own(training.batch * shape[0] * padded, "its input, zero-padded (a copy)")]
        return [INPUT]

    def param_tensors(self, args, shape):
        weight = self.params(args, shape) - (args.out if args.bias else 0)
        return [weight, args.out] if args.bias else [weight]

    def gradient_copies(self, args, shape, input_last):
        """On an input laid out channels last, PyTorch computes the weight's gradient channels
        last too, which differs from the weight's own layout where a filter has more than one
        channel and more than one position (ConvNeXt's downsampling after a layer norm); not
        for a 1-D conv (PyTorch has no channels-last layout for its 3-D tensors)."""
        kernel = per_axis(args.kernel, len(shape) - 1, "kernel")
        if (not input_last or len(shape) == 2 or shape[0] // args.groups == 1
                or numel(kernel) == 1):
            return 0
        return self.params(args, shape) - (args.out if args.bias else 0)

    def build(self, nn, args: ConvArgs, shape):
        n_axes = len(shape) - 1
        stride = args.stride if isinstance(args.stride, list) else [args.stride] * n_axes
        padding: Any = args.padding
        pad = None
        if padding == "same" and any(s != 1 for s in stride):
            # TensorFlow's 'same' (ceil(W / S) outputs); PyTorch's padding='same' is stride 1
            # only. Written here from TensorFlow's definition, not with the static rule.
            kernel = args.kernel if isinstance(args.kernel, list) else [args.kernel] * n_axes
            dilation = args.dilation if isinstance(args.dilation, list) else [args.dilation] * n_axes
            before, after = [], []
            for w, k, s, d in zip(shape[1:], kernel, stride, dilation):
                total = max((-(-w // s) - 1) * s + d * (k - 1) + 1 - w, 0)
                before.append(total // 2)
                after.append(total - total // 2)
            if before == after:
                padding = tuple(before)
            else:
                # odd total: the extra zero goes at the end, by an explicit zero-pad (last axis
                # first)
                sides = zip(reversed(before), reversed(after))
                pad = module(nn, "ZeroPad", n_axes)(tuple(x for b, a in sides for x in (b, a)))
                padding = 0
        conv = module(nn, "Conv", n_axes)(
            shape[0], args.out, as_torch(args.kernel), stride=as_torch(args.stride),
            padding=as_torch(padding), dilation=as_torch(args.dilation), groups=args.groups,
            bias=args.bias)
        return conv if pad is None else nn.Sequential(pad, conv)

    def read(self, nn, module, shape):
        if not exact_type(nn, module, "Conv"):
            return None
        _zeros_only(module)
        padding: Any = (module.padding if isinstance(module.padding, str)
                        else one_or_list(module.padding))
        return ConvArgs(out=module.out_channels, kernel=one_or_list(module.kernel_size),
                        stride=one_or_list(module.stride), padding=padding,
                        dilation=one_or_list(module.dilation), groups=module.groups,
                        bias=module.bias is not None)


    def read_last(self, nn, module, shape):
        """nn.Linear on the channels moved last: a 1×1 conv."""
        if type(module) is not nn.Linear:
            return None
        return ConvArgs(out=module.out_features, kernel=1, bias=module.bias is not None)

    def read_padded(self, nn, pad, module, shape):
        """A zero pad right before this conv (`prepared_by`), as `padding: same` with a stride
        builds it (TensorFlow's: the odd zero at the end), else None."""
        args = self.read(nn, module, shape)
        if args is None or not exact_type(nn, pad, "ZeroPad") or one_or_list(module.padding) != 0:
            return None
        sides = list(pad.padding)       # (left, right) of the last axis first
        pairs = [(sides[i], sides[i + 1]) for i in range(0, len(sides), 2)][::-1]
        for (before, after), w, k, st, d in zip(pairs, shape[1:], module.kernel_size,
                                                 module.stride, module.dilation):
            total = max((-(-w // st) - 1) * st + d * (k - 1) + 1 - w, 0)
            if (before, after) != (total // 2, total - total // 2):
                return None
        return args.model_copy(update={"padding": "same"})


def _zeros_only(module) -> None:
    if module.padding_mode != "zeros":
        raise NoCounterpart(f"padding_mode={module.padding_mode!r}: the spec language pads "
                            "with zeros only")


class ConvTransposeArgs(Args):
    out: PosInt
    kernel: SpatialPos
    stride: SpatialPos = 1
    padding: SpatialNonNeg = 0
    output_padding: SpatialNonNeg = 0
    dilation: SpatialPos = 1
    groups: PosInt = 1
    bias: bool = True


def conv_transpose_geometry(args: ConvTransposeArgs, shape):
    """Per-axis kernel, stride, padding, output_padding and dilation."""
    n_axes = len(shape) - 1
    return (per_axis(args.kernel, n_axes, "kernel"), per_axis(args.stride, n_axes, "stride"),
            per_axis(args.padding, n_axes, "padding"),
            per_axis(args.output_padding, n_axes, "output_padding"),
            per_axis(args.dilation, n_axes, "dilation"))


@leaf_kind
class ConvTranspose(LeafKind):
    spatial = True
    """out = (W − 1)·S − 2P + D·(F − 1) + output_padding + 1 (Dumoulin & Visin 2016)."""

    name = "conv_transpose"
    args = ConvTransposeArgs
    torch = "ConvTranspose1d/2d/3d"
    summary = "transposed convolution"
    position_wise = False
    example = """
name: dcgan-upsampling
spec:
  input: [8, 4, 4]
  layers: [conv_transpose: {out: 4, kernel: 4, stride: 2, padding: 1}]
expected:
  # (4 − 1)·2 − 2·1 + 1·(4 − 1) + 0 + 1 = 8; params 8·4·4·4 + 4 = 516;
  # MACs = in elements · (K·F·F) = 8·4·4 · (4·4·4) = 8,192
  output: [4, 8, 8]
  params: 516
  macs: 8_192
"""

    def shape(self, args: ConvTransposeArgs, shape, fit: Fit):
        need_rank(shape, SPATIAL, "conv_transpose", SPATIAL_INPUT)
        check_groups(shape[0], args.out, args.groups, "conv_transpose", fit)
        n_axes = len(shape) - 1
        kernel, stride, padding, out_pad, dilation = conv_transpose_geometry(args, shape)
        sizes = []
        for w, k, s, p, op, d, axis in zip(spatial(shape), kernel, stride, padding, out_pad,
                                           dilation, AXES[n_axes]):
            if op >= s and op >= d:
                raise SpecError(f"output_padding {op} along {axis} must be smaller than the "
                                f"stride ({s}) or the dilation ({d})",
                                hints=[f"output_padding {max(s, d) - 1} or less"])
            size = (w - 1) * s - 2 * p + d * (k - 1) + op + 1
            fit.at_least(size, 1, f"the output along {axis} is at least 1",
                         lambda: SpecError(
                             f"`conv_transpose` output along {axis} would be {size}: "
                             f"({axis} − 1)·S − 2P + {'dilation' if n_axes == 3 else 'D'}·(F − 1) "
                             "+ output_padding + 1 = "
                             f"({w} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {size}",
                             hints=["reduce the padding"]))
            sizes.append(size)
        return (args.out, *sizes)

    def params(self, args: ConvTransposeArgs, shape):
        kernel = per_axis(args.kernel, len(shape) - 1, "kernel")
        return shape[0] * (args.out // args.groups) * numel(kernel) + (args.out if args.bias else 0)

    def macs(self, args: ConvTransposeArgs, shape, out):
        # Every input element is multiplied by a whole (out/groups)·F filter, as
        # FlopCounterMode counts.
        kernel = per_axis(args.kernel, len(shape) - 1, "kernel")
        return numel(shape) * (args.out // args.groups) * numel(kernel)

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        kernel, stride, padding, out_pad, dilation = conv_transpose_geometry(args, row.input_shape)
        values = list(zip(row.input_shape[1:], kernel, stride, padding, out_pad, dilation,
                          row.output_shape[1:]))
        axes = axes_of(row)
        groups = grouped_axes(values, axes)
        steps = []
        for index, (suffix, (w, k, s, p, op, d, out)) in enumerate(groups):
            size = size_letter(suffix, axes)
            steps.append(Step(f"out{suffix}", f"({size} − 1)·S − 2P + {dilation_letter(axes)}·(F − 1)"
                              " + output_padding + 1",
                              f"({n(w)} − 1)·{n(s)} − 2·{n(p)} + {n(d)}·({n(k)} − 1) + {n(op)} + 1",
                              out, then=context.shape(row.output_shape) if index == len(groups) - 1
                              else ""))
        c, g, k_out = row.input_shape[0], args.groups, args.out
        letters = kernel_letters(kernel, axes)
        per = f"({n(k_out)}/{g})" if g > 1 else n(k_out)
        k_general = "K/G" if g > 1 else "K"
        weights = f"{n(c)}·{per}·{prod_text(kernel)}"
        if args.bias:
            steps.append(Step("params", f"C·{k_general}·{letters} + K", f"{weights} + {n(k_out)}",
                              row.params))
        else:
            steps.append(Step("params", f"C·{k_general}·{letters} (no bias)", weights, row.params))
        in_elements = prod_text(in_layout(row.input_shape, context.layout))
        steps.append(Step("MACs", f"in elements · ({k_general}·{letters})",
                          f"{in_elements} · ({per}·{prod_text(kernel)})", row.macs))
        steps.append(Step("(each input value is multiplied by a whole filter and spread over the "
                          "output, as PyTorch's FlopCounterMode counts it)"))
        return steps

    def saved(self, args, shape, out, training):
        return [INPUT]       # for the weight gradient (the weight itself is a parameter)

    def param_tensors(self, args, shape):
        weight = self.params(args, shape) - (args.out if args.bias else 0)
        return [weight, args.out] if args.bias else [weight]

    def build(self, nn, args: ConvTransposeArgs, shape):
        return module(nn, "ConvTranspose", len(shape) - 1)(
            shape[0], args.out, as_torch(args.kernel), stride=as_torch(args.stride),
            padding=as_torch(args.padding), output_padding=as_torch(args.output_padding),
            groups=args.groups, bias=args.bias, dilation=as_torch(args.dilation))

    def read(self, nn, module, shape):
        if not exact_type(nn, module, "ConvTranspose"):
            return None
        _zeros_only(module)
        return ConvTransposeArgs(
            out=module.out_channels, kernel=one_or_list(module.kernel_size),
            stride=one_or_list(module.stride), padding=one_or_list(module.padding),
            output_padding=one_or_list(module.output_padding),
            dilation=one_or_list(module.dilation), groups=module.groups,
            bias=module.bias is not None)
