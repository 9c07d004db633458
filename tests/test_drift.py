"""Model-vs-spec drift: `cnncalc validate SPEC --against package.module:factory` pairs the spec's
leaves with the model's leaf modules in execution order and names where they part ways."""

import json
import sys

import pytest
import torch
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from torch import nn

import torchvision_ref
from cnncalc.commands.validate import validate_specs
from cnncalc.crosscheck import measure as measure_module
from cnncalc.crosscheck.build import build, materialise
from cnncalc.crosscheck.drift import compare, describe, load_factory
from cnncalc.crosscheck.measure import measure
from cnncalc.crosscheck.trace import Tracing
from cnncalc.errors import LONGEST_WORD, SpecError
from cnncalc.pipeline import analyze_loaded, load_text
from conftest import SPECS, run_cli
from netgen import leaf_entry, load_dict, networks, split_entry

# A team's model, written as people write them: ReLU and flatten in `forward`, the shortcut
# computed before the main branch, a Dropout the spec leaves out.
MODEL = '''
import torch
from torch import nn
from torch.nn import functional as F


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                  nn.BatchNorm2d(c_out))

    def forward(self, x):
        shortcut = self.down(x)
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + shortcut)


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block = Block(16, 32, 2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(32 * 8 * 8, classes)

    def forward(self, x):
        x = self.block(F.relu(self.stem(x)))
        return self.fc(self.drop(torch.flatten(x, 1)))


class Scaled(Net):
    """A parameter outside every leaf module."""
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return super().forward(x) * self.scale


def small():
    return Net()


def scaled():
    return Scaled()


def strided():
    """The stem's stride changed in code: the head's Linear gets a quarter of its input."""
    net = Net()
    net.stem.stride = (2, 2)
    return net


def unstrided_shortcut():
    """The shortcut no longer downsamples: the block's own `+` fails."""
    net = Net()
    net.block.down[0].stride = (1, 1)
    return net


class Reshaped(Net):
    """Every leaf module agrees; `forward` reshapes wrongly between them."""
    def forward(self, x):
        x = self.block(F.relu(self.stem(x)))
        return self.fc(self.drop(x.reshape(x.shape[0], 1000)))


def one():
    return nn.Linear(4, 2)


def not_a_model():
    return 3


def broken():
    raise ValueError("no weights here")
'''

STEM_LINE = next(i for i, text in enumerate(MODEL.splitlines(), 1)
                 if "self.stem(x)" in text)

