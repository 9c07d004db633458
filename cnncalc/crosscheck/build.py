"""Graph -> torch.nn.Module, nested so that `model.named_modules()` names equal node paths.

Each kind builds its own module (`build` on its object in cnncalc.kinds, given `torch.nn`);
those builders are the oracle's side of the cross-check: they state PyTorch's own arguments and
use PyTorch's own rules (e.g. `padding='same'`), never cnncalc's static rules, so a wrong static
rule shows up as a disagreement instead of being copied. Composites are built from their
children with the modules below: `Branches` (concat, add, mul), `Joined` (their `from` form),
`Split`, `Residual` and `OptionalResidual`; a sequential, repeat or block use is an
`nn.Sequential`, or a `Chain` where references (`from`, `like`, several outputs) are wired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnncalc.analyze import Analysis
from cnncalc.graph import Node


class Branches(nn.Module):
    """Branches `0`, `1`, … on the same input, their outputs combined by `combine(torch,
    outputs)` (the composite's: joined along channels, summed)."""

    def __init__(self, kind: str, branches: list[tuple[str, nn.Module]],
                 combine: Callable[[Any, list], torch.Tensor]):
        super().__init__()
        self.kind = kind
        self.combine = combine
        for name, branch in branches:
            self.add_module(name, branch)

    def forward(self, x):
        return self.combine(torch, [branch(x) for branch in self.children()])


class Chain(nn.Sequential):
    """A list of entries where references are wired: a child with `from` takes its input from
    `values` (the tensors kept by key, cnncalc.graph.Key), a leaf with references gets them as
    more arguments (`upsample: {like: …}`), and the outputs (and the list's own input) that some
    reference reads are kept there. The network's list returns its outputs (a tuple for
    several) and forgets what it kept."""

    def __init__(self, values: dict, wiring: list, keep_input, returns: list | None = None):
        super().__init__()
        self.values, self.wiring, self.keep_input, self.returns = values, wiring, keep_input, returns

    def forward(self, x):
        values = self.values
        if self.keep_input is not None:
            values[self.keep_input] = x
        for module, (source, refs, keep) in zip(self, self.wiring):
            given = values[source] if source is not None else x
            # a leaf reads its references' sizes only (`like`): without their graph, so that
            # no module hook (MemTracker's) waits for a gradient they never get from it
            x = module(given, *[values[r].detach() for r in refs]) if refs else module(given)
            if keep is not None:
                values[keep] = x
        if self.returns is not None:
            outputs = tuple(values[key] for key in self.returns)
            values.clear()
            return outputs[0] if len(outputs) == 1 else outputs
        return x


class Joined(nn.Module):
    """`concat`, `add` or `mul` of `{from: [a, b, …]}`: the tensors kept for those references,
    combined by `combine(torch, outputs)`."""

    traced_through = True       # trace.py records its join (torch.cat, +, *), not the module

    def __init__(self, values: dict, sources: tuple, combine: Callable[[Any, list], torch.Tensor]):
        super().__init__()
        self.values, self.sources, self.combine = values, sources, combine

    def forward(self, x):
        return self.combine(torch, [self.values[key] for key in self.sources])


class Split(nn.Module):
    """`split`: the input cut along channels by `cut(torch, x)` (torch.split or torch.chunk),
    piece i through branch `i`, the outputs joined along channels."""

    def __init__(self, branches: list[tuple[str, nn.Module]],
                 cut: Callable[[Any, torch.Tensor], tuple]):
        super().__init__()
        self.cut = cut
        for name, branch in branches:
            self.add_module(name, branch)

    def forward(self, x):
        pieces = self.cut(torch, x)
        branches = list(self.children())
        if len(pieces) != len(branches):
            raise ValueError(f"the cut gives {len(pieces)} pieces for {len(branches)} branches")
        return torch.cat([branch(piece) for branch, piece in zip(branches, pieces)], dim=1)


class Residual(nn.Module):
    def __init__(self, layers: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)


class OptionalResidual(nn.Module):
    """`shortcut: optional`, decided as torchvision's MobileNet blocks decide it
    (`use_res_connect = stride == 1 and inp == oup`): the identity is added where every module
    inside has stride 1 and the output has the input's channels, else the layers' output alone.
    Read from the modules and the tensors, not from cnncalc's decision."""

    def __init__(self, layers: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut
        strides = [getattr(m, "stride", 1) for m in layers.modules()]
        self.stride_one = all(s == 1 for stride in strides
                              for s in (stride if isinstance(stride, tuple) else (stride,)))

    def forward(self, x):
        y = self.layers(x)
        return y + self.shortcut(x) if self.stride_one and y.shape[1] == x.shape[1] else y


class ChannelScale(nn.Module):
    """`scale`: x · γ with a learnt factor per channel (ConvNeXt's layer scale), γ broadcast
    over the positions, as `x * gamma.view(C, 1, …)`."""

    def __init__(self, channels: int, init: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x):
        return x * self.gamma.view(-1, *[1] * (x.dim() - 2))


class ChannelsLastLayerNorm(nn.LayerNorm):
    """`layernorm: {over: channels}`: LayerNorm(C) on the channels moved last, then moved back
    (ConvNeXt's LayerNorm2d)."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


def _name(node: Node) -> str:
    """The module name of a node inside its parent: the last part of its path."""
    return node.path.rsplit(".", 1)[-1]


class _Builder:
    """What a composite's `build` works with: its children built, and the two modules above."""

    def __init__(self, analysis: Analysis):
        self.inputs = {row.node.path: row.input_shape for row in analysis.rows}
        self.shortcuts = analysis.shortcuts
        # the values some reference reads (none in a network without references)
        self.read: set = {key for node in analysis.root.walk()
                          for key in ((node.src,) if node.src is not None else ()) + node.refs}
        self.values: dict = {}         # the tensors kept for them during a forward pass

    def node(self, node: Node) -> nn.Module:
        if node.leaf:
            return node.leaf_kind.build(nn, node.args, self.inputs[node.path])
        return node.composite.build(self, node)

    def sequential(self, children: list[Node], owner: Node | None = None,
                   returns: list | None = None) -> nn.Sequential:
        """The children in order (`owner`: the node whose list they are, for `input` and
        `.`); a `Chain` where references are wired."""
        if not self.read and returns is None:
            module = nn.Sequential()
            for child in children:
                module.add_module(_name(child), self.node(child))
            return module
        wiring = [(child.src, child.refs if child.leaf else (),
                   (child.path, "out") if (child.path, "out") in self.read else None)
                  for child in children]
        keep = (owner.path, "in") if owner is not None else None
        chain = Chain(self.values, wiring, keep if keep in self.read else None, returns)
        for child in children:
            chain.add_module(_name(child), self.node(child))
        return chain

    def joined(self, sources: tuple, combine) -> nn.Module:
        return Joined(self.values, sources, combine)

    def branches(self, kind: str, children: list[Node], combine) -> nn.Module:
        return Branches(kind, [(_name(c), self.node(c)) for c in children], combine)

    def split(self, children: list[Node], cut) -> nn.Module:
        return Split([(_name(c), self.node(c)) for c in children], cut)

    def residual(self, layers: nn.Module, shortcut: nn.Module) -> nn.Module:
        return Residual(layers, shortcut)

    def optional_residual(self, layers: nn.Module, shortcut: nn.Module) -> nn.Module:
        return OptionalResidual(layers, shortcut)


def build(analysis: Analysis) -> nn.Module:
    """The network on the meta device (no memory, no initialisation); see `materialise`."""
    root = analysis.root
    with torch.device("meta"):
        builder = _Builder(analysis)
        if root.outputs is not None and (len(root.outputs) > 1 or builder.read):
            # the outputs, in `outputs` order (a tuple for several), kept like references
            returns = [key for _, key in root.outputs]
            builder.read.update(returns)
            return builder.sequential(root.children, root, returns)
        return builder.sequential(root.children, root)


def materialise(model: nn.Module, device: str) -> nn.Module:
    """Storage on `device` for every parameter and buffer, left uninitialised: weights don't
    change what is measured, and skipping the default initialisation is most of the speed.

    As `model.to_empty(device=...)`, but with `torch.empty`: `empty_like` of a meta tensor goes
    through PyTorch's Python reference implementation, whose first call imports sympy (0.4 s).
    Tensors stay contiguous: channels-last would make VGG-16's forward pass 25% faster on CPU,
    but PyTorch 2.13 crashes (SIGSEGV) on some small channels-last convolutions, e.g. a 1×1
    kernel with dilation 2, padding 1 and stride 2 on a 2×1 input."""
    if device != "meta":
        for module in model.modules():
            for name, p in list(module.named_parameters(recurse=False)):
                setattr(module, name, nn.Parameter(_empty(p, device),
                                                   requires_grad=p.requires_grad))
            for name, b in list(module.named_buffers(recurse=False)):
                setattr(module, name, _empty(b, device))
    return model.eval()


def _empty(tensor: torch.Tensor, device: str) -> torch.Tensor:
    return torch.empty(tensor.shape, dtype=tensor.dtype, device=device)


def empty_input(shape: tuple, device: str) -> torch.Tensor:
    """An uninitialised input batch of `shape` (batch first) for a model from `materialise`."""
    return torch.empty(shape, device=device)
