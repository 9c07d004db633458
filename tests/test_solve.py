"""`cnncalc solve`: the inverse question (input and output shape → kernel, stride, padding,
dilation).

- Against brute force: for random sizes and bounds, the solver's settings are exactly those
  that a loop over every (F, S, P, D) in the bounds finds with the forward formula, in the
  documented order, and its count is their number.
- Against the forward path: every answer, written as a one-layer spec and analysed by cnncalc
  (strict rounding), gives the output shape asked for.
- The command: AlexNet's first layer, the padding that keeps a size, pooling, pins, exit 1 with
  the nearest settings, JSON, and bounded work for huge sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.pipeline import analyze_loaded, load_text
from cnncalc.solve import (
    MAX_PAIRS,
    Bounds,
    Setting,
    SolveError,
    combined,
    count,
    nearest,
    output_size,
    solutions,
)
from conftest import ROOT, cli_env, run_cli


def brute_force(size: int, out: int, b: Bounds) -> list[Setting]:
    """Every setting in the bounds, tried one by one with the forward formula and the rules."""
    found = []
    for d in range(b.dilation[0], b.dilation[1] + 1):
        for f in range(b.kernel[0], b.kernel[1] + 1):
            window = d * (f - 1) + 1
            s_hi = window if b.stride[1] is None else b.stride[1]
            p_hi = window - 1 if b.padding[1] is None else b.padding[1]
            if b.pool:
                p_hi = min(p_hi, f // 2)
            for s in range(b.stride[0], s_hi + 1):
                for p in range(b.padding[0], p_hi + 1):
                    span = size + 2 * p - window
                    if span >= 0 and span % s == 0 and span // s + 1 == out:
                        found.append(Setting(f, s, p, d))
    return found


def bound(draw, low: int, high: int, *, optional: bool):
    """A (low, high) range; an optional high may be None (the default rule)."""
    lo = draw(st.integers(low, high))
    if optional and draw(st.booleans()):
        return lo, None
    return lo, draw(st.integers(lo, high + 4))


@st.composite
def questions(draw):
    size = draw(st.integers(1, 40))
    out = draw(st.integers(1, 40))
    b = Bounds(kernel=bound(draw, 1, 6, optional=False), stride=bound(draw, 1, 4, optional=True),
               padding=bound(draw, 0, 4, optional=True), dilation=bound(draw, 1, 2, optional=False),
               pool=draw(st.booleans()))
    return size, out, b


@settings(max_examples=300)
@given(questions())
def test_the_solver_finds_exactly_what_brute_force_finds_in_order(question):
    size, out, b = question
    expected = brute_force(size, out, b)
    got = list(solutions(size, out, b))
    def simplest_first(s):
        return (s.dilation, s.kernel, s.stride, s.padding)

    assert got == sorted(expected, key=simplest_first)
    assert count(size, out, b) == len(expected)


@settings(max_examples=100)
@given(questions())
def test_the_nearest_settings_miss_by_no_less_than_brute_force_says(question):
    size, out, b = question
    if brute_force(size, out, b):
        return
    everything = []
    for d in range(b.dilation[0], b.dilation[1] + 1):
        for f in range(b.kernel[0], b.kernel[1] + 1):
            window = d * (f - 1) + 1
            s_hi = window if b.stride[1] is None else b.stride[1]
            p_hi = min(window - 1 if b.padding[1] is None else b.padding[1], f // 2 if b.pool else 10**9)
            everything += [abs((size + 2 * p - window) / s + 1 - out)
                           for s in range(b.stride[0], s_hi + 1) for p in range(b.padding[0], p_hi + 1)
                           if size + 2 * p >= window]
    near = nearest(size, out, b)
    assert bool(near) == bool(everything)
    if near:
        assert float(abs(near[0][1] - out)) == pytest.approx(min(everything))


def forward_shape(size: list[int], channels: int, s: tuple[Setting, ...], pool: bool) -> list[int]:
    """The output shape cnncalc's own analysis gives the layer (strict rounding)."""
    args = {"kernel": [x.kernel for x in s], "stride": [x.stride for x in s],
            "padding": [x.padding for x in s]}
    if pool:
        kind = "maxpool"
        args["dilation"] = [x.dilation for x in s]
    else:
        kind = "conv"
        args.update(out=5, dilation=[x.dilation for x in s])
    spec = {"input": [channels, *size], "rounding": "strict", "layers": [{kind: args}]}
    return list(analyze_loaded(load_text(json.dumps(spec))).output_shape)


