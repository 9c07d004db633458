"""Arithmetic on dimensions, in one place.

A dimension is an `int`, or a sympy expression when the input has symbols (`[3, H, W]`);
every shape rule goes through these functions so one code path serves both. The sliding-window
rule is the lecture's

    out = (W − F + 2P) / S + 1,  with F replaced by D·(F − 1) + 1 under dilation D

(Dumoulin & Visin 2016, "A guide to convolution arithmetic", relationship 6 and 15).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from cnncalc.errors import SpecError

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
AXIS_UNITS = {"L": "positions", "H": "rows", "W": "columns", "D": "slices"}


def is_int(value) -> bool:
    return isinstance(value, int)


def numel(shape) -> int:
    return prod(shape)


def ceil_div(a, b):
    """ceil(a / b) for a dimension a and a positive int b."""
    if is_int(a):
        return -(-a // b)
    import sympy

    return sympy.ceiling(a / b)


def effective_kernel(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def same_dim(a, b) -> bool:
    """Whether two dimensions are equal for every accepted input size."""
    if is_int(a) and is_int(b):
        return a == b
    from cnncalc.symbolic import dims_equal

    return dims_equal(a, b)


def fmt(value) -> str:
    """A number as the lecture writes it: 2.33, 5, 7."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def joined(values) -> str:
    """(7, 7) -> '7×7'."""
    return "×".join(str(v) for v in values)


@dataclass(frozen=True, slots=True)
class Fit:
    """How a layer rounds `(W − F + 2P)/S + 1`: `strict` rejects a non-integer, `floor` rounds
    down as PyTorch does. `word` names the window in messages ("filter", "window")."""

    rounding: str
    word: str = "filter"
    # With symbolic sizes, strict layers add their divisibility conditions here (see symbolic).
    constraints: list | None = field(default=None, compare=False)


def sliding_out(fit: Fit, size, kernel_eff: int, pad_total, stride: int, *, axis: str,
                ceil_mode: bool = False, context: "SlidingContext | None" = None):
    """Output size of one spatial axis of a convolution or pooling window.

    `pad_total` is the sum of the padding at both ends (2P when symmetric)."""
    span = size + pad_total - kernel_eff
    if not is_int(span):
        from cnncalc.symbolic import symbolic_sliding_out

        return symbolic_sliding_out(fit, size, kernel_eff, pad_total, stride, axis=axis,
                                    ceil_mode=ceil_mode, context=context)
    if span < 0:
        raise SpecError(
            f"the {fit.word} is larger than the padded input along {axis}: "
            f"{size} + {pad_total} padding < {kernel_eff}"
            + (f" (effective {fit.word} size with dilation)" if context and context.dilation > 1 else ""),
            hints=[f"the input along {axis} must be at least {kernel_eff - pad_total}"])
    if ceil_mode:
        out = -(-span // stride) + 1
        # PyTorch: the last window must start inside the input or its left padding.
        if (out - 1) * stride >= size + pad_total // 2:
            out -= 1
        return out
    if span % stride and fit.rounding == "strict":
        raise strict_error(fit, size, kernel_eff, pad_total, stride, axis, context)
    return span // stride + 1


@dataclass(frozen=True, slots=True)
class SlidingContext:
    """What a strict-rounding message needs to describe the layer in the user's terms."""

    in_spatial: tuple
    kernel: tuple
    stride: tuple
    padding: tuple          # symmetric padding per axis, as written
    dilation: int = 1
    pooling: bool = False


def strict_error(fit: Fit, size: int, kernel_eff: int, pad_total: int, stride: int, axis: str,
                 context: SlidingContext | None) -> SpecError:
    pad = pad_total // 2
    span = size + pad_total - kernel_eff
    exact = span / stride + 1
    floored = span // stride + 1
    unseen = span % stride
    if context is not None:
        what = (f"{joined(context.in_spatial)} input, {joined(context.kernel)} {fit.word}, "
                f"stride {joined(context.stride) if len(set(context.stride)) > 1 else context.stride[0]}")
        if any(context.padding):
            what += f", padding {joined(context.padding) if len(set(context.padding)) > 1 else context.padding[0]}"
    else:
        what = f"input {size}, {fit.word} {kernel_eff}, stride {stride}"
    along = f" along {axis}" if context is None or len(context.in_spatial) > 1 else ""
    message = (f"{what} doesn't fit{along}: (W − F + 2P)/S + 1 = "
               f"({size} − {kernel_eff} + 2·{pad})/{stride} + 1 = {fmt(exact)}, not a whole number")
    unit = AXIS_UNITS.get(axis, "positions")
    unit = unit[:-1] if unseen == 1 else unit
    notes = [f"PyTorch would silently floor {fmt(exact)} to {floored}: the last {unseen} {unit} "
             f"of the padded input would never be seen"]
    hints = fit_suggestions(size, kernel_eff, pad, stride, pooling=context.pooling if context else False)
    hints.append("or write `rounding: floor` on the layer (or the spec) to accept PyTorch's flooring")
    return SpecError(message, notes=notes, hints=hints)


def fit_suggestions(size: int, kernel_eff: int, pad: int, stride: int, *, pooling: bool = False) -> list[str]:
    """Nearby strides and paddings for which (W − F + 2P)/S + 1 is a whole number."""
    hints = []
    strides = [s for s in range(1, max(kernel_eff, stride + 2) + 1)
               if s != stride and (size + 2 * pad - kernel_eff) % s == 0 and size + 2 * pad >= kernel_eff]
    strides.sort(key=lambda s: (abs(s - stride), s))
    if strides:
        options = " or ".join(f"{s} (→ {(size + 2 * pad - kernel_eff) // s + 1})" for s in sorted(strides[:2]))
        hints.append(f"stride {options} would fit")
    max_pad = kernel_eff // 2 if pooling else max(kernel_eff, pad + 2)
    pads = [p for p in range(0, max_pad + 1)
            if p != pad and size + 2 * p >= kernel_eff and (size + 2 * p - kernel_eff) % stride == 0]
    pads.sort(key=lambda p: (abs(p - pad), p))
    if pads:
        options = " or ".join(f"{p} (→ {(size + 2 * p - kernel_eff) // stride + 1})" for p in sorted(pads[:2]))
        hints.append(f"padding {options} would fit with stride {stride}")
    return hints
