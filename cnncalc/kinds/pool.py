"""Pooling: sliding windows, adaptive windows and the global average."""

from __future__ import annotations

from dataclasses import replace

from cnncalc.dims import AXES, Fit, SlidingContext, effective_kernel, is_int, numel, sliding_out
from cnncalc.errors import SpecError
from cnncalc.field import Window
from cnncalc.kinds.base import (
    INPUT,
    SPATIAL,
    SPATIAL_INPUT,
    Args,
    LeafKind,
    NoCounterpart,
    SpatialNonNeg,
    SpatialPos,
    as_torch,
    call_arguments,
    exact_type,
    leaf_kind,
    module,
    need_rank,
    one_or_list,
    own,
    per_axis,
    spatial,
)
from cnncalc.working import Step, axes_of, grouped_axes, n, number, prod_text, size_letter, sliding_steps


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


def pool_geometry(args, shape):
    n_axes = len(shape) - 1
    kernel = per_axis(args.kernel, n_axes, "kernel")
    stride = per_axis(args.stride, n_axes, "stride") if args.stride is not None else kernel
    padding = per_axis(args.padding, n_axes, "padding")
    dilation = per_axis(getattr(args, "dilation", 1), n_axes, "dilation")
    return kernel, stride, padding, dilation


class SlidingPool(LeafKind):
    spatial = True
    """maxpool and avgpool: the window slides as a convolution's does, per channel."""

    what = ""   # "the largest", "the average"
    position_wise = False

    def shape(self, args, shape, fit: Fit):
        need_rank(shape, SPATIAL, self.name, SPATIAL_INPUT)
        kernel, stride, padding, dilation = pool_geometry(args, shape)
        for k, p in zip(kernel, padding):
            limit = k / 2    # half the kernel as written, even with dilation (as PyTorch checks)
            if p > limit:
                raise SpecError(f"`{self.name}` padding {p} is more than half the window ({k}): "
                                "PyTorch rejects it",
                                hints=[f"padding {int(limit)} or less"])
        self.check_window(kernel, shape, fit)
        context = SlidingContext(spatial(shape), kernel, stride, padding, max(dilation),
                                 pooling=True)
        window_fit = replace(fit, word="window")
        return (shape[0], *(sliding_out(window_fit, w, effective_kernel(k, d), 2 * p, s, axis=ax,
                                        ceil_mode=args.ceil_mode, context=context)
                            for w, k, s, p, d, ax in zip(spatial(shape), kernel, stride, padding,
                                                         dilation, AXES[len(kernel)])))

    def check_window(self, kernel: tuple, shape, fit: Fit) -> None:
        """Conditions of PyTorch's own beyond the sliding-window rule."""

    def window(self, args, shape):
        kernel, stride, padding, dilation = pool_geometry(args, shape)
        return Window(tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation)), stride,
                      padding)

    def explain(self, row, context) -> list[Step]:
        args = row.node.args
        kernel, stride, padding, dilation = pool_geometry(args, row.input_shape)
        window = "×".join(number(k) for k in kernel)
        steps = [Step(f"each output is {self.what} of a {window} window, per channel"
                      + self.padding_note(args, padding))]
        steps += sliding_steps(row, context, kernel, stride, dilation, [(p, p) for p in padding],
                               ceil_mode=args.ceil_mode)
        steps.append(Step("no parameters; channels unchanged"))
        return steps

    def padding_note(self, args, padding) -> str:
        return ""

    family = ""          # "MaxPool": the PyTorch modules read back
    call_names: tuple = ()    # the functional form's arguments after the input

    def read(self, nn, module, shape):
        if not exact_type(nn, module, self.family):
            return None
        return self.read_settings(vars(module))

    def read_call(self, op, args, kwargs, shape):
        if not op.endswith(f"{len(shape) - 1}d"):     # max_pool2d on a [C, H, W] sample
            return None
        settings = call_arguments(args, kwargs, self.call_names)
        settings.setdefault("kernel_size", settings.pop("kernel_size", None))
        return self.read_settings(settings)

    def read_settings(self, settings: dict):
        kernel = one_or_list(settings["kernel_size"])
        stride = one_or_list(settings.get("stride") or settings["kernel_size"])
        if settings.get("return_indices"):
            raise NoCounterpart("return_indices=True: a layer gives one tensor")
        if settings.get("divisor_override"):
            raise NoCounterpart("divisor_override: the spec language averages over the window")
        common = {"kernel": kernel, "stride": None if stride == kernel else stride,
                  "padding": one_or_list(settings.get("padding", 0)),
                  "ceil_mode": bool(settings.get("ceil_mode", False))}
        return self.args.model_validate({**common, **self.own_settings(settings)})

    def own_settings(self, settings: dict) -> dict:
        return {}


