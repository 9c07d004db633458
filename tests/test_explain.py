"""Learning mode: `explain`, `summary --explain`, the one-line questions and `expect` verdicts.

- Every kind (and composite, and a block's use) has an explanation rule.
- For random networks, every step of working is arithmetic that evaluates (exactly, with
  fractions) to the figure the analysis reports: the explanation can't show a wrong sum.
- Golden outputs of the lecture examples (tests/golden/*.txt). After a deliberate change of
  wording, regenerate them with `CNNCALC_REGEN_GOLDEN=1 python3 -m pytest tests/test_explain.py`
  and read the diff.
- VGG-16 as in the CS231n notes: every conv and pool row's shape and weights.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.errors import SpecError
from cnncalc.explain import context_of, explain_row, lines, render_text
from cnncalc.kinds import BLOCK, COMPOSITES, KINDS, Composite, LeafKind
from cnncalc.pipeline import analyze_loaded
from cnncalc.report import Options, build
from cnncalc.working import shape_text
from conftest import ROOT, run_cli
from netgen import load_dict, networks

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("CNNCALC_REGEN_GOLDEN") == "1"


def test_every_kind_and_composite_explains_itself():
    for kind in [*KINDS.values(), *COMPOSITES.values(), BLOCK]:
        base = LeafKind if kind.leaf else Composite
        assert type(kind).explain is not base.explain, f"{kind.name} has no explanation"


# -- the arithmetic shown is the arithmetic done ---------------------------------------------

_FUNCTIONS = {"floor": math.floor, "ceil": math.ceil, "max": max}


def evaluate(text: str) -> Fraction:
    """Exact value of a step's arithmetic: numbers, + − · /, ⌊ ⌋, ⌈ ⌉ and max(…) only."""
    expr = (text.replace("−", "-").replace("·", "*").replace("⌊", "floor(").replace("⌋", ")")
            .replace("⌈", "ceil(").replace("⌉", ")"))

    def value(node) -> Fraction:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = value(node.left), value(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.Div: lambda: a / b}
            return ops[type(node.op)]()
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCTIONS):
            return Fraction(_FUNCTIONS[node.func.id](*(value(a) for a in node.args)))
        raise AssertionError(f"unexpected {ast.dump(node)} in {text!r}")

    return value(ast.parse(expr, mode="eval"))


def check_working(spec: dict) -> int | None:
    """Every step of every row evaluates to its result, and every leaf with MACs shows its
    working; returns the number of steps checked (None: cnncalc rejects the network)."""
    try:
        analysis = analyze_loaded(load_dict(spec))
    except SpecError:
        return None     # the generator drew a network cnncalc rejects: nothing to explain
    context = context_of(analysis)
    checked = 0
    for row in analysis.rows:
        steps = explain_row(row, context)
        if row.node.leaf:
            assert steps, f"no explanation for {row.node.kind}"
        before = checked
        for step in steps:
            if step.arithmetic and isinstance(step.result, int):
                assert evaluate(step.arithmetic) == step.result, (row.node.kind, step.text())
                checked += 1
            if step.then and "→" not in step.then and step.label.startswith(("out", "values")):
                assert step.then == shape_text(row.output_shape, analysis.spec.layout)
        if row.node.leaf and row.macs:
            assert checked > before, f"{row.node.kind}: MACs without arithmetic to check"
        assert all("\n" not in line for line in lines(steps))
    report = build(analysis, "net", Options())
    render_text(analysis, report)     # the whole text renders
    return checked


# What the two properties below met, so that each can require that it checked something
# (a network of activations only has no arithmetic to show).
WORKING: dict[str, int] = {}


def checked_working(spec: dict) -> None:
    checked = check_working(spec)
    outcome = "rejected" if checked is None else "some steps" if checked else "no steps"
    WORKING[outcome] = WORKING.get(outcome, 0) + 1
    WORKING["steps"] = WORKING.get("steps", 0) + (checked or 0)


