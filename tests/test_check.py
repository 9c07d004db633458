"""`cnncalc check FILE...`: every problem in every file, exit 0/1/2, three output formats, and
no torch, sympy or numpy on the way."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings

from cnncalc.commands.check import RENDERERS, CheckFormat, check_file
from cnncalc.report import Options
from conftest import ROOT, SPECS, cli_env, run_cli
from netgen import networks, to_yaml

GOOD = """\
input: [3, 32, 32]
layers:
  - conv: {out: 10, kernel: 5, padding: 2}
  - relu
  - maxpool: 2
  - flatten
  - linear: 10
expect: {params: 26_370}
budget: {params: 1M, activation_memory: 1MB}
"""

# Over two budgets and off one expectation: three problems, each at its own key.
FAILING = """\
input: [3, 32, 32]
layers:
  - conv: {out: 10, kernel: 5, padding: 2, expect: {shape: [10, 32, 32], params: 700}}
  - flatten
  - linear: 10
budget:
  params: 100K
  macs: 500K
"""

INVALID = """\
input: [3, 7, 7]
layers:
  - conv: {out: 4, kernel: 3, stride: 3}
"""


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in (("good", GOOD), ("failing", FAILING), ("invalid", INVALID)):
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


def test_the_zoo_passes():
    specs = sorted(SPECS.glob("*.yaml"))
    assert len(specs) >= 10
    result = run_cli("check", *specs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(specs)} files checked: all good" in result.stdout


def test_every_problem_in_every_file_and_invalid_wins(files):
    result = run_cli("check", files["good"], files["failing"], files["invalid"])
    assert result.returncode == 2
    out = result.stdout
    failing, invalid = str(files["failing"]), str(files["invalid"])
    # the layer's expectation (params 760, not 700), then both budgets, each at its key
    assert f"{failing}:3:5: error: expect: layer 0 (conv) params is 760, but the spec expects 700" in out
    assert f"{failing}:7:11: error: budget: network params is 103,170, over the bound 100,000" in out
    assert f"{failing}:8:9: error: budget: network macs is 870,400, over the bound 500,000" in out
    assert f"{invalid}:3:5: error: layer 0 (conv)" in out and "doesn't fit" in out
    assert "hint:" in out
    assert str(files["good"]) not in out.replace("3 files checked", "")
    assert "3 files checked: 1 failed a check, 1 invalid" in out


def test_failed_checks_alone_exit_1(files):
    result = run_cli("check", files["failing"], files["good"])
    assert result.returncode == 1
    assert result.stdout.count("error:") == 3


def test_command_line_bounds_override_the_spec(files):
    good = files["good"]
    over = run_cli("check", good, "--max-params", "20K", "--max-activation-memory", "10KiB",
                   "--max-flops", "1G")
    assert over.returncode == 1
    assert f"{good}: error: budget (--max-params): network params is 26,370, over the bound 20,000" in over.stdout
    assert "budget (--max-activation-memory): network activation memory is 100 KiB (102,440 bytes)" in over.stdout
    assert "--max-flops" not in over.stdout            # 2 × 793,600 FLOPs is within 1G
    # the spec's own budget is 1M params; a looser bound on the command line replaces it
    assert run_cli("check", good, "--max-params", "5M").returncode == 0
    # memory scales with batch and dtype: 25,610 output elements × 4 bytes × 16 > 1MB
    batch = run_cli("check", good, "--batch", "16")
    assert batch.returncode == 1 and "activation memory is 1.56 MiB (1,639,040 bytes)" in batch.stdout
    assert run_cli("check", good, "--batch", "16", "--dtype", "int8").returncode == 0


@pytest.mark.parametrize("option, value", [("--max-params", "5X"), ("--max-activation-memory", "5M"),
                                           ("--max-macs", "-3")])
def test_bad_bounds_are_bad_input(files, option, value):
    result = run_cli("check", files["good"], option, value)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {option}: ") and "Traceback" not in result.stderr


def test_github_annotations(files):
    result = run_cli("check", files["failing"], files["invalid"], "--max-params", "1K",
                     "--format", "github")
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert all(line.startswith("::error file=") for line in lines)
    failing = str(files["failing"]).replace(":", "%3A").replace(",", "%2C")
    assert (f"::error file={failing},title=cnncalc check::budget (--max-params): network params "
            "is 103,170, over the bound 1,000") in lines
    assert any(line.startswith(f"::error file={failing},line=3,col=5,title=cnncalc check::expect:")
               for line in lines)
    invalid = [line for line in lines if "invalid.yaml,line=3,col=5" in line]
    assert len(invalid) == 1 and "%0Ahint: " in invalid[0]     # one annotation, lines escaped


def test_json_is_a_list_per_file(files):
    result = run_cli("check", files["good"], files["failing"], files["invalid"], "-f", "json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert [d["status"] for d in data] == ["ok", "failed", "invalid"]
    assert [d["file"] for d in data] == [str(files[n]) for n in ("good", "failing", "invalid")]
    good, failing, invalid = data
    assert good["problems"] == [] and all(c["ok"] for c in good["checks"])
    assert {(c["figure"], c["ok"]) for c in good["checks"]} == {
        ("params", True), ("activation_memory", True)}
    assert len(failing["problems"]) == 3
    assert {(p["line"], p["col"]) for p in failing["problems"]} == {(3, 5), (7, 11), (8, 9)}
    assert invalid["checks"] == [] and invalid["problems"][0]["line"] == 3
    assert any(d.startswith("hint: ") for d in invalid["problems"][0]["details"])


def test_every_format_has_a_renderer():
    assert set(RENDERERS) == set(CheckFormat)


def test_missing_file_and_bad_yaml_are_reported_with_the_rest(tmp_path, files):
    broken = tmp_path / "broken.yaml"
    broken.write_text("input: [3, 4\nlayers: [relu]\n")
    result = run_cli("check", tmp_path / "nope.yaml", broken, files["good"])
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.yaml'}: error: no such file" in result.stdout
    assert f"{broken}:" in result.stdout and "invalid YAML" in result.stdout


def test_check_imports_no_torch_sympy_or_numpy(files):
    code = ("import sys\n"
            "from cnncalc.cli import main\n"
            f"sys.argv = ['cnncalc', 'check', *{[str(p) for p in sorted(SPECS.glob('*.yaml'))]!r},"
            f" {str(files['failing'])!r}, {str(files['invalid'])!r}, '--max-params', '5M']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
            "heavy = sorted({'torch', 'sympy', 'numpy'} & set(sys.modules))\n"
            "print(status, heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=cli_env(), cwd=ROOT, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "2 []", result.stdout + result.stderr


@settings(max_examples=25)
@given(networks(max_layers=4))
def test_budgets_at_the_totals_pass_and_one_below_fails(spec):
    """For random networks: the totals themselves are within budget; one less is over it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "net.yaml"
        path.write_text(to_yaml(spec))
        first = check_file(str(path), Options(), {})
        if first.status == "invalid":
            return                      # the generator isn't an oracle; nothing to budget
        totals = {c.figure: c.actual for c in check_file(str(path), Options(), {
            "params": 0, "macs": 0, "activation_memory": 0}).checks}
        exact = check_file(str(path), Options(), dict(totals))
        assert exact.status == "ok" and exact.problems == []
        over = {figure: value - 1 for figure, value in totals.items() if value > 0}
        below = check_file(str(path), Options(), over)
        assert below.status == ("failed" if over else "ok")
        assert len(below.problems) == len(over)
        assert all(p.message.startswith("budget (--max-") and p.line is None for p in below.problems)