@leaf_kind
class MaxPool(SlidingPool):
    name = "maxpool"
    args = MaxPoolArgs
    torch = "MaxPool1d/2d/3d"
    also = ("max_pool{n}d",)
    summary = "max pooling"
    what = "the largest"
    family = "MaxPool"
    call_names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    example = """
name: alexnet-pool
spec:
  input: [96, 55, 55]
  layers: [maxpool: {kernel: 3, stride: 2}]
expected:
  # (55 − 3 + 2·0)/2 + 1 = 27; no parameters
  output: [96, 27, 27]
  params: 0
  macs: 0
"""

    def saved(self, args, shape, out, training):
        return [INPUT, own(training.batch * numel(out), "the argmax indices", "int64")]

    def build(self, nn, args: MaxPoolArgs, shape):
        return module(nn, "MaxPool", len(shape) - 1)(
            as_torch(args.kernel), stride=as_torch(args.stride), padding=as_torch(args.padding),
            dilation=as_torch(args.dilation), ceil_mode=args.ceil_mode)

    def own_settings(self, settings):
        return {"dilation": one_or_list(settings.get("dilation", 1))}


@leaf_kind
class AvgPool(SlidingPool):
    name = "avgpool"
    args = AvgPoolArgs
    torch = "AvgPool1d/2d/3d"
    also = ("avg_pool{n}d",)
    summary = "average pooling"
    what = "the average"
    family = "AvgPool"
    call_names = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override")
    example = """
name: average-2x2
spec:
  input: [16, 10, 10]
  layers: [avgpool: 2]
expected:
  # stride defaults to the kernel: (10 − 2)/2 + 1 = 5
  output: [16, 5, 5]
  params: 0
"""

    def check_window(self, kernel: tuple, shape, fit: Fit) -> None:
        if len(kernel) != 3:
            return
        # AvgPool3d (only the 3-D one) wants the window to fit the input before padding.
        for w, k, ax in zip(spatial(shape), kernel, AXES[3]):
            fit.at_least(w, k, f"AvgPool3d's {k}-wide window fits along {ax} before padding",
                         lambda: SpecError(
                             f"`avgpool` window {k} is larger than the input along {ax} ({w}): "
                             "PyTorch's AvgPool3d rejects it, even with padding",
                             hints=[f"kernel {w} or less along {ax}"]))

    def padding_note(self, args: AvgPoolArgs, padding) -> str:
        if not any(padding):
            return ""
        if args.count_include_pad:
            return " (padding counted in the average)"
        return " (padding not counted in the average)"

    def saved(self, args, shape, out, training):
        return [INPUT]

    def build(self, nn, args: AvgPoolArgs, shape):
        return module(nn, "AvgPool", len(shape) - 1)(
            as_torch(args.kernel), stride=as_torch(args.stride), padding=as_torch(args.padding),
            ceil_mode=args.ceil_mode, count_include_pad=args.count_include_pad)

    def own_settings(self, settings):
        return {"count_include_pad": bool(settings.get("count_include_pad", True))}


class AdaptivePoolArgs(Args):
    output: SpatialPos