def assert_working_was_checked(share: float) -> None:
    """At least `share` of the examples (rejected ones included) had arithmetic to check."""
    examples = sum(n for key, n in WORKING.items() if key != "steps")
    assert examples and WORKING.get("some steps", 0) >= share * examples, WORKING


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(max_layers=6))
def _every_step_of_random_networks(spec):
    checked_working(spec)


def test_every_step_of_working_evaluates_to_the_reported_figure():
    WORKING.clear()
    _every_step_of_random_networks()
    assert_working_was_checked(0.5)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(ranks=(2,), kinds=("conv", "maxpool", "avgpool", "zeropad", "relu"),
                composites=False, blocks=False), st.sampled_from(["strict", "floor"]),
       st.sampled_from(["chw", "hwc"]))
def _working_of_sliding_windows(spec, rounding, layout):
    spec = dict(spec, rounding=rounding)
    if layout == "hwc":
        spec["input"] = [*spec["input"][1:], spec["input"][0]]
        spec["layout"] = "hwc"
    checked_working(spec)


def test_working_of_sliding_windows_in_both_layouts_and_roundings():
    WORKING.clear()
    _working_of_sliding_windows()
    assert_working_was_checked(0.5)


def test_evaluator_rejects_what_it_does_not_know():
    assert evaluate("(32 − 5 + 2·2)/1 + 1") == 32
    assert evaluate("⌊(7 − 3 + 2·0)/3⌋ + 1") == 2
    assert evaluate("max((112 − 1)·2 + 5 − 224, 0)") == 3
    with pytest.raises(AssertionError):
        evaluate("__import__('os')")


# -- golden outputs of the lecture examples --------------------------------------------------

GOLDEN_CASES = {
    "conv_32x32x3": ["conv", "32x32x3", "--filters", "10", "--kernel", "5", "--stride", "1",
                     "--padding", "2"],
    "pool_55x55x96": ["pool", "55x55x96", "--kernel", "3", "--stride", "2"],
    "conv_7x7_stride1": ["conv", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "1"],
    "conv_7x7_stride2": ["conv", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "2"],
    "conv_7x7_stride3": ["conv", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "3"],
    "conv_dilated_grouped_chw": ["conv", "96x27x27", "--layout", "chw", "--filters", "256",
                                 "--kernel", "5", "--padding", "4", "--dilation", "2",
                                 "--groups", "2"],
    "conv_3x5_kernel": ["conv", "32x32x3", "--filters", "10", "--kernel", "3x5", "--padding", "1"],
    "vgg16_cs231n": ["explain", "tests/golden/vgg16_cs231n.yaml"],
    "wrong_expectation": ["explain", "tests/golden/wrong_expectation.yaml"],
}


def transcript(args: list[str]) -> str:
    result = run_cli(*args)
    return (f"$ cnncalc {' '.join(args)}\n{result.stdout}"
            + (f"--- standard error\n{result.stderr}" if result.stderr else "")
            + f"--- exit status {result.returncode}\n")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name):
    path = GOLDEN / f"{name}.txt"
    actual = transcript(GOLDEN_CASES[name])
    if REGEN:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden output: run with CNNCALC_REGEN_GOLDEN=1 to create {path}"
    assert actual == path.read_text(encoding="utf-8")


def test_golden_lecture_figures():
    """What the goldens must say, independently of their exact wording."""
    text = {name: (GOLDEN / f"{name}.txt").read_text(encoding="utf-8") for name in GOLDEN_CASES}
    conv = text["conv_32x32x3"]
    assert "out = (W − F + 2P)/S + 1 = (32 − 5 + 2·2)/1 + 1 = 32  →  32×32×10" in conv
    assert "params = (F·F·C + 1)·K = (5·5·3 + 1)·10 = 760" in conv
    assert "32·32·10 · (5·5·3) = 768,000" in conv
    assert "(55 − 3 + 2·0)/2 + 1 = 27  →  27×27×96" in text["pool_55x55x96"]
    assert "= 5  →  5×5×1" in text["conv_7x7_stride1"]
    assert "= 3  →  3×3×1" in text["conv_7x7_stride2"]
    rejected = text["conv_7x7_stride3"]
    assert "(7 − 3 + 2·0)/3 + 1 = 2.33" in rejected and "exit status 2" in rejected
    assert "floor 2.33 to 2" in rejected and "2 (→ 3)" in rejected
    assert "padding 1 (→ 3)" in rejected and "--rounding floor" in rejected
    dilated = text["conv_dilated_grouped_chw"]
    assert "F_eff = D·(F − 1) + 1 = 2·(5 − 1) + 1 = 9" in dilated
    assert "C/G = 96/2 = 48" in dilated
    wrong = text["wrong_expectation"]
    assert "✗" in wrong and "exit status 1" in wrong


