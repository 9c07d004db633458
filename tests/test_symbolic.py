"""Symbolic sizes: substituting integers into the symbolic analysis gives exactly the numeric
analysis, and the constraints hold exactly where the numeric analysis accepts."""

import json
import subprocess
import sys

import pytest
import sympy
from hypothesis import currently_in_test_context, event, given, note
from hypothesis import strategies as st

from cnncalc.errors import SpecError
from cnncalc.pipeline import analyze_loaded, load_text
from cnncalc.symbolic import Cond, symbol
from conftest import ROOT, cli_env, run_cli
from netgen import load_dict, networks, symbolic_input, to_yaml

FIGURES = ("params", "buffers", "macs", "activations")


def holds(cond: Cond, values: dict) -> bool:
    """A condition at integer sizes, evaluated by sympy (the solver's own evaluator is tested
    against brute force in test_inputs.py)."""
    if cond.op == "and":
        return all(holds(p, values) for p in cond.parts)
    if cond.op == "or":
        return any(holds(p, values) for p in cond.parts)
    value = cond.expr.xreplace(values)
    assert value.is_number, value
    return {"ge": value >= 0, "eq": value == 0, "int": bool(value.is_integer)}[cond.op]


def at(value, values: dict):
    return value if isinstance(value, int) else value.xreplace(values)


def numeric(spec: dict, sizes: dict):
    """The numeric analysis at these sizes, or None where it rejects the input."""
    concrete = dict(spec, input=[spec["input"][0], *sizes.values()])
    try:
        return analyze_loaded(load_dict(concrete))
    except SpecError:
        return None


def check_against_numeric(spec: dict, sizes: dict) -> str:
    """The symbolic analysis of `spec` (names for its spatial sizes) agrees with the numeric one
    at `sizes`; returns what happened, for hypothesis' statistics."""
    symbolic_spec, _ = symbolic_input(spec)
    try:
        analysis = analyze_loaded(load_dict(symbolic_spec))
    except SpecError as exc:
        # The symbolic path refuses what it can't express (a size-dependent projection stride,
        # sizes too complex to follow, channels that are a formula after a flatten: a slice, a
        # block reading `$in_channels`); any other error doesn't depend on the sizes (they are
        # constraints), so the numeric analysis gives it too.
        if any(refusal in exc.message for refusal in (
                "projection's stride", "grow too complex", "needs a known number of channels",
                "reads `$in_channels`, but its input's channels")):
            return "refused"
        assert numeric(symbolic_spec, sizes) is None, exc.message
        return "both reject"
    values = {symbol(n): sympy.Integer(v) for n, v in sizes.items()}
    num = numeric(symbolic_spec, sizes)
    conditions = [c for c in analysis.constraints if c.kind != "assumption"]
    accepted = all(holds(c.cond, values) for c in conditions)
    if currently_in_test_context():
        note(f"sizes {sizes}; constraints {[c.describe() for c in analysis.constraints]}")
    assert accepted == (num is not None), [c.describe() for c in conditions
                                            if not holds(c.cond, values)]
    if num is None:
        return "rejected"
    assumptions = [c for c in analysis.constraints if c.kind == "assumption"]
    if any(holds(c.cond, values) for c in assumptions):
        return "auto identity"   # the figures say where they don't apply
    assert len(analysis.rows) == len(num.rows)
    for srow, nrow in zip(analysis.rows, num.rows):
        assert srow.node.path == nrow.node.path
        assert tuple(at(d, values) for d in srow.output_shape) == nrow.output_shape, srow.node.path
        for figure in FIGURES:
            assert at(getattr(srow, figure), values) == getattr(nrow, figure), (srow.node.path, figure)
        if srow.field is not None:      # kept symbolically: the same field at these sizes
            for part in ("size", "jump", "start"):
                assert tuple(at(v, values) for v in getattr(srow.field, part)) == \
                    getattr(nrow.field, part), (srow.node.path, part)
    return "accepted"


