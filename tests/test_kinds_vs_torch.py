"""Every leaf kind's static rules against PyTorch itself.

For each kind, hypothesis draws arguments (tests/netgen.py's `leaf_entry`, plus unconstrained
sliding-window arguments for the kinds that have them) and a channels-first input of every rank
the kind allows. cnncalc predicts output shape, params, buffers and FLOPs; PyTorch builds the
module (the cross-check's builder) and runs it on a small CPU tensor. The two must agree on every
figure. Where PyTorch raises, cnncalc must have rejected the layer too ("both reject" agrees);
where cnncalc rejects a layer that PyTorch runs, it must be a documented rule of the spec
language: strict rounding (and then PyTorch's output is exactly the floor rule's), or an
output size below 1 (PyTorch returns an empty tensor).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, note, settings
from hypothesis import strategies as st
from torch import nn

from cnncalc.crosscheck.build import build, materialise
from cnncalc.crosscheck.measure import measure
from cnncalc.dims import StrictRoundingError
from cnncalc.errors import SpecError
from cnncalc.kinds import KINDS, LeafKind
from cnncalc.pipeline import analyze_loaded
from netgen import MAX_SIZE, applicable, leaf_entry, load_dict

BATCH = 2
SLIDING = ("conv", "conv_transpose", "maxpool", "avgpool")
TORCH_ERRORS = (RuntimeError, ValueError)   # what PyTorch raises for a layer that can't apply


def test_every_kind_has_a_builder_and_a_generator():
    for kind in KINDS:
        assert type(KINDS[kind]).build is not LeafKind.build, f"{kind} has no PyTorch builder"
        shape = (4, 6, 6) if applicable(kind, (4, 6, 6)) else (4, 6)
        leaf_entry(kind, shape)      # raises KeyError for a kind netgen can't draw


@st.composite
def sample_shape(draw, kind: str):
    """A channels-first sample shape of a rank `kind` allows (rank 1: after `flatten`)."""
    ranks = [r for r in (1, 2, 3, 4) if applicable(kind, (2,) * r)]
    rank = draw(st.sampled_from(ranks))
    channels = draw(st.integers(1, 6))
    if rank == 1:
        return (draw(st.integers(1, 24)),)
    return (channels, *[draw(st.integers(1, MAX_SIZE[rank - 1])) for _ in range(rank - 1)])


@st.composite
def wild_sliding(draw, kind: str, shape):
    """Sliding-window arguments without regard to whether they fit: rejections get exercised."""
    small = st.integers(1, 4)
    args = {"kernel": draw(st.integers(1, 6)), "stride": draw(small),
            "padding": draw(st.integers(0, 3))}
    if kind in ("conv", "conv_transpose"):
        args["out"] = draw(small)
        if draw(st.booleans()):
            args["groups"] = draw(st.integers(1, 3))
    if kind in ("conv", "conv_transpose", "maxpool"):
        args["dilation"] = draw(st.integers(1, 3))
    if kind == "conv_transpose":
        args["output_padding"] = draw(st.integers(0, 3))
    if kind in ("maxpool", "avgpool"):
        args["ceil_mode"] = draw(st.booleans())
    if len(shape) > 2 and draw(st.booleans()):
        args["stride"] = [draw(small) for _ in shape[1:]]
    return {kind: args}


@st.composite
def leaf_case(draw, kind: str):
    shape = draw(sample_shape(kind))
    entries = leaf_entry(kind, shape)
    if kind in SLIDING:
        entries = st.one_of(entries, wild_sliding(kind, shape))
    if kind == "channel_shuffle":       # groups that may not divide the channels
        entries = st.one_of(entries, st.builds(lambda g: {kind: g}, st.integers(1, 7)))
    return shape, draw(st.sampled_from(["strict", "floor"])), draw(entries)


def run_leaf(kind: str, args, shape):
    """PyTorch's verdict on the leaf alone: (output shape without batch) or an exception."""
    module = materialise(KINDS[kind].build(nn, args, shape), "cpu")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(module(torch.zeros((BATCH, *shape))).shape[1:])


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=max(60, settings.default.max_examples // 2))
@given(data=st.data())
def test_kind_agrees_with_torch(kind, data):
    shape, rounding, entry = data.draw(leaf_case(kind), label="shape, rounding, entry")
    loaded = load_dict({"input": list(shape), "rounding": rounding, "layers": [entry]})
    node = loaded.root.children[0]
    try:
        analysis = analyze_loaded(loaded)
    except StrictRoundingError as exc:
        # documented: strict rejects what PyTorch floors; PyTorch must give the floor rule's size
        note(exc.format())
        try:
            floored = analyze_loaded(load_dict({"input": list(shape), "rounding": "floor",
                                                "layers": [entry]}))
        except SpecError:
            try:
                out = run_leaf(kind, node.args, shape)
            except TORCH_ERRORS:
                return                            # rejected for another reason too
            assert 0 in out, f"cnncalc rejected a layer PyTorch runs, giving {out}"
            return
        assert run_leaf(kind, node.args, shape) == floored.output_shape
        return
    except SpecError as exc:
        note(exc.format())
        try:
            out = run_leaf(kind, node.args, shape)
        except TORCH_ERRORS:
            return                                # both reject
        # documented: "an output size below 1 is always an error"; PyTorch returns it empty
        assert 0 in out, f"cnncalc rejected a layer PyTorch runs, giving {out}"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = measure(materialise(build(analysis), "cpu"),
                           torch.zeros((BATCH, *shape))).by_name()[node.path]
    (row,) = analysis.rows
    assert measured.output_shape == (BATCH, *row.output_shape)
    assert measured.params == row.params
    assert measured.buffers == row.buffers
    assert measured.flops == 2 * row.macs * BATCH


@pytest.mark.parametrize("shape, entry, message", [
    # PyTorch checks pooling padding against half the kernel as written, not the dilated one
    ((1, 18), {"maxpool": {"kernel": 3, "padding": 2, "dilation": 2}}, "more than half the window"),
    # AvgPool3d (not 1d/2d) wants the window to fit the unpadded input
    ((1, 1, 1, 1), {"avgpool": {"kernel": 2, "stride": 1, "padding": 1}}, "AvgPool3d rejects it"),
    # instance norm normalises over positions: one isn't enough
    ((6, 1, 1), "instancenorm", "more than one spatial position"),
])
def test_rules_the_proofs_corrected(shape, entry, message):
    loaded = load_dict({"input": list(shape), "layers": [entry]})
    with pytest.raises(SpecError, match=message):
        analyze_loaded(loaded)
    node = loaded.root.children[0]
    with pytest.raises(TORCH_ERRORS):
        run_leaf(node.kind, node.args, shape)


def test_an_empty_output_is_rejected_though_pytorch_returns_one():
    entry = {"conv_transpose": {"out": 1, "kernel": 1, "stride": 2, "padding": 1,
                                "output_padding": 1}}
    loaded = load_dict({"input": [1, 1], "layers": [entry]})
    with pytest.raises(SpecError, match="would be 0"):
        analyze_loaded(loaded)
    assert run_leaf("conv_transpose", loaded.root.children[0].args, (1, 1)) == (1, 0)


F = nn.functional
EPS = 0.5
# PyTorch's functional norms with the eps written, not the cross-check's modules
_REFERENCE = {
    "groupnorm": lambda x: F.group_norm(x, 2, eps=EPS),
    "instancenorm": lambda x: F.instance_norm(x, eps=EPS),
    "layernorm": lambda x: F.layer_norm(x, x.shape[1:], eps=EPS),
    "layernorm over channels": lambda x: F.layer_norm(x.movedim(1, -1), x.shape[1:2],
                                                      eps=EPS).movedim(-1, 1),
}


@pytest.mark.parametrize("name, entry", [
    ("groupnorm", {"groupnorm": {"groups": 2, "eps": EPS}}),
    ("instancenorm", {"instancenorm": {"eps": EPS}}),
    ("layernorm", {"layernorm": {"eps": EPS}}),
    ("layernorm over channels", {"layernorm": {"eps": EPS, "over": "channels"}}),
])
@pytest.mark.parametrize("shape", [(4, 5), (4, 3, 3), (4, 2, 3, 2)])
def test_norm_eps_reaches_the_pytorch_module(name, entry, shape):
    """No figure depends on `eps`, the cross-check's module does: it computes PyTorch's norm
    with the eps the spec writes (and LayerNorm over the channels at each position)."""
    node = load_dict({"input": list(shape), "layers": [entry]}).root.children[0]
    module = KINDS[node.kind].build(nn, node.args, shape).eval()
    x = torch.rand((BATCH, *shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(module(x), _REFERENCE[name](x), atol=1e-6)