# Symbolic sizes: a 3×3 stride-2 conv on [3, H, W]. Its params are a number; its MACs and
# memory depend on H and W, so no bound on them can be decided.
SYMBOLIC = """\
input: [3, H, W]
layers:
  - conv: {out: 27, kernel: 3, stride: 2, rounding: floor}
budget:
  params: 1K
  activation_memory: 1MB
"""
SYMBOLIC_MACS = "729*(floor((H - 3)/2) + 1)*(floor((W - 3)/2) + 1)"    # as `summary` prints it


@pytest.fixture
def symbolic(tmp_path):
    pytest.importorskip("sympy")
    path = tmp_path / "sym.yaml"
    path.write_text(SYMBOLIC)
    return path


def test_a_budget_on_symbolic_sizes_is_bad_input_with_a_hint(symbolic):
    result = run_cli("check", symbolic, "--max-macs", "1M")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    hint = ("  hint: write the input's sizes as numbers in the spec (its `input` is [3, H, W]) "
            f"to check this; `cnncalc inputs {symbolic}` lists the sizes the network accepts")
    assert lines == [       # the spec's budget (params within 1K: not a problem), then --max-macs
        f"{symbolic}:6:22: error: budget: network activation memory is "
        "108*(floor((H - 3)/2) + 1)*(floor((W - 3)/2) + 1) bytes, which depends on the "
        "input's sizes H, W: it can't be checked against ≤ 1 MB (1,000,000 bytes)",
        hint,
        f"{symbolic}: error: budget (--max-macs): network macs is {SYMBOLIC_MACS}, which "
        "depends on the input's sizes H, W: it can't be checked against ≤ 1,000,000",
        hint,
        "1 file checked: 0 failed a check, 1 invalid",
    ]