@st.composite
def sizes_for(draw, spec):
    """The sizes the network was drawn for, or others near them."""
    _, drawn = symbolic_input(spec)
    if draw(st.booleans()):
        return drawn
    return {n: draw(st.integers(1, 2 * v + 8)) for n, v in drawn.items()}


SLIDING = ("conv", "maxpool", "avgpool", "conv_transpose", "upsample", "zeropad", "relu")


@given(st.data(), st.sampled_from(["floor", "strict"]), st.sampled_from([None, SLIDING]))
def test_substituting_sizes_gives_the_numeric_analysis(data, rounding, kinds):
    spec = data.draw(networks(ranks=(1, 2, 3), max_layers=5, rounding=rounding, kinds=kinds))
    sizes = data.draw(sizes_for(spec))
    event(check_against_numeric(spec, sizes))


# ---------------------------------------------------------------------------------------------
# Examples

def analyze_yaml(text: str):
    return analyze_loaded(load_text(text, "net.yaml"))


def test_strict_conv_gives_an_exact_quotient_and_its_conditions():
    analysis = analyze_yaml("input: [3, H, W]\nlayers:\n  - conv: {out: 8, kernel: 7, stride: 3}\n")
    H = symbol("H")
    assert analysis.output_shape[1] == (H - 4) / 3
    texts = [c.text for c in analysis.constraints if "H" in c.text]
    assert texts[0].startswith("H ≥ 7")
    assert texts[1].startswith("H - 7 is a multiple of 3")
    assert analysis.constraints[0].where == "layer 0 (conv)"


def test_floor_sizes_fold_into_one_floor_and_print_as_the_lecture_writes():
    analysis = analyze_yaml("input: [3, H, W]\nrounding: floor\nlayers:\n"
                            "  - conv: {out: 64, kernel: 7, stride: 2, padding: 3}\n"
                            "  - maxpool: {kernel: 3, stride: 2, padding: 1}\n")
    H = symbol("H")
    assert analysis.rows[0].output_shape[1] == sympy.floor((H - 1) / 2) + 1
    assert analysis.output_shape[1] == sympy.floor((H - 1) / 4) + 1
    assert analysis.constraints == []      # every positive size fits
    report = json.loads(run_cli("summary", "-", "--format", "json",
                                input="input: [3, H, W]\nrounding: floor\nlayers:\n"
                                      "  - conv: {out: 4, kernel: 3, stride: 2}\n").stdout)
    assert report["output_shape"] == [4, "floor((H - 3)/2) + 1", "floor((W - 3)/2) + 1"]
    assert report["constraints"][0] == {"where": "layer 0 (conv)", "kind": "at_least",
                                        "text": "H ≥ 3 (the 3-wide filter fits along H)",
                                        "implied": False}
    assert report["accepted"]["H"]["text"] == "H ≥ 3"


def test_concat_of_branches_that_agree_at_some_sizes_records_the_equality():
    analysis = analyze_yaml("input: [3, H]\nrounding: floor\nlayers:\n"
                            "  - concat: [[], [{maxpool: 2}, {upsample: 2}]]\n")
    (equal,) = [c for c in analysis.constraints if c.kind == "equal"]
    assert equal.where == "layer 0 (concat)"
    assert equal.text == "2*floor(H/2) = H (concat: branch 1 agrees along L)"
    values = {symbol("H"): sympy.Integer(6)}
    assert holds(equal.cond, values) and not holds(equal.cond, {symbol("H"): sympy.Integer(7)})


