"""Receptive fields (Araujo, Norris & Sim, "Computing receptive fields of convolutional neural
networks", Distill 2019): a layer's sliding `Window`, and the `Field` of an output position in
input pixels, carried through windows and joined over branches."""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.dims import is_int


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window per spatial axis: effective kernel, stride and padding before."""

    kernel: tuple
    stride: tuple
    pad_before: tuple


IDENTITY = "position-wise"  # the window of a position-wise layer: output i sees input i


@dataclass(frozen=True, slots=True)
class Field:
    """Receptive field of an output position, per spatial axis: size r, jump j (effective
    stride) and start u (left edge of output 0's field; negative values lie in the padding)."""

    size: tuple
    jump: tuple
    start: tuple
    aligned: bool = True   # False where branches of a concat/add see differently aligned fields

    def through(self, window: Window) -> Field | None:
        """The field after `window`; None where symbolic sizes make it too complex to follow."""
        if not all(is_int(p) for p in window.pad_before) and not _simple(self.start):
            return None
        return Field(tuple(r + (k - 1) * j for r, k, j in zip(self.size, window.kernel, self.jump)),
                     tuple(j * s for j, s in zip(self.jump, window.stride)),
                     tuple(u - p * j for u, p, j in zip(self.start, window.pad_before, self.jump)),
                     self.aligned)

    def after(self, window: Window | str | None) -> Field | None:
        """The field after a leaf's window: unchanged (IDENTITY), followed, or undefined."""
        if isinstance(window, Window):
            return self.through(window)
        return self if window == IDENTITY else None


def union(fields: list) -> Field | None:
    """The largest receptive field over branches: the union of their regions."""
    if any(f is None for f in fields) or len({len(f.size) for f in fields}) != 1:
        return None
    first = fields[0]
    if all(f == first for f in fields):
        return first
    if not all(is_int(v) for f in fields for v in (*f.size, *f.jump, *f.start)):
        return None     # branches' fields depend on a symbolic size differently: not kept
    starts = tuple(min(f.start[a] for f in fields) for a in range(len(first.size)))
    ends = tuple(max(f.start[a] + f.size[a] for f in fields) for a in range(len(first.size)))
    jumps = tuple(max(f.jump[a] for f in fields) for a in range(len(first.size)))
    # Aligned: equal jumps and equal centres (2·start + size), so the union is a translate of one
    # field for every output position. Nested fields of one centre (a 1×1 and a 3×3 branch) are.
    aligned = all(f.jump == first.jump and f.aligned
                  and all(2 * u + r == 2 * u0 + r0 for u, r, u0, r0
                          in zip(f.start, f.size, first.start, first.size)) for f in fields)
    return Field(tuple(e - s for e, s in zip(ends, starts)), jumps, starts, aligned)


def _simple(values) -> bool:
    """Whether symbolic values are still small enough to carry on (see symbolic.MAX_OPERATIONS)."""
    if all(is_int(v) for v in values):
        return True
    from cnncalc.symbolic import MAX_OPERATIONS, operations

    return all(is_int(v) or operations(v) <= MAX_OPERATIONS for v in values)
