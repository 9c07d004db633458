"""Counts and memory sizes: `15.47G`, `100MB`, `1.5GiB` in specs; `138.4 M`, `528 MiB` in reports."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.units import (
    bytes_text,
    count_text,
    grouped,
    human_bytes,
    human_count,
    parse_bytes,
    parse_count,
    shape_text,
)

counts = st.integers(min_value=0, max_value=10**18)


@pytest.mark.parametrize("text, value", [
    ("15.47G", 15_470_000_000), ("5M", 5_000_000), ("1T", 10**12), ("2K", 2_000),
    ("138.357544M", 138_357_544), ("1234", 1234), ("1_000", 1000), ("1,000", 1000),
    (" 7 ", 7), ("3k", 3000), (760, 760), (0, 0), (2.0, 2), ("0.768M", 768_000),
    # scientific notation, when it comes out whole (a float that YAML read, as repr writes it)
    ("1e8", 10**8), ("2.5e6", 2_500_000), ("1E3", 1000), ("1.5e+3", 1500), ("1e0", 1),
    ("2.5e-1K", 250), ("1.5e3K", 1_500_000), (1e20, 10**20), ("1e99", 10**99),
])
def test_parse_count(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text, value", [
    ("100MB", 100_000_000), ("1.5GiB", 1_610_612_736), ("512KiB", 524_288), ("1GB", 10**9),
    ("40KiB", 40_960), ("3.04KB", 3_040), ("2B", 2), ("1TiB", 2**40), (4096, 4096),
    ("100mb", 100_000_000),
    ("0.1KiB", 102),       # 102.4 bytes: a bound, rounded down
    ("1e3MB", 10**9), ("2.5e-1KiB", 256), ("1e-3KB", 1),
])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text, message", [
    ("lots", "isn't a count (write it like 1234, 15.47G, 5M, 1e8)"),
    ("5MB", "isn't a count"),                 # a memory suffix on a count
    ("1.2345K", "is 1,234.5: a count must be a whole number"),
    (1.5, "'1.5': a count must be a whole number"),
    (float("inf"), "a count must be a finite number, not inf"),     # YAML's 1e400
    (-5, "can't be negative"),
    (True, "expected a count"),
    ("-5", "isn't a count"),
    ("1.2.3M", "isn't a count"),
    ("G", "isn't a count"),
    ("1e-3", "'1e-3' is 0.001: a count must be a whole number"),
    ("2.5e-1", "is 0.25: a count must be a whole number"),
    ("1e", "isn't a count (write it like"),
    ("1e100", "isn't a count"),       # exponents to 2 digits: no billion-digit numbers
    ("1e3MB", "isn't a count"),
])
def test_parse_count_rejects(text, message):
    with pytest.raises(ValueError) as info:
        parse_count(text)
    assert message in str(info.value)


@pytest.mark.parametrize("text", ["5MiBs", "5G", "lots", "-1MB", "MB"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError) as info:
        parse_bytes(text)
    assert "isn't a memory size (write it like 100MB, 1.5GiB, 512KiB)" in str(info.value)


@given(counts, st.sampled_from([("", 1), ("K", 10**3), ("M", 10**6), ("G", 10**9), ("T", 10**12)]))
def test_parse_count_of_an_integer_with_a_suffix(n, suffix):
    letter, size = suffix
    assert parse_count(f"{n}{letter}") == n * size
    assert parse_count(f"{n:,}{letter}") == n * size


@given(counts)
def test_human_count_reads_back_within_its_precision(n):
    text = human_count(n)
    number, _, suffix = text.partition(" ")
    assert suffix in ("", "K", "M", "G", "T")
    if suffix:
        assert 1 <= float(number) < 1000 or (suffix == "T" and float(number) >= 1)
        # 4 significant digits: within half a unit of the 4th digit
        assert abs(float(number) * {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[suffix] - n) <= n * 5e-4
    else:
        assert int(number) == n and n < 1000


@given(st.integers(min_value=0, max_value=2**60))
def test_human_bytes_reads_back_within_its_precision(n):
    number, _, unit = human_bytes(n).partition(" ")
    scale = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]
    if unit == "B":
        assert int(number) == n < 1024
    else:
        assert 1 <= float(number) < 1024 or unit == "TiB"
        assert abs(float(number) * scale - n) <= n * 5e-3


@pytest.mark.parametrize("n, text", [
    (760, "760"), (9_408, "9.408 K"), (768_000, "768 K"), (1_536_000, "1.536 M"),
    (138_357_544, "138.4 M"), (15_470_000_000, "15.47 G"), (7_801_405_440, "7.801 G"),
    (999_950, "1 M"), (999_999_999, "1 G"),          # rounds up into the next unit
    (10**15, "1000 T"), (0, "0"),
])
def test_human_count(n, text):
    assert human_count(n) == text


@pytest.mark.parametrize("n, text", [
    (760, "760 B"), (12_288, "12 KiB"), (40_960, "40 KiB"), (3_040, "2.97 KiB"),
    (553_430_176, "528 MiB"), (2**20 - 1, "1 MiB"), (1_610_612_736, "1.5 GiB"), (2**40, "1 TiB"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_symbolic_figures_print_as_they_are():
    assert human_count("H*W") == "H*W" and human_bytes("4*H") == "4*H" and grouped("H") == "H"
    assert grouped(768_000) == "768,000"


@pytest.mark.parametrize("shape, sep, text", [
    ([27, 32, 32], "×", "27×32×32"), ([10], "×", "10"), ([32, 32, 10], "x", "32x32x10"),
    ([64, "H", "W"], "×", "64×H×W"),
    ([64, "floor((H - 1)/2) + 1", "W"], "×", "64×(floor((H - 1)/2) + 1)×W"),
    (["H - 2"], "×", "H - 2"),                        # one size needs no parentheses
])
def test_shape_text(shape, sep, text):
    assert shape_text(shape, sep=sep) == text


def test_totals_in_words():
    assert count_text(999) == "999" and count_text(138_357_544) == "138,357,544 (138.4 M)"
    assert count_text("9*H*W") == "9*H*W"
    assert bytes_text(553_430_176) == "528 MiB" and bytes_text("4*H*W") == "4*H*W bytes"
@pytest.mark.parametrize("text", ["1,5M", "1,5", "2,50G", "12,34", "1,5e3", "1,5K", "1,0000"])
def test_a_comma_that_may_be_a_decimal_comma_is_refused(text):
    # read as a thousands separator, `1,5M` was 15M: a 25M network passed a 1.5M bound
    with pytest.raises(ValueError) as info:
        parse_count(text)
    assert "ambiguous" in str(info.value) and "decimal comma" in str(info.value)


@pytest.mark.parametrize("text, value", [("1,500,000", 1_500_000), ("12,345", 12_345),
                                         ("1,234.5K", 1_234_500),
                                         ("1,048,576B", 2**20)])
def test_commas_between_groups_of_three_separate_thousands(text, value):
    parse = parse_bytes if text.endswith("B") else parse_count
    assert parse(text) == value


@pytest.mark.parametrize("text", ["9" * 41, "9" * 4301, "1" + "0" * 40 + "M", 10**40, 10**4300],
                         ids=["41-digits", "4301-digits", "suffix", "int", "huge-int"])
def test_numbers_longer_than_any_figure_are_refused_with_a_short_message(text):
    with pytest.raises(ValueError) as info:
        parse_count(text)
    message = str(info.value)
    assert "40 digits" in message and len(message) < 200
    assert parse_count("9" * 40) == 10**40 - 1


def test_counts_of_many_digits_are_read_exactly():
    # Decimal's default context keeps 28 digits: 29 nines once came out as 10^29
    assert parse_count("9" * 29) == 10**29 - 1
    assert parse_count("1" + "0" * 27 + "1T") == (10**28 + 1) * 10**12
