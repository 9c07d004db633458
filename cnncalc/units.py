"""Numbers, sizes and shapes in words, in one place: parsing `15.47G` / `100MB`, and printing
`138.4 M` / `528 MiB` / `768,000` / `27×32×32`."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation, localcontext

from cnncalc.errors import shortened

COUNT_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MEMORY_SUFFIXES = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}
# `1e8`, `2.5e6` too (`1e3MB` for memory, which needs a unit). The exponent is at most 2
# digits: `1e999999999` would be a billion-digit int.
_NUMBER = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)([eE][+-]?[0-9]{1,2})?\s*([A-Za-z]*)\s*$")


MAX_DIGITS = 40   # no figure cnncalc computes is longer (tensors stop at 2^63 elements)
# A comma only between groups of three digits: `1,500,000`. `1,5M` is a decimal comma
# elsewhere, and read as thousands it would be a bound 10 times too high.
_THOUSANDS = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$")


def _parse(text: str | int, suffixes: dict[str, int], what: str, whole: bool) -> int:
    try:
        return _parse_number(text, suffixes, what, whole)
    except ValueError as exc:   # a message quotes the text, which can be 10,000 digits long
        raise ValueError(shortened(str(exc))) from None


def _parse_number(text: str | int, suffixes: dict[str, int], what: str, whole: bool) -> int:
    """`whole`: the value must come out a whole number (a count); otherwise it is rounded
    down (a memory bound: at most 102.4 bytes is at most 102)."""
    if isinstance(text, (bool, dict, list)) or text is None:
        from cnncalc.loader import shown  # values named as YAML writes them (`true`, `[...]`)

        raise ValueError(f"expected a {what}, not {shown(text)}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a {what} can't be negative: {text}")
        if text >= 10**MAX_DIGITS:
            raise ValueError(f"a {what} of more than {MAX_DIGITS} digits is larger than any "
                             "figure cnncalc computes")
        return text
    if isinstance(text, float):
        if not math.isfinite(text):     # YAML's `1e400` or `.inf`
            raise ValueError(f"a {what} must be a finite number, not {text}")
        text = repr(text)
    match = _NUMBER.match(str(text))
    suffix = (match.group(3) or "").upper() if match else ""
    if not match or suffix not in suffixes:
        examples = "1234, 15.47G, 5M, 1e8" if "G" in suffixes else "100MB, 1.5GiB, 512KiB"
        raise ValueError(f"{text!r} isn't a {what} (write it like {examples})")
    number = match.group(1)
    if "," in number and not _THOUSANDS.match(number):
        raise ValueError(f"{text!r} is ambiguous: a comma can be a decimal comma or separate "
                         "thousands; write a decimal point (1.5M) or digits without commas")
    if sum(c.isdigit() for c in number) > MAX_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_DIGITS} digits: larger than any figure "
                         "cnncalc computes")
    try:
        # exact: the default context keeps 28 digits, and a suffix adds up to 13
        with localcontext() as context:
            context.prec = MAX_DIGITS + 15
            value = (Decimal(number.replace("_", "").replace(",", "") + (match.group(2) or ""))
                     * suffixes[suffix])
    except InvalidOperation:
        raise ValueError(f"{text!r} isn't a {what}") from None
    if whole and value != value.to_integral_value():
        exact = f"{value.normalize():,f}"
        said = f"{text!r} is {exact}" if exact != str(text).strip() else repr(text)
        raise ValueError(f"{said}: a {what} must be a whole number")
    return int(value)


def parse_count(text: str | int) -> int:
    """`15.47G` -> 15_470_000_000; plain integers pass through."""
    return _parse(text, COUNT_SUFFIXES, "count", whole=True)


def parse_bytes(text: str | int) -> int:
    """`100MB` -> 100_000_000, `1GiB` -> 2**30; plain integers are bytes."""
    return _parse(text, MEMORY_SUFFIXES, "memory size", whole=False)


def significant(value: float, digits: int) -> str:
    """`value` to `digits` significant digits, without trailing zeros or exponent."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.0f}"
    return text


def human_count(n) -> str:
    """138357544 -> '138.4 M'; 15470000000 -> '15.47 G'; small numbers as they are."""
    return _human(n, 1000, ("", "K", "M", "G", "T"), 4, "")


def human_bytes(n) -> str:
    """553430176 -> '528 MiB' (binary units, 3 significant digits)."""
    return _human(n, 1024, ("B", "KiB", "MiB", "GiB", "TiB"), 3, " B")


def bytes_as_written(n) -> str:
    """Bytes in the units a bound is likely written in: decimal where they show it exactly and
    binary units don't (`1MB` -> '1 MB', not '977 KiB'), else binary (human_bytes)."""
    if isinstance(n, int) and n >= 1000 and _shown_exactly(n, 1000) and not _shown_exactly(n, 1024):
        return _human(n, 1000, ("B", "KB", "MB", "GB", "TB"), 3, " B")
    return human_bytes(n)


def _shown_exactly(n: int, base: int) -> bool:
    """Whether n in its largest unit of `base` (up to T) needs at most 3 significant digits."""
    power = min(4, max(p for p in range(5) if n >= base**p))
    return n * 1000 % base**power == 0 and float(significant(n / base**power, 3)) * base**power == n


def _human(n, base: int, suffixes: tuple, digits: int, plain: str) -> str:
    """n in the largest unit it reaches, to `digits` significant digits; a value that rounds
    up to a whole next unit is shown in it (999,999 -> '1 M', not '1000 K')."""
    if not isinstance(n, int):
        return str(n)
    power = 0
    while power + 1 < len(suffixes) and abs(n) >= base ** (power + 1):
        power += 1
    if power == 0:
        return f"{n}{plain}"
    text = significant(n / base**power, digits)
    if abs(float(text)) >= base and power + 1 < len(suffixes):
        power += 1
        text = significant(n / base**power, digits)
    return f"{text} {suffixes[power]}"


def grouped(n) -> str:
    """760 -> '760'; 768000 -> '768,000'."""
    return f"{n:,}" if isinstance(n, int) else str(n)


def count_text(n) -> str:
    """A total count: 138357544 -> '138,357,544 (138.4 M)'; small ones and symbolic ones as
    they are."""
    if isinstance(n, int):
        return f"{grouped(n)} ({human_count(n)})" if n >= 1000 else str(n)
    return str(n)


def bytes_text(n) -> str:
    """A total memory size: 553430176 -> '528 MiB'; a symbolic one as '… bytes'."""
    return human_bytes(n) if isinstance(n, int) else f"{n} bytes"


def shape_text(shape, sep: str = "×") -> str:
    """`27×32×32`; `sep="x"` for plain ASCII (`27x32x32`). A symbolic size is in parentheses
    where it isn't one name: `64×(floor((H - 1)/2) + 1)×W`."""
    return sep.join(f"({d})" if isinstance(d, str) and len(shape) > 1 and not d.isidentifier()
                    else str(d) for d in shape)