def test_a_figure_that_does_not_depend_on_the_sizes_is_checked_as_usual(symbolic):
    """Params of a conv don't depend on H or W: 756 against a bound, as for numeric input."""
    undecided = ("activation_memory", "macs")
    within = check_file(str(symbolic), Options(), {"params": 756, "macs": 10**6})
    assert [(c.figure, c.actual, c.ok) for c in within.checks] == [
        ("params", 756, True), ("activation_memory", within.checks[1].actual, None),
        ("macs", within.checks[2].actual, None)]
    assert within.status == "invalid" and len(within.problems) == len(undecided)
    over = check_file(str(symbolic), Options(), {"params": 755})
    assert over.status == "invalid"          # the memory budget still can't be decided
    assert over.problems[0].message == "budget (--max-params): network params is 756, over the bound 755"
    assert over.problems[0].details == []    # a plain failure: no hint about the sizes
    # Without the undecidable budget in the spec, an over-budget symbolic spec just fails
    only_params = symbolic.parent / "params.yaml"
    only_params.write_text(SYMBOLIC.replace("  activation_memory: 1MB\n", ""))
    assert check_file(str(only_params), Options(), {}).status == "ok"
    assert check_file(str(only_params), Options(), {"params": 755}).status == "failed"


def test_an_undecided_check_in_json_and_github(symbolic):
    result = run_cli("check", symbolic, "--max-macs", "1M", "-f", "json")
    assert result.returncode == 2
    [data] = json.loads(result.stdout)
    assert data["status"] == "invalid"
    checks = {c["figure"]: c for c in data["checks"]}
    assert checks["params"]["ok"] is True and checks["params"]["actual"] == 756
    # neither passed nor failed: `ok` is null, the figure as `summary` prints it
    assert checks["macs"]["ok"] is None and checks["macs"]["actual"] == SYMBOLIC_MACS
    assert checks["activation_memory"]["ok"] is None
    assert checks["activation_memory"]["line"] == 6 and checks["activation_memory"]["col"] == 22
    assert [p["message"].split(":")[0] for p in data["problems"]] == ["budget", "budget (--max-macs)"]
    assert all(p["details"][0].startswith("hint: write the input's sizes as numbers")
               for p in data["problems"])

    github = run_cli("check", symbolic, "-f", "github")
    assert github.returncode == 2
    [line] = github.stdout.splitlines()            # params are within 1K: only the memory
    assert line.startswith(f"::error file={str(symbolic).replace(':', '%3A')},line=6,col=22,"
                           "title=cnncalc check::budget: network activation memory is 108*(")
    assert "it can't be checked against ≤ 1 MB" in line and "%0Ahint: write the input" in line


EXPECT_SYMBOLIC = """\
input: [3, H, W]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, expect: {shape: [8, H, W], params: 224}}
  - conv: {out: 8, kernel: 3, padding: 1, expect: {macs: 100}}
  - conv: {out: 8, kernel: 3, padding: 1, expect: {shape: [8, 32, W]}}
  - conv: {out: 8, kernel: 3, padding: 1, expect: {shape: [9, 32, W]}}
  - conv: {out: 8, kernel: 3, stride: 2, rounding: floor, expect: {shape: [8, H, W]}}
expect: {params: 2_560}
"""


