"""Receptive fields (size, jump, start per axis; Araujo, Norris & Sim, Distill 2019) against
PyTorch, by gradients.

For a random network (the sliding-window kinds, the position-wise kinds, and
concat/add/residual/blocks), the test runs it in PyTorch with all-ones weights and no bias (so
nothing cancels), every pooling replaced by a window *sum* of the same geometry (max pooling
would pass gradient to one input only); the input is ones with requires_grad. Convolutions,
zero-pads and position-wise kinds run as their real module (each kind's `build`,
eval mode, all-ones weights, zero biases), and the poolings take their geometry from their
module: no padding or window comes from cnncalc's rules (`same` padding: test_same_padding.py).
The input positions with a non-zero gradient of the centre output must lie in the predicted
field clipped to the input (positions in the padding don't exist), reach its ends where they
are inside the input, and fill it wherever the field has no holes (dilation, or a stride
larger than the field so far, leaves gaps between the taps).
Which kinds are position-wise is written here, as PyTorch documents them, and proven per kind
against PyTorch both ways: a listed kind has cnncalc's identity window and its real module's
output at one position depends on the input at that position only; every other kind's module
reads other positions in some drawn case, and there cnncalc's window isn't the identity.
Published figures too: VGG-16's 212 and AlexNet's 195 pixels (Distill 2019, table of
architectures).
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
F = torch.nn.functional

from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.field import IDENTITY, Window  # noqa: E402
from cnncalc.kinds import KINDS, per_axis  # noqa: E402
from cnncalc.pipeline import analyze_loaded, load, load_text  # noqa: E402
from conftest import ROOT  # noqa: E402
from netgen import applicable, leaf_entry, load_dict, networks  # noqa: E402

SLIDING_KINDS = ("conv", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool",
                 "global_avgpool", "zeropad", "linear")
# The kinds whose PyTorch module computes each output position from that input position only,
# as PyTorch documents them: element-wise activations, Dropout (the identity in eval mode),
# BatchNorm in eval mode (a per-channel affine map), PReLU, Softmax and LogSoftmax over dim 1
# (the channels), LocalResponseNorm (across channels), ChannelShuffle (a reordering of the
# channels at each position), a per-channel scale, stochastic depth (the identity in eval mode)
# and Identity. Written here, not read from
# cnncalc; the per-kind tests below prove it against PyTorch, both ways.
POSITION_WISE = ("batchnorm", "channel_shuffle", "drop_path", "dropout", "dropout2d", "elu",
                 "gelu", "hardsigmoid", "hardswish", "identity", "leaky_relu", "log_softmax", "lrn",
                 "mish", "prelu", "relu", "relu6", "scale", "sigmoid", "silu", "slice", "softmax",
                 "tanh")
NOT_POSITION_WISE = tuple(sorted(set(KINDS) - set(POSITION_WISE)))
WINDOW_KINDS = SLIDING_KINDS + POSITION_WISE
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_ADAPTIVE = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
_MAXPOOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def _pad(x, pads):
    """F.pad wants (before, after) pairs from the last axis backwards."""
    flat = []
    for before, after in reversed(pads):
        flat += [before, after]
    return F.pad(x, flat)


def _window_sum(x, kernel, stride, dilation, pads, out_sizes):
    channels, dims = x.shape[1], x.dim() - 2
    weight = torch.ones(channels, 1, *kernel, dtype=x.dtype)
    y = _CONV[dims](_pad(x, pads), weight, stride=stride, dilation=dilation, groups=channels)
    return y[(slice(None), slice(None), *(slice(0, o) for o in out_sizes))]


def _axes(value, dims: int) -> tuple:
    """A PyTorch module's int-or-tuple argument, one value per spatial axis."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def run_leaf(node, x):
    """The leaf in PyTorch, its geometry (padding included) read from the module the
    cross-check builds, never from cnncalc's rules."""
    args, shape = node.args, tuple(x.shape[1:])
    dims = len(shape) - 1
    if node.kind in ("conv", "zeropad"):
        return real_module(node.kind, args, shape)(x)      # all-ones weights, no bias
    if node.kind in ("maxpool", "avgpool"):
        module = KINDS[node.kind].build(torch.nn, args, shape)
        kernel, stride, padding = (_axes(getattr(module, a), dims)
                                   for a in ("kernel_size", "stride", "padding"))
        dilation = _axes(getattr(module, "dilation", 1), dims)      # AvgPool has none
        # PyTorch's own pooling decides the output size (ceil_mode and all) ...
        real = _MAXPOOL[dims](x.detach(), kernel, stride, padding, dilation,
                              ceil_mode=module.ceil_mode)
        outs = real.shape[2:]
        # ... and a window sum of the same geometry measures what each output depends on:
        # extra zeros on the right where ceil_mode lets the last window run past the input.
        pads = []
        for w, k, s, p, d, o in zip(shape[1:], kernel, stride, padding, dilation, outs):
            extra = max(0, (o - 1) * s + d * (k - 1) + 1 - (w + 2 * p))
            pads.append((p, p + extra))
        return _window_sum(x, kernel, stride, dilation, pads, outs)
    if node.kind in ("adaptive_avgpool", "adaptive_maxpool"):
        # an average, also for max pooling: its gradient reaches one input of each window only
        return _ADAPTIVE[dims](x, KINDS[node.kind].build(torch.nn, args, shape).output_size)
    if node.kind == "global_avgpool":
        return _ADAPTIVE[dims](x, 1)
    if node.kind == "linear":
        return F.linear(x, torch.ones(args.out, shape[-1], dtype=x.dtype))
    assert node.kind in POSITION_WISE, node.kind
    return run_positionwise(node, x)


