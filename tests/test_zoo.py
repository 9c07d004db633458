"""The bundled specs (the model zoo): each one equals its published numbers and its PyTorch
reference, and `cnncalc zoo` lists them.

Published figures: torchvision's model documentation, "Table of all available classification
weights" (https://pytorch.org/vision/stable/models.html), columns "Params" and "GFLOPS", and the
same table for semantic segmentation weights (LR-ASPP, at its 520×520 evaluation size);
torchvision's GFLOPS are multiply-accumulates, cnncalc's MACs. YOLOv8n: Ultralytics' README
table. The oracles for buffers, output shapes, FLOPs and every layer's shape are
tests/torchvision_ref.py and tests/ultralytics_ref.py, run on the meta device under
FlopCounterMode.
"""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.commands.zoo import description, entries, render_markdown
from cnncalc.errors import SpecError
from cnncalc.loader import bundled_names
from cnncalc.pipeline import analyze_loaded, load
from conftest import ROOT, SPECS, cli_env, run_cli

# name: (params, GFLOPS as torchvision's docs print them)
TORCHVISION = {
    "alexnet": (61_100_840, "0.714"),
    "vgg11": (132_863_336, "7.609"),
    "vgg16": (138_357_544, "15.47"),
    "vgg19": (143_667_240, "19.632"),
    "vgg16_bn": (138_365_992, "15.47"),
    "googlenet": (6_624_904, "1.498"),
    "resnet18": (11_689_512, "1.814"),
    "resnet34": (21_797_672, "3.664"),
    "resnet50": (25_557_032, "4.089"),
    "resnet101": (44_549_160, "7.801"),
    "resnet152": (60_192_808, "11.514"),
    "densenet121": (7_978_856, "2.834"),
    "squeezenet1_0": (1_248_424, "0.819"),
    "mobilenet_v2": (3_504_872, "0.301"),
    "mobilenet_v3_small": (2_542_856, "0.057"),
    "mobilenet_v3_large": (5_483_032, "0.217"),
    "efficientnet_b0": (5_288_548, "0.386"),
    "regnet_y_400mf": (4_344_144, "0.402"),
    "convnext_tiny": (28_589_128, "4.456"),
    "shufflenet_v2_x1_0": (2_278_604, "0.145"),
    "lraspp_mobilenet_v3_large": (3_221_538, "2.086"),     # at 520×520
}

SHIPPED = ["lenet5", "alexnet", "zfnet", "vgg11", "vgg16", "vgg19", "vgg16_bn", "googlenet",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "densenet121",
           "squeezenet1_0", "alphago_policy", "unet", "simple_cnn", "cs231n_conv",
           "mlp_vs_cnn_mlp", "mlp_vs_cnn_cnn", "ecg1d", "c3d", "mobilenet_v2", "mobilenet_v3_small",
           "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny",
           "shufflenet_v2_x1_0", "lraspp_mobilenet_v3_large", "yolov8n"]
# Every spec with a PyTorch copy to be compared with, at any input size.
REFERENCED = sorted(TORCHVISION) + ["yolov8n"]


@cache
def analysis(name: str):
    return analyze_loaded(load(name))


def totals(name: str) -> tuple[int, int, int]:
    a = analysis(name)
    return a.total("params"), a.total("buffers"), a.total("macs")


def test_every_issue_spec_is_bundled():
    assert set(SHIPPED) <= set(bundled_names())


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_published_params_and_gflops(name):
    params, gflops = TORCHVISION[name]
    got_params, _, macs = totals(name)
    assert got_params == params
    decimals = len(gflops.split(".")[1])
    assert f"{macs / 1e9:.{decimals}f}" == gflops


