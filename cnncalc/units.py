"""Counts and memory sizes: parsing `15.47G` / `100MB`, and printing `138.4 M` / `528 MiB`."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

COUNT_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MEMORY_SUFFIXES = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}
_NUMBER = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def _parse(text: str | int, suffixes: dict[str, int], what: str) -> int:
    if isinstance(text, bool):
        raise ValueError(f"expected a {what}, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a {what} can't be negative: {text}")
        return text
    if isinstance(text, float):
        text = repr(text)
    match = _NUMBER.match(str(text))
    suffix = match.group(2).upper() if match else ""
    if not match or suffix not in suffixes:
        examples = "1234, 15.47G, 5M" if "G" in suffixes else "100MB, 1.5GiB, 512KiB"
        raise ValueError(f"{text!r} isn't a {what} (write it like {examples})")
    try:
        value = Decimal(match.group(1).replace("_", "").replace(",", "")) * suffixes[suffix]
    except InvalidOperation:
        raise ValueError(f"{text!r} isn't a {what}") from None
    return int(value.to_integral_value())


def parse_count(text: str | int) -> int:
    """`15.47G` -> 15_470_000_000; plain integers pass through."""
    return _parse(text, COUNT_SUFFIXES, "count")


def parse_bytes(text: str | int) -> int:
    """`100MB` -> 100_000_000, `1GiB` -> 2**30; plain integers are bytes."""
    return _parse(text, MEMORY_SUFFIXES, "memory size")


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
    if not isinstance(n, int):
        return str(n)
    for suffix, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if abs(n) >= size:
            return f"{significant(n / size, 4)} {suffix}"
    return str(n)


def human_bytes(n) -> str:
    """553430176 -> '528 MiB' (binary units, 3 significant digits)."""
    if not isinstance(n, int):
        return str(n)
    for suffix, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{significant(n / size, 3)} {suffix}"
    return f"{n} B"


def grouped(n) -> str:
    """760 -> '760'; 768000 -> '768,000'."""
    return f"{n:,}" if isinstance(n, int) else str(n)