# -- the input size in a formula is written with its axis's letter ----------------------------

AXIS_LETTER_SPECS = {
    "1-D": {"input": [2, 30], "layers": [
        {"conv": {"out": 4, "kernel": 7, "padding": 3}}, {"maxpool": {"kernel": 3, "ceil_mode": True}},
        {"conv_transpose": {"out": 2, "kernel": 3, "stride": 2}}, {"zeropad": {"padding": 1}},
        {"upsample": {"scale": 2}}, {"conv": {"out": 2, "kernel": 3, "padding": "same"}},
        {"adaptive_avgpool": {"output": 7}}]},
    "2-D": {"input": [3, 32, 24], "rounding": "floor", "layers": [
        {"conv": {"out": 8, "kernel": [3, 5], "padding": 1}},
        {"conv": {"out": 8, "kernel": 3, "stride": 2, "padding": "same", "dilation": [1, 2]}},
        {"maxpool": {"kernel": [2, 3], "stride": 3}}, {"zeropad": {"padding": [1, 2]}},
        {"upsample": {"scale": 2}}, {"conv_transpose": {"out": 4, "kernel": [2, 3], "stride": 2}},
        {"adaptive_avgpool": {"output": [3, 4]}}]},
    "3-D": {"input": [2, 8, 10, 12], "layers": [
        {"conv": {"out": 4, "kernel": 3, "padding": 1, "dilation": [2, 1, 1]}},
        {"conv_transpose": {"out": 4, "kernel": [3, 2, 2], "stride": 2, "dilation": [2, 1, 1]}},
        {"zeropad": {"padding": [1, 2, 3]}}, {"avgpool": {"kernel": [1, 2, 2]}}]},
}


@pytest.mark.parametrize("name", sorted(AXIS_LETTER_SPECS))
def test_formulas_write_each_axis_size_with_its_letter(name):
    """CS231n's W2 = (W1 − F + 2P)/S + 1 and H2 = (H1 − F + 2P)/S + 1: `out H = (H − F …`,
    `out D = (D − F …`, `out = (L − F …` in 1-D; W alone stands for every axis of a square
    input. In 3-D, where D is the depth, the dilation is spelt out."""
    analysis = analyze_loaded(load_dict(AXIS_LETTER_SPECS[name]))
    axes = {"1-D": ("L",), "2-D": ("H", "W"), "3-D": ("D", "H", "W")}[name]
    context = context_of(analysis)
    seen = set()
    for row in analysis.rows:
        for step in explain_row(row, context):
            words = step.label.split()
            if words[0] not in ("out", "padding", "window") or not step.general:
                continue
            axis = words[1] if len(words) > 1 and words[1] in axes else (
                axes[0] if len(axes) == 1 else "W")
            letters = [t for t in re.findall(r"[A-Za-z_]+", step.general) if t in axes + ("W",)]
            # same's `padding = F − 1` (stride 1) has no size in it
            assert letters == [axis] or (words[0] == "padding" and not letters), (
                row.node.kind, step.text())
            seen.add((row.node.kind, axis))
    kinds = {kind for kind, _ in seen}
    assert {"conv", "conv_transpose", "zeropad"} <= kinds
    assert {axis for _, axis in seen} == set(axes)


