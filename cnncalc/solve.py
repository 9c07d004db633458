"""The inverse question: which kernel, stride, padding and dilation take an input size to an
output size under strict rounding, (W − F_eff + 2P)/S + 1 = O exactly, F_eff = D·(F − 1) + 1.

Pure arithmetic (no torch, no sympy). The work is bounded by the number of (dilation, kernel)
pairs in the bounds, never by the sizes or the stride and padding bounds: for one (D, F),
W − F_eff + 2P = S·(O − 1) fixes P for each S, so the strides that fit form one arithmetic
progression (a `range`), counted and walked without a search.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

MAX_PAIRS = 1_000_000   # (dilation, kernel) pairs one axis may scan


class SolveError(ValueError):
    """Bounds that can't be searched or make no sense, in the user's terms."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive ranges per setting for one axis. `stride_max`/`padding_max` None mean the
    default rules: stride ≤ the (effective) window (a wider stride skips input that no window
    sees) and padding < the window (more puts a whole window in the zeros). `pool`: PyTorch's
    pooling rule, padding ≤ kernel/2 (the kernel as written, even with dilation), always."""

    kernel: tuple[int, int] = (1, 11)
    stride: tuple[int, int | None] = (1, None)
    padding: tuple[int, int | None] = (0, None)
    dilation: tuple[int, int] = (1, 1)
    pool: bool = False

    def stride_range(self, window: int) -> tuple[int, int]:
        low, high = self.stride
        return low, window if high is None else high

    def padding_range(self, kernel: int, window: int) -> tuple[int, int]:
        low, high = self.padding
        high = window - 1 if high is None else high
        if self.pool:
            high = min(high, kernel // 2)
        return low, high


@dataclass(frozen=True, slots=True)
class Setting:
    """One axis's kernel F, stride S, padding P (each side) and dilation D."""

    kernel: int
    stride: int
    padding: int
    dilation: int

    @property
    def window(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


def output_size(size: int, s: Setting) -> Fraction | None:
    """The forward formula, exactly: (W − F_eff + 2P)/S + 1, None when the window doesn't fit."""
    span = size + 2 * s.padding - s.window
    return None if span < 0 else Fraction(span, s.stride) + 1


def _pairs(bounds: Bounds) -> Iterator[tuple[int, int]]:
    (d_lo, d_hi), (k_lo, k_hi) = bounds.dilation, bounds.kernel
    if (d_hi - d_lo + 1) * (k_hi - k_lo + 1) > MAX_PAIRS:
        raise SolveError(f"the bounds allow {d_hi - d_lo + 1:,} dilations × {k_hi - k_lo + 1:,} "
                         f"kernels, more than {MAX_PAIRS:,} to search: narrow --max-kernel or "
                         "--max-dilation, or pin --kernel or --dilation")
    for d in range(d_lo, d_hi + 1):
        for f in range(k_lo, k_hi + 1):
            yield d, f


def _strides(size: int, out: int, d: int, f: int, bounds: Bounds) -> tuple[range, int]:
    """The strides that fit for dilation d and kernel f, and the padding of the first one
    (each next stride adds (O − 1)/2 to it... as 2P = S·(O − 1) − (W − F_eff))."""
    window = d * (f - 1) + 1
    s_lo, s_hi = bounds.stride_range(window)
    p_lo, p_hi = bounds.padding_range(f, window)
    gap = size - window                     # W − F_eff; 2P = S·m − gap
    m = out - 1
    if m == 0:                              # one output: P is fixed, any stride gives it
        if gap > 0 or gap % 2 or not p_lo <= -gap // 2 <= p_hi:
            return range(0), 0
        return range(s_lo, s_hi + 1), -gap // 2
    # p_lo ≤ (S·m − gap)/2 ≤ p_hi  ⇔  (2·p_lo + gap)/m ≤ S ≤ (2·p_hi + gap)/m
    low = max(s_lo, -(-(2 * p_lo + gap) // m))
    high = min(s_hi, (2 * p_hi + gap) // m)
    if m % 2 == 0:                          # S·m is even: gap must be
        strides = range(low, high + 1) if gap % 2 == 0 else range(0)
    else:                                   # S ≡ gap (mod 2)
        first = low + ((low - gap) % 2)
        strides = range(first, high + 1, 2)
    if not strides:
        return range(0), 0
    return strides, (strides[0] * m - gap) // 2


def count(size: int, out: int, bounds: Bounds) -> int:
    """How many settings of one axis give exactly `out` from `size`."""
    return sum(len(_strides(size, out, d, f, bounds)[0]) for d, f in _pairs(bounds))


def solutions(size: int, out: int, bounds: Bounds) -> Iterator[Setting]:
    """Every setting of one axis that gives exactly `out` from `size`, simplest first: dilation,
    then kernel, then stride (and so padding) ascending."""
    if size < 1 or out < 1:
        return
    for d, f in _pairs(bounds):
        strides, first_pad = _strides(size, out, d, f, bounds)
        m = out - 1
        for s in strides:
            yield Setting(f, s, first_pad + (s - strides[0]) * m // 2, d)


def nearest(size: int, out: int, bounds: Bounds, how_many: int = 3) -> list[tuple[Setting, Fraction]]:
    """When nothing fits: settings in the bounds whose exact output is closest to `out` (a few
    candidates per (D, F), near the stride and padding that would balance the formula)."""
    found: dict[Setting, Fraction] = {}
    m = out - 1
    for d, f in _pairs(bounds):
        window = d * (f - 1) + 1
        s_lo, s_hi = bounds.stride_range(window)
        p_lo, p_hi = bounds.padding_range(f, window)
        if s_lo > s_hi or p_lo > p_hi:
            continue
        gap = size - window
        strides = {s_lo, s_hi}
        if m > 0:
            for p in (p_lo, p_hi):
                ideal = (gap + 2 * p) // m
                strides |= {ideal, ideal + 1}
        for s in (s for s in strides if s_lo <= s <= s_hi):
            ideal = (s * m - gap) // 2
            for p in {ideal, ideal + 1, p_lo, p_hi}:
                if p_lo <= p <= p_hi:
                    setting = Setting(f, s, p, d)
                    value = output_size(size, setting)
                    if value is not None:
                        found[setting] = value
    ranked = sorted(found.items(), key=lambda item: (abs(item[1] - out), item[0].dilation,
                                                     item[0].kernel, item[0].stride,
                                                     item[0].padding))
    return ranked[:how_many]


def combined(sizes: list[int], outs: list[int],
             bounds: list[Bounds]) -> tuple[int, Iterator[tuple[Setting, ...]], bool]:
    """Settings for every axis at once: (how many, the settings simplest first, square).
    Axes with the same question (size, output, bounds) take the same setting on each (`square`:
    a 11×11 kernel, not 11×9; a mix of per-axis answers works too and isn't listed); otherwise
    every combination of the axes' answers."""
    questions = list(zip(sizes, outs, bounds))
    if len(set(questions)) == 1:
        size, out, b = questions[0]
        n = count(size, out, b)
        return n, ((s,) * len(sizes) for s in solutions(size, out, b)), True
    total = 1
    for size, out, b in questions:
        total *= count(size, out, b)

    def product(i: int) -> Iterator[tuple[Setting, ...]]:
        if i == len(questions):
            yield ()
            return
        for head in solutions(*questions[i]):
            for tail in product(i + 1):
                yield (head, *tail)

    return total, (product(0) if total else iter(())), False
