"""The tracer (cnncalc/crosscheck/trace.py): what a PyTorch model runs, in order, with shapes,
source lines and data flow."""

import inspect

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import torchvision_ref
from cnncalc.crosscheck.measure import measure
from cnncalc.crosscheck.trace import Ref, TraceFailed, Tracing, trace


def line_of(marker: str) -> int:
    """The line of this file that holds `marker` (a comment), so the test needs no numbers."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.endswith(marker))


class Mixed(nn.Module):
    """Functional code of every sort between two leaf modules, and a branch on a shape (which
    symbolic tracing can't follow)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(64, 10)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        y = F.relu(self.conv(x))  # <relu>
        a, b = y.chunk(2, 1)  # <chunk>
        y = torch.cat([a * b, a + b], 1)  # <cat>
        y = F.interpolate(y, scale_factor=0.5)
        y = y[:, :4]  # <slice>
        y = torch.flatten(y, 1)
        if y.shape[1] == 64:
            y = y * self.scale
        return F.softmax(self.fc(y), dim=1)  # <softmax>


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_every_call_with_its_shapes_flow_and_line(device):
    with torch.device(device):
        model = Mixed().eval()
    traced = trace(model, torch.zeros(1, 3, 8, 8, device=device))
    got = [(op.category, op.name, op.path) for op in traced.ops]
    assert got == [
        ("input", "input", ""), ("module", "Conv2d", "conv"),
        ("function", "torch.nn.functional.relu", ""), ("method", "Tensor.chunk", ""),
        ("method", "Tensor.mul", ""), ("method", "Tensor.add", ""), ("function", "torch.cat", ""),
        ("function", "torch.nn.functional.interpolate", ""), ("method", "Tensor.__getitem__", ""),
        ("function", "torch.flatten", ""), ("method", "Tensor.mul", ""), ("module", "Linear", "fc"),
        ("function", "torch.nn.functional.softmax", "")]
    ops = traced.ops
    # the data flow: chunk's two outputs feed both mul and add, which feed cat
    assert ops[3].inputs == (Ref(2),)
    assert ops[4].inputs == ops[5].inputs == (Ref(3, 0), Ref(3, 1))
    assert ops[6].inputs == (Ref(4), Ref(5))
    assert ops[6].args == ([Ref(4), Ref(5)], 1)
    # a parameter is no op's output: no Ref, but its shape is an input shape
    assert ops[10].inputs == (Ref(9),) and ops[10].input_shapes == ((1, 64), (1,))
    assert ops[10].parameters == 1 and ops[4].parameters == 0
    assert traced.outputs == (Ref(12),)
    assert traced.consumers()[3] == [4, 5]
    # shapes, batch included
    assert ops[3].output_shapes == ((1, 4, 8, 8), (1, 4, 8, 8))
    assert ops[1].input_shapes == ((1, 3, 8, 8),) and ops[1].output_shape == (1, 8, 8, 8)
    assert ops[7].output_shape == (1, 8, 4, 4) and ops[8].output_shape == (1, 4, 4, 4)
    assert ops[8].args[1] == (slice(None), slice(None, 4))
    # where each was called, in this file
    here = __file__
    for index, marker in [(1, "<relu>"), (2, "<relu>"), (3, "<chunk>"), (6, "<cat>"),
                          (8, "<slice>"), (11, "<softmax>"), (12, "<softmax>")]:
        assert (ops[index].source.file, ops[index].source.line) == (here, line_of(f"# {marker}"))
    # a module's constructor values
    assert ops[1].attributes["kernel_size"] == (3, 3) and ops[1].attributes["bias"] is False
    assert ops[11].attributes == {"in_features": 64, "out_features": 10, "bias": True}
    assert ops[12].kwargs["dim"] == 1


def test_resnet50_its_leaves_blocks_and_shortcuts():
    """Every leaf module call measure sees, in the same order; each bottleneck's `+` takes its
    last batchnorm and its shortcut, inside the block's scope."""
    with torch.device("meta"):
        model = torchvision_ref.resnet50().eval()
    x = torch.empty(1, 3, 224, 224, device="meta")
    traced = trace(model, x)
    modules = [op.path for op in traced.ops if op.category == "module"]
    assert modules == [m.name for m in measure(model, x).leaves()]
    adds = [op for op in traced.ops if op.name == "Tensor.add"]
    assert [op.path for op in adds] == [f"layer{i}.{j}" for i, n in enumerate([3, 4, 6, 3], 1)
                                        for j in range(n)]
    for op in adds:
        main, shortcut = (traced.ops[ref.op] for ref in op.inputs)
        assert main.path == f"{op.path}.bn3"
        layer, j = op.path.split(".")
        assert shortcut.path == (f"{op.path}.downsample.1" if j == "0"
                                 else f"{layer}.{int(j) - 1}.relu")
        assert op.scope == ("", op.path.split(".")[0], op.path)
    for op in traced.calls():       # the flow reaches back to the input, in order
        assert op.inputs and all(ref.op < op.index for ref in op.inputs)
    assert traced.ops[-2].name == "torch.flatten" and traced.ops[-1].path == "fc"


def test_in_place_calls_pass_the_flow_on():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            y = x * 2
            y += x
            return self.act(y).relu_()

    traced = trace(InPlace(), torch.ones(1, 2))
    names = [op.name for op in traced.ops]
    assert names == ["input", "Tensor.mul", "Tensor.add_", "ReLU", "Tensor.relu_"]
    assert [op.inputs for op in traced.ops[1:]] == [(Ref(0),), (Ref(1), Ref(0)), (Ref(2),),
                                                     (Ref(3),)]
    assert traced.ops[3].attributes == {"inplace": True}
    assert traced.outputs == (Ref(4),)


def test_a_model_that_raises_gives_what_ran_and_where():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(5, 2))

        def forward(self, x):
            return self.body(x)

    with pytest.raises(TraceFailed) as failed:
        trace(Broken(), torch.zeros(1, 3, 5, 5))
    assert [op.path for op in failed.value.trace.ops] == ["", "body.0", "body.1"]
    assert failed.value.running == ["", "body", "body.2"]
    assert "mat1 and mat2" in str(failed.value.error)


def test_tracing_and_measuring_in_one_run():
    """`Tracing` around `measure`: one forward pass, both records; no source in measure's or
    the caller's frames (a top-level Sequential's children)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten())
    x = torch.zeros(2, 3, 5, 5)
    with Tracing(model, x) as tracing:
        measured = measure(model, x)
    traced = tracing.result(torch.zeros(0))
    assert [op.path for op in traced.calls()] == [m.name for m in measured.leaves()]
    assert all(op.source is None for op in traced.ops)
    assert traced.ops[-1].output_shape == measured.output_shape == (2, 36)