SPEC = """\
input: [3, 16, 16]
rounding: floor               # 16 → 8 with a 3×3/2 (and a 1×1/2) window, as PyTorch floors
layers:
  - conv: {out: 16, kernel: 3, padding: 1}
  - relu
  - residual:
      shortcut: projection
      layers:
        - conv: {out: 32, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm
        - relu
        - conv: {out: 32, kernel: 3, padding: 1, bias: false}
        - batchnorm
  - relu
  - flatten
  - linear: 10
"""


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A folder with the package `teamnet` and specs; the current directory, but not on
    sys.path (as for the `cnncalc` script): --against must find the package as `python -m`."""
    (tmp_path / "teamnet").mkdir()
    (tmp_path / "teamnet" / "__init__.py").write_text("")
    (tmp_path / "teamnet" / "model.py").write_text(MODEL)
    (tmp_path / "net.yaml").write_text(SPEC)
    (tmp_path / "wide.yaml").write_text(SPEC.replace("linear: 10", "linear: 100"))
    (tmp_path / "gray.yaml").write_text(SPEC.replace("input: [3,", "input: [1,"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield tmp_path
    for name in [m for m in sys.modules if m == "teamnet" or m.startswith("teamnet.")]:
        del sys.modules[name]


def validate_against(specs, target, batch, device, fmt):
    """`cnncalc validate SPEC... --against TARGET`, in process (device already resolved)."""
    return validate_specs(specs, batch, device, fmt, against=target)


def test_torchvision_resnet18_agrees_with_its_spec():
    result = run_cli("validate", SPECS / "resnet18.yaml", "--against",
                     "tests.torchvision_ref:resnet18", "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    # 61 leaf layers (flatten is torch.flatten in forward) and the 8 blocks' `+`
    assert ("agrees with tests.torchvision_ref:resnet18: 69 layers paired with what the model "
            "runs on operation, output shape, params and FLOPs, and the totals\n") in result.stdout


def test_a_changed_spec_names_the_first_divergence(tmp_path):
    text = (SPECS / "resnet18.yaml").read_text()
    changed = text.replace("- stage: {blocks: 2, width: 256, stride: 2}",
                           "- stage: {blocks: 2, width: 240, stride: 2}")
    assert changed != text
    path = tmp_path / "resnet18.yaml"
    path.write_text(changed)
    result = run_cli("validate", path, "--against", "tests.torchvision_ref:resnet18",
                     "--device", "meta")
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(i for i, text in enumerate(changed.splitlines(), 1) if "shortcut: auto" in text)
    # the shortcut's 1×1 projection (resolved from `shortcut: auto`) vs torchvision's downsample
    assert (f"{path}:{line}:" in result.stdout and "code and spec part ways at spec layer "
            "6.0.0.shortcut.0 (conv) vs model module layer3.0.downsample.0 (Conv2d)"
            in result.stdout)
    assert "output shape: 240×14×14 (spec) vs 256×14×14 (model)" in result.stdout
    assert "params: 30,720 (spec) vs 32,768 (model)" in result.stdout
    assert "the 34 layers before it agree" in result.stdout     # 30 leaves, 4 joins


def test_team_model_agrees_from_the_current_directory(team):
    result = run_cli("validate", "net.yaml", "--against", "teamnet.model:small", cwd=team)
    assert result.returncode == 0, result.stdout + result.stderr
    # 12 layers (F.relu and torch.flatten in forward) and the block's `+`; Dropout unpaired
    assert "net.yaml: agrees with teamnet.model:small: 13 layers paired" in result.stdout
    assert "0 spec layers, 1 model operation\n  unpaired in the model: drop (Dropout)\n" in \
        result.stdout


def test_the_models_own_exit_work_still_runs(team):
    # validate leaves without the interpreter's teardown, but not with --against: the
    # user's module may flush a log or run atexit handlers at exit
    (team / "teamnet" / "logged.py").write_text(
        "import atexit\nfrom teamnet.model import small\n"
        "log = open('factory.log', 'w')\nlog.write('built\\n')      # flushed only at exit\n"
        "atexit.register(lambda: open('atexit.txt', 'w').write('ran'))\n")
    result = run_cli("validate", "net.yaml", "--against", "teamnet.logged:small", cwd=team)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (team / "factory.log").read_text() == "built\n"
    assert (team / "atexit.txt").read_text() == "ran"

def test_in_process_and_a_class_as_factory(team, capsys):
    assert validate_against(["net.yaml"], "teamnet.model:Net", 2, "cpu", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["batch"] == 2 and data["divergence"] is None
    assert data["unpaired_model"] == ["drop (Dropout)"]
    assert data["totals"]["spec"] == data["totals"]["model"]


def test_a_different_head_is_named(team, capsys):
    assert validate_against(["wide.yaml"], "teamnet.model:small", 1, "meta", "table") == 1
    out = capsys.readouterr().out
    assert "wide.yaml:16:5: error: code and spec part ways at spec layer 5 (linear) vs model module fc (Linear)" in out
    assert "params: 204,900 (spec) vs 20,490 (model)" in out


def test_params_outside_leaf_modules_show_in_the_totals(team, capsys):
    """`* self.scale` in forward: an operation the spec lacks, and a parameter in the totals."""
    assert validate_against(["net.yaml"], "teamnet.model:scaled", 1, "meta", "table") == 1
    out = capsys.readouterr().out
    line = next(i for i, text in enumerate(MODEL.splitlines(), 1) if "* self.scale" in text)
    assert (f"net.yaml: error: the spec ends, but the model goes on with call Tensor.mul at "
            f"teamnet/model.py:{line} (output shape 10, params 1, flops 0)") in out
    assert validate_against(["net.yaml"], "teamnet.model:scaled", 1, "meta", "json") == 1
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["spec"]["params"], totals["model"]["params"]) == (35_466, 35_467)


def test_a_model_that_fails_on_the_spec_input_is_drift(team, capsys):
    assert validate_against(["gray.yaml"], "teamnet.model:small", 1, "meta", "table") == 1
    err = capsys.readouterr().err
    assert "gray.yaml: error: the model fails on the spec's input: RuntimeError:" in err
    # the spec's input has one channel, the model's stem wants three: nothing parted before
    assert "  note: raised in module `stem` (Conv2d), on input 1×16×16\n" in err
    assert "  note: no operation ran before it\n" in err


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_where_the_model_fails_and_where_it_had_parted(team, capsys, device):
    """A conv's stride changed in code: the model raises in its head (`mat1 and mat2 shapes
    cannot be multiplied` on CPU), and the report names the module that raised and the first
    layer whose output had already differed, with the spec's position."""
    assert validate_against(["net.yaml"], "teamnet.model:strided", 1, device, "table") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("net.yaml: error: the model fails on the spec's input: "
                               "RuntimeError: ")
    if device == "cpu":
        assert "mat1 and mat2 shapes cannot be multiplied (1x512 and 2048x10)" in lines[0]
    assert lines[1:] == [
        "  note: raised in module `fc` (Linear), on input 512",
        "net.yaml:4:5: note: code and spec had already parted before it, at spec layer 0 "
        f"(conv) vs model module stem (Conv2d) at teamnet/model.py:{STEM_LINE}",
        "  output shape: 16×16×16 (spec) vs 16×8×8 (model)",
        "  flops: 221,184 (spec) vs 55,296 (model)",
        "  note: no layer before it was paired"]


def test_where_the_model_fails_in_json(team, capsys):
    """The block's `+` fails (its shortcut no longer downsamples): raised in the block's own
    forward; the shortcut's conv is where the shapes parted, after one agreeing layer."""
    assert validate_against(["net.yaml"], "teamnet.model:unstrided_shortcut", 2, "meta",
                            "json") == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["ok"] is False and data["totals"] is None and data["batch"] == 2
    assert data["error"].startswith("RuntimeError: ")
    assert data["raised_in"] == {"module": "block", "type": "Block", "leaf": False,
                                 "input_shape": [16, 16, 16]}
    # stem, F.relu; down.0/1, conv1, bn1, F.relu, conv2, bn2
    assert data["paired"] == 2 and data["model_leaves"] == 9
    d = data["divergence"]
    assert d["spec"]["label"] == "2.shortcut.0 (conv)" and d["model"]["label"] == \
        "block.down.0 (Conv2d)"
    assert d["spec"]["output_shape"] == [32, 8, 8] and d["model"]["output_shape"] == [32, 16, 16]
    assert d["differs"] == ["output_shape", "flops"]
    assert ("  note: raised in the forward of `block` (Block), on input 16×16×16, outside its "
            "child modules") in captured.err
    assert "note: code and spec had already parted before it, at spec layer 2.shortcut.0" in \
        captured.err
    assert "  note: the 2 layers before it agree" in captured.err


def test_a_failure_after_agreeing_leaves_says_so(team, capsys):
    """Every leaf module that ran agrees with the spec: the shapes parted in `forward` code
    (a wrong reshape in the model's own forward), which is where it raised."""
    assert validate_against(["net.yaml"], "teamnet.model:Reshaped", 1, "cpu", "json") == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["raised_in"] == {"module": "", "type": "Reshaped", "leaf": False,
                                 "input_shape": [3, 16, 16]}
    # the 9 modules, F.relu twice, the block's `+` and the F.relu after it
    assert data["divergence"] is None and data["paired"] == data["model_leaves"] == 11
    assert "shape '[1, 1000]' is invalid for input of size 2048" in data["error"]
    assert ("  note: raised in the forward of the model itself (Reshaped), on input 3×16×16, "
            "outside its child modules") in captured.err
    assert "  note: the 11 operations that ran before it agree with the spec" in captured.err


def test_counts_are_worded_by_number(team, capsys):
    """Issue 16: not "1 spec layers", "1 modules", "the 0 leaf layers before it agree"."""
    (team / "one.yaml").write_text("input: [4]\nlayers: [{linear: 2}]\n")
    assert validate_against(["one.yaml"], "teamnet.model:one", 1, "meta", "table") == 0
    assert ": 1 layer paired with what the model runs" in capsys.readouterr().out
    assert validate_against(["net.yaml"], "teamnet.model:small", 1, "meta", "table") == 0
    assert "left unpaired, as they change nothing in eval mode: 0 spec layers, 1 model " \
        "operation\n" in capsys.readouterr().out
    (team / "narrow.yaml").write_text(SPEC.replace("conv: {out: 16,", "conv: {out: 8,"))
    assert validate_against(["narrow.yaml"], "teamnet.model:small", 1, "meta", "table") == 1
    out = capsys.readouterr().out
    assert "part ways at spec layer 0 (conv) vs model module stem (Conv2d)" in out
    assert "  note: no layer before it was paired" in out and " 0 layer" not in out


@pytest.mark.parametrize("target, message", [
    ("teamnet.model", "write it as package.module:factory"),
    ("teamnet.nothere:small", "can't import `teamnet.nothere`: ModuleNotFoundError"),
    ("teamnet.model:smal", "`teamnet.model` has no `smal`"),
    ("teamnet.model:not_a_model", "returned a int, not a torch.nn.Module"),
    ("teamnet.model:broken", "`teamnet.model:broken()` raised ValueError: no weights here"),
])
def test_bad_factories_are_bad_input(team, capsys, target, message):
    assert validate_against(["net.yaml"], target, 1, "meta", "table") == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("--against: error: ")


def test_factory_arguments_are_literals_passed_to_it(team, capsys):
    """`module:factory(args)`: literal positional and keyword arguments reach the factory."""
    assert validate_against(["wide.yaml"], "teamnet.model:Net(classes=100)", 1, "meta",
                            "json") == 0
    assert json.loads(capsys.readouterr().out)["against"] == "teamnet.model:Net(classes=100)"
    assert validate_against(["wide.yaml"], "teamnet.model:Net(100)", 1, "meta", "table") == 0
    capsys.readouterr()
    # the same factory with its default (10 classes) or 10 given drifts from the 100-way head
    for target in ("teamnet.model:Net", "teamnet.model:Net()", "teamnet.model: Net( classes = 10 )"):
        assert validate_against(["wide.yaml"], target, 1, "meta", "table") == 1, target
        assert "params: 204,900 (spec) vs 20,490 (model)" in capsys.readouterr().out


def test_factory_arguments_on_the_command_line(team):
    result = run_cli("validate", "wide.yaml", "--against", "teamnet.model:Net(classes=100)",
                     "--device", "meta", cwd=team)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wide.yaml: agrees with teamnet.model:Net(classes=100): 13 layers" in result.stdout


@pytest.mark.parametrize("target, message", [
    ("teamnet.model:Net(classes='x')",
     "`teamnet.model:Net(classes='x')` raised TypeError: "),
    ("teamnet.model:Net(clases=10)", "got an unexpected keyword argument 'clases'"),
])
def test_a_factory_that_refuses_its_arguments_is_bad_input(team, capsys, target, message):
    assert validate_against(["net.yaml"], target, 1, "meta", "table") == 2
    err = capsys.readouterr().err
    assert err.startswith("--against: error: ") and message in err


# (the --against value, the part underlined, the message): nothing in it is run or imported
HOSTILE = [
    ("teamnet.model:Net(len('ab'))", "len('ab')",
     "argument 1 of the factory isn't a literal value: `len('ab')` is a call"),
    ("teamnet.model:Net(classes=__import__('os').system('touch pwned'))",
     "__import__('os').system('touch pwned')", "is a call"),
    ("teamnet.model:Net(classes=open('pwned', 'w'))", "open('pwned', 'w')", "is a call"),
    ("teamnet.model:Net(classes=[10, print(1)])", "print(1)", "`print(1)` is a call"),
    ("teamnet.model:Net(classes=sys.maxsize)", "sys.maxsize", "is an attribute access"),
    ("teamnet.model:Net(classes=ten)", "ten", "is a name (quote it if it is a string)"),
    ("teamnet.model:Net(classes=lambda: 10)", "lambda: 10", "is a lambda"),
    ("teamnet.model:Net(classes=10**10**10)", "10**10**10", "is arithmetic"),
    ("teamnet.model:Net(classes=[0] * 10**9)", "[0] * 10**9", "is arithmetic"),
    ("teamnet.model:Net(classes=[x for x in 'ab'])", "[x for x in 'ab']", "is a comprehension"),
    ("teamnet.model:Net(classes=f'{10}')", "f'{10}'", "is an f-string"),
    ("teamnet.model:Net(*[10])", "*[10]", "is unpacking"),
    ("teamnet.model:Net(**{'classes': 10})", "**{'classes': 10}", "`**` unpacking"),
    ("teamnet.model:Net(classes=1, classes=2)", "classes=2", "argument `classes` is given twice"),
    ("teamnet.model:Net(10)(3)", "Net(10)", "name the factory"),
    ("teamnet.model:Net.__subclasses__()[0]", "Net.__subclasses__()[0]", "name the factory"),
    ("teamnet.model:__import__('os').system('touch pwned')",
     "__import__('os').system", "name the factory"),
    ("teamnet.model:Net(classes=", "", "the factory call isn't valid: '(' was never closed"),
    ("os;import os:Net", "os;import os", "`os;import os` isn't a module name"),
    ("teamnet.model:Net(" + "[" * 300 + "]" * 300 + ")", "", "too many nested parentheses"),
]


@pytest.mark.parametrize("target, part, message", HOSTILE, ids=range(len(HOSTILE)))
def test_factory_arguments_that_arent_literals_are_refused_unrun(team, capsys, target, part,
                                                                 message):
    """Parsed with `ast`, each argument read by `ast.literal_eval`: never evaluated, and
    refused before the model's module is even imported, the part at fault underlined."""
    assert validate_against(["net.yaml"], target, 1, "meta", "table") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.startswith("--against: error: ") and message in err, err
    lines = err.splitlines()
    if len(target) <= LONGEST_WORD:
        shown = lines.index("  " + target)
        marks = lines[shown + 1]
        if part:
            assert marks == "  " + " " * target.index(part) + "^" * len(part), marks
        else:
            assert marks.strip("^ ") == "" and "^" in marks
    else:       # a value this long is shown cut in its middle, as every message cuts one
        assert any("…" in line and len(line) < 200 for line in lines), err
    assert err.count("--against: error: ") == 1        # once, not once per spec
    assert not (team / "pwned").exists()
    assert "teamnet.model" not in sys.modules


def test_a_hostile_against_value_on_the_command_line(team):
    target = "teamnet.model:Net(classes=__import__('os').system('touch pwned'))"
    result = run_cli("validate", "net.yaml", "--against", target, "--device", "meta", cwd=team)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("--against: error: argument `classes` of the factory isn't "
                                    "a literal value: `__import__('os').system('touch pwned')` "
                                    "is a call\n"), result.stderr
    assert "Traceback" not in result.stderr and not (team / "pwned").exists()


def test_a_huge_against_value_is_refused_before_it_is_parsed(team, capsys, monkeypatch):
    import cnncalc.crosscheck.drift as drift

    parsed = []
    monkeypatch.setattr(drift.ast, "parse", lambda *a, **k: parsed.append(a))
    for target in ("teamnet.model:Net(" + "9" * 5000 + ")",
                   "teamnet.model:Net(classes='" + "x" * 10**6 + "')"):
        assert validate_against(["net.yaml"], target, 1, "meta", "table") == 2
        err = capsys.readouterr().err
        assert err.startswith(f"--against: error: the --against value is {len(target):,} "
                              "characters long; at most 1,000"), err[:200]
        assert len(err) < 500
    assert parsed == []


def test_literal_arguments_of_every_kind(team):
    from cnncalc.crosscheck.drift import parse_target

    target = parse_target("teamnet.model:Net.build(3, -2.5, 'é', [1, (2, 3)], "
                          "{'a': None, 'b': {1, 2}}, flag=True, size=1e3, name=\"x\")")
    assert (target.module, target.attribute) == ("teamnet.model", "Net.build")
    assert target.args == (3, -2.5, "é", [1, (2, 3)], {"a": None, "b": {1, 2}})
    assert target.kwargs == {"flag": True, "size": 1000.0, "name": "x"}
    assert parse_target("m.n:f").args == () and not parse_target("m.n:f").called


def test_refuses_a_run_the_device_has_no_memory_for(team, capsys, monkeypatch):
    """The shared prepare step: the spec's memory estimate, before the factory is called."""
    monkeypatch.setattr(measure_module, "available_bytes", lambda device: 2**20)
    assert validate_against(["net.yaml"], "teamnet.model:broken", 1, "cpu", "table") == 2
    err = capsys.readouterr().err
    assert err.startswith("net.yaml: error: running this network on cpu needs about")
    assert "but only 1 MiB is available" in err and "--device meta" in err
    assert "no weights here" not in err                 # refused before building the model
    assert validate_against(["net.yaml"], "teamnet.model:small", 1, "meta", "table") == 0


def test_strict_rounding_says_what_the_model_did(team, capsys):
    strict = SPEC.replace("rounding: floor", "rounding: strict")
    (team / "strict.yaml").write_text(strict)
    (team / "strict_wide.yaml").write_text(strict.replace("linear: 10", "linear: 100"))
    assert validate_against(["strict.yaml"], "teamnet.model:small", 1, "meta", "table") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "strict.yaml:9:11: error:" in captured.err
    assert "PyTorch ran it anyway: it floored 8.5 to 8, so only the last row and column of zero padding were never seen (no input is lost)" in captured.err
    assert "(with flooring, code and spec agree)" in captured.err
    assert validate_against(["strict_wide.yaml"], "teamnet.model:small", 1, "meta", "json") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert ("; with flooring: strict_wide.yaml:16:5: error: code and spec part ways at spec "
            "layer 5 (linear) vs model module fc (Linear)") in captured.err


def test_json_is_one_object_for_one_spec_and_a_list_for_several(team, capsys):
    """As for `validate` alone: one SPEC, its object (nothing when it is bad input); several,
    a list of the objects of those that ran; bad input only on standard error."""
    (team / "bad.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    target = "teamnet.model:small"
    assert validate_against(["net.yaml"], target, 1, "meta", "json") == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert validate_against(["bad.yaml"], target, 1, "meta", "json") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "bad.yaml:3:5: error:" in captured.err
    assert validate_against(["net.yaml", "bad.yaml", "gray.yaml"], target, 1, "meta", "json") == 2
    reports = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in reports] == ["net.yaml", "gray.yaml"]
    assert reports[0]["ok"] and reports[1]["error"].startswith("RuntimeError")
    assert validate_against(["bad.yaml", "bad.yaml"], target, 1, "meta", "json") == 2
    assert json.loads(capsys.readouterr().out) == []


def test_a_misspelt_factory_gets_a_hint(team):
    with pytest.raises(SpecError) as info:
        load_factory("teamnet.model:smal")
    assert "did you mean `small`?" in info.value.hints


def _measured(analysis, batch: int = 1):
    """The built model measured and traced in one run, as `--against` runs a model."""
    model = materialise(build(analysis), "cpu")
    x = torch.zeros((batch, *analysis.input_shape))
    with Tracing(model, x) as tracing:
        measurement = measure(model, x)
    return measurement, tracing.result(())


def _widen(entry):
    """The entry with its first conv/linear one channel wider, or None if it has none (or
    `when` leaves it out)."""
    if isinstance(entry, dict):
        (kind, value), = entry.items()
        if isinstance(value, dict) and not value.get("when", 1):
            return None
        if kind in ("conv", "linear"):
            if isinstance(value, dict):
                return {kind: {**value, "out": value["out"] + 1}}
            return {kind: value + 1}
        if isinstance(value, list):
            for i, item in enumerate(value):
                widened = _widen(item) if not isinstance(item, list) else None
                if widened is not None:
                    return {kind: [*value[:i], widened, *value[i + 1:]]}
    return None


def _analysed_and_measured(spec):
    """The analysis and the built model's measurement; a network cnncalc rejects (rare: the
    generator keeps shapes valid) is discarded. PyTorch must run what cnncalc accepts (that
    is validate's promise), so nothing it raises is discarded. Two samples, as BatchNorm
    needs more than one value per channel to train on a 1×1 map."""
    try:
        analysis = analyze_loaded(load_dict(spec))
    except SpecError:
        assume(False)
    return analysis, *_measured(analysis, batch=2)


@settings(max_examples=20)
@given(networks(ranks=(1, 2), max_layers=5))
def test_random_networks_agree_with_their_build(spec):
    """The model cnncalc builds for a spec (zero-pads for `same`, branches in any nesting)
    has no drift from it."""
    analysis, measurement, traced = _analysed_and_measured(spec)
    same = compare(analysis, measurement, traced, "net.yaml", "built")
    assert same["ok"], describe(same)


V2 = ("slice", "channel_shuffle", "conv", "relu", "batchnorm", "maxpool", "global_avgpool",
      "linear")


@settings(max_examples=30)
@given(networks(ranks=(1, 2), max_layers=5, kinds=V2, channels=8, composite_odds=2,
                layouts=("chw", "hwc")))
def test_random_networks_with_slices_splits_and_when_agree_with_their_build(spec):
    """Version 2's channel slices, splits (drawn among the composites), `when` (on any entry,
    and in the block's expression), `$in_channels`, and `linear` on the channels in `hwc`
    agree with PyTorch's own slicing, cuts and modules."""
    analysis, measurement, traced = _analysed_and_measured(spec)
    same = compare(analysis, measurement, traced, "net.yaml", "built")
    assert same["ok"], describe(same)


@settings(max_examples=20)
@given(networks(ranks=(1, 2), max_layers=4, kinds=("linear", "conv", "relu", "slice", "maxpool"),
                composites=False, channels=8, layouts=("hwc",)))
def test_random_hwc_networks_agree_with_their_build(spec):
    """In `hwc`, `linear` acts on the channels (nn.Linear on channels-last), as built."""
    analysis, measurement, traced = _analysed_and_measured(spec)
    same = compare(analysis, measurement, traced, "net.yaml", "built")
    assert same["ok"], describe(same)


@st.composite
def _split_networks(draw):
    """A split (netgen's) of an input of 2 to 8 channels, then a random slice."""
    shape = (draw(st.integers(2, 8)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    split, out = draw(split_entry(shape))
    layers = [split, draw(leaf_entry("slice", out))]
    return {"input": list(shape), "layers": layers}


@settings(max_examples=30)
@given(_split_networks())
def test_random_splits_agree_with_their_build(spec):
    analysis, measurement, traced = _analysed_and_measured(spec)
    same = compare(analysis, measurement, traced, "net.yaml", "built")
    assert same["ok"], describe(same)


WEIGHTED = ("conv", "linear", "batchnorm", "relu", "maxpool", "avgpool", "flatten", "dropout",
            "global_avgpool", "identity")


@st.composite
def _weighted_networks(draw):
    """A network with at least one top-level conv or linear: a last `linear` (it acts on the
    last axis, so it fits any shape) when the drawn one has none."""
    spec = draw(networks(ranks=(1, 2), max_layers=5, kinds=WEIGHTED))
    if not any(_widen(entry) for entry in spec["layers"]):
        spec["layers"].append({"linear": draw(st.integers(1, 16))})
    return spec


@settings(max_examples=20)
@given(_weighted_networks())
def test_a_widened_layer_always_drifts(spec):
    """Widening any top-level conv or linear layer of the spec by one channel (so params grow)
    makes it drift from the model built for the original, and the report says where."""
    analysis, measurement, traced = _analysed_and_measured(spec)
    widened_some = False
    for i, entry in enumerate(spec["layers"]):
        widened = _widen(entry)
        if widened is None:
            continue
        changed = {**spec, "layers": [*spec["layers"][:i], widened, *spec["layers"][i + 1:]]}
        try:
            other = analyze_loaded(load_dict(changed))
        except SpecError:
            continue                    # e.g. groups no longer divide the channels
        drift = compare(other, measurement, traced, "net.yaml", "built")
        assert not drift["ok"], i
        lines = describe(drift)
        assert lines and lines[0].startswith("net.yaml") and " error: " in lines[0]
        widened_some = True
    assume(widened_some)


def test_pairing_work_is_bounded(monkeypatch):
    """Past MAX_WORK leaf steps the branches are paired in their written order (as built)."""
    import cnncalc.crosscheck.drift as drift

    branch = [{"conv": {"out": 2, "kernel": 1}}, "relu"]
    spec = {"input": [2, 4, 4], "layers": [{"concat": [branch, branch, branch]}, "flatten",
                                          {"linear": 3}]}
    analysis = analyze_loaded(load_dict(spec))
    measurement, traced = _measured(analysis)
    monkeypatch.setattr(drift, "MAX_WORK", 5)
    ours, index = drift.spec_leaves(analysis)
    theirs = drift.model_leaves(traced, measurement.modules, 1)
    with pytest.raises(drift._TooMuchWork):
        drift._Pairer(analysis, ours, index, theirs).run()
    result = compare(analysis, measurement, traced, "net.yaml", "built")
    assert result["ok"] and result["paired"] == 9   # 3 × (conv, relu), torch.cat, flatten, linear


# -- references: paths paired in any order their reads allow ------------------------------------

@settings(max_examples=20, deadline=None)
@given(networks(ranks=(1, 2), max_layers=5, references=True))
def test_random_dags_agree_with_their_build(spec):
    """A DAG (entries `from` earlier ones, `{from: [...]}`, several outputs) has no drift from
    the model cnncalc builds for it, whose `forward` returns a tuple of its outputs."""
    analysis, measurement, traced = _analysed_and_measured(spec)
    same = compare(analysis, measurement, traced, "net.yaml", "built")
    assert same["ok"], describe(same)


SIDE_PATH = """\
input: [3, 16, 16]
rounding: floor
layers:
  - conv: {out: 8, kernel: 3, padding: 1, id: c1}
  - conv: {out: 8, kernel: 3, stride: 2, padding: 1}
  - relu: {id: deep}
  - conv: {out: SIDE, kernel: 1, from: c1}
outputs: [deep, .]
"""


class _SideFirst(torch.nn.Module):
    """Code computes the side path where its source is, before the spec's next entry."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.side = torch.nn.Conv2d(8, 4, 1)
        self.down = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1)

    def forward(self, x):
        c1 = self.c1(x)
        side = self.side(c1)
        return torch.relu(self.down(c1)), side


@pytest.mark.parametrize("width, ok", [(4, True), (5, False)])
def test_a_path_from_a_reference_pairs_where_the_code_computes_it(width, ok):
    analysis = analyze_loaded(load_text(SIDE_PATH.replace("SIDE", str(width)), "net.yaml"))
    model, x = materialise(_SideFirst(), "cpu"), torch.zeros((1, 3, 16, 16))
    with Tracing(model, x) as tracing:
        measurement = measure(model, x)
    result = compare(analysis, measurement, tracing.result(()), "net.yaml",
                     "teamnet.model:SideFirst")
    assert result["ok"] is ok, describe(result)
    assert result["totals"]["model"]["output_shape"] == [[8, 8, 8], [4, 16, 16]]
    if not ok:
        # the side conv is the leaf that parts ways (4 channels in the model, 5 in the spec)
        assert result["divergence"]["spec"]["label"].startswith("3 (conv")


# ---------------------------------------------------------------------------------------------
# Operations, not only figures: parameter-free layers and joins are paired too (issue 14)

VARIANTS = '''
import torch
from torch import nn
from torch.nn import functional as F


class Net(nn.Module):
    def __init__(self, pool="max", relu=True, extra_relu=False, softmax=True, gate="mul"):
        super().__init__()
        self.relu, self.extra_relu, self.softmax, self.gate = relu, extra_relu, softmax, gate
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.Sigmoid())
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = self.conv(x)
        if self.relu:
            x = self.act(x)  # <act>
        x = self.pool(x)  # <pool>
        if self.extra_relu:
            x = F.relu(x)  # <extra>
        x = x * self.se(x) if self.gate == "mul" else x + self.se(x)  # <gate>
        x = self.fc(x.view(x.size(0), -1))
        return F.softmax(x, dim=1) if self.softmax else x
'''

GATED = """\
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool: 2
  - mul:                    # squeeze-and-excitation
      - []
      - [global_avgpool, {conv: {out: 8, kernel: 1}}, sigmoid]
  - flatten
  - linear: 10
  - softmax
"""


def _line(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.fixture
def variants(team):
    (team / "teamnet" / "variants.py").write_text(VARIANTS)
    (team / "gated.yaml").write_text(GATED)
    return team


def test_every_operation_agrees(variants, capsys):
    """nn.ReLU(inplace=True) is `relu`, x.view(N, -1) is `flatten`, `*` is the `mul` join."""
    assert validate_against(["gated.yaml"], "teamnet.variants:Net", 1, "meta", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paired"] == data["spec_leaves"] == data["model_leaves"] == 10


@pytest.mark.parametrize("factory, spec_line, message, differs", [
    ("Net(pool='avg')", "maxpool: 2",
     "error: code and spec part ways at spec layer 2 (maxpool) vs model module pool (AvgPool2d) "
     "at teamnet/variants.py:{pool}", ["  operation: maxpool (spec) vs AvgPool2d (model)"]),
    ("Net(relu=False)", "  - relu",
     "error: spec layer 1 (relu) has no counterpart in the model: where it would be, the model "
     "goes on with module pool (MaxPool2d) at teamnet/variants.py:{pool}", []),
    ("Net(extra_relu=True)", "[global_avgpool",
     "error: the model runs call torch.nn.functional.relu at teamnet/variants.py:{extra}, which "
     "the spec doesn't have: it comes before spec layer 3.1.0 (global_avgpool)", []),
    ("Net(softmax=False)", "softmax",
     "error: spec layer 6 (softmax) has no counterpart: the model's operations end before it",
     []),
])
def test_a_different_missing_or_added_operation_is_named(variants, capsys, factory, spec_line,
                                                         message, differs):
    """Issue 14's cases: MaxPool2d swapped for AvgPool2d, a ReLU missing or added, the softmax
    dropped: each is drift, named with the spec's position and the model's."""
    lines = {m: _line(VARIANTS, f"# <{m}>") for m in ("pool", "extra", "gate")}
    assert validate_against(["gated.yaml"], f"teamnet.variants:{factory}", 1, "meta",
                            "table") == 1
    out = capsys.readouterr().out.splitlines()
    line = _line(GATED, spec_line)
    assert out[0].startswith(f"gated.yaml:{line}:") and out[0].endswith(message.format(**lines))
    assert out[1:-1] == differs


def test_a_gate_written_as_add_is_named(variants, capsys):
    """The spec adds where the model multiplies: the join's operation differs."""
    (variants / "added.yaml").write_text(GATED.replace("- mul:", "- add:"))
    assert validate_against(["added.yaml"], "teamnet.variants:Net", 1, "meta", "table") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"added.yaml:{_line(GATED, '- mul:')}:5: error: code and spec part ways at "
                      "spec layer 3 (add: joining its branches) vs model call Tensor.mul at "
                      f"teamnet/variants.py:{_line(VARIANTS, '# <gate>')}")
    assert out[1] == "  operation: add (spec) vs Tensor.mul (model)"
    # and the model that adds, against the spec that multiplies
    assert validate_against(["gated.yaml"], "teamnet.variants:Net(gate='add')", 1, "meta",
                            "json") == 1
    d = json.loads(capsys.readouterr().out)["divergence"]
    assert (d["spec"]["operation"], d["model"]["operation"], d["differs"]) == \
        ("mul", "Tensor.add", ["operation"])


@pytest.mark.parametrize("name", sorted(torchvision_ref.FACTORIES))
def test_every_zoo_network_agrees_operation_by_operation(name, capsys):
    """The torchvision copies against their bundled specs: every layer pairs with an operation,
    and only copies and moved axes are left over (DenseNet's torch.cat of one tensor, once per
    block; ShuffleNet's view and transpose before the view of its channel shuffle; ConvNeXt's
    Permute; stochastic depth), and on the spec's side a flatten of [C, 1, 1] after code that reduced to [C]."""
    assert validate_against([str(SPECS / f"{name}.yaml")], f"tests.torchvision_ref:{name}", 1,
                            "meta", "json") == 0, name
    data = json.loads(capsys.readouterr().out)
    assert all(label.endswith("(flatten)") for label in data["unpaired_spec"])
    layout = ("torch.cat", "Tensor.view", "Tensor.transpose", "Tensor.contiguous")
    # and what is the identity in eval mode (EfficientNet's stochastic depth, not in its spec)
    # (and the pieces of a cut after its first: the cut pairs with the spec's `split`)
    assert all(label.startswith(layout) or label.endswith(("(Permute)", "(StochasticDepth)"))
               or " (piece " in label for label in data["unpaired_model"]), data["unpaired_model"]
    assert data["paired"] == data["spec_leaves"] - len(data["unpaired_spec"])


MUTATED_KINDS = ("conv", "maxpool", "avgpool", "adaptive_maxpool", "global_avgpool", "relu",
                 "gelu", "sigmoid", "batchnorm", "flatten", "linear")


def _swap_pool(module):
    """MaxPool ↔ AvgPool, AdaptiveMaxPool ↔ AdaptiveAvgPool, with the same window."""
    name = type(module).__name__
    if name.startswith("Adaptive"):
        other = name.replace("Max", "Avg") if "Max" in name else name.replace("Avg", "Max")
        return getattr(nn, other)(module.output_size)
    other = name.replace("Max", "Avg") if "Max" in name else name.replace("Avg", "Max")
    return getattr(nn, other)(module.kernel_size, module.stride, module.padding,
                              ceil_mode=module.ceil_mode)


def _stride_changes_shape(module, input_shape) -> bool:
    """Whether one more stride changes the module's output on its input (or makes it fail)."""
    before = module(torch.zeros(1, *input_shape)).shape
    stride = module.stride
    module.stride = tuple(s + 1 for s in stride) if isinstance(stride, tuple) else stride + 1
    try:
        return module(torch.zeros(1, *input_shape)).shape != before
    except RuntimeError:
        return True
    finally:
        module.stride = stride


def _sites(model, analysis) -> list[tuple[str, str]]:
    """(mutation, module path) for every place one operation can be changed."""
    from cnncalc.crosscheck.build import Branches, Residual

    inputs = {row.node.path: row.input_shape for row in analysis.rows}
    sites = []
    for path, module in model.named_modules():
        name = type(module).__name__
        if "Pool" in name and ("Max" in name or "Avg" in name):
            sites.append(("swap the pool", path))
        if type(module).__module__ == "torch.nn.modules.activation":
            sites += [("drop the activation", path), ("add an activation", path)]
        if hasattr(module, "stride") and path in inputs and _stride_changes_shape(
                module, inputs[path]):
            sites.append(("change the stride", path))
        if isinstance(module, Residual) or (isinstance(module, Branches)
                                            and module.kind in ("add", "mul")
                                            and len(list(module.children())) > 1):
            sites.append(("swap add and mul", path))
    return sites


def _mutate(model, mutation: str, path: str) -> None:
    import types

    parent, _, name = path.rpartition(".")
    owner = model.get_submodule(parent)
    module = model.get_submodule(path)
    if mutation == "swap the pool":
        setattr(owner, name, _swap_pool(module))
    elif mutation == "drop the activation":
        setattr(owner, name, nn.Sequential())       # runs nothing
    elif mutation == "add an activation":
        setattr(owner, name, nn.Sequential(module, nn.Tanh()))
    elif mutation == "change the stride":
        stride = module.stride
        module.stride = tuple(s + 1 for s in stride) if isinstance(stride, tuple) else stride + 1
    elif hasattr(module, "combine"):                 # Branches: add ↔ mul
        product = module.kind == "add"

        def combine(torch, outs, product=product):
            total = outs[0]
            for out in outs[1:]:
                total = total * out if product else total + out
            return total
        module.combine = combine
    else:                                           # Residual: + becomes *
        module.forward = types.MethodType(lambda self, x: self.layers(x) * self.shortcut(x),
                                          module)


@settings(max_examples=40, deadline=None)
@given(networks(ranks=(1, 2), max_layers=5, kinds=MUTATED_KINDS), st.data())
def test_one_changed_operation_is_named(spec, data):
    """Issue 14's proof: one operation of the model built for a random spec is changed (a pool
    swapped, an activation dropped or added, a stride changed, add and mul swapped); `--against`
    says it drifts and names that layer: its path, on the spec's side or the model's."""
    from cnncalc.crosscheck.drift import failure
    from cnncalc.crosscheck.measure import ForwardFailed

    try:
        analysis = analyze_loaded(load_dict(spec))
    except SpecError:
        assume(False)
    model = materialise(build(analysis), "cpu")
    sites = _sites(model, analysis)
    assume(sites)
    mutation, path = data.draw(st.sampled_from(sites))
    event(mutation)
    _mutate(model, mutation, path)
    x = torch.zeros((2, *analysis.input_shape))
    with Tracing(model, x) as tracing:
        try:
            result = compare(analysis, measure(model, x), tracing.result(()), "net.yaml", "m")
        except ForwardFailed as failed:
            result = failure(analysis, failed, tracing.result(()), "net.yaml", "m", "cpu")
    assert not result["ok"]
    text = "\n".join(describe(result))
    # a layer, or one indistinguishable from it (a `relu` of the same shape in the other branch
    # of an `add`: which one the model lacks, the order of operations can't tell; an added Tanh
    # and a `tanh` of the spec's of the same shape, likewise)
    rows = {row.node.path: row for row in analysis.leaves}
    twins = [p for p, row in rows.items() if path in rows and row.node.kind == rows[path].node.kind
             and row.output_shape == rows[path].output_shape] or [path]
    added = [f"{path}.1"] + [p for p, row in rows.items() if path in rows
                             and row.node.kind == "tanh" and row.output_shape == rows[path].output_shape]
    named = [f" {p} (" for p in twins] + [f"`{path}`"] + [f" {p} (Tanh)" for p in added]
    assert any(name in text for name in named), (mutation, path, text)


def test_a_layer_scale_in_forward_is_the_scale_layer(team, capsys):
    """ConvNeXt's `self.layer_scale * x`: a parameter given to `*` directly pairs with `scale`
    (its params are the function's); `+` instead of `*` is drift."""
    (team / "teamnet" / "scaled.py").write_text(
        "import torch\nfrom torch import nn\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, op='mul'):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 1)\n"
        "        self.layer_scale = nn.Parameter(torch.ones(4, 1, 1))\n"
        "        self.op = op\n\n"
        "    def forward(self, x):\n"
        "        x = self.conv(x)\n"
        "        return self.layer_scale * x if self.op == 'mul' else self.layer_scale + x\n")
    (team / "scale.yaml").write_text("input: [3, 4, 4]\nlayers: [{conv: {out: 4, kernel: 1}}, "
                                     "scale]\n")
    assert validate_against(["scale.yaml"], "teamnet.scaled:Net", 1, "meta", "json") == 0
    assert json.loads(capsys.readouterr().out)["paired"] == 2
    assert validate_against(["scale.yaml"], "teamnet.scaled:Net('add')", 1, "meta", "table") == 1
    out = capsys.readouterr().out
    assert "part ways at spec layer 1 (scale) vs model call Tensor.add at teamnet/scaled.py:14" \
        in out and "  operation: scale (spec) vs Tensor.add (model)" in out
