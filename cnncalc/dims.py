"""Arithmetic on dimensions, in one place.

A dimension is an `int`, or a sympy expression when the input has symbols (`[3, H, W]`);
every shape rule goes through these functions so one code path serves both. The sliding-window
rule is the lecture's

    out = (W − F + 2P) / S + 1,  with F replaced by D·(F − 1) + 1 under dilation D

(Dumoulin & Visin 2016, "A guide to convolution arithmetic", relationship 6 and 15).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

from cnncalc.errors import Setting, SpecError

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
    from cnncalc.symbolic import ceil_div as symbolic_ceil_div

    return symbolic_ceil_div(a, b)


def effective_kernel(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def same_dim(a, b, constraints: list | None = None, what: str = "") -> bool:
    """Whether two dimensions are equal for every accepted input size. With symbols and a
    `constraints` list, equal at some sizes only records the equality there (see symbolic)."""
    if is_int(a) and is_int(b):
        return a == b
    from cnncalc.symbolic import dims_equal

    return dims_equal(a, b, constraints, what)


def broadcast_dim(a, b, constraints: list | None, what: str, error: Callable[[], SpecError]):
    """The size along one axis of `a + b` or `a * b` as PyTorch broadcasts: the sizes are equal
    or one of them is 1. With symbols that agree at some sizes only, "equal, or one of them 1"
    is recorded in `constraints` and the size is the larger one."""
    if is_int(a) and is_int(b):
        if a == b or b == 1:
            return a
        if a == 1:
            return b
        raise error()
    if is_int(b) and b == 1:
        return a
    if is_int(a) and a == 1:
        return b
    from cnncalc.symbolic import broadcast_dims

    return broadcast_dims(a, b, constraints, what, error)


def fmt(value) -> str:
    """A number as the lecture writes it: 2.33, 5, 7."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def in_layout(shape, layout: str) -> tuple:
    """A channels-first shape as the spec writes it (`hwc`: channels last)."""
    if layout == "hwc" and len(shape) > 1:
        return (*shape[1:], shape[0])
    return tuple(shape)


def joined(values) -> str:
    """(7, 7) -> '7×7'; symbolic sizes in parentheses: '20×((H - 4)/3)×W'."""
    if all(is_int(v) for v in values):
        return "×".join(str(v) for v in values)
    from cnncalc.symbolic import show

    return "×".join(str(v) if is_int(v) or getattr(v, "is_Symbol", False) else f"({show(v)})"
                    for v in values)