def layer_shapes(model, x) -> list[tuple[int, tuple[int, ...]]]:
    """(own params, output shape without the batch) of every module that has parameters of its
    own, sorted: the layer-by-layer view of a reference, to compare with a spec's leaves. A
    Linear or LayerNorm on a channels-last map (ConvNeXt's block) is read back channels-first,
    as the spec writes its 1×1 convolutions and `layernorm: {over: channels}`."""
    torch = pytest.importorskip("torch")
    from torch import nn

    found = []

    def hook(module, _inputs, output):
        shape = tuple(output.shape)
        if type(module) in (nn.Linear, nn.LayerNorm) and len(shape) == 4:
            shape = (shape[0], shape[3], shape[1], shape[2])
        found.append((sum(p.numel() for p in module.parameters(recurse=False)), shape[1:]))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if any(True for _ in m.parameters(recurse=False))]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return sorted(found)


def spec_layer_shapes(a) -> list[tuple[int, tuple[int, ...]]]:
    return sorted((r.params, tuple(r.output_shape)) for r in a.leaves if r.params)


def factory(name: str):
    """The PyTorch copy that spec `name` is compared with."""
    if name == "yolov8n":
        import ultralytics_ref
        return ultralytics_ref.yolov8n
    import torchvision_ref
    return torchvision_ref.FACTORIES[name]


def torch_outputs(y) -> list[tuple[int, ...]]:
    """A reference's output shapes without the batch: one tensor, or a tuple of them."""
    return [tuple(t.shape[1:]) for t in (y if isinstance(y, tuple) else (y,))]


def spec_outputs(a) -> list[tuple[int, ...]]:
    return [tuple(shape) for _, shape, _ in a.outputs]


@pytest.fixture(scope="module")
def reference():
    """name -> (params, buffers, output shape, FLOPs, per-layer (params, shape)) of the
    PyTorch reference at 1×3×224×224 (LR-ASPP: 520×520, its spec's input)."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    @cache
    def measure(name):
        with torch.device("meta"):
            model = factory(name)().eval()
            x = torch.empty(1, *analysis(name).input_shape)
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                y = model(x)
            layers = layer_shapes(model, x)
        return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
                tuple(y.shape[1:]), counter.get_total_flops(), layers)
    return measure


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_equals_torch_reference(name, reference):
    params, buffers, output, flops, layers = reference(name)
    a = analysis(name)
    assert a.input_shape == ((3, 520, 520) if name.startswith("lraspp") else (3, 224, 224))
    assert (a.total("params"), a.total("buffers"), a.output_shape, 2 * a.total("macs")) == (
        params, buffers, output, flops)
    # Layer by layer, not just in total: the same layers, each with the same params and output
    # shape.
    assert spec_layer_shapes(a) == layers


# The smallest square input each reference runs on in PyTorch (measured: it refuses one less;
# checked below, with `cnncalc inputs`'s smallest size of each axis).
SMALLEST = {"alexnet": 63, "densenet121": 29, "googlenet": 15, "squeezenet1_0": 21,
            **{f"resnet{d}": 1 for d in (18, 34, 50, 101, 152)},
            **{name: 32 for name in ("vgg11", "vgg16", "vgg19", "vgg16_bn")},
            **{name: 1 for name in ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                                    "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0")},
            "convnext_tiny": 32, "lraspp_mobilenet_v3_large": 1,
            # The neck concatenates each upsampled map with the one of twice its size: P3 =
            # ceil(size/8) and P4 = ceil(size/16) must be even, first for 25 to 32.
            "yolov8n": 25}


def torch_runs(name: str, height: int, width: int) -> bool:
    torch = pytest.importorskip("torch")

    with torch.device("meta"), torch.no_grad():
        try:
            factory(name)().eval()(torch.empty(1, 3, height, width))
        except RuntimeError:
            return False
    return True


@pytest.mark.parametrize("name", REFERENCED)
def test_smallest_input_is_pytorchs_and_cnncalcs(name):
    from cnncalc.inputs import accepted_inputs

    smallest = SMALLEST[name]
    assert torch_runs(name, smallest, smallest)
    assert_agrees_with_reference(name, smallest, smallest)
    if smallest > 1:
        assert not torch_runs(name, smallest - 1, smallest)
        assert not torch_runs(name, smallest, smallest - 1)
        assert_agrees_with_reference(name, smallest - 1, smallest)
    assert {n: a.minimum for n, a in accepted_inputs(load(name)).items()} == {
        "H": smallest, "W": smallest}


def sizes(name: str):
    """From just below the smallest size PyTorch accepts (both refuse there), often near it,
    where the small feature maps are, up to 320."""
    low = max(1, SMALLEST[name] - 2)
    return st.one_of(st.integers(low, low + 40), st.integers(low, 320))


@settings(max_examples=12)
@given(st.sampled_from(REFERENCED).flatmap(
    lambda name: st.tuples(st.just(name), sizes(name), sizes(name))))
def test_other_input_sizes_agree_with_torch_reference(case):
    """The specs are the architectures, not just their 224×224 numbers: at any input size,
    cnncalc's output shape and FLOPs are the reference's, or both refuse, or cnncalc refuses a
    layer that doesn't fit under strict rounding, which PyTorch would floor."""
    assert_agrees_with_reference(*case)