def test_summary_with_symbolic_input_option_on_resnet50_substitutes_to_the_published_numbers():
    result = run_cli("summary", "resnet50", "--input", "3xHxW", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input_shape"] == [3, "H", "W"]
    assert report["constraints"] == []
    macs = sympy.sympify(report["totals"]["macs"], locals={"H": symbol("H"), "W": symbol("W")})
    # torchvision: ResNet-50 at 224×224 has 4.09 GMACs ("GFLOPS" 4.09); exactly as the numeric
    numeric = json.loads(run_cli("summary", "resnet50", "--format", "json").stdout)
    assert macs.xreplace({symbol("H"): 224, symbol("W"): 224}) == numeric["totals"]["macs"]
    assert round(numeric["totals"]["macs"] / 1e9, 2) == 4.09
    assert report["totals"]["params"] == numeric["totals"]["params"] == 25_557_032


def test_summary_table_lists_the_constraints_in_plain_words():
    result = run_cli("summary", "-", "--input", "3xHxW", input="input: [3, 32, 32]\nlayers:\n"
                     "  - conv: {out: 8, kernel: 7, stride: 3}\n")
    assert result.returncode == 0, result.stderr
    assert "8×((H - 4)/3)×((W - 4)/3)" in result.stdout
    assert "Sizes are positive integers. Accepted:\n  - H ≡ 1 (mod 3), H ≥ 7\n" \
           "  - W ≡ 1 (mod 3), W ≥ 7\nbecause of:\n" in result.stdout
    assert "layer 0 (conv): H - 7 is a multiple of 3" in result.stdout


def test_summary_footer_lists_the_conditions_that_decide_and_counts_the_rest():
    # U-Net: 50 conditions; H = 16·k follows from the deepest pool's rounding alone
    table = run_cli("summary", "unet", "--input", "1xHxW")
    assert table.returncode == 0, table.stderr
    footer = table.stdout[table.stdout.index("Sizes are"):].splitlines()
    assert footer == [
        "Sizes are positive integers. Accepted:",
        "  - H = 16·k, k ≥ 1",
        "  - W = 16·k, k ≥ 1",
        "because of:",
        "  - layer 1.1.0.2.1.0.2.1.0.2.1.0.0 (maxpool): (H - 16)/8 is a multiple of 2 (strict "
        "rounding along H: stride 2 divides the size − F + 2P)",
        "  - layer 1.1.0.2.1.0.2.1.0.2.1.0.0 (maxpool): (W - 16)/8 is a multiple of 2 (strict "
        "rounding along W: stride 2 divides the size − F + 2P)",
        "  (48 more conditions that these imply: `--format json` lists them all)"]
    report = json.loads(run_cli("summary", "unet", "--input", "1xHxW", "-f", "json").stdout)
    assert len(report["constraints"]) == 50
    assert [c["where"] for c in report["constraints"] if not c["implied"]] == [
        "layer 1.1.0.2.1.0.2.1.0.2.1.0.0 (maxpool)"] * 2
    assert report["accepted"]["H"] == json.loads(run_cli("inputs", "unet", "-f", "json").stdout)[
        "dims"]["H"]
    markdown = run_cli("summary", "unet", "--input", "1xHxW", "-f", "markdown").stdout
    footer = markdown[markdown.index("Sizes are"):].split("\n\n")     # blocks
    assert footer[:4] == ["Sizes are positive integers. Accepted:",
                          "- H = 16·k, k ≥ 1\n- W = 16·k, k ≥ 1", "because of:",
                          "\n".join(line[2:] for line in table.stdout.splitlines()
                                    if line.startswith("  - layer"))]
    assert footer[4] == "(48 more conditions that these imply: `--format json` lists them all)"


def test_summary_footer_when_no_size_is_accepted_names_the_conflict():
    # strict maxpool 2 halves H; concat with the unpooled H needs H/2 = H: never
    spec = "input: [3, H]\nlayers:\n  - concat: [[{maxpool: 2}], [relu]]\n"
    table = run_cli("summary", "-", input=spec).stdout
    footer = table[table.index("No input size"):].splitlines()
    assert footer == ["No input size is accepted: these conditions can't all hold:",
                      "  - layer 0 (concat): H = H/2 (concat: branch 1 agrees along L)",
                      "  (2 more conditions: `--format json` lists them all)"]
    report = json.loads(run_cli("summary", "-", "-f", "json", input=spec).stdout)
    assert report["accepted"]["H"]["min"] is None
    assert report["accepted"] == json.loads(run_cli("inputs", "-", "-f", "json", input=spec).stdout)["dims"]

def test_summary_footer_beyond_the_solver_limit_lists_every_condition():
    # 2^13 = 8192 residues × 26 conditions: more than a footer is worth (inputs.MAX_EXPLAINED)
    spec = "input: [1, L]\nlayers:\n" + "  - maxpool: 2\n" * 13
    report = json.loads(run_cli("summary", "-", "-f", "json", input=spec).stdout)
    assert report["accepted"] is None and len(report["constraints"]) == 26
    assert "accepted where:" in run_cli("summary", "-", input=spec).stdout


def test_summary_footer_without_a_solution_lists_every_condition():
    # adding two flattened maps couples H and W (floor(H/2)·floor(W/2) = H·floor(W/4)):
    # no per-size answer
    spec = ("input: [1, H, W]\nrounding: floor\nlayers:\n  - add:\n"
            "    - [{maxpool: 2}, flatten]\n    - [{maxpool: [1, 4]}, flatten]\n")
    report = json.loads(run_cli("summary", "-", "-f", "json", input=spec).stdout)
    assert report["accepted"] is None and report["constraints"]
    assert not any(c["implied"] for c in report["constraints"])
    table = run_cli("summary", "-", input=spec).stdout
    assert "accepted where:" in table
    assert all(f"{c['where']}: {c['text']}" in table.replace("\n", " ") for c in report["constraints"])


@pytest.mark.parametrize("spec, value, entry, example", [
    ("cs231n_conv_chw", "HxW", "first entry, as the spec's layout chw", "3xHxW"),
    ("cs231n_conv", "HxWxC", "last entry, as the spec's layout hwc", "HxWx3")])
def test_input_option_with_a_name_for_channels_gets_a_hint_for_the_option(tmp_path, spec, value,
                                                                         entry, example):
    if spec == "cs231n_conv_chw":
        spec = tmp_path / "net.yaml"
        spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    result = run_cli("summary", spec, "--input", value)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"--input: error: `--input {value}`: the channels ({entry} has "
                             "them) must be a whole number; only spatial sizes can be names\n"
                             f"  hint: write it like {example}\n")