@dataclass(frozen=True, slots=True)
class Fit:
    """The rule context a layer's rules compute in: how the layer rounds `(W − F + 2P)/S + 1`
    (`strict` rejects a non-integer, `floor` rounds down as PyTorch does; `word` names the
    window in messages, "filter" or "window"), and the operations whose meaning differs between
    numbers and symbols. With whole numbers a condition that fails raises the rule's error;
    with symbolic sizes (`[3, H, W]`) it is recorded in `constraints` as a condition on the
    input sizes (see cnncalc.symbolic), so each rule is written once for both."""

    rounding: str
    word: str = "filter"
    constraints: list | None = field(default=None, compare=False)
    refs: dict | None = field(default=None, compare=False)   # shapes of `kind.references`

    def at_least(self, value, bound, why: str, error: Callable[[], SpecError]) -> None:
        """value ≥ bound; `why` words the condition for symbols, `error` is raised for numbers."""
        if is_int(value):
            if value < bound:
                raise error()
            return
        from cnncalc.symbolic import require_at_least

        require_at_least(self.constraints, value, bound, why)

    def divisible(self, value, divisor: int, why: str, error: Callable[[], SpecError]) -> None:
        """`divisor` divides `value`, as at_least."""
        if is_int(value):
            if value % divisor:
                raise error()
            return
        from cnncalc.symbolic import require_divisible

        require_divisible(self.constraints, value, divisor, why)

    def exact_div(self, value, divisor: int):
        """value / divisor where `divisible` has been required."""
        if is_int(value):
            return value // divisor
        from cnncalc.symbolic import as_dim, bounded, within_divisor

        return as_dim(bounded(within_divisor(value / divisor)))

    def floor_div(self, value, divisor: int):
        if is_int(value):
            return value // divisor
        from cnncalc.symbolic import as_dim, floor_div

        return as_dim(floor_div(value, divisor))

    def ceil_div(self, value, divisor: int):
        return ceil_div(value, divisor)

    def max(self, a, b):
        if is_int(a) and is_int(b):
            return max(a, b)
        from cnncalc.symbolic import as_dim, bounded, sympy

        return as_dim(bounded(sympy.Max(a, b)))

    def min(self, a, b):
        if is_int(a) and is_int(b):
            return min(a, b)
        from cnncalc.symbolic import as_dim, bounded, sympy

        return as_dim(bounded(sympy.Min(a, b)))

    def floor_scale(self, size, scale: float):
        """floor(size × scale), as PyTorch computes it in double precision."""
        if is_int(size):
            return int(size * scale // 1)
        from cnncalc.symbolic import floor_scale

        return floor_scale(size, scale)

    def equal(self, a, b, what: str = "") -> bool:
        """As same_dim, recording an equality that holds at some sizes only."""
        return same_dim(a, b, self.constraints, what)


def sliding_out(fit: Fit, size, kernel_eff: int, pad_total, stride: int, *, axis: str,
                ceil_mode: bool = False, context: SlidingContext | None = None):
    """Output size of one spatial axis of a convolution or pooling window.

    `pad_total` is the sum of the padding at both ends (2P when symmetric)."""
    # PyTorch rounds up before it checks the size, so a ceil_mode window may overhang the input
    # by up to stride − 1 (a 3-wide window with stride 2 on 2 positions gives 1 output).
    overhang = stride - 1 if ceil_mode else 0
    dilated = context is not None and context.dilation > 1
    fit.at_least(size + pad_total, kernel_eff - overhang,
                 f"the {kernel_eff}-wide {fit.word} fits along {axis}"
                 + (f" (overhanging by up to {overhang} with ceil_mode)" if overhang else ""),
                 lambda: SpecError(
                     f"the {fit.word} is larger than the padded input along {axis}: "
                     f"{size} + {pad_total} padding < {kernel_eff}"
                     + (f" (effective {fit.word} size with dilation)" if dilated else ""),
                     hints=[f"the input along {axis} must be at least {kernel_eff - pad_total}"]))
    span = size + pad_total - kernel_eff
    if ceil_mode:
        # PyTorch: ceil(span/S) + 1 windows, less one if the last would start beyond the input
        # and its left padding; that is min(ceil(span/S) + 1, ceil((W + P)/S)). When the kernel
        # (less P) is at least S, some start always lies in between and the min is the first.
        out = fit.ceil_div(span, stride) + 1
        pad = pad_total // 2
        if kernel_eff - pad < stride:
            out = fit.min(out, fit.ceil_div(size + pad, stride))
        return out
    if fit.rounding == "strict":
        fit.divisible(span, stride,
                      f"strict rounding along {axis}: stride {stride} divides the size − F + 2P",
                      lambda: strict_error(fit, size, kernel_eff, pad_total, stride, axis, context))
        return fit.exact_div(span, stride) + 1
    return fit.floor_div(span, stride) + 1


@dataclass(frozen=True, slots=True)
class SlidingContext:
    """What a strict-rounding message needs to describe the layer in the user's terms."""

    in_spatial: tuple
    kernel: tuple
    stride: tuple
    padding: tuple          # symmetric padding per axis, as written
    dilation: int = 1
    pooling: bool = False


def unseen_text(unseen: int, axes: tuple, tense: str = "would", after: int = 0) -> str:
    """What flooring leaves out, exactly, in one wording for the strict error, the explanation
    of a floor layer, `validate`'s note and the one-line `conv`: the last `unseen` positions of
    the padded input along each of `axes` (every axis of a square input), of which the last
    `after` are the zero padding after the input. "only the last row and column of zero
    padding would never be seen (no input is lost)", "the last 2 rows of the input (and the
    row of padding after them) would never be seen". `tense` is "would" (what PyTorch would
    do), "is" (what it does) or "was" (what it did)."""
    units = [AXIS_UNITS.get(a, "positions") for a in axes]

    def count(n: int) -> str:
        names = [u[:-1] if n == 1 else u for u in units]
        return f"{n} {' and '.join(names)}" if n > 1 else " and ".join(names)

    def verb(n: int) -> str:
        plural = n > 1 or len(units) > 1
        return {"would": "would never be", "is": "are never" if plural else "is never",
                "was": "were never" if plural else "was never"}[tense] + " seen"

    if unseen <= after:
        return f"only the last {count(unseen)} of zero padding {verb(unseen)} (no input is lost)"
    lost = unseen - after
    them = "it" if lost == 1 and len(units) == 1 else "them"
    padding = f" (and the {count(after)} of padding after {them})" if after else ""
    return f"the last {count(lost)} of the input{padding} {verb(lost)}"


class StrictRoundingError(SpecError):
    """Strict rounding rejected a layer that PyTorch would run by flooring; what it would do is
    kept for `validate`, which runs it anyway and says so: (W − F + 2P)/S + 1 = `exact`, floored
    to `floored`, leaving `unseen` positions out along each of `axes`, the last `after` of
    them zero padding."""

    def __init__(self, message: str, *, exact: float, floored: int, unseen: int, axes: tuple,
                 after: int = 0, **kwargs):
        super().__init__(message, **kwargs)
        self.exact, self.floored, self.unseen, self.axes = exact, floored, unseen, axes
        self.after = after

    def unseen_text(self, tense: str = "would") -> str:
        return unseen_text(self.unseen, self.axes, tense, self.after)

    def floor_note(self) -> str:
        """What PyTorch would do instead (`validate` swaps it for what PyTorch did)."""
        return f"PyTorch would silently floor {fmt(self.exact)} to {self.floored}: {self.unseen_text()}"


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
            padding = (joined(context.padding) if len(set(context.padding)) > 1
                       else context.padding[0])
            what += f", padding {padding}"
        if context.dilation > 1:
            what += f", dilation {context.dilation}"
    else:
        what = f"input {size}, {fit.word} {kernel_eff}, stride {stride}"
    # "along H" only where the axes differ: a square 7×7 input with a 3×3 filter fails on both.
    square = context is not None and len(set(zip(context.in_spatial, context.kernel, context.stride,
                                                 context.padding))) == 1
    along = f" along {axis}" if context is None or (len(context.in_spatial) > 1 and not square) else ""
    # the size's letter as CS231n writes it: W for a square input, else the axis (L in 1-D)
    letter = axis if along or (context is not None and len(context.in_spatial) == 1) else "W"
    f_name = "F_eff" if context is not None and context.dilation > 1 else "F"   # D·(F − 1) + 1
    message = (f"{what} doesn't fit{along}: ({letter} − {f_name} + 2P)/S + 1 = "
               f"({size} − {kernel_eff} + 2·{pad})/{stride} + 1 = {fmt(exact)}, not a whole number")
    # "the last row and column" (square), "the last 2 rows"
    axes = AXES[len(context.in_spatial)] if square and context is not None else (axis,)
    hints = fit_suggestions(size, kernel_eff, pad, stride, pooling=context.pooling if context else False)
    if context is not None and context.pooling:
        hints.append(Setting("ceil_mode", (True,), purpose=f"to round {fmt(exact)} up to "
                             f"{floored + 1}, as PyTorch's ceil_mode does"))
    hints.append(Setting("rounding", ("floor",), scope="the layer (or the spec)",
                         purpose="to accept PyTorch's flooring"))
    error = StrictRoundingError(message, hints=hints, exact=exact, floored=floored,
                                unseen=unseen, axes=axes, after=pad_total - pad)
    error.notes.append(error.floor_note())
    return error


SEARCH = 64   # how far from the layer's stride fit_suggestions looks


def fit_suggestions(size: int, kernel_eff: int, pad: int, stride: int, *,
                    pooling: bool = False) -> list[Setting]:
    """Nearby strides and paddings for which (W − F + 2P)/S + 1 is a whole number."""
    hints = []
    # Only candidates near the layer's own values are tried (sizes reach 2^31: the search must
    # stay small); fitting paddings repeat every `stride`, so that window holds the nearest ones.
    # No stride wider than the window (unless the layer's already is): it would skip input too.
    near = range(max(1, stride - SEARCH), min(max(kernel_eff, stride), stride + SEARCH) + 1)
    strides = [s for s in {1, *near}
               if s != stride and (size + 2 * pad - kernel_eff) % s == 0 and size + 2 * pad >= kernel_eff]
    strides.sort(key=lambda s: (abs(s - stride), s))
    if strides:
        options = tuple(sorted(strides[:2]))
        hints.append(Setting("stride", options,
                             tuple((size + 2 * pad - kernel_eff) // s + 1 for s in options)))
    max_pad = kernel_eff // 2 if pooling else max(kernel_eff, pad + 2)
    reach = 2 * stride + 2
    pads = _fitting_pads(size, kernel_eff, pad, stride,
                         max(0, pad - reach, -(-(kernel_eff - size) // 2)), min(max_pad, pad + reach))
    pads.sort(key=lambda p: (abs(p - pad), p))
    if pads:
        options = tuple(sorted(pads[:2]))
        hints.append(Setting("padding", options,
                             tuple((size + 2 * p - kernel_eff) // stride + 1 for p in options),
                             context=f" with stride {stride}"))
    return hints


def _fitting_pads(size: int, kernel_eff: int, pad: int, stride: int, low: int, high: int) -> list[int]:
    """The paddings p in [low, high], p != pad, for which size + 2p − kernel_eff is a multiple
    of stride: the two nearest pad on either side and the two at each end of the window.
    Computed, not searched: the window is as wide as the stride, and a stride can be 2^31."""
    # 2p ≡ kernel_eff − size (mod stride) holds for p ≡ base (mod step), or for no p at all
    need = kernel_eff - size
    if stride % 2 == 0:
        if need % 2:
            return []
        step, base = stride // 2, (need // 2) % (stride // 2)
    else:
        step, base = stride, need * pow(2, -1, stride) % stride if stride > 1 else 0
    if low > high:
        return []
    below = pad - (pad - base) % step            # the fitting padding at or just below pad
    first = low + (base - low) % step            # the lowest one in the window
    last = high - (high - base) % step           # the highest one
    found = {p for p in (below - 2 * step, below - step, below, below + step, below + 2 * step,
                         first, first + step, last - step, last)
             if low <= p <= high and p != pad}
    return sorted(found)
