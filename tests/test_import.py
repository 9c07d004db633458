"""`cnncalc import`: the spec written from a PyTorch model describes that model.

Round trip on every torchvision architecture (the written spec passes `check` and the editor
schema, its figures are the model's as PyTorch measures them, and `validate --against` agrees),
on random networks (netgen spec -> PyTorch module -> import -> the same figures), blocks and
repeats where the model repeats itself, and errors that name what has no counterpart."""

from __future__ import annotations

import json
import textwrap

import pytest
from hypothesis import HealthCheck, example, given, settings

torch = pytest.importorskip("torch")

from cnncalc.crosscheck.build import build  # noqa: E402
from cnncalc.crosscheck.drift import check, parse_target  # noqa: E402
from cnncalc.crosscheck.importer import import_model, spec_of  # noqa: E402
from cnncalc.crosscheck.measure import measure  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.pipeline import analyze_loaded, load_text  # noqa: E402
from cnncalc.report import flops  # noqa: E402
from tests import netgen  # noqa: E402
from tests.conftest import ROOT, run_here  # noqa: E402
from tests.torchvision_ref import FACTORIES  # noqa: E402


def figures_of_spec(text: str, shape: list | None = None) -> tuple:
    """Params, buffers, FLOPs and each output's shape; at `shape` if given (--input)."""
    return figures(analyze_loaded(load_text(text, "<imported>"), shape))


def figures(analysis) -> tuple:
    return (analysis.total("params"), analysis.total("buffers"),
            flops(analysis.total("macs")), tuple(tuple(out) for _, out, _ in analysis.outputs))


def figures_of_model(model, shape, left_out: int = 0) -> tuple:
    """As PyTorch measures them; `left_out` params of modules forward never calls."""
    measured = measure(model, torch.empty((1, *shape), device="meta"))
    outputs = measured.output_shapes or [measured.output_shape]
    return (measured.params - left_out, measured.buffers, measured.flops,
            tuple(tuple(out[1:]) for out in outputs))


@pytest.fixture(scope="module")
def schema():
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft202012Validator(
        json.loads((ROOT / "schema" / "cnncalc-spec.schema.json").read_text()))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_torchvision_architecture_round_trips(name, schema, monkeypatch):
    import yaml

    monkeypatch.chdir(ROOT)
    target = parse_target(f"tests.torchvision_ref:{name}")
    imported = import_model(target, [3, 224, 224])
    text = imported.text
    assert text.startswith(f"# Written by `cnncalc import tests.torchvision_ref:{name} "
                           "--input 3x224x224`")
    # the editor schema accepts it, and `check` finds nothing wrong
    schema.validate(yaml.safe_load(text))
    # its figures are the model's, as PyTorch measures them (not as the importer compared them)
    with torch.device("meta"):
        model = FACTORIES[name]().eval()
    assert figures_of_spec(text) == figures_of_model(model, (3, 224, 224))
    # and `validate --against` pairs every layer
    analysis = analyze_loaded(load_text(text, f"{name}.yaml"))
    result = check(analysis, f"{name}.yaml", target, 1, "meta")
    assert result["ok"], result