@settings(max_examples=60)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=2), st.data())
def test_every_answer_gives_the_output_through_the_forward_path(size, data):
    out = [data.draw(st.integers(1, 30)) for _ in size]
    pool = data.draw(st.booleans())
    b = Bounds(kernel=(1, 5), dilation=(1, 2), pool=pool)
    total, found, _ = combined(size, out, [b] * len(size))
    for setting in list(found)[:20]:
        shape = forward_shape(size, 3, setting, pool)
        assert shape[1:] == out
        assert shape[0] == (3 if pool else 5)


def test_huge_sizes_and_bounds_are_counted_without_a_search():
    start = time.perf_counter()
    # one output from a size of 10: every stride fits, 10^9 of them, counted not walked
    b = Bounds(kernel=(10, 10), stride=(1, 10**9), padding=(0, 10**9))
    assert count(10, 1, b) == 10**9
    b = Bounds(kernel=(1, 11), stride=(1, 2**31), padding=(0, 2**31))
    size = 2**31 - 1
    total = count(size, 7, b)
    first = list(islice(solutions(size, 7, b), 50))
    assert total > 10**8 and len(first) == 50
    assert all(output_size(size, s) == 7 for s in first)
    assert time.perf_counter() - start < 2
    with pytest.raises(SolveError, match="narrow"):
        count(100, 10, Bounds(kernel=(1, MAX_PAIRS + 1)))


# -- the command ---------------------------------------------------------------------------


def test_alexnets_first_layer():
    result = run_cli("solve", "227x227x3", "55x55x96")
    assert result.returncode == 0, result.stderr
    assert "1 convolution fits exactly" in result.stdout
    assert "kernel 11, stride 4, padding 0" in result.stdout
    assert "(227 − 11 + 2·0)/4 + 1 = 55" in result.stdout
    assert "params = (11·11·3 + 1)·96 = 34,944" in result.stdout


def test_the_padding_that_keeps_the_size():
    result = run_cli("solve", "64x64x3", "64x64x32", "--kernel", "7", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["count"] == 1
    (only,) = doc["solutions"]
    assert (only["kernel"], only["stride"], only["padding"]) == ([7, 7], [1, 1], [3, 3])


def test_pooling_keeps_channels_and_pytorchs_padding_rule():
    result = run_cli("solve", "55x55x96", "27x27x96", "--pool", "--json")
    doc = json.loads(result.stdout)
    assert result.returncode == 0
    assert doc["solutions"][0]["kernel"] == [3, 3] and doc["solutions"][0]["stride"] == [2, 2]
    assert all(s["padding"][0] <= s["kernel"][0] // 2 for s in doc["solutions"])
    assert "params" not in doc["solutions"][0]
    changed = run_cli("solve", "55x55x96", "27x27x64", "--pool")
    assert changed.returncode == 1
    assert "pooling keeps the channels, and 96 ≠ 64" in changed.stdout


def test_nothing_fits_exit_1_with_the_nearest():
    result = run_cli("solve", "32x32x3", "16x16x8", "--kernel", "3", "--stride", "2")
    assert result.returncode == 1
    assert "no convolution takes 32×32×3 to 16×16×8 exactly" in result.stdout
    assert "kernel 3, stride 2, padding 1 → 16.5, which PyTorch floors to 16" in result.stdout
    doc = json.loads(run_cli("solve", "32x32x3", "16x16x8", "--kernel", "3", "--stride", "2",
                             "--json").stdout)
    assert doc["count"] == 0 and doc["nearest"][0]["output"] in (15.5, 16.5)


def test_pins_per_axis_and_chw():
    result = run_cli("solve", "3x32x30", "8x16x15", "--layout", "chw", "--kernel", "4x2",
                     "--stride", "2", "--json")
    doc = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert [(s["kernel"], s["padding"]) for s in doc["solutions"]] == [([4, 2], [1, 0])]
    assert doc["solutions"][0]["params"] == (4 * 2 * 3 + 1) * 8


@pytest.mark.parametrize("args, message", [
    (("32x32x3", "16x8"), "keeps the number of axes"),
    (("32x32x3", "16x16x8", "--kernel", "3x3x3"), "--kernel 3x3x3 has 3 values for 2 spatial axes"),
    (("32x32x3", "16x16x8", "--max-kernel", "2000000"), "narrow --max-kernel"),
])
def test_bad_input_exits_2(args, message):
    result = run_cli("solve", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_solve_imports_no_torch_sympy_numpy():
    script = ("import sys\nfrom cnncalc.cli import main\nsys.argv = ['cnncalc', 'solve', "
              "'227x227x3', '55x55x96', '--max-dilation', '3']\ntry:\n    main()\n"
              "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules "
              "if m.split('.')[0] in ('torch', 'sympy', 'numpy')), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=120)
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert "kernel 11, stride 4, padding 0" in result.stdout