def test_input_option_notes_a_change_of_spatial_sizes_or_of_channels(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    rank = run_cli("summary", spec, "--input", "3xH")
    assert rank.returncode == 0, rank.stderr
    assert rank.stderr == ("note: --input 3xH has 1 spatial size; the spec's input [3, 32, 32] "
                           "has 2 spatial sizes\n")
    # cs231n_conv is H×W×C: --input 3x64x64 is 3×64 with 64 channels
    channels = run_cli("summary", "cs231n_conv", "--input", "3x64x64")
    assert "note: --input 3x64x64 gives 64 channels, the spec's input [32, 32, 3] has 3 (--input " \
           "is read in the spec's layout, hwc: H×W×C)" in channels.stderr
    same = run_cli("summary", spec, "--input", "3xHxW")
    assert same.returncode == 0 and same.stderr == ""


@pytest.mark.parametrize("spec, value, note", [
    ("c3d", "1x16x112x112", "note: --input 1x16x112x112 gives 1 channel, the spec's input "
     "[3, 16, 112, 112] has 3 (--input is read in the spec's layout, chw: C×D×H×W)\n"),
    ("ecg1d", "2x256", "note: --input 2x256 gives 2 channels, the spec's input [1, 256] has 1 "
     "(--input is read in the spec's layout, chw: C×L)\n"),
    ("mlp", "8", ""),                                   # a flat input: its features, no note
    ("mlp", "3x4", "note: --input 3x4 has 1 spatial size; the spec's input [4] has no spatial "
     "sizes\n")])
def test_input_option_notes_name_the_layout_of_every_rank(tmp_path, spec, value, note):
    if spec == "mlp":
        spec = tmp_path / "mlp.yaml"
        spec.write_text("input: [4]\nlayers:\n  - linear: 2\n")
    result = run_cli("summary", spec, "--input", value)
    assert result.stderr.replace("note: the spec's `expect` values are for its own input, so "
                                 "they aren't checked with --input\n", "") == note


def test_undecided_checks_hint_at_what_made_the_sizes_names(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 32, 32]\nbudget: {macs: 1M}\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    option = run_cli("summary", spec, "--input", "3xHxW")
    assert option.returncode == 2
    assert "hint: give --input as numbers (e.g. `--input 3x32x32`) to check this" in option.stderr
    stdin = run_cli("summary", "-", input="input: [3, H, W]\nbudget: {macs: 1M}\nlayers:\n"
                                            "  - conv: {out: 8, kernel: 3}\n")
    assert stdin.returncode == 2
    assert "its `input` is [3, H, W]) to check this; `cnncalc inputs -` (the spec on standard " \
           "input) lists" in stdin.stderr

@pytest.mark.parametrize("command", ["summary", "explain"])
def test_a_channels_first_input_that_looks_like_hwc_gets_a_note(tmp_path, command):
    looks = tmp_path / "looks.yaml"
    looks.write_text("input: [32, 32, 3]\nlayers:\n  - conv: {out: 2, kernel: 3}\n")
    result = run_cli(command, looks)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("note: `input: [32, 32, 3]` is read channels first (32 channels of "
                             "32×3); for H×W×C write `layout: hwc`\n")
    for text in ("input: [3, 32, 32]", "layout: hwc\ninput: [32, 32, 3]", "input: [16, 16, 16]"):
        looks.write_text(text + "\nlayers:\n  - conv: {out: 2, kernel: 3}\n")
        assert run_cli(command, looks).stderr == "", text

@pytest.mark.parametrize("command", ["summary", "explain"])
def test_checks_of_figures_that_depend_on_symbolic_sizes_are_undecided(tmp_path, command):
    spec = tmp_path / "bud.yaml"
    spec.write_text("input: [3, H, W]\nbudget: {macs: 1M, params: 1M}\nlayers:\n"
                    "  - conv: {out: 8, kernel: 3, expect: {macs: 100, params: 224}}\n")
    result = run_cli(command, spec)
    assert result.returncode == 2       # not 1: nothing was found wrong, it can't be told
    assert result.stderr.splitlines()[::2] == [
        f"{spec}:4:5: error: expect: layer 0 (conv) macs is 216*(H - 2)*(W - 2), which depends "
        "on the input's sizes H, W: it can't be checked against 100",
        f"{spec}:2:16: error: budget: network macs is 216*(H - 2)*(W - 2), which depends on the "
        "input's sizes H, W: it can't be checked against ≤ 1,000,000"]
    assert "write the input's sizes as numbers in the spec" in result.stderr
    if command == "summary":
        rows = [line.split("│")[-1].strip() for line in result.stdout.splitlines()
                if line.startswith((" layer 0 (conv) │", " network "))]
        assert rows == ["✓", "?", "✓", "?"]       # params decided, MACs not
    else:
        assert "expected macs 100: ? (it depends on the input's sizes)" in result.stdout
        assert "expected params 224: ✓" in result.stdout

def test_input_option_with_numbers_overrides_the_spec():
    spec = ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 10, kernel: 5, padding: 2}\n"
            "  - relu\n  - maxpool: 2\n  - flatten\n  - linear: 10\n")
    result = run_cli("summary", "-", "--input", "3x64x64", "--format", "json", input=spec)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input_shape"] == [3, 64, 64] and "constraints" not in report
    assert report["totals"]["macs"] == 4 * 768_000 + 10 * 10 * 32 * 32
    # the spec's `expect`s describe its own input, so --input leaves them out; budgets stay
    result = run_cli("summary", "cs231n_conv", "--input", "64x64x3", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "checks" not in json.loads(result.stdout)
    result = run_cli("summary", "-", "--input", "3x64x64", input=spec + "budget: {macs: 1M}\n")
    assert result.returncode == 1


@pytest.mark.parametrize("value", ["3xHx", "3x0x4", "3x-1", "1x2x3x4x5", "3xH W"])
def test_bad_input_option_is_exit_2(value):
    result = run_cli("summary", "cs231n_conv", "--input", value)
    assert result.returncode == 2
    assert "--input" in result.stderr and "Traceback" not in result.stderr


def test_a_symbol_for_channels_is_refused():
    result = run_cli("summary", "-", input="input: [C, H, W]\nlayers: [relu]\n")
    assert result.returncode == 2
    assert "channels" in result.stderr and "Traceback" not in result.stderr


def test_auto_shortcut_that_is_an_identity_at_some_sizes_is_marked():
    # stride 2, same channels: a projection, except at L = 1 where the layers keep the size
    spec = {"input": [2, 9], "rounding": "floor", "layers": [{"residual": {
        "shortcut": "auto", "layers": [{"conv": {"out": 2, "kernel": 3, "stride": 2, "padding": 1}}]}}]}
    symbolic_spec, _ = symbolic_input(spec)
    analysis = analyze_loaded(load_dict(symbolic_spec))
    (assumption,) = [c for c in analysis.constraints if c.kind == "assumption"]
    assert "`shortcut: auto` is an identity" in assumption.text
    assert holds(assumption.cond, {symbol("L"): sympy.Integer(1)})
    assert not holds(assumption.cond, {symbol("L"): sympy.Integer(2)})
    assert check_against_numeric(spec, {"L": 1}) == "auto identity"
    for size in range(2, 12):
        assert check_against_numeric(spec, {"L": size}) == "accepted"
    text = to_yaml(symbolic_spec)
    for fmt, bullet in (("table", "  - "), ("markdown", "\n- ")):
        out = run_cli("summary", "-", "-f", fmt, input=text).stdout
        assert f"{bullet}note layer 0 (residual): these figures use a projection" in out, fmt


# ---------------------------------------------------------------------------------------------
# Bounded work: sizes that nest a floor per layer are refused at the layer, in about a second

GROWING = ("input: [3, H, W]\nlayers:\n  - repeat:\n      times: 100\n      layers:\n"
           "        - conv: {out: 3, kernel: 3, stride: 3, padding: 1}\n"
           "        - upsample: 3.3\n")


@pytest.mark.parametrize("command", ["summary", "check", "inputs"])
def test_sizes_that_grow_without_bound_are_refused_quickly(command, tmp_path):
    # unbounded, this took over a minute (each layer nests another floor)
    spec = tmp_path / "growing.yaml"
    spec.write_text(GROWING)
    result = subprocess.run([sys.executable, "-m", "cnncalc", command, str(spec)],
                            capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=20)
    output = result.stdout + result.stderr     # check reports on stdout
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert f"{spec}:7:" in output and "(upsample): the symbolic sizes grow too complex" in output


def test_a_ceil_mode_window_that_doubles_the_size_is_refused_at_its_layer():
    # min(ceil(...), ceil(...)) of the size before: each such pool doubles the expression
    text = ("input: [3, H, W]\nlayers:\n  - repeat:\n      times: 6\n      layers:\n"
            "        - maxpool: {kernel: 3, stride: 3, padding: 1, ceil_mode: true}\n")
    with pytest.raises(SpecError, match=r"layer 0\.\d+\.0 \(maxpool\): the symbolic sizes grow"):
        analyze_yaml(text)
    # numbers are fine
    assert analyze_yaml(text.replace("H, W", "1000, 1000")).output_shape == (3, 2, 2)