def test_per_axis_working_as_cs231n_writes_it():
    text = {}
    for name, spec in AXIS_LETTER_SPECS.items():
        analysis = analyze_loaded(load_dict(spec))
        text[name] = render_text(analysis, build(analysis, "net", Options()))
    assert "out = (L − F + 2P)/S + 1 = (30 − 7 + 2·3)/1 + 1 = 30" in text["1-D"]
    assert "out H = (H − F + 2P)/S + 1 = (32 − 3 + 2·1)/1 + 1 = 32" in text["2-D"]
    assert "out W = (W − F + 2P)/S + 1 = (24 − 5 + 2·1)/1 + 1 = 22" in text["2-D"]
    assert "padding W = max((out − 1)·S + F_eff − W, 0) = max((11 − 1)·2 + 5 − 22, 0) = 3" in text["2-D"]
    assert "out D = (D − F_eff + 2P)/S + 1 = (8 − 5 + 2·1)/1 + 1 = 6" in text["3-D"]
    assert ("out H = (H − 1)·S − 2P + dilation·(F − 1) + output_padding + 1 = "
            "(10 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 20") in text["3-D"]
    assert "F_eff D = dilation·(F − 1) + 1 = 2·(3 − 1) + 1 = 5" in text["3-D"]


def test_symbolic_sizes_keep_their_axis_letter():
    spec = "input: [3, H, W]\nlayers:\n  - conv: {out: 8, kernel: [3, 5], padding: 1}\n"
    result = run_cli("explain", "-", input=spec)
    assert result.returncode == 0, result.stderr
    assert "out H = (H − F + 2P)/S + 1 = (H − 3 + 2·1)/1 + 1 = H" in result.stdout
    assert "out W = (W − F + 2P)/S + 1 = (W − 5 + 2·1)/1 + 1 = W − 2" in result.stdout


# -- VGG-16 as in the CS231n notes -------------------------------------------------------------

# CS231n "Convolutional Neural Networks", the VGGNet case study: output shape and weights
# (without biases) of every CONV, POOL and FC row.
CS231N_VGG16 = [
    ([224, 224, 64], 1_728), ([224, 224, 64], 36_864), ([112, 112, 64], 0),
    ([112, 112, 128], 73_728), ([112, 112, 128], 147_456), ([56, 56, 128], 0),
    ([56, 56, 256], 294_912), ([56, 56, 256], 589_824), ([56, 56, 256], 589_824),
    ([28, 28, 256], 0),
    ([28, 28, 512], 1_179_648), ([28, 28, 512], 2_359_296), ([28, 28, 512], 2_359_296),
    ([14, 14, 512], 0),
    ([14, 14, 512], 2_359_296), ([14, 14, 512], 2_359_296), ([14, 14, 512], 2_359_296),
    ([7, 7, 512], 0),
    ([4096], 102_760_448), ([4096], 16_777_216), ([1000], 4_096_000),
]


def test_vgg16_matches_the_cs231n_table():
    result = run_cli("summary", "tests/golden/vgg16_cs231n.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = [layer for layer in report["layers"]
            if layer["kind"] in ("conv", "maxpool", "linear")]
    assert len(rows) == len(CS231N_VGG16)
    for layer, (shape, weights) in zip(rows, CS231N_VGG16):
        assert layer["output_shape"] == shape
        biases = layer["args"]["out"] if layer["kind"] != "maxpool" else 0
        assert layer["params"] - biases == weights, layer["path"]
    assert report["totals"]["params"] == 138_357_544          # "138M parameters"
    # the memory column (224*224*64 = 3.2M values), in float32 bytes
    for layer, (shape, _) in zip(rows, CS231N_VGG16):
        assert layer["activation_bytes"] == 4 * math.prod(shape)


# -- expectations: summary, explain and check all give the verdict ------------------------------

WRONG = """\
input: [32, 32, 3]
layout: hwc
layers:
  - conv: {out: 10, kernel: 5, padding: 2, expect: {shape: [32, 32, 10], params: 750}}
expect: {output: [32, 32, 10], macs: 768000}
"""


@pytest.mark.parametrize("command", [["summary", "-"], ["explain", "-"],
                                     ["summary", "-", "--explain"]])