def assert_agrees_with_reference(name: str, height: int, width: int) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    try:
        a = analyze_loaded(load(name), [3, height, width])
    except SpecError as exc:
        a, refusal = None, exc.message
    with torch.device("meta"):
        model = factory(name)().eval()
        try:
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                y = model(torch.empty(1, 3, height, width))
        except RuntimeError:
            assert a is None, f"PyTorch refused {height}×{width}, cnncalc accepted it"
            return
    if a is None:
        assert "doesn't fit" in refusal, refusal       # strict rounding, by design
        return
    assert (spec_outputs(a), 2 * a.total("macs")) == (torch_outputs(y), counter.get_total_flops())


# Ultralytics' YOLOv8n (their README table and model summary): params including the DFL's 16
# fixed weights, and GFLOPs (2 × MACs) at 640×640.
YOLOV8N = (3_157_200, "8.7")


def run_meta(model_factory, height: int, width: int):
    """(model, output, FLOPs) of a reference on the meta device at 1×3×height×width."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = model_factory().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            y = model(torch.empty(1, 3, height, width))
    return model, y, counter.get_total_flops()


def test_lraspp_copy_has_torchvisions_published_figures():
    import torchvision_ref

    model, y, flops = run_meta(torchvision_ref.lraspp_mobilenet_v3_large, 520, 520)
    params, gflops = TORCHVISION["lraspp_mobilenet_v3_large"]
    assert sum(p.numel() for p in model.parameters()) == params
    assert f"{flops / 2e9:.3f}" == gflops
    for height, width in [(520, 520), (224, 224), (97, 131), (1, 1)]:    # the input's size back
        assert tuple(run_meta(torchvision_ref.lraspp_mobilenet_v3_large, height, width)[1].shape) == (
            1, 21, height, width)


def test_yolov8n_copy_has_ultralytics_published_figures():
    import ultralytics_ref

    model, ys, flops = run_meta(ultralytics_ref.yolov8n, 640, 640)
    params, gflops = YOLOV8N
    assert sum(p.numel() for p in model.parameters()) == params
    # The 16 are the DFL's fixed weights (no gradient): Ultralytics' "gradients" are the rest.
    assert [p.numel() for p in model.model[-1].dfl.parameters()] == [16]
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == params - 16
    assert f"{flops / 1e9:.1f}" == gflops
    assert [tuple(y.shape[1:]) for y in ys] == [(144, 80, 80), (144, 40, 40), (144, 20, 20)]


def test_lraspp_is_right_at_every_input_size():
    """Both resizes follow the tensors (`like: low`, `like: input`): the output is the input's
    size at any size, odd ones included, where a fixed `scale` would be right at one only."""
    for height, width in [(520, 520), (224, 224), (97, 131), (33, 1), (1, 1)]:
        assert analyze_loaded(load("lraspp_mobilenet_v3_large"), [3, height, width]).output_shape == (
            21, height, width)
        assert_agrees_with_reference("lraspp_mobilenet_v3_large", height, width)


def test_yolov8n_spec_has_ultralytics_figures():
    """Ultralytics' count less the DFL's 16 fixed weights, which decode the outputs (the spec's
    header says so); their GFLOPs are 2 × MACs, rounded."""
    params, gflops = YOLOV8N
    a = analysis("yolov8n")
    assert a.input_shape == (3, 640, 640)
    assert a.total("params") == params - 16
    assert f"{2 * a.total('macs') / 1e9:.1f}" == gflops
    assert [name for name, _, _ in a.outputs] == ["d3", "d4", "d5"]
    assert spec_outputs(a) == [(144, 80, 80), (144, 40, 40), (144, 20, 20)]


def test_yolov8n_equals_the_copy():
    torch = pytest.importorskip("torch")
    import ultralytics_ref

    model, ys, flops = run_meta(ultralytics_ref.yolov8n, 640, 640)
    a = analysis("yolov8n")
    dfl = sum(p.numel() for p in model.model[-1].dfl.parameters())
    assert (a.total("params"), a.total("buffers"), 2 * a.total("macs"), spec_outputs(a)) == (
        sum(p.numel() for p in model.parameters()) - dfl, sum(b.numel() for b in model.buffers()),
        flops, torch_outputs(ys))
    with torch.device("meta"):     # every layer that runs (the DFL's conv doesn't)
        assert spec_layer_shapes(a) == layer_shapes(model, torch.empty(1, 3, 640, 640))


def test_layer_rounding_overrides_the_spec():
    # A bug the AlexNet spec found: `rounding: floor` on one leaf layer was ignored.
    from cnncalc.pipeline import load_text

    text = "input: [3, 224, 224]\nlayers:\n  - conv: {out: 64, kernel: 11, stride: 4, padding: 2, rounding: floor}\n"
    assert analyze_loaded(load_text(text)).output_shape == (64, 55, 55)
    with pytest.raises(SpecError, match="doesn't fit"):
        analyze_loaded(load_text(text.replace(", rounding: floor", "")))


def test_lenet5_and_lecture_examples():
    # LeNet-5 (C3 fully connected): 156 + 2,416 + 48,120 + 10,164 + 850.
    assert totals("lenet5")[0] == 61_706
    # CS231n: ten 5×5×3 filters plus biases.
    assert totals("cs231n_conv")[0] == 760
    # One hidden layer of 128 on 3,072 inputs vs 32 filters of 3×3×3.
    assert totals("mlp_vs_cnn_mlp")[0] == 393_344
    assert totals("mlp_vs_cnn_cnn")[0] == 896
    assert analysis("simple_cnn").output_shape == (6, 8, 8)


def test_zfnet_matches_the_papers_figure():
    """Zeiler & Fergus 2013, Fig. 3: (filters, kernel, output map size) per layer, 224×224×3 in,
    fully connected 4096-4096-1000 on the 6×6×256 pooled maps. Params and MACs derived here."""
    convs = [(96, 7, 110), (256, 5, 26), (384, 3, 13), (384, 3, 13), (256, 3, 13)]
    fcs = [(6 * 6 * 256, 4096), (4096, 4096), (4096, 1000)]
    params = macs = 0
    c_in = 3
    for filters, k, size in convs:
        params += filters * (c_in * k * k + 1)
        macs += size * size * filters * c_in * k * k
        c_in = filters
    for n_in, n_out in fcs:
        params += n_in * n_out + n_out
        macs += n_in * n_out
    assert (params, macs) == (62_357_608, 1_168_032_896)
    assert totals("zfnet")[0::2] == (params, macs)
    sizes = [r.output_shape[1] for r in analysis("zfnet").leaves if r.node.kind in ("conv", "maxpool")]
    assert sizes == [110, 55, 26, 13, 13, 13, 13, 6]


def test_alphago_policy_matches_the_paper():
    """Silver et al. 2016, Methods: 48 planes, 5×5 then eleven 3×3 layers of 192 filters, 1×1 to
    one plane (one bias here, not one per position), softmax over 361 points."""
    params = (192 * 48 * 25 + 192) + 11 * (192 * 192 * 9 + 192) + (192 + 1)
    macs = 19 * 19 * (192 * 48 * 25 + 11 * 192 * 192 * 9 + 192)
    assert totals("alphago_policy")[0::2] == (params, macs)
    assert analysis("alphago_policy").output_shape == (361,)


def test_c3d_matches_the_paper():
    """Tran et al. 2015, Fig. 3: 3×3×3 convolutions of 64, 128, 256, 256, 512, 512, 512, 512
    filters; fc6 on 512·1·4·4 = 8,192 features, 4096, 4096, 487 classes."""
    widths = [3, 64, 128, 256, 256, 512, 512, 512, 512]
    params = sum(o * (i * 27 + 1) for i, o in zip(widths, widths[1:]))
    params += (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 487 + 487)
    assert totals("c3d")[0] == params
    assert analysis("c3d").output_shape == (487,)


def test_unet_equals_a_plain_torch_unet():
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    def double(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.ReLU())

    class UNet(nn.Module):   # Ronneberger et al. 2015, Fig. 1, with padded convolutions
        def __init__(self, widths=(64, 128, 256, 512, 1024)):
            super().__init__()
            self.down = nn.ModuleList([double(i, o) for i, o in zip((1, *widths), widths)])
            self.ups = nn.ModuleList([nn.ConvTranspose2d(o, i, 2, stride=2)
                                      for i, o in zip(widths, widths[1:])])
            self.up_convs = nn.ModuleList([double(2 * i, i) for i in widths[:-1]])
            self.head = nn.Conv2d(64, 2, 1)

        def forward(self, x):
            skips = []
            for level, block in enumerate(self.down):
                x = block(x if level == 0 else nn.functional.max_pool2d(x, 2))
                skips.append(x)
            for level in reversed(range(len(self.ups))):
                x = self.up_convs[level](torch.cat([skips[level], self.ups[level](x)], 1))
            return self.head(x)

    with torch.device("meta"):
        model = UNet()
        with FlopCounterMode(display=False) as counter:
            y = model(torch.empty(1, 1, 512, 512))
    a = analysis("unet")
    assert a.total("params") == sum(p.numel() for p in model.parameters())
    assert 2 * a.total("macs") == counter.get_total_flops()
    assert a.output_shape == tuple(y.shape[1:]) == (2, 512, 512)


@pytest.mark.parametrize("name", SHIPPED)
def test_spec_header(name):
    """Schema line, then a header comment (its first line is the zoo's description); every
    `rounding: floor` carries a comment saying why, on its line or just above."""
    lines = (SPECS / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schema/cnncalc-spec.schema.json"
    assert lines[1].startswith("# ") and len(lines[1]) > 10
    for i, line in enumerate(lines):
        if "rounding: floor" in line:
            assert any("#" in above for above in lines[max(0, i - 3):i + 1]), (name, i + 1)


@pytest.mark.parametrize("name", ["vgg11", "vgg16", "vgg19", "vgg16_bn"])
def test_vgg_stays_strict(name):
    a = analysis(name)
    assert a.spec.rounding == "strict"
    assert {row.node.rounding for row in a.rows} == {"strict"}


def test_description_is_the_first_header_line():
    text = "# yaml-language-server: $schema=x\n# VGG-16, as torchvision builds it.\n# more\ninput: [1]\n"
    assert description(text) == "VGG-16, as torchvision builds it."
    assert description("input: [1]\n") is None
    assert description("#\n#  Title  \nname: x\n") == "Title"


def test_zoo_entries_agree_with_the_analysis():
    rows = {row["spec"]: row for row in entries()}
    assert sorted(rows) == bundled_names()
    for name in ("vgg16", "alphago_policy"):
        params, buffers, macs = totals(name)
        row = rows[name]
        assert (row["params"], row["buffers"], row["macs"], row["flops"]) == (params, buffers, macs, 2 * macs)
    assert rows["alphago_policy"]["input_shape"] == [19, 19, 48]     # in the spec's layout
    assert rows["alphago_policy"]["layout"] == "hwc"
    assert rows["yolov8n"]["output_shape"] is None          # three outputs, each in `outputs`
    assert rows["yolov8n"]["outputs"] == [{"id": f"d{level}", "shape": [144, 640 >> level, 640 >> level]}
                                          for level in (3, 4, 5)]
    assert rows["vgg16"]["outputs"] == [{"id": ".", "shape": [1000]}]


README_ZOO = re.compile(r"<!-- zoo:begin.*?-->\n(.*?)<!-- zoo:end -->", re.S)


def test_readme_zoo_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = README_ZOO.search(readme)
    assert match, "README.md needs the zoo table between <!-- zoo:begin --> and <!-- zoo:end -->"
    assert match.group(1) == render_markdown(entries()), (
        "the README's zoo table is out of date: replace it with `cnncalc zoo --format markdown`")


def test_zoo_command_formats():
    table = run_cli("zoo")
    assert table.returncode == 0, table.stderr
    assert "resnet50" in table.stdout and "25,557,032" in table.stdout
    assert "\x1b[" not in table.stdout                       # NO_COLOR is set by run_cli
    result = run_cli("zoo", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted(row["spec"] for row in rows) == bundled_names()
    assert {row["spec"]: row["params"] for row in rows}["vgg16"] == 138_357_544
    markdown = run_cli("zoo", "-f", "markdown")
    assert markdown.returncode == 0 and markdown.stdout == render_markdown(entries())
    bad = run_cli("zoo", "--format", "csv")
    assert bad.returncode == 2


def test_summary_finds_a_bundled_spec_by_bare_name(tmp_path):
    # From a folder without a vgg16 file, so only the bundled spec can answer.
    result = run_cli("summary", "vgg16", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["name"] == "vgg16" and report["totals"]["params"] == 138_357_544


def test_wheel_ships_every_bundled_spec(tmp_path):
    """A non-editable install (`pip install .`) must carry specs/ inside the package: build the
    wheel from a copy of the tree (so the checkout gets no build/ folder) and look inside."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "cnncalc", src / "cnncalc", symlinks=True, ignore=ignore)
    shutil.copytree(SPECS, src / "specs", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path / "dist"), str(src)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("cnncalc-*.whl")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("cnncalc/specs/")}
    assert shipped == {f"cnncalc/specs/{p.name}" for p in SPECS.glob("*.yaml")}