def real_module(kind: str, args, shape):
    """The cross-check's own PyTorch module, in eval mode, all-ones weights and zero biases."""
    module = KINDS[kind].build(torch.nn, args, shape).to(torch.float64).eval()
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.fill_(0.0 if name.rsplit(".", 1)[-1] == "bias" else 1.0)
    return module


def _per_channel(channels: int, dims: int):
    """Three fixed factors in [0.5, 1] per channel, shaped to broadcast over a batch."""
    g = torch.Generator().manual_seed(channels)
    values = 0.5 + 0.5 * torch.rand(3, channels, generator=g, dtype=torch.float64)
    return [v.view(1, channels, *[1] * dims) for v in values]


def run_positionwise(node, x):
    """The real module, between two fixed per-channel scalings that keep its input in
    [0.5, 2], where every activation has a non-zero slope (nothing saturates, no ReLU is
    off), and make the channels differ (all-ones weights make them equal, and then a softmax,
    or a channel sum after it, is constant). The scalings are constants on the diagonal: the
    gradient is zero exactly where the module's own is."""
    module = real_module(node.kind, node.args, tuple(x.shape[1:]))
    lo, hi = float(x.detach().min()), float(x.detach().max())
    scale, shift, _ = _per_channel(x.shape[1], x.dim() - 2)
    y = module((x - lo) / (hi - lo if hi > lo else 1.0) * scale + shift)
    return y * _per_channel(y.shape[1], y.dim() - 2)[2]     # a slice keeps fewer channels


def run(node, x, analysis, values=None):
    """The node on x; with references, every value is kept in `values` by (path, port) and an
    entry reads what its `from` names, a `{from: [...]}` what it lists."""
    values = {} if values is None else values
    if node.src is not None:
        x = values[node.src]
    values[(node.path, "in")] = x
    y = _run(node, x, analysis, values)
    values[(node.path, "out")] = y
    return y


def _run(node, x, analysis, values):
    if node.leaf:
        return run_leaf(node, x)
    if node.refs:
        outs = [values[key] for key in node.refs]
        return (torch.cat(outs, dim=1) if node.kind == "concat" else
                sum(outs[1:], outs[0]) if node.kind == "add" else math.prod(outs[1:], start=outs[0]))
    if node.kind == "concat":
        return torch.cat([run(b, x, analysis, values) for b in node.children], dim=1)
    if node.kind == "split":        # PyTorch's own cut of the channels
        args = node.args
        pieces = (torch.split(x, args.sizes, dim=1) if args.sizes is not None
                  else torch.chunk(x, args.parts, dim=1))
        return torch.cat([run(b, piece, analysis, values) for b, piece in zip(node.children, pieces)],
                         dim=1)
    if node.kind in ("add", "mul"):
        outs = [run(b, x, analysis, values) for b in node.children]   # broadcast by PyTorch
        return (sum(outs[1:], outs[0]) if node.kind == "add"
                else math.prod(outs[1:], start=outs[0]))
    if node.kind == "residual":
        main, short = node.children
        y = run(main, x, analysis, values)
        shortcut = analysis.shortcuts.get(node.path, [short])
        if node.shortcut == "none" or shortcut is None:     # none, or optional left out
            return y
        for resolved in shortcut:
            x = run(resolved, x, analysis, values)
        return y + x
    for child in node.children:
        x = run(child, x, analysis, values)
    return x