class AdaptivePool(LeafKind):
    spatial = True
    position_wise = False
    args = AdaptivePoolArgs
    what = ""        # "average", "maximum"
    family = ""      # "AdaptiveAvgPool"

    def shape(self, args: AdaptivePoolArgs, shape, fit: Fit):
        need_rank(shape, SPATIAL, self.name, SPATIAL_INPUT)
        return (shape[0], *per_axis(args.output, len(shape) - 1, "output"))

    def window(self, args: AdaptivePoolArgs, shape):
        """Uniform windows only when every input size is a multiple of the output size."""
        out = per_axis(args.output, len(shape) - 1, "output")
        sizes = spatial(shape)
        if all(is_int(w) and w % o == 0 for w, o in zip(sizes, out)):
            steps = tuple(w // o for w, o in zip(sizes, out))
            return Window(steps, steps, (0,) * len(out))
        return None

    def explain(self, row, context) -> list[Step]:
        sizes = row.input_shape[1:]
        outs = row.output_shape[1:]
        axes = axes_of(row)
        steps = [Step(f"the output size is chosen: {'×'.join(number(o) for o in outs)}; each "
                      f"output is the {self.what} of its window, per channel")]
        if all(is_int(w) and w % o == 0 for w, o in zip(sizes, outs)):
            for suffix, (w, o) in grouped_axes(list(zip(sizes, outs)), axes):
                steps.append(Step(f"window{suffix} = stride{suffix}",
                                  f"{size_letter(suffix, axes)}/out", f"{n(w)}/{n(o)}", w // o))
        else:
            size = size_letter("", axes)
            steps.append(Step(f"window i covers positions ⌊i·{size}/out⌋ to "
                              f"⌈(i + 1)·{size}/out⌉ − 1 (PyTorch), so windows differ in size "
                              "and there is no single receptive field"))
        steps.append(Step("no parameters; channels unchanged"))
        return steps

    def saved(self, args, shape, out, training):
        if self.family == "AdaptiveMaxPool":
            return [INPUT, own(training.batch * numel(out), "the argmax indices", "int64")]
        if all(o == 1 for o in out[1:]):
            return []        # PyTorch takes a mean: its backward needs only the sizes
        return [INPUT]

    def build(self, nn, args: AdaptivePoolArgs, shape):
        return module(nn, self.family, len(shape) - 1)(as_torch(args.output))

    def read(self, nn, module, shape):
        if not exact_type(nn, module, self.family):
            return None
        return self.read_output(module.output_size, getattr(module, "return_indices", False),
                                shape)

    def read_call(self, op, args, kwargs, shape):
        if not op.endswith(f"{len(shape) - 1}d"):
            return None
        settings = call_arguments(args, kwargs, ("output_size", "return_indices"))
        return self.read_output(settings["output_size"], settings.get("return_indices"), shape)

    def read_output(self, output, return_indices, shape):
        if return_indices:
            raise NoCounterpart("return_indices=True: a layer gives one tensor")
        sizes = output if isinstance(output, (tuple, list)) else (output,) * (len(shape) - 1)
        # None keeps the input's size along that axis
        sizes = [w if o is None else o for o, w in zip(sizes, spatial(shape))]
        return AdaptivePoolArgs(output=one_or_list(sizes))


@leaf_kind
class AdaptiveAvgPool(AdaptivePool):
    name = "adaptive_avgpool"
    torch = "AdaptiveAvgPool1d/2d/3d"
    also = ("adaptive_avg_pool{n}d",)
    summary = "adaptive average pooling"
    what = "average"
    family = "AdaptiveAvgPool"
    example = """
name: adaptive-average-to-6x6
spec:
  input: [256, 12, 12]
  layers: [adaptive_avgpool: 6]
expected:
  # 12/6 = 2: uniform 2×2 windows with stride 2, so the receptive field is 2
  output: [256, 6, 6]
  layers:
    "0": {receptive_field: {size: [2, 2], jump: [2, 2]}}
"""


@leaf_kind
class AdaptiveMaxPool(AdaptivePool):
    name = "adaptive_maxpool"
    torch = "AdaptiveMaxPool1d/2d/3d"
    also = ("adaptive_max_pool{n}d",)
    summary = "adaptive max pooling"
    what = "maximum"
    family = "AdaptiveMaxPool"
    example = """
name: adaptive-max-uneven
spec:
  input: [8, 7, 7]
  layers: [adaptive_maxpool: [3, 2]]
expected:
  # the output size is chosen; 7 isn't a multiple of 3 or 2: windows differ, no field
  output: [8, 3, 2]
  params: 0
"""


@leaf_kind
class GlobalAvgPool(LeafKind):
    name = "global_avgpool"
    position_wise = False
    torch = "AdaptiveAvgPool1d/2d/3d(1)"
    also = ("adaptive_avg_pool{n}d", "mean")
    summary = "average over all spatial positions"
    example = """
name: global-average
spec:
  input: [512, 7, 7]
  layers: [global_avgpool]
expected:
  # each channel averaged over 7·7 = 49 positions; the field is the whole 7×7 input
  output: [512, 1, 1]
  layers:
    "0": {receptive_field: {size: [7, 7]}}
"""

    def shape(self, args, shape, fit: Fit):
        need_rank(shape, SPATIAL, "global_avgpool", SPATIAL_INPUT)
        return (shape[0],) + (1,) * (len(shape) - 1)

    def window(self, args, shape):
        sizes = spatial(shape)
        return Window(sizes, sizes, (0,) * len(sizes))

    def explain(self, row, context) -> list[Step]:
        sizes = row.input_shape[1:]
        return [Step("positions averaged per channel", "·".join(axes_of(row)), prod_text(sizes),
                     numel(sizes), then=context.shape(row.output_shape)),
                Step("no parameters")]

    def saved(self, args, shape, out, training):
        return []            # a mean: its backward needs only the sizes

    def build(self, nn, args, shape):
        return module(nn, "AdaptiveAvgPool", len(shape) - 1)(1)

    def read(self, nn, module, shape):
        # also adaptive_avgpool's; the importer takes the kind with the fewest arguments
        found = AdaptiveAvgPool().read(nn, module, shape)
        return self.args() if found is not None and found.output == 1 else None

    def read_call(self, op, args, kwargs, shape):
        if op.endswith("mean"):
            given = call_arguments(args, kwargs, ("dim", "keepdim"))
            dims = given.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            if len(shape) < 2 or sorted(d % (len(shape) + 1) for d in dims) != list(
                    range(2, len(shape) + 1)):
                return None
            return self.args()      # without keepdim, the importer adds the `flatten`
        found = AdaptiveAvgPool().read_call(op, args, kwargs, shape)
        return self.args() if found is not None and found.output == 1 else None