def test_expectations_on_symbolic_sizes(tmp_path):
    """Names expected are compared as written; a number expected of a figure that depends on
    a name can't be decided (bad input, with the size named); a figure that is a number, or a
    shape already wrong in a number (9 channels, not 8), is checked as usual."""
    pytest.importorskip("sympy")
    path = tmp_path / "expect.yaml"
    path.write_text(EXPECT_SYMBOLIC)
    result = check_file(str(path), Options(), {})
    verdicts = [(c.where.split(" (")[0], c.figure, c.ok) for c in result.checks]
    assert verdicts == [("layer 0", "shape", True), ("layer 0", "params", True),
                        ("layer 1", "macs", None), ("layer 2", "shape", None),
                        ("layer 3", "shape", False), ("layer 4", "shape", False),
                        ("network", "params", True)]
    assert result.status == "invalid"
    messages = [(p.line, p.message, bool(p.details)) for p in result.problems]
    assert messages == [
        (4, "expect: layer 1 (conv) macs is 576*H*W, which depends on the input's sizes H, W: "
            "it can't be checked against 100", True),
        (5, "expect: layer 2 (conv) shape is 8×H×W, which depends on the input's size H: "
            "it can't be checked against 8×32×W", True),
        (6, "expect: layer 3 (conv) shape is 8×H×W, but the spec expects 9×32×W", False),
        (7, "expect: layer 4 (conv) shape is 8×(floor((H - 3)/2) + 1)×(floor((W - 3)/2) + 1), "
            "but the spec expects 8×H×W", False),
    ]
    # Only decidable expectations left: a wrong one fails (exit 1), as on numeric input
    decidable = tmp_path / "decidable.yaml"
    decidable.write_text(EXPECT_SYMBOLIC.replace("macs: 100", "params: 584")
                         .replace("[8, 32, W]", "[8, H, W]"))
    assert check_file(str(decidable), Options(), {}).status == "failed"
    decidable.write_text(decidable.read_text().replace("[9, 32, W]", "[8, H, W]")
                         .replace("stride: 2, rounding: floor", "padding: 1"))
    assert check_file(str(decidable), Options(), {}).status == "ok"


def test_bounds_in_scientific_notation(files):
    """`--max-params 1e8` is a count; `1.5` and `1e-3` aren't, in the usual words."""
    good = files["good"]
    assert run_cli("check", good, "--max-params", "1e5").returncode == 0          # 26,370 params
    over = run_cli("check", good, "--max-params", "2.5e4", "--max-flops", "1e9")
    assert over.returncode == 1
    assert "network params is 26,370, over the bound 25,000" in over.stdout
    for text, words in (("1.5", "'1.5': a count must be a whole number"),
                        ("1e-3", "'1e-3' is 0.001: a count must be a whole number")):
        rejected = run_cli("check", good, "--max-macs", text)
        assert rejected.returncode == 2 and rejected.stderr == f"error: --max-macs: {words}\n"


def test_a_file_that_fails_one_check_and_cannot_decide_another_counts_as_both(tmp_path):
    spec = tmp_path / "sym.yaml"
    spec.write_text("input: [3, H, W]\nlayers:\n  - conv: {out: 8, kernel: 3}\n")
    result = run_cli("check", spec, "--max-params", "10", "--max-macs", "5M")
    assert result.returncode == 2                       # undecided wins over failed
    assert "network params is 224, over the bound 10" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 file checked: 1 failed a check, 1 invalid"


@pytest.mark.parametrize("name", ["cs231n_conv", "resnet18", "unet"])
def test_report_budgets_and_totals_read_one_record(name):
    """The report's totals and every budget's actual figure are Totals' figures (one record),
    and those figures are the layers' sums: FLOPs = 2 × MACs, memory = elements × batch ×
    bytes per element."""
    from cnncalc.checks import BUDGETED, run_checks
    from cnncalc.pipeline import analyze_loaded, load
    from cnncalc.report import DTYPE_BYTES, Totals, build
    from cnncalc.train import TrainOptions, train_figures

    loaded = load(name)
    analysis = analyze_loaded(loaded)
    options = Options(batch=3, dtype="float16")
    totals = Totals.of(analysis, options)
    report = build(analysis, loaded.name, options)
    leaves = [row for row in analysis.rows if row.node.leaf]
    assert totals.macs == sum(row.macs for row in leaves)
    assert totals.params == sum(row.params for row in leaves)
    assert totals.activations == sum(layer["activation_bytes"] for layer in report["layers"]
                                     if layer["leaf"]) // (3 * DTYPE_BYTES["float16"])
    assert report["totals"] == {
        "params": totals.params, "trainable_params": totals.params, "buffers": totals.buffers,
        "macs": totals.macs, "flops": 2 * totals.macs,
        "activation_bytes": totals.activations * 3 * 2, "param_bytes": totals.params * 2,
        "input_bytes": totals.input_elements * 3 * 2}
    checks = run_checks(analysis, options, extra_budget=dict.fromkeys(BUDGETED, 0))
    budgets = {c.figure: c.actual for c in checks if c.bound}
    assert budgets == {"params": totals.params, "macs": totals.macs, "flops": totals.flops,
                       "activation_memory": totals.activation_bytes,
                       "param_memory": totals.param_bytes,
                       "train_memory": train_figures(analysis, TrainOptions(
                           3, "float16", "adam")).peak_bytes}