@pytest.mark.parametrize("columns", [80, 100])
def test_zoo_table_wraps_descriptions_at_words(columns):
    """The description wraps at spaces, and a dotted name too long for a line breaks after a dot
    (`torchvision.models.` / `alexnet`), never inside a word: in a column of its own where the
    line leaves room for its longest piece (`lraspp_mobilenet_v3_large`), else under each
    spec's name."""
    result = subprocess.run([sys.executable, "-m", "cnncalc", "zoo"], capture_output=True,
                            text=True, env=cli_env() | {"COLUMNS": str(columns)}, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= columns
    beside = "What it is" in lines[1]
    assert beside == (columns == 100)
    cells: dict[str, list[str]] = {}
    spec = None
    for line in lines:
        parts = [p.strip() for p in line.split("│")]
        if beside and len(parts) == 5:
            spec = parts[0] or spec
            cells.setdefault(spec, []).append(parts[4])
        elif not beside and len(parts) == 4:
            if parts[2]:                  # the line with the figures starts a spec
                spec = parts[0]
                cells[spec] = []
            else:
                cells[spec].append(parts[0])
    for row in entries():
        text = ""
        for piece in filter(None, cells[row["spec"]]):
            text += ("" if not text or text.endswith(".") and not row["description"].startswith(
                text + " ") else " ") + piece
        assert text == row["description"], (row["spec"], cells[row["spec"]])