def test_a_wrong_expectation_fails_with_expected_and_actual(command):
    result = run_cli(*command, input=WRONG)
    assert result.returncode == 1, result.stderr
    line = next(text for text in result.stdout.splitlines() if "params" in text and "750" in text)
    assert "760" in line and "✗" in line
    assert any("768,000" in text and "✓" in text for text in result.stdout.splitlines())


def test_check_fails_on_a_wrong_expectation():
    result = run_cli("check", "-", input=WRONG)
    assert result.returncode == 1
    assert "750" in result.stdout + result.stderr and "760" in result.stdout + result.stderr


def test_right_expectations_pass():
    right = WRONG.replace("params: 750", "params: 760")
    for command in (["summary", "-"], ["explain", "-"]):
        result = run_cli(*command, input=right)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "✗" not in result.stdout


# -- one-line questions reuse the spec path --------------------------------------------------

def test_one_liner_equals_the_same_spec_through_summary():
    one = run_cli("conv", "3x32x32", "--layout", "chw", "--filters", "10", "--kernel", "5",
                  "--padding", "2", "--stride", "1", "--json")
    assert one.returncode == 0, one.stderr
    spec = "input: [3, 32, 32]\nlayers:\n  - conv: {out: 10, kernel: 5, padding: 2}\n"
    two = run_cli("summary", "-", "--format", "json", "--explain", input=spec)
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a["layers"] == b["layers"] and a["totals"] == b["totals"]
    assert a["layers"][0]["explanation"][1].startswith("out = (W − F + 2P)/S + 1 = (32 − 5")


def test_one_liner_pool_types_and_layouts_agree():
    hwc = json.loads(run_cli("pool", "55x55x96", "--kernel", "3", "--stride", "2", "--type",
                             "avg", "--json").stdout)
    chw = json.loads(run_cli("pool", "96x55x55", "--layout", "chw", "--kernel", "3", "--stride",
                             "2", "--type", "avg", "--json").stdout)
    assert hwc["output_shape"] == [27, 27, 96] and chw["output_shape"] == [96, 27, 27]
    assert hwc["layers"][0]["kind"] == "avgpool"


@pytest.mark.parametrize("text", ["3x8x8", "3×8×8", "3*8*8", "3X8X8", " 3, 8 ,8 ", "003x8x8"])
def test_summary_conv_and_pool_read_sizes_alike(text):
    """One parser for `summary --input`, the one-liners' SHAPE and their per-axis options."""
    from cnncalc.commands.conv import Layout, input_shape, per_axis_value
    from cnncalc.override import parse_input

    assert parse_input(text) == input_shape(text, Layout.chw) == per_axis_value(text, "kernel")
    assert parse_input(text) == [3, 8, 8]


@pytest.mark.parametrize("text", ["3x2147483648x8", "²x8x8",
                                  pytest.param("9" * 5000 + "x8x8", id="5000 digits"), "3x0x8",
                                  "3xx8", "3x-8x8"])
def test_summary_conv_and_pool_refuse_the_same_sizes(text):
    from cnncalc.commands.conv import Layout, input_shape, per_axis_value
    from cnncalc.override import parse_input

    for parse in (parse_input, lambda t: input_shape(t, Layout.hwc),
                  lambda t: per_axis_value(t, "kernel")):
        with pytest.raises(SpecError, match="positive whole numbers up to 2,147,483,647"):
            parse(text)


@pytest.mark.parametrize("args, words", [
    (["conv", "32", "--filters", "1", "--kernel", "3"], "channels"),
    (["conv", "32x32x3x", "--filters", "1", "--kernel", "3"], "32x32x3"),
    (["conv", "32x32x3", "--filters", "1", "--kernel", "0"], "positive whole numbers"),
    (["conv", "32x32x3", "--filters", "4", "--kernel", "3", "--groups", "2"], "groups"),
    (["pool", "8x8x1", "--kernel", "2", "--type", "avg", "--dilation", "2"], "no dilation"),
    (["pool", "7x7x1", "--kernel", "2"], "(7 − 2 + 2·0)/2 + 1 = 3.5"),
    (["pool", "7x7x1", "--kernel", "2"], "pass `--ceil-mode`"),
    (["conv", "7x7x1", "--filters", "1", "--kernel", "9"], "larger than the padded input"),
    (["conv", "²x32x3", "--filters", "1", "--kernel", "3"], "isn't a size"),
    (["pool", "3000000000x8x1", "--kernel", "2"], "up to 2,147,483,647"),
])
def test_one_liner_errors_exit_2_in_plain_words(args, words):
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout
    assert words in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cnncalc {args[0]}") or "Usage" in result.stderr


