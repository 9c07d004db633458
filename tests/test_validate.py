"""`cnncalc validate`: the static report against a real PyTorch forward pass.

- random valid networks (tests/netgen.py: every kind, nested concat/add/residual, blocks,
  1-D/2-D/3-D inputs) agree with PyTorch on every figure; where cnncalc rejects a network,
  PyTorch rejects it too, or the rejection is a documented rule of the spec language;
- a deliberately broken static rule makes `validate` report the disagreement and exit 1;
- every spec in specs/ validates on CPU (and on CUDA when there is one);
- the JSON contract, errors, strict rounding's note, the memory estimate.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from torch import nn

from cnncalc import kinds
from cnncalc.crosscheck.build import Branches, build, materialise
from cnncalc.crosscheck.diff import FIGURES, compare, disagreements
from cnncalc.crosscheck.measure import measure
from cnncalc.dims import StrictRoundingError
from cnncalc.errors import SpecError
from cnncalc.pipeline import analyze_loaded
from conftest import ROOT, SPECS, cli_env, run_cli, run_here
from netgen import load_dict, networks, to_yaml

BATCH = 2
TORCH_ERRORS = (RuntimeError, ValueError)
ZOO = sorted(SPECS.glob("*.yaml"))


# -- an oracle that knows nothing of cnncalc's shape rules -----------------------------------------

class Eager(nn.Module):
    """A leaf built when it runs, from the shape PyTorch actually gives it."""

    def __init__(self, node):
        super().__init__()
        self.node = node

    def forward(self, x, *refs):
        module = materialise(self.node.impl.build(nn, self.node.args, tuple(x.shape[1:])), "cpu")
        self.stride = getattr(module, "stride", 1)      # for `shortcut: optional`
        out = module(x, *refs)
        if 0 in out.shape:
            # documented: "an output size below 1 is always an error"; PyTorch returns it empty
            raise ValueError(f"{self.node.kind} gave an empty output {tuple(out.shape)}")
        return out


class EagerResidual(nn.Module):
    """A residual whose `projection`/`auto` shortcut is sized from the layers' real output, and
    whose `optional` shortcut is decided from the modules that ran."""

    def __init__(self, node, layers, shortcut):
        super().__init__()
        self.mode, self.layers, self.shortcut = node.shortcut, layers, shortcut

    def forward(self, x):
        y = self.layers(x)
        if self.mode == "none":
            return y
        if self.mode == "optional":
            # as torchvision's MobileNet blocks: `use_res_connect = stride == 1 and inp == oup`,
            # from the strides of the modules that ran and the real channel counts
            strides = [getattr(m, "stride", 1) for m in self.layers.modules() if isinstance(m, Eager)]
            stride_one = all(s == 1 for stride in strides
                             for s in (stride if isinstance(stride, tuple) else (stride,)))
            return y + self.shortcut(x) if stride_one and y.shape[1] == x.shape[1] else y
        if self.mode == "projection" or (self.mode == "auto" and y.shape != x.shape):
            stride = tuple(-(-a // b) for a, b in zip(x.shape[2:], y.shape[2:]))
            conv = getattr(nn, f"Conv{x.dim() - 2}d")(x.shape[1], y.shape[1], 1, stride=stride,
                                                      bias=False)
            norm = getattr(nn, f"BatchNorm{x.dim() - 2}d")(y.shape[1])
            return y + nn.Sequential(conv, norm).eval()(x)
        return y + self.shortcut(x)


# written here, not taken from cnncalc: the oracle's own reading of concat and add
_COMBINE = {"concat": lambda torch, outs: torch.cat(outs, dim=1),
            "add": lambda torch, outs: sum(outs[1:], outs[0]),
            "mul": lambda torch, outs: math.prod(outs[1:], start=outs[0])}


class EagerChain(nn.Module):
    """A list of entries with references (inside a block or a `repeat`), wired here: every
    value is kept by (path, port), an entry with `from` reads its source, a `{from: [...]}`
    combines the values it names."""

    def __init__(self, node, children):
        super().__init__()
        self.node, self.parts = node, nn.ModuleList(children)

    def forward(self, x, values=None):
        values = {} if values is None else values
        values[(self.node.path, "in")] = x
        for child, module in zip(self.node.children, self.parts):
            given = values[child.src] if child.src is not None else x
            if child.refs and not child.leaf:
                x = _COMBINE[child.kind](torch, [values[key] for key in child.refs])
            elif isinstance(module, EagerChain):
                x = module(given, values)
            else:
                x = module(given, *[values[key] for key in child.refs])
            values[(child.path, "out")] = x
        return x


class EagerSplit(nn.Module):
    """`split`: PyTorch's own cut (torch.split by sizes, torch.chunk by parts), piece i through
    branch i, joined along channels."""

    def __init__(self, node, children):
        super().__init__()
        self.args, self.parts = node.args, nn.ModuleList(children)

    def forward(self, x):
        pieces = (torch.split(x, list(self.args.sizes), 1) if self.args.sizes is not None
                  else torch.chunk(x, self.args.parts, 1))
        return torch.cat([branch(piece) for branch, piece in zip(self.parts, pieces)], 1)


def eager(node) -> nn.Module:
    if node.leaf:
        return Eager(node)
    children = [eager(c) for c in node.children]
    if node.kind == "split":
        return EagerSplit(node, children)
    if node.kind in _COMBINE:
        return Branches(node.kind, [(str(i), c) for i, c in enumerate(children)], _COMBINE[node.kind])
    if node.kind == "residual":
        return EagerResidual(node, *children)
    if any(c.src is not None or c.refs for c in node.walk()):
        return EagerChain(node, children)
    return nn.Sequential(*children)


def torch_runs(loaded, shape) -> bool:
    """Whether PyTorch runs the network; False when it raises."""
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eager(loaded.root)(torch.zeros((BATCH, *shape)))
    except TORCH_ERRORS:
        return False
    return True


def documented_rejection(exc: SpecError) -> bool:
    """A rejection the spec language states although PyTorch would run the network: `residual`
    needs equal shapes (no broadcasting; `add` and `mul` broadcast as PyTorch does)."""
    return "`residual` needs equal shapes" in exc.message


def floored(loaded):
    def floor(node):
        return replace(node, rounding="floor", children=[floor(c) for c in node.children])
    return replace(loaded, root=floor(loaded.root))


def check_against_torch(analysis, name="net") -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measurement = measure(materialise(build(analysis), "cpu"),
                              torch.zeros((BATCH, *analysis.input_shape)))
    return compare(analysis, measurement, name)


# What the property below met, so that it can require that most examples ran and agreed
# (not that both sides rejected them).
OUTCOMES: dict[str, int] = {}


def outcome(label: str) -> None:
    event(label)
    OUTCOMES[label] = OUTCOMES.get(label, 0) + 1


def both_reject(exc: SpecError, loaded, shape) -> None:
    if documented_rejection(exc):
        outcome("cnncalc rejects: add without broadcasting")
        return
    assert not torch_runs(loaded, shape), f"PyTorch runs what cnncalc rejects: {exc.format()}"
    outcome("both reject")


@settings(max_examples=max(500, settings.default.max_examples))
@given(st.sampled_from(["floor", "strict"]).flatmap(lambda r: networks(rounding=r)))
def _random_networks_agree_with_torch(spec):
    note(to_yaml(spec))
    loaded = load_dict(spec)
    shape = tuple(spec["input"])
    try:
        analysis = analyze_loaded(loaded)
    except StrictRoundingError:
        # what validate does: PyTorch floors, so the floor analysis must match it
        event("strict rejects, floored")
        loaded = floored(loaded)
        try:
            analysis = analyze_loaded(loaded)
        except SpecError as exc:
            both_reject(exc, loaded, shape)
            return
    except SpecError as exc:
        both_reject(exc, loaded, shape)
        return
    result = check_against_torch(analysis)
    assert result["ok"], disagreements(result)
    outcome("agree")


def test_random_networks_agree_with_torch():
    """Random networks agree with PyTorch on every figure, or both reject them; and most of
    them (at least half) ran and agreed."""
    OUTCOMES.clear()
    _random_networks_agree_with_torch()
    assert OUTCOMES.get("agree", 0) >= sum(OUTCOMES.values()) / 2, OUTCOMES


# -- networks with references: a DAG, wired by the oracle from the spec's own names ---------------

def run_by_names(spec: dict, x: torch.Tensor) -> tuple[list, list]:
    """The oracle for references: the spec's top-level entries run in PyTorch one by one, each
    reading what its `from` / `like` names say (looked up here, by name, in the spec itself),
    and each entry without references built alone (the oracle above). Returns every entry's
    output and the network's outputs, in `outputs` order (default: the last entry's)."""
    named = {"input": x}
    previous, outs = x, []
    for entry in spec["layers"]:
        kind, args = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        args = dict(args) if isinstance(args, dict) else args
        name = source = like = None
        if isinstance(args, dict):
            name, source, like = args.pop("id", None), args.pop("from", None), args.pop("like", None)

        def value(ref, previous=previous):
            return previous if ref == "." else named[ref]
        if isinstance(source, list):               # concat/add/mul {from: [...]}
            y = _COMBINE[kind](torch, [value(ref) for ref in source])
        else:
            given = previous if source is None else value(source)
            if like is not None:                   # upsample to an earlier output's size
                y = nn.functional.interpolate(given, size=tuple(value(like).shape[2:]),
                                              mode=args.get("mode", "nearest"))
            else:
                alone = {"input": list(given.shape[1:]), "rounding": spec["rounding"],
                         "layers": [{kind: args} if args != {} else kind]}
                if "blocks" in spec:
                    alone["blocks"] = spec["blocks"]
                y = eager(load_dict(alone).root)(given)
        if name is not None:
            named[name] = y
        outs.append(y)
        previous = y
    return outs, [previous if ref == "." else named[ref] for ref in spec.get("outputs", ["."])]


@settings(max_examples=max(150, settings.default.max_examples // 2), deadline=None)
@given(networks(references=True))
def _random_dags_agree_with_torch(spec):
    note(to_yaml(spec))
    loaded = load_dict(spec)
    shape = tuple(spec["input"])
    try:
        analysis = analyze_loaded(loaded)
    except SpecError as exc:
        if documented_rejection(exc):
            outcome("cnncalc rejects: add without broadcasting")
            return
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_by_names(spec, torch.zeros((BATCH, *shape)))
        except TORCH_ERRORS:
            outcome("both reject")
            return
        raise AssertionError(f"PyTorch runs what cnncalc rejects: {exc.format()}") from None
    # the builder's wiring against every static figure, node by node
    result = check_against_torch(analysis)
    assert result["ok"], disagreements(result)
    # the expander's wiring against the spec's names, read by the oracle
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries, outputs = run_by_names(spec, torch.zeros((BATCH, *shape)))
    rows = {row.node.path: row for row in analysis.rows}
    for i, y in enumerate(entries):
        assert tuple(rows[str(i)].output_shape) == tuple(y.shape[1:]), f"entry {i}"
    assert [tuple(s) for _, s, _ in analysis.outputs] == [tuple(y.shape[1:]) for y in outputs]
    outcome("agree, several outputs" if len(outputs) > 1 else "agree")


def test_random_dags_agree_with_torch():
    """Random DAGs (entries `from` earlier ones, concat/add/mul of earlier outputs, upsample
    `like` and `size`, blocks and repeats with references inside, several outputs) agree with
    PyTorch on every figure and every entry's shape, wired by the spec's own names; or both
    reject them. Most ran and agreed, and some had several outputs."""
    OUTCOMES.clear()
    _random_dags_agree_with_torch()
    agreed = OUTCOMES.get("agree", 0) + OUTCOMES.get("agree, several outputs", 0)
    assert agreed >= sum(OUTCOMES.values()) / 2, OUTCOMES
    assert OUTCOMES.get("agree, several outputs", 0) >= 5, OUTCOMES


@st.composite
def _optional_residual(draw):
    """A `shortcut: optional` residual whose layers may stride or change the channels."""
    c, n = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    shape = [c, *[draw(st.integers(2, 9)) for _ in range(n)]]
    k = draw(st.sampled_from([1, 3]))
    layers = [{"conv": {"out": draw(st.integers(1, 4)), "kernel": k, "padding": k // 2,
                        "stride": draw(st.sampled_from([1, 1, 2]))}}, "relu"]
    if draw(st.booleans()):
        layers.append({"maxpool": draw(st.sampled_from([{"kernel": 1}, {"kernel": 3, "stride": 1,
                                                                          "padding": 1}]))})
    return {"input": shape, "rounding": "floor",
            "layers": [{"residual": {"shortcut": "optional", "layers": layers}}]}


@settings(max_examples=60, deadline=None)
@given(_optional_residual())
def test_optional_shortcut_is_the_identity_where_pytorch_adds_it(spec):
    """cnncalc's decision (a shortcut row, or none) is the PyTorch module's: it adds the input
    exactly where every module inside has stride 1 and the channels are kept (torchvision's
    `use_res_connect`), read from the modules and tensors (crosscheck.build.OptionalResidual)."""
    note(to_yaml(spec))
    analysis = analyze_loaded(load_dict(spec))
    identity = "0.shortcut" in {row.node.path for row in analysis.rows}
    model = materialise(build(analysis), "cpu")
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
        x = torch.rand((BATCH, *spec["input"])) + 1
        residual = model[0]
        added = not torch.equal(residual(x), residual.layers(x))
    assert added == identity
    event(f"identity: {identity}")


# -- the cross-check can fail --------------------------------------------------------------------

@pytest.fixture
def net(tmp_path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text("input: [3, 16, 16]\nlayers:\n  - conv: {out: 8, kernel: 3, padding: 1}\n"
                    "  - relu\n  - maxpool: 2\n  - flatten\n  - linear: 10\n  - linear: 4\n")
    return path


def test_broken_flops_rule_is_reported(monkeypatch, net):
    conv = kinds.KINDS["conv"]
    monkeypatch.setattr(conv, "macs", lambda a, s, o, rule=conv.macs: rule(a, s, o) + 1)
    result = run_here("validate", net, "--device", "cpu", "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    conv = next(layer for layer in report["layers"] if layer["path"] == "0")
    assert conv["agree"] is False
    assert conv["static"]["flops"] == conv["torch"]["flops"] + 2
    assert all(layer["agree"] for layer in report["layers"] if layer["path"] != "0")
    assert report["totals"]["agree"] is False
    table = run_here("validate", net, "--device", "cpu")
    assert table.returncode == 1
    assert "✗" in table.stdout and "flops 110,594 (cnncalc) vs 110,592 (torch)" in table.stderr


def test_broken_shape_rule_is_reported(monkeypatch, net):
    # a wrong linear shape: its row disagrees, and the next linear, built for the wrong size,
    # makes PyTorch refuse the network
    monkeypatch.setattr(kinds.KINDS["linear"], "shape", lambda a, s, f: (*s[:-1], a.out + 1))
    result = run_here("validate", net, "--device", "cpu", "--format", "json")
    assert result.returncode == 1
    assert "PyTorch rejected a network cnncalc accepted: RuntimeError" in result.stderr


def test_broken_params_rule_is_reported_on_meta(monkeypatch, net):
    linear = kinds.KINDS["linear"]
    monkeypatch.setattr(linear, "params", lambda a, s, rule=linear.params: rule(a, s) - 1)
    result = run_here("validate", net, "--device", "meta", "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [layer["path"] for layer in report["layers"] if not layer["agree"]] == ["4", "5"]


# -- the zoo ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zoo_cpu() -> dict:
    """One `validate specs/*.yaml --device cpu` run (one process: torch imports once)."""
    result = run_cli("validate", *ZOO, "--device", "cpu", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    reports = json.loads(result.stdout)
    return {Path(r["file"]).name: r for r in reports}


@pytest.mark.parametrize("spec", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_spec_validates_on_cpu(zoo_cpu, spec):
    report = zoo_cpu[spec.name]
    assert report["ok"], disagreements(report)
    assert report["device"] == "cpu" and report["batch"] == 1
    assert report["torch_version"] == torch.__version__


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_zoo_validates_on_cuda():
    result = run_cli("validate", *ZOO, "--device", "cuda", "--format", "json")
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    assert [r["device"] for r in reports] == ["cuda"] * len(ZOO)
    assert all(r["ok"] for r in reports), [disagreements(r) for r in reports if not r["ok"]]


# -- the command ----------------------------------------------------------------------------------

def test_json_contract(net):
    result = run_here("validate", net, "--device", "cpu", "--format", "json", "--batch", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {"ok", "device", "torch_version", "batch", "layers", "totals"} <= set(report)
    assert report["ok"] is True and report["batch"] == 3 and report["device"] == "cpu"
    for layer in report["layers"]:
        assert {"path", "kind", "static", "torch", "agree"} <= set(layer)
        assert set(layer["static"]) == set(layer["torch"]) == set(FIGURES)
    assert [layer["path"] for layer in report["layers"]] == ["0", "1", "2", "3", "4", "5"]
    assert report["layers"][0]["torch"] == {"output_shape": [8, 16, 16], "params": 224,
                                            "buffers": 0, "flops": 2 * 16 * 16 * 8 * 27}  # per sample
    assert report["totals"]["torch"]["output_shape"] == [4]
    assert report["totals"]["agree"] is True


def test_table_and_quiet_stderr(net):
    result = run_cli("validate", net, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "✓ every figure agrees" in result.stdout
    assert result.stderr == ""      # no progress display when standard error isn't a terminal



def test_a_real_process_keeps_its_output_and_status(tmp_path):
    """With PyTorch loaded the process leaves without the interpreter's teardown
    (cnncalc.commands.skip_teardown): standard output and error still arrive whole, and the exit
    status is the command's (1 here: PyTorch refuses groupnorm of one value per group at batch 1,
    which cnncalc accepts; see the README)."""
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [4, 1, 1]\nlayers:\n  - groupnorm: {groups: 4}\n")
    result = run_cli("validate", spec, "--device", "cpu", "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"].startswith("ValueError: Expected more than 1 value")
    assert result.stderr.startswith(f"{spec}: PyTorch rejected a network cnncalc accepted")



@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_what_disagreed_reaches_stderr_when_stdout_cannot_be_written(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [4, 1, 1]\nlayers:\n  - groupnorm: {groups: 4}\n")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "cnncalc", "validate", str(spec),
                                 "--device", "cpu", "-f", "json"], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT,
                                timeout=120)
    assert result.returncode == 1
    assert f"{spec}: PyTorch rejected a network cnncalc accepted" in result.stderr
    assert result.stderr.endswith("error: cannot write the output: No space left on device\n")

def test_hwc_layout_and_nested_paths(tmp_path):
    spec = tmp_path / "res.yaml"
    spec.write_text("input: [9, 9, 4]\nlayout: hwc\nblocks:\n  unit:\n    params: {w: required}\n"
                    "    layers:\n      - residual:\n          shortcut: auto\n          layers:\n"
                    "            - conv: {out: $w, kernel: 3, stride: 2, padding: 1}\n"
                    "            - batchnorm\nlayers:\n  - unit: 6\n"
                    "  - concat: [[], [conv: {out: 2, kernel: 1}]]\n")
    result = run_here("validate", spec, "--device", "meta", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    paths = [layer["path"] for layer in report["layers"]]
    assert "0.0.shortcut.0" in paths and "1.1.0" in paths
    assert report["totals"]["torch"]["output_shape"] == [5, 5, 8]     # hwc


def test_strict_rounding_says_what_pytorch_did(tmp_path):
    spec = tmp_path / "strict.yaml"
    spec.write_text("input: [1, 9, 7]\nlayers:\n  - conv: {out: 1, kernel: 3, stride: 3}\n")
    result = run_cli("validate", spec, "--device", "cpu")
    assert result.returncode == 2
    assert "2.33" in result.stderr
    assert "PyTorch ran it anyway: it floored 2.33 to 2, so the last column of the input was never seen" in result.stderr
    assert "with flooring, every figure agrees" in result.stderr
    assert "would silently floor" not in result.stderr     # what it did replaces what it would
    assert result.stdout == ""


def test_refuses_a_run_the_device_has_no_memory_for(tmp_path):
    spec = tmp_path / "huge.yaml"
    spec.write_text("input: [64, 100000, 100000]\nlayers:\n  - conv: {out: 64, kernel: 3}\n")
    result = run_cli("validate", spec, "--device", "cpu")
    assert result.returncode == 2
    assert "needs about" in result.stderr and "available" in result.stderr
    assert "--device meta" in result.stderr
    meta = run_here("validate", spec, "--device", "meta", "--format", "json")
    assert meta.returncode == 0, meta.stdout + meta.stderr        # structure of any size, no memory


def test_several_specs_worst_status_wins(tmp_path, net):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    result = run_here("validate", net, bad, "--device", "meta", "--format", "json")
    assert result.returncode == 2
    reports = json.loads(result.stdout)
    assert [Path(r["file"]).name for r in reports] == ["net.yaml"] and reports[0]["ok"]
    assert "bad.yaml:3:5: error:" in result.stderr
    one = run_here("validate", bad, "--device", "meta", "--format", "json")
    assert one.returncode == 2 and one.stdout == ""      # one SPEC: its object, or nothing
    both = run_here("validate", bad, bad, "--device", "meta", "--format", "json")
    assert both.returncode == 2 and json.loads(both.stdout) == []    # several: always a list


@pytest.mark.parametrize("private", ["missing", "changed"])
def test_validate_runs_without_torchs_private_flop_counter(monkeypatch, net, private):
    """Skipping the torch._dynamo import uses a private class of torch: on a torch without it
    (or where it isn't a class any more) the skip does nothing and validate still works."""
    import sys
    import types

    import torch.utils.flop_counter as flop_counter

    from cnncalc.crosscheck import measure as measure_module

    other = types.ModuleType(flop_counter.__name__)   # what the import sees; measure keeps the real one
    other.__dict__.update({k: v for k, v in vars(flop_counter).items() if k != "_FlopCounterMode"})
    if private == "changed":
        other._FlopCounterMode = object()               # no __dict__: AttributeError
    monkeypatch.setitem(sys.modules, flop_counter.__name__, other)
    measure_module._skip_dynamo_import()
    result = run_here("validate", net, "--device", "cpu", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.parametrize("args, message", [
    (["missing.yaml"], "no such file"),
    (["--device", "cuda"], "no CUDA device"),
])
def test_bad_input_exits_2(net, args, message):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    result = run_here("validate", *([net] if args[0].startswith("--") else []), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_input_option_gives_a_symbolic_spec_its_numbers(tmp_path):
    spec = tmp_path / "sym.yaml"
    spec.write_text("input: [3, H, W]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - relu\n")
    result = run_here("validate", spec, "--input", "3x16x12", "--device", "cpu", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["totals"]["torch"]["output_shape"] == [8, 14, 10]
    assert report["layers"][0]["torch"]["flops"] == 2 * 8 * 14 * 10 * 27
    named = run_here("validate", spec, "--input", "3xHx12", "--device", "cpu")
    assert named.returncode == 2 and "needs numbers for every input size, not [3, H, 12]" in named.stderr
    assert "give them with `--input`, e.g. `--input 3x224x224`" in named.stderr
    words = run_here("validate", "lenet5", "--input", "abc", "--device", "meta")
    assert words.returncode == 2 and "hint: write it like 1x32x32" in words.stderr   # numbers


def test_symbolic_input_is_bad_input(tmp_path):
    spec = tmp_path / "sym.yaml"
    spec.write_text("input: [3, H, W]\nlayers:\n  - conv: {out: 4, kernel: 3, padding: 1}\n")
    result = run_here("validate", spec, "--device", "meta")
    assert result.returncode == 2
    assert "needs numbers for every input size" in result.stderr
