"""`padding: same` against TensorFlow's published rule, written here from its documentation
(neither cnncalc's rule nor the cross-check builder's, which the other tests trust):

    out = ⌈W / S⌉,  total = max((out − 1)·S + d·(k − 1) + 1 − W, 0),
    before = ⌊total / 2⌋,  after = total − before       (an odd zero goes at the end)

(TensorFlow, tf.nn.convolution, "Notes on padding"; Android NNAPI, ANEURALNETWORKS_PADDING_SAME,
states the same with the dilation.) The rule itself is checked against PyTorch's own
`padding='same'` at stride 1 and against the published example at stride 5; then cnncalc's
shape and receptive field, and the module the cross-check builds, must follow it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from cnncalc.kinds import KINDS  # noqa: E402
from cnncalc.pipeline import analyze_loaded  # noqa: E402
from netgen import load_dict  # noqa: E402

_CONV = {1: F.conv1d, 2: F.conv2d}


def tf_same(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) zeros along one axis, by TensorFlow's rule above."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _pad(x, pads):
    """F.pad wants (before, after) pairs from the last axis backwards."""
    return F.pad(x, [v for before, after in reversed(pads) for v in (before, after)])


def test_the_rule_gives_the_published_example():
    # The example of TensorFlow's "SAME" in the Stack Overflow answer "What is the difference
    # between 'SAME' and 'VALID' padding in tf.nn.max_pool" (13 inputs, width 6, stride 5):
    # `0 |1 2 … 13| 0 0`, one zero before and two after, three windows.
    assert tf_same(13, 6, 5) == (1, 2)
    assert (1 + 13 + 2 - 6) // 5 + 1 == 3


@settings(max_examples=50, deadline=None)
@given(size=st.integers(1, 12), kernel=st.integers(1, 6), dilation=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_the_rule_is_pytorchs_same_at_stride_1(size, kernel, dilation, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-4, 5, (1, 2, size), generator=g).double()
    weight = torch.randint(-4, 5, (3, 2, kernel), generator=g).double()
    ours = F.conv1d(_pad(x, [tf_same(size, kernel, 1, dilation)]), weight, dilation=dilation)
    assert torch.equal(F.conv1d(x, weight, padding="same", dilation=dilation), ours)


@st.composite
def same_convs(draw):
    """A `same` conv on a 1-D or 2-D input, strides 1 to 3, dilation 1 or 2."""
    dims = draw(st.sampled_from([1, 2]))
    sizes = [draw(st.integers(1, 12)) for _ in range(dims)]
    kernel = [draw(st.integers(1, 5)) for _ in range(dims)]
    stride = [draw(st.integers(1, 3)) for _ in range(dims)]
    dilation = draw(st.integers(1, 2))
    spec = {"input": [2, *sizes], "layers": [{"conv": {
        "out": 3, "kernel": kernel, "stride": stride, "dilation": dilation, "padding": "same"}}]}
    pads = [tf_same(w, k, s, dilation) for w, k, s in zip(sizes, kernel, stride)]
    return spec, pads, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=60, deadline=None)
@given(same_convs())
def test_cnncalc_and_the_built_module_pad_as_tensorflow(case):
    spec, pads, seed = case
    (c, *sizes), conv = spec["input"], spec["layers"][0]["conv"]
    stride, dilation = conv["stride"], conv["dilation"]
    analysis = analyze_loaded(load_dict(spec))
    row = analysis.rows[-1]
    # cnncalc: ⌈W / S⌉ outputs, and output 0's field starts `before` zeros left of the input
    assert analysis.output_shape == (3, *(-(-w // s) for w, s in zip(sizes, stride)))
    assert row.field.start == tuple(-before for before, _ in pads)
    # the cross-check's module: the same outputs as the rule's zeros and a plain convolution
    module = KINDS["conv"].build(torch.nn, row.node.args, (c, *sizes)).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randint(-4, 5, p.shape, generator=g))
        weight = next(p for name, p in module.named_parameters() if name.endswith("weight"))
        bias = next(p for name, p in module.named_parameters() if name.endswith("bias"))
        x = torch.randint(-4, 5, (1, c, *sizes), generator=g).double()
        expected = _CONV[len(sizes)](_pad(x, pads), weight, bias, stride=stride,
                                     dilation=dilation)
        assert torch.equal(module(x), expected)