def test_conv_padding_hint_names_same_and_valid_and_pool_does_not():
    """conv's --padding takes `same` and `valid` and its hint says so; pool's takes neither."""
    conv = run_cli("conv", "32x32x3", "--filters", "1", "--kernel", "3", "--padding", "half")
    assert conv.returncode == 2 and "Traceback" not in conv.stderr, conv.stderr
    assert "  hint: write it like 2, or 3x5 for one value per axis, or same or valid" in conv.stderr
    for word in ("same", "valid"):    # what the hint offers is accepted
        assert run_cli("conv", "32x32x3", "--filters", "1", "--kernel", "3",
                       "--padding", word).returncode == 0
    pool = run_cli("pool", "32x32x3", "--kernel", "2", "--padding", "same")
    assert pool.returncode == 2 and "Traceback" not in pool.stderr, pool.stderr
    assert "  hint: write it like 2, or 3x5 for one value per axis\n" in pool.stderr
    assert "valid" not in pool.stderr


@pytest.mark.parametrize("args", [["explain", "cs231n_conv"], ["summary", "vgg16", "--explain"],
                                  ["conv", "32x32x3", "--filters", "10", "--kernel", "5"],
                                  ["pool", "55x55x96", "--kernel", "3", "--stride", "2"]])
def test_learning_mode_stays_on_the_static_path(args):
    """No torch, sympy or numpy for numeric input (the static path's promise)."""
    import subprocess
    import sys

    from conftest import cli_env

    code = ("import sys\nfrom cnncalc.cli import main\nsys.argv = ['cnncalc', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
            "heavy = sorted({'torch', 'sympy', 'numpy'} & set(sys.modules))\n"
            "print('HEAVY', heavy, status, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=120)
    assert "HEAVY [] 0" in result.stderr, result.stderr[-2000:]


@settings(deadline=None, max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(networks(ranks=(1, 2), max_layers=4, rounding="floor"))
def test_working_renders_for_symbolic_sizes(spec):
    """With names for the spatial sizes (`[3, H, W]`) the working is shown in symbols, and
    substituting the sizes gives the numeric working's figures."""
    from netgen import symbolic_input

    symbolic, values = symbolic_input(spec)
    try:
        numeric = analyze_loaded(load_dict(spec))
        analysis = analyze_loaded(load_dict(symbolic))
    except SpecError:
        return
    render_text(analysis, build(analysis, "net", Options()))
    context, numeric_context = context_of(analysis), context_of(numeric)
    for row, plain in zip(analysis.rows, numeric.rows):
        # the k-th step labelled `jump` in one is the k-th in the other (labels name axes only
        # where sizes differ, so a square numeric input may have fewer steps)
        figures: dict[str, list] = {}
        for step in explain_row(plain, numeric_context):
            if step.result is not None:
                figures.setdefault(step.label, []).append(step.result)
        seen: dict[str, int] = {}
        for step in explain_row(row, context):
            if step.result is None:
                continue
            k = seen[step.label] = seen.get(step.label, -1) + 1
            if k >= len(figures.get(step.label, [])):
                continue
            value = step.result
            if hasattr(value, "free_symbols"):
                value = value.subs({s: values[s.name] for s in value.free_symbols})
            assert value == figures[step.label][k], (row.node.kind, step.text())


# -- one wording, rendered from data -----------------------------------------------------------

@pytest.mark.parametrize("args", [["conv", "7x7x1", "--filters", "1", "--kernel", "3", "--stride", "3"],
                                  ["pool", "9x8x3", "--kernel", "2"]])
def test_one_liner_hints_name_options_never_spec_keys(args):
    """The one-line commands have no spec file: their hints say `--rounding floor` and
    `--ceil-mode`, never the spec file's `rounding: floor` / `ceil_mode: true`."""
    result = run_cli(*args)
    assert result.returncode == 2
    hints = [line for line in result.stderr.splitlines() if line.startswith("  hint:")]
    assert "  hint: or pass `--rounding floor` to accept PyTorch's flooring" in hints
    if args[0] == "pool":
        assert "  hint: or pass `--ceil-mode` to round 4.5 up to 5, as PyTorch's ceil_mode does" in hints
    for hint in hints:
        assert "rounding: floor" not in hint and "ceil_mode: true" not in hint and "on the layer" not in hint


def test_command_line_hints_are_rendered_from_the_setting_not_rewritten_text():
    """A setting hint worded differently in a spec (another scope, another purpose) still comes
    out as the option on the command line: nothing depends on matching the spec wording."""
    from cnncalc.commands.conv import command_line_errors
    from cnncalc.errors import Setting

    hints = [Setting("rounding", ("floor",), scope="the block's use", purpose="to floor it"),
             Setting("ceil_mode", (True,), purpose="to round up"),
             Setting("stride", (1, 2), (5, 3)), "a plain hint"]
    assert hints[:2] == ["or write `rounding: floor` on the block's use to floor it",
                         "or write `ceil_mode: true` on the layer to round up"]
    with pytest.raises(SpecError) as info, command_line_errors("conv"):
        raise SpecError("layer 0 (conv): bad", hints=hints)
    assert info.value.hints == ["or pass `--rounding floor` to floor it", "or pass `--ceil-mode` to round up",
                                "stride 1 (→ 5) or 2 (→ 3) would fit", "a plain hint"]


def test_strict_error_explanation_and_validate_word_the_unseen_input_alike():
    """`(W − F + 2P)/S + 1 = 2.33 … the last row and column of the input would never be seen`
    comes from one helper: the strict error, the floor layer's working and validate's note (its
    `unseen_text('was')`) differ only in tense, and each says whether only padding is skipped."""
    from cnncalc.dims import StrictRoundingError, unseen_text
    from cnncalc.pipeline import load_text

    for shape, conv, words, verb in (
            ([1, 7, 7], {}, "the last row and column of the input", "are"),
            ([1, 9, 7], {}, "the last column of the input", "is"),
            ([1, 9, 8], {}, "the last 2 columns of the input", "are"),
            # 32 + 2 − 3 = 31 leaves 1 out: the padding after the input, no input
            ([1, 32, 32], {"stride": 2, "padding": 1},
             "only the last row and column of zero padding", "are"),
            ([1, 33, 32], {"stride": 2, "padding": 1},
             "only the last column of zero padding", "is"),
            ([1, 11, 11], {"stride": 4, "padding": 1},
             "the last row and column of the input (and the row and column of padding after "
             "them)", "are")):
        layer = {"out": 1, "kernel": 3, "stride": 3} | conv
        spec = json.dumps({"input": shape, "layers": [{"conv": layer}]})
        with pytest.raises(StrictRoundingError) as info:
            analyze_loaded(load_text(spec, "s.yaml"))
        error = info.value
        assert f"{words} would never be seen" in "\n".join(error.notes)
        assert error.unseen_text() in "\n".join(error.notes)
        assert error.unseen_text("was").startswith(words) and "never seen" in error.unseen_text("was")
        floor = json.loads(spec) | {"rounding": "floor"}
        analysis = analyze_loaded(load_text(json.dumps(floor), "s.yaml"))
        text = "\n".join(lines(explain_row(analysis.rows[-1], context_of(analysis))))
        assert f"{words} {verb} never seen" in text, text
    assert unseen_text(2, ("H", "W"), "is") == "the last 2 rows and columns of the input are never seen"
    assert unseen_text(1, ("L",), "was") == "the last position of the input was never seen"
    assert (unseen_text(1, ("L",), "was", after=1)
            == "only the last position of zero padding was never seen (no input is lost)")


def test_conv_transpose_geometry_is_shared_by_the_shape_and_its_working():
    from cnncalc.kinds import conv_transpose_geometry

    spec = {"input": [2, 5, 6], "layers": [{"conv_transpose": {
        "out": 4, "kernel": [3, 2], "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2],
        "dilation": [1, 2]}}]}
    analysis = analyze_loaded(load_dict(spec))
    row = analysis.rows[-1]
    assert conv_transpose_geometry(row.node.args, row.input_shape) == (
        (3, 2), (2, 3), (1, 0), (1, 2), (1, 2))
    assert row.output_shape == (4, (5 - 1) * 2 - 2 + 2 + 1 + 1, (6 - 1) * 3 + 2 * 1 + 2 + 1)
    text = "\n".join(lines(explain_row(row, context_of(analysis))))
    assert "(5 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1" in text and "(6 − 1)·3 − 2·0 + 2·(2 − 1) + 2 + 1" in text


@pytest.mark.parametrize("command", [["conv", "--filters", "10", "--kernel", "5"],
                                     ["pool", "--kernel", "2"]])
def test_a_two_size_shape_is_said_to_be_read_as_1d(command):
    """`cnncalc conv 32x32` is a 1-D input (length 32, 32 channels): a note on standard error
    says so and how to write the 32×32 grey image meant; three sizes get no note."""
    name, options = command[0], command[1:]
    one_d = run_cli(name, "32x32", *options)
    assert one_d.returncode == 0, one_d.stderr
    assert ("note: read as L×C: a 1-D input of length 32 with 32 channels; "
            "for a 32×32 image write 32x32x1") in one_d.stderr
    chw = run_cli(name, "3x32", "--layout", "chw", *options)
    assert "read as C×L: a 1-D input of length 32 with 3 channels" in chw.stderr
    assert "write 1x3x32" in chw.stderr
    image = run_cli(name, "32x32x1", *options)
    assert image.returncode == 0 and image.stderr == ""
    assert "note:" not in image.stdout + image.stderr


@pytest.mark.parametrize("spec, axis, values", [
    ("input: [5, 4, 6]\nlayers: [linear: 7]\n", "W", 6),
    ("input: [4, 6, 5]\nlayout: hwc\nlayers: [linear: 7]\n", "W", 6),
    ("input: [5, 6]\nlayers: [linear: 7]\n", "L", 6),
    ("input: [6, 5]\nlayout: hwc\nlayers: [linear: 7]\n", "L", 6)])
def test_linear_names_the_axis_it_acts_on(spec, axis, values):
    """PyTorch's Linear acts on the channels-first last dimension (W, or L in 1-D): in `hwc`,
    where the channels are shown last, "the last dimension" would name the wrong one."""
    from cnncalc.pipeline import load_text

    analysis = analyze_loaded(load_text(spec, "s.yaml"))
    text = "\n".join(lines(explain_row(analysis.rows[-1], context_of(analysis))))
    assert f"acts on {axis}" in text and f"({values} values)" in text, text
    if "hwc" in spec:
        assert "not on the channels" in text and "last dimension" not in text, text


def test_explain_says_what_when_left_out():
    """Each entry a `when` left out is named under its list (a block's use, or the network's
    heading for top-level entries), with the expression as written; its place is kept."""
    text = ("input: [4, 6, 6]\nblocks:\n  b:\n    params: {t: 1}\n    layers:\n"
            "      - conv: {out: 8, kernel: 1, when: \"${t != 1}\"}\n      - relu\n"
            "layers:\n  - b\n  - b: {t: 2}\n  - sigmoid: {when: 0}\n")
    result = run_cli("explain", "-", input=text)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "entry 2 (sigmoid): when: 0: left out"
    use = lines.index("0 b: 4×6×6 → 4×6×6")
    assert lines[use + 2] == '    entry 0 (conv): when: "${t != 1}" is 0: left out'
    assert lines[use + 3].startswith("  1 relu")
    second = lines.index("1 b: 4×6×6 → 8×6×6")
    assert "left out" not in "\n".join(lines[second:])