def hole_free(analysis) -> bool:
    """Whether every field is contiguous: each window's taps, d·j apart in input pixels, are
    no further apart than the field r each of them sees."""
    for row in analysis.rows:
        if row.field is not None and not row.field.aligned:
            return False
        if not row.node.leaf or row.input_field is None:
            continue
        window = KINDS[row.node.kind].window(row.node.args, row.input_shape)
        if not isinstance(window, Window):
            continue
        dims = len(row.input_shape) - 1
        dilation = per_axis(getattr(row.node.args, "dilation", 1), dims, "dilation")
        for k, d, r, j in zip(window.kernel, dilation, row.input_field.size, row.input_field.jump):
            if k > 1 and r < d * j:
                return False
    return True


def measured_and_predicted(spec):
    try:
        analysis = analyze_loaded(load_dict(spec))
    except SpecError:
        return None
    last = [row for row in analysis.rows if row.depth == 0][-1]     # the last output
    field = last.field
    if field is None:
        return None
    x = torch.ones(1, *analysis.input_shape, dtype=torch.float64, requires_grad=True)
    y = run(analysis.root, x, analysis)
    assert tuple(y.shape[1:]) == tuple(last.output_shape)
    centre = tuple(o // 2 for o in last.output_shape[1:])
    # every channel at the centre: the field of a concat is the largest over its branches
    (grad,) = torch.autograd.grad(y[(0, slice(None), *centre)].sum(), x, retain_graph=True)
    (grad_all,) = torch.autograd.grad(y.sum(), x)
    mask = (grad[0] != 0).any(dim=0)            # spatial positions the centre output depends on
    read = (grad_all[0] != 0).any(dim=0)        # ... and that any output depends on
    return analysis, field, centre, mask, read


def constant_somewhere(analysis) -> bool:
    """A softmax over one channel is 1 (log-softmax 0) whatever its input: what comes after
    depends on less than the field (at most on the field, still). A slice keeps some channels
    only, which may have seen less than the widest (a field is one per tensor, the largest
    over its channels): after it too, the field is a bound."""
    return any(row.node.kind in ("softmax", "log_softmax") and row.input_shape[0] == 1
               or row.node.kind == "slice" for row in analysis.rows)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(networks(kinds=WINDOW_KINDS, max_layers=6)
       | networks(kinds=WINDOW_KINDS, max_layers=6, references=True))
def test_receptive_field_equals_the_gradient_region(spec):
    """Also through references: an entry `from` an earlier one, a `{from: [...]}` of outputs
    at different strides (the union of their fields)."""
    result = measured_and_predicted(spec)
    assume(result is not None)
    analysis, field, centre, mask, read = result
    sizes = analysis.input_shape[1:]
    axes = []
    for axis, (w, r, j, u, c) in enumerate(zip(sizes, field.size, field.jump, field.start, centre)):
        others = tuple(a for a in range(len(sizes)) if a != axis)
        hit = mask.any(dim=others) if others else mask
        # The input ends at w − 1, and the layers may read less: floor rounding (and `same`
        # padding with a large stride) leave the last rows unread.
        read_axis = read.any(dim=others) if others else read
        last = max((i for i in range(w) if read_axis[i]), default=-1)
        lo, hi = u + c * j, u + c * j + r - 1          # the field of output `c`, in input pixels
        axes.append(([i for i in range(w) if hit[i]], lo, hi, last))
    # Inside: the field lies in what the layers read. Then no tap of any layer on the way
    # falls in padding (its field would start before 0 or end after `last`), so the gradient
    # reaches every tap; where the field also has no holes, it fills the field.
    inside = all(0 <= lo and hi <= last for _, lo, hi, last in axes)
    exact = inside and hole_free(analysis)
    event("inside, hole-free" if exact else "inside, with holes" if inside else "crosses the edge")
    if constant_somewhere(analysis):
        event("a constant softmax or a slice: the field only bounds the gradient region")
        for seen, lo, hi, _ in axes:
            assert not seen or (lo <= seen[0] and seen[-1] <= hi), (seen, lo, hi)
        return
    if not mask.any():
        # Along some axis every tap lies in padding (dilation can skip the whole input).
        assert not inside
        return
    for axis, (seen, lo, hi, last) in enumerate(axes):
        assert lo <= seen[0] and seen[-1] <= hi, (axis, seen, lo, hi)
        if 0 <= lo:                 # the leftmost tap of every layer is a real position
            assert seen[0] == lo, (axis, seen, lo)
        if hi <= last:
            assert seen[-1] == hi, (axis, seen, hi)
        if exact:
            assert seen == list(range(lo, hi + 1)), (axis, seen, lo, hi)
    # a box: the region is the product of its extents along each axis
    box = set(itertools.product(*(seen for seen, *_ in axes)))
    found = {tuple(int(i) for i in p) for p in mask.nonzero().tolist()}
    assert found == box


@st.composite
def _leaf_cases(draw, kind):
    """A leaf of `kind` on a small input with 1 to 3 spatial axes, and a seed."""
    ranks = [d for d in (1, 2, 3) if applicable(kind, (1,) * (d + 1))]
    if not ranks:
        return None
    dims = draw(st.sampled_from(ranks))
    shape = (draw(st.integers(1, 4)), *[draw(st.integers(1, 5)) for _ in range(dims)])
    return shape, draw(leaf_entry(kind, shape)), draw(st.integers(0, 2**31 - 1))


def _leaf_gradient(kind: str, shape, entry, seed: int, draw_position):
    """(cnncalc's window, the output position, the input positions its gradient reaches) for
    the real module of one leaf, on inputs in [0.5, 1.5] (where every activation has a slope)
    with any weights of the channels; of the first of two samples (GroupNorm refuses one sample
    with one value per group)."""
    analysis = analyze_loaded(load_dict({"input": list(shape), "layers": [entry]}))
    node = analysis.rows[-1].node
    g = torch.Generator().manual_seed(seed)
    x = (0.5 + torch.rand(2, *shape, generator=g, dtype=torch.float64)).requires_grad_()
    y = real_module(kind, node.args, shape)(x)
    position = tuple(draw_position(w) for w in y.shape[2:])
    weights = 0.5 + torch.rand(y.shape[1], generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad((y[(0, slice(None), *position)] * weights).sum(), x)
    found = {tuple(p) for p in (grad[0] != 0).any(dim=0).nonzero().tolist()}
    return KINDS[kind].window(node.args, shape), position, found


@pytest.mark.parametrize("kind", POSITION_WISE)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_an_identity_window_is_position_wise_in_pytorch(kind, data):
    """A position-wise kind: cnncalc gives it the identity window, and its real module's output
    at one position has a non-zero gradient at that input position only."""
    shape, entry, seed = data.draw(_leaf_cases(kind))
    window, position, found = _leaf_gradient(kind, shape, entry, seed,
                                             lambda w: data.draw(st.integers(0, w - 1)))
    assert window == IDENTITY, (entry, shape, window)
    constant = kind in ("softmax", "log_softmax") and shape[0] == 1    # 1 (or 0) everywhere
    assert found == (set() if constant else {position}), (entry, shape, sorted(found)[:5])


@settings(max_examples=30, deadline=None)
@given(dims=st.integers(1, 3), data=st.data())
def test_layernorm_over_the_channels_is_position_wise_in_pytorch(dims, data):
    """`layernorm: {over: channels}` gets the identity window, and its real module (LayerNorm(C)
    on channels-last) reads the output's own position only; over the sample it doesn't."""
    shape = (data.draw(st.integers(2, 4)), *[data.draw(st.integers(1, 5)) for _ in range(dims)])
    for over in ("channels", "sample"):
        window, position, found = _leaf_gradient(
            "layernorm", shape, {"layernorm": {"over": over}}, 0,
            lambda w: data.draw(st.integers(0, w - 1)))
        if over == "channels":
            assert window == IDENTITY and found == {position}, (shape, sorted(found)[:5])
        else:
            assert window is None
            assert found == set(itertools.product(*(range(w) for w in shape[1:]))), shape


MIXES: dict[str, int] = {}


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def _where_pytorch_mixes_positions_cnncalc_has_no_identity_window(kind, data):
    case = data.draw(_leaf_cases(kind))
    assume(case is not None)
    shape, entry, seed = case
    try:
        # positions counted from the far end, where strided windows drift from their output's
        window, position, found = _leaf_gradient(kind, shape, entry, seed,
                                                 lambda w: w - 1 - data.draw(st.integers(0, w - 1)))
    except SpecError:
        assume(False)       # e.g. instancenorm on one position: not a network to run
    # it reads another position than its own (an output without positions, flatten's, reads
    # them all; one that reads none, a norm over a single channel, is no evidence either way)
    if found - {position}:
        assert window != IDENTITY, (entry, shape, position, sorted(found)[:5])
        MIXES[kind] = MIXES.get(kind, 0) + 1


@pytest.mark.parametrize("kind", NOT_POSITION_WISE)
def test_a_kind_without_the_identity_window_mixes_positions_in_pytorch(kind):
    """The converse: for every other kind, PyTorch's module reads other input positions than
    the output's own in some of the drawn cases (and cnncalc never calls those position-wise)."""
    MIXES.pop(kind, None)
    _where_pytorch_mixes_positions_cnncalc_has_no_identity_window(kind)
    assert MIXES.get(kind, 0) >= 1, f"{kind} never mixed positions in PyTorch"


def _field_after(text: str, path: str):
    analysis = analyze_loaded(load_text(text, "<test>"))
    return next(row.field for row in analysis.rows if row.node.path == path)


def test_vgg16_receptive_fields_as_published():
    analysis = analyze_loaded(load(str(ROOT / "tests" / "golden" / "vgg16_cs231n.yaml")))
    rows = {row.node.path: row.field for row in analysis.rows}
    assert rows["16"].size == (196, 196) and rows["16"].jump == (16, 16)    # conv5_3
    assert rows["17"].size == (212, 212) and rows["17"].jump == (32, 32)    # pool5
    # The field of output 0 starts at u_L = −Σ_l p_l·j_(l−1) (Araujo et al., Distill 2019,
    # "effective padding"): each padded 3×3 conv (p = 1) moves the start back by the jump it
    # reads, the 2×2 pools have p = 0:
    # −(2·1 + 2·2 + 3·4 + 3·8 + 3·16) = −(2 + 4 + 12 + 24 + 48) = −90.
    assert rows["16"].start == (-90, -90) and rows["17"].start == (-90, -90)


ALEXNET = """\
input: [3, 227, 227]
layers:
  - conv: {out: 96, kernel: 11, stride: 4}
  - maxpool: {kernel: 3, stride: 2}
  - conv: {out: 256, kernel: 5, padding: 2, groups: 2}
  - maxpool: {kernel: 3, stride: 2}
  - conv: {out: 384, kernel: 3, padding: 1}
  - conv: {out: 384, kernel: 3, padding: 1, groups: 2}
  - conv: {out: 256, kernel: 3, padding: 1, groups: 2}
  - maxpool: {kernel: 3, stride: 2}
"""


def test_alexnet_receptive_field_as_published():
    field = _field_after(ALEXNET, "7")
    assert field.size == (195, 195) and field.jump == (32, 32)


def test_branches_that_disagree_are_marked_unaligned():
    text = """\
input: [1, 9, 9]
layers:
  - concat: [[conv: {out: 1, kernel: 3}], [conv: {out: 1, kernel: 2, padding: same}, conv: {out: 1, kernel: 3}]]
"""
    field = _field_after(text, "0")
    assert not field.aligned and field.size == (4, 4) and field.start == (0, 0)
    nested = _field_after("input: [1, 9, 9]\nlayers:\n  - concat: [[conv: {out: 1, kernel: 1}], "
                          "[conv: {out: 1, kernel: 3, padding: 1}], []]\n", "0")
    assert nested.aligned and nested.size == (3, 3) and nested.start == (-1, -1)