def test_the_command_writes_a_spec_that_check_accepts(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run_here("import", "tests.torchvision_ref:squeezenet1_0", "--input", "3x224x224")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "net.yaml"
    path.write_text(result.stdout)
    checked = run_here("check", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_resnet50_reads_like_the_papers_table(monkeypatch):
    """Blocks with parameters and `repeat`: a bottleneck block, and each stage one strided use
    and a repeat of the rest."""
    import yaml

    monkeypatch.chdir(ROOT)
    text = import_model(parse_target("tests.torchvision_ref:resnet50"), [3, 224, 224]).text
    assert len(text.splitlines()) <= 60
    spec = yaml.safe_load(text)
    (block,) = spec["blocks"]
    assert block == "bottleneck"
    assert spec["blocks"]["bottleneck"]["params"] == {"out": "required", "stride": 1}
    stages = [entry for entry in spec["layers"] if isinstance(entry, dict)
              and ("bottleneck" in entry or "repeat" in entry)]
    assert [e.get("bottleneck", e.get("repeat")) for e in stages] == [
        {"times": 3, "layers": [{"bottleneck": {"out": 64}}], "name": "layer1.0 to layer1.2"},
        {"out": 128, "stride": 2, "name": "layer2.0"},
        {"times": 3, "layers": [{"bottleneck": {"out": 128}}], "name": "layer2.1 to layer2.3"},
        {"out": 256, "stride": 2, "name": "layer3.0"},
        {"times": 5, "layers": [{"bottleneck": {"out": 256}}], "name": "layer3.1 to layer3.5"},
        {"out": 512, "stride": 2, "name": "layer4.0"},
        {"times": 2, "layers": [{"bottleneck": {"out": 512}}], "name": "layer4.1 to layer4.2"}]


def test_densenet_layers_are_a_repeat_of_concats(monkeypatch):
    import yaml

    monkeypatch.chdir(ROOT)
    spec = yaml.safe_load(import_model(parse_target("tests.torchvision_ref:densenet121"),
                                       [3, 224, 224]).text)
    assert spec["blocks"]["dense_block"]["layers"] == [
        {"repeat": {"times": "$times", "layers": [{"concat": [[], ["dense_layer"]]}]}}]
    uses = [e["dense_block"]["times"] for e in spec["layers"]
            if isinstance(e, dict) and "dense_block" in e]
    assert uses == [6, 12, 24, 16]


# ---------------------------------------------------------------------------------------------
# Random networks: spec -> PyTorch module -> import -> the same figures

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(netgen.networks(max_layers=5))
# a pool of a 1×1 map keeps the shape as a move of the channels would: it is the pool
@example({"input": [1, 1], "rounding": "floor", "layers": ["gate"], "blocks": netgen.BLOCKS})
def test_random_networks_round_trip(spec):
    loaded = netgen.load_dict(spec)
    try:
        analysis = analyze_loaded(loaded)
    except SpecError:
        return                           # a network cnncalc rejects has no model to import
    model = build(analysis).eval()
    shape = list(analysis.input_shape)
    try:
        model(torch.empty((1, *shape), device="meta"))
    except (RuntimeError, ValueError):
        return      # PyTorch refuses one sample (a groupnorm of one value per group)
    imported = spec_of(model, shape, "<generated>")
    assert figures_of_spec(imported.text) == figures(analysis)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(netgen.networks(max_layers=6, references=True))
# `from` an earlier entry, two outputs, and `like` an entry a later one reads again
@example({"input": [2, 8, 8], "rounding": "floor", "layers": [
    {"conv": {"out": 4, "kernel": 3, "stride": 2, "padding": 1, "id": "a"}},
    {"conv": {"out": 4, "kernel": 1, "id": "b"}},
    {"upsample": {"like": "input"}},
    {"concat": {"from": [".", "input"], "id": "c"}},
    {"conv": {"out": 4, "kernel": 1, "from": "a"}},
    {"add": {"from": [".", "b"]}}], "outputs": ["c", "."]})
# a composite whose branch the model ran before an earlier entry: named, in the model's order
@example({"input": [1, 1], "rounding": "floor", "layers": [
    {"elu": {"id": "n0"}}, {"maxpool": {"kernel": 1, "from": "input", "id": "n1"}},
    {"concat": {"from": ["n0", "input"]}}], "outputs": ["n1", "."]})
# a sum of three branches runs as two `+`: one `add`, so that `--against` pairs it
@example({"input": [1, 1], "rounding": "floor", "layers": [
    {"add": [["global_avgpool", {"conv": {"out": 1, "kernel": 1}}, "sigmoid"], [], ["batchnorm"]]}]})
def test_random_networks_with_references_round_trip(schema, spec):
    """A DAG (`from`, `{from: [...]}`, `like`, several outputs) -> module -> import: the same
    figures, each output's shape included, the written spec valid for the editor schema, and
    `--against`'s comparison of it with the module agrees (its paths in the module's order)."""
    import yaml

    from cnncalc.crosscheck.drift import compare, describe
    from cnncalc.crosscheck.trace import Tracing

    loaded = netgen.load_dict(spec)
    try:
        analysis = analyze_loaded(loaded)
    except SpecError:
        return
    model = build(analysis).eval()
    shape = list(analysis.input_shape)
    try:
        model(torch.empty((1, *shape), device="meta"))
    except (RuntimeError, ValueError):
        return
    imported = spec_of(model, shape, "<generated>")
    assert figures_of_spec(imported.text) == figures(analysis)
    schema.validate(yaml.safe_load(imported.text))
    x = torch.empty((1, *shape), device="meta")
    with Tracing(model, x) as tracing:
        measurement = measure(model, x)
    written = analyze_loaded(load_text(imported.text, "net.yaml"))
    result = compare(written, measurement, tracing.result(()), "net.yaml", "built")
    assert result["ok"], describe(result)


# ---------------------------------------------------------------------------------------------
# References: several outputs, FPN/PAN joins, `like`, `split`

def test_yolov8n_round_trips_with_its_three_outputs(monkeypatch, schema):
    """Detect's three per-level tensors are `outputs`; the PAN's concats of earlier levels are
    `{from: [...]}`; the written spec's figures are the model's (less the DFL's 16 fixed
    weights, which forward never calls: the header says so) and `validate --against` agrees."""
    import yaml

    import tests.ultralytics_ref as ultralytics_ref

    monkeypatch.chdir(ROOT)
    target = parse_target("tests.ultralytics_ref:yolov8n")
    text = import_model(target, [3, 640, 640]).text
    assert "# Left out: `model.22.dfl.conv` (Conv2d): 16 fixed parameters forward never calls" \
        in text
    spec = yaml.safe_load(text)
    schema.validate(spec)
    assert len(spec["outputs"]) == 3
    joins = [e["concat"]["from"] for e in spec["layers"]
             if isinstance(e, dict) and "from" in e.get("concat", {})
             and isinstance(e["concat"]["from"], list)]
    assert len(joins) == 4          # yolov8.yaml's Concat layers 11, 14, 17 and 20
    with torch.device("meta"):
        model = ultralytics_ref.yolov8n().eval()
    dfl = sum(p.numel() for p in model.model[-1].dfl.parameters())
    assert figures_of_spec(text) == figures_of_model(model, (3, 640, 640), dfl)
    assert figures_of_spec(text)[3] == ((144, 80, 80), (144, 40, 40), (144, 20, 20))
    analysis = analyze_loaded(load_text(text, "yolov8n.yaml"))
    result = check(analysis, "yolov8n.yaml", target, 1, "meta")
    assert result["ok"], result


def test_lraspp_resizes_like_its_tensors_at_every_input_size(monkeypatch, schema):
    """`F.interpolate(x, size=low.shape[-2:])` is `upsample: {like: …}`: imported at one input
    size, the spec is right at others (where a fixed `size` would be right at one)."""
    import yaml

    monkeypatch.chdir(ROOT)
    text = import_model(parse_target("tests.torchvision_ref:lraspp_mobilenet_v3_large"),
                        [3, 224, 224]).text
    likes = [line.split("like: ")[1].split(",")[0] for line in text.splitlines()
             if "like: " in line]
    assert likes == ["backbone_4", "input"]
    assert "size:" not in text
    schema.validate(yaml.safe_load(text))
    with torch.device("meta"):
        model = FACTORIES["lraspp_mobilenet_v3_large"]().eval()
    for shape in ([3, 224, 224], [3, 320, 256], [3, 97, 131]):
        assert figures_of_spec(text, shape) == figures_of_model(model, shape), shape


def test_shufflenet_units_are_splits(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = import_model(parse_target("tests.torchvision_ref:shufflenet_v2_x1_0"),
                        [3, 224, 224]).text
    assert "- split:" in text and "parts: 2" in text
    assert "slice" not in text


def test_only_a_size_read_from_a_tensor_is_like(package):
    result = run_here("import", "mymodels:Resized", "--input", "3x16x16")
    assert result.returncode == 0, result.stderr
    assert "- upsample: {like: input, name: torch.nn.functional.interpolate}" in result.stdout
    assert "- upsample: {size: 4, name: torch.nn.functional.interpolate}" in result.stdout


def test_a_value_read_on_two_paths_is_a_reference(package):
    """a = f(x) feeds h(a) and a + g(x): no branches of one join, so `id` and `from`."""
    import yaml

    result = run_here("import", "mymodels:Bridge", "--input", "3x16x16")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["layers"] == [
        {"conv": {"out": 3, "kernel": 1, "name": "f", "id": "f"}},
        {"conv": {"out": 3, "kernel": 1, "name": "h", "id": "h"}},
        {"conv": {"out": 3, "kernel": 1, "name": "g", "from": "input"}},
        {"add": {"from": ["f", "."]}},
        {"mul": {"from": ["h", "."]}}]


# ---------------------------------------------------------------------------------------------
# What has no counterpart is an error, naming it, its type and where

MODELS = '''
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Rolled(Net):
    def forward(self, x):
        x = torch.roll(self.conv(x), 1, dims=2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Reflect(Net):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")


class Mine(nn.Module):
    def forward(self, x):
        return x * 2


class Custom(Net):
    def __init__(self):
        super().__init__()
        self.mine = Mine()

    def forward(self, x):
        return super().forward(self.mine(x))


class Unused(Net):
    def __init__(self):
        super().__init__()
        self.spare = nn.Linear(4, 4)


class Skip(nn.Module):
    """x + f(x): a residual."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return F.relu(x + self.bn(self.conv(x)))


class Functional(nn.Module):
    """What people write in forward instead of modules."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.leaky_relu(self.conv(x), 0.2), 2).contiguous()   # copies: no layer
        x = F.interpolate(x.detach(), scale_factor=0.5)
        x = F.dropout(x, 0.3, self.training)
        return torch.sigmoid(self.fc(x.view(x.size(0), -1))).softmax(1)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth's shape: the identity in eval mode."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        return x


class Bridge(nn.Module):
    """a = f(x) feeds both h(a) and a + g(x): no branches of one join (references needed)."""

    def __init__(self):
        super().__init__()
        self.f, self.g, self.h = (nn.Conv2d(3, 3, 1) for _ in range(3))

    def forward(self, x):
        a = self.f(x)
        return self.h(a) * (a + self.g(x))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: x is added where the stride is 1 and the channels are kept."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, cin * t, 1, bias=False), nn.BatchNorm2d(cin * t), nn.ReLU6(),
            nn.Conv2d(cin * t, cin * t, 3, stride, 1, groups=cin * t, bias=False),
            nn.BatchNorm2d(cin * t), nn.ReLU6(),
            nn.Conv2d(cin * t, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class Resized(nn.Module):
    """One size read from a tensor's shape, one written as numbers."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        y = F.interpolate(self.down(x), size=x.shape[-2:])
        return F.interpolate(y, size=(4, 4))


def mobile():
    return nn.Sequential(InvertedResidual(8, 8, 1, 6), InvertedResidual(8, 16, 2, 6),
                         InvertedResidual(16, 16, 1, 6), InvertedResidual(16, 16, 1, 6))


def deep(num_classes=10):
    return nn.Sequential(nn.Conv2d(3, 4, 1), StochasticDepth(0.2), nn.Flatten(),
                         nn.Linear(4 * 16 * 16, num_classes))


def net(num_classes=10):
    return Net(num_classes)


def skip():
    return nn.Sequential(Skip(), Skip())
'''


ROLL_LINE = next(i for i, line in enumerate(MODELS.split("\n"), 1) if "torch.roll" in line)


@pytest.fixture
def package(tmp_path, monkeypatch):
    import sys

    (tmp_path / "mymodels.py").write_text(MODELS)
    monkeypatch.delitem(sys.modules, "mymodels", raising=False)   # another test's copy
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_factory_arguments_are_read(package):
    result = run_here("import", "mymodels:net(num_classes=7)", "--input", "3x16x16")
    assert result.returncode == 0, result.stderr
    assert "- linear: {out: 7, name: fc}" in result.stdout
    assert "- relu: {name: torch.nn.functional.relu}" in result.stdout
    assert "global_avgpool" in result.stdout


def test_functions_in_forward_are_kinds(package):
    import yaml

    result = run_here("import", "mymodels:Functional", "--input", "3x16x16")
    assert result.returncode == 0, result.stderr
    kinds = [next(iter(e)) if isinstance(e, dict) else e
             for e in yaml.safe_load(result.stdout)["layers"]]
    assert kinds == ["conv", "leaky_relu", "maxpool", "upsample", "dropout", "flatten", "linear",
                     "sigmoid", "softmax"]
    assert "- upsample: {scale: 0.5, name: torch.nn.functional.interpolate}" in result.stdout


def test_stochastic_depth_is_drop_path(package):
    result = run_here("import", "mymodels:deep", "--input", "3x16x16")
    assert result.returncode == 0, result.stderr
    assert "- drop_path: {p: 0.2, name: '1'}" in result.stdout


def test_inverted_residuals_are_one_block_with_an_optional_shortcut(package):
    import yaml

    result = run_here("import", "mymodels:mobile", "--input", "8x8x8")
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(result.stdout)
    (block,) = spec["blocks"].values()
    # a default where most uses agree: conv.6's 16 in three uses of four
    assert block["params"] == {"out": "required", "stride": 1, "conv_6_out": 16}
    (residual,) = block["layers"]
    assert residual["residual"]["shortcut"] == "optional"
    assert spec["layers"] == [
        {"inverted_residual": {"out": 48, "conv_6_out": 8, "name": "0"}},
        {"inverted_residual": {"out": 48, "stride": 2, "name": "1"}},
        {"repeat": {"times": 2, "layers": [{"inverted_residual": {"out": 96}}],
                    "name": "2 to 3"}}]


def test_a_residual_is_written_as_one(package):
    import yaml

    result = run_here("import", "mymodels:skip", "--input", "4x8x8")
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(result.stdout)
    assert spec["blocks"]["skip"]["layers"] == [
        {"residual": {"layers": [{"conv": {"out": 4, "kernel": 3, "padding": 1, "bias": False,
                                           "name": "conv"}},
                                 {"batchnorm": {"name": "bn"}}],
                      "shortcut": "auto"}},
        {"relu": {"name": "torch.nn.functional.relu"}}]
    assert spec["layers"] == [{"repeat": {"times": 2, "layers": ["skip"], "name": "0 to 1"}}]


@pytest.mark.parametrize(("factory", "words"), [
    ("Rolled", [f"`torch.roll` in the model's forward at mymodels.py:{ROLL_LINE}",
                "no layer kind or composite"]),
    ("Reflect", ["`conv` (Conv2d) at mymodels.py:", "padding_mode='reflect'"]),
    ("Custom", ["`mine` (Mine) at mymodels.py:", "no layer kind of the spec language"]),
    ("Unused", ["`spare` (Linear) has 20 parameters but forward never calls it"]),
])
def test_what_has_no_counterpart_is_named(package, factory, words):
    result = run_here("import", f"mymodels:{factory}", "--input", "3x16x16")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mymodels:{factory}: error: ")
    for word in words:
        assert word in result.stderr


def test_a_wrong_input_names_the_module_that_raised(package):
    result = run_here("import", "mymodels:net", "--input", "4x16x16")
    assert result.returncode == 2
    assert "raised in `conv`" in result.stderr and "RuntimeError" in result.stderr


@pytest.mark.parametrize(("args", "words"), [
    (["mymodels:net", "--input", "3xHxW"], "--input: error: `import` runs the model, so --input "
                                           "needs numbers"),
    (["nomodule:net", "--input", "3x16x16"], "nomodule:net: error: can't import `nomodule`"),
    (["mymodels:nett", "--input", "3x16x16"], "mymodels:nett: error: `mymodels` has no `nett`"),
])
def test_bad_input_is_named(package, args, words):
    result = run_here("import", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(words), result.stderr


def test_arguments_are_parsed_never_run(package):
    result = run_here("import", "mymodels:net(__import__('os'))", "--input", "3x16x16")
    assert result.returncode == 2
    assert "isn't a literal value" in result.stderr


def test_the_kinds_read_their_own_modules():
    """Each kind reads back what it builds (the spine's inverse), defaults left out."""
    from torch import nn

    from cnncalc.kinds import KINDS

    cases = textwrap.dedent("""
        conv: {out: 8, kernel: [3, 1], stride: 2, padding: same, groups: 2, bias: false}
        maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}
        avgpool: {kernel: 2, count_include_pad: false}
        batchnorm: {eps: 0.001}
        layernorm: {over: channels}
        leaky_relu: {slope: 0.2}
        upsample: {scale: 2.0, mode: bilinear}
        zeropad: {padding: [1, 2]}
    """)
    import yaml

    for kind, args in yaml.safe_load(cases).items():
        if kind == "conv":
            args["stride"] = 1          # PyTorch's padding='same' is stride 1 only
        rule = KINDS[kind]
        parsed = rule.args.model_validate(args)
        with torch.device("meta"):
            module = rule.build(nn, parsed, (4, 8, 8))
        assert rule.read(nn, module, (4, 8, 8)) == parsed, kind
