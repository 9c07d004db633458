"""The largest figure cnncalc computes: what a PyTorch tensor can hold.

PyTorch counts a tensor's elements in a signed 64-bit integer, so no layer's output has 2^63
elements or more. Sizes are checked where each layer makes them: the next layer's rule then
never sees a size that floating point (an upsample's scale) or the printers can't hold.
"""

from __future__ import annotations

from math import prod

from cnncalc.errors import SpecError

MAX_ELEMENTS = 2**63


def check_size(shape: tuple) -> None:
    """Refuse an output shape of 2^63 elements or more (symbolic sizes pass: they have no
    value yet)."""
    if not all(isinstance(d, int) for d in shape):
        return
    elements = prod(shape)
    if elements < MAX_ELEMENTS:
        return
    widest = max(shape[1:] or shape)
    if widest >= MAX_ELEMENTS:
        what = f"the output would be {magnitude(widest)} wide"
    else:
        what = f"the output would have {magnitude(elements)} elements"
    raise SpecError(f"{what}: PyTorch tensors stop at 2^63 elements",
                    hints=["check the sizes, strides and scales of the layers up to here"])


def magnitude(n: int) -> str:
    """A large count as a power of ten: 10^52 (digits are of no use at that size)."""
    return f"10^{len(str(n)) - 1}" if n < 10**4000 else "more than 10^4000"
