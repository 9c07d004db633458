"""Graph -> torch.nn.Module, nested so that `model.named_modules()` names equal node paths.

One builder per leaf kind, in the explicit table BUILDERS (kind name -> function of the kind's
validated arguments and the node's input shape, one sample, channels first). The builders are
the oracle's side of the cross-check: they state PyTorch's own arguments and use PyTorch's own
rules (e.g. `padding='same'`), never cnncalc's static rules, so a wrong static rule shows up as a
disagreement instead of being copied here.

Composites: a sequential, repeat or block use is an `nn.Sequential` of its children; concat and
add are `Branches`; residual is `Residual` (children `layers` and `shortcut`; a projection
shortcut is the one the analysis resolved, `analysis.shortcuts[path]`).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from cnncalc.analyze import Analysis
from cnncalc.graph import Node


def _nd(shape) -> int:
    """Spatial axes of a channels-first sample shape."""
    return len(shape) - 1


def _t(value):
    """A spec's int-or-list argument as PyTorch takes it."""
    return tuple(value) if isinstance(value, list) else value


def _module(family: str, n: int):
    """`nn.Conv2d` for ("Conv", 2), etc."""
    if n not in (1, 2, 3):
        raise ValueError(f"{family} needs 1, 2 or 3 spatial axes, not {n}")
    return getattr(nn, f"{family}{n}d")


# -- leaves ----------------------------------------------------------------------------------

def conv(args, shape):
    n = _nd(shape)
    layer = _module("Conv", n)
    stride = args.stride if isinstance(args.stride, list) else [args.stride] * n
    padding = args.padding
    pad = None
    if padding == "same" and any(s != 1 for s in stride):
        # TensorFlow's 'same' (ceil(W / S) outputs); PyTorch's padding='same' is stride 1 only.
        kernel = args.kernel if isinstance(args.kernel, list) else [args.kernel] * n
        dilation = args.dilation if isinstance(args.dilation, list) else [args.dilation] * n
        before, after = [], []
        for w, k, s, d in zip(shape[1:], kernel, stride, dilation):
            total = max((-(-w // s) - 1) * s + d * (k - 1) + 1 - w, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        if before == after:
            padding = tuple(before)
        else:
            # odd total: the extra zero goes at the end, by an explicit zero-pad (last axis first)
            sides = zip(reversed(before), reversed(after))
            pad = _module("ZeroPad", n)(tuple(x for b, a in sides for x in (b, a)))
            padding = 0
    module = layer(shape[0], args.out, _t(args.kernel), stride=_t(args.stride),
                   padding=_t(padding), dilation=_t(args.dilation), groups=args.groups,
                   bias=args.bias)
    if pad is None:
        return module
    return nn.Sequential(pad, module)


def conv_transpose(args, shape):
    layer = _module("ConvTranspose", _nd(shape))
    return layer(shape[0], args.out, _t(args.kernel), stride=_t(args.stride),
                 padding=_t(args.padding), output_padding=_t(args.output_padding),
                 groups=args.groups, bias=args.bias, dilation=_t(args.dilation))


def maxpool(args, shape):
    return _module("MaxPool", _nd(shape))(_t(args.kernel), stride=_t(args.stride),
                                          padding=_t(args.padding), dilation=_t(args.dilation),
                                          ceil_mode=args.ceil_mode)


def avgpool(args, shape):
    return _module("AvgPool", _nd(shape))(_t(args.kernel), stride=_t(args.stride),
                                          padding=_t(args.padding), ceil_mode=args.ceil_mode,
                                          count_include_pad=args.count_include_pad)


def adaptive_avgpool(args, shape):
    return _module("AdaptiveAvgPool", _nd(shape))(_t(args.output))


def adaptive_maxpool(args, shape):
    return _module("AdaptiveMaxPool", _nd(shape))(_t(args.output))


def global_avgpool(args, shape):
    return _module("AdaptiveAvgPool", _nd(shape))(1)


def linear(args, shape):
    return nn.Linear(shape[-1], args.out, bias=args.bias)


def batchnorm(args, shape):
    # BatchNorm1d takes (N, C) and (N, C, L)
    return _module("BatchNorm", max(_nd(shape), 1))(shape[0], eps=args.eps,
                                                    momentum=args.momentum, affine=args.affine)


def groupnorm(args, shape):
    return nn.GroupNorm(args.groups, shape[0], affine=args.affine)


def instancenorm(args, shape):
    return _module("InstanceNorm", _nd(shape))(shape[0], affine=args.affine)


def layernorm(args, shape):
    return nn.LayerNorm(list(shape), elementwise_affine=args.affine)


def lrn(args, shape):
    return nn.LocalResponseNorm(args.size, alpha=args.alpha, beta=args.beta, k=args.k)


def prelu(args, shape):
    return nn.PReLU(shape[0] if args.channels == "all" else 1)


def zeropad(args, shape):
    n = _nd(shape)
    pads = args.padding if isinstance(args.padding, list) else [args.padding] * n
    return _module("ZeroPad", n)(tuple(x for p in reversed(pads) for x in (p, p)))


def upsample(args, shape):
    scale = (tuple(float(s) for s in args.scale) if isinstance(args.scale, list)
             else float(args.scale))
    return nn.Upsample(scale_factor=scale, mode=args.mode)


def _plain(factory: Callable[[], nn.Module]):
    return lambda args, shape: factory()


BUILDERS: dict[str, Callable] = {
    "conv": conv,
    "conv_transpose": conv_transpose,
    "maxpool": maxpool,
    "avgpool": avgpool,
    "adaptive_avgpool": adaptive_avgpool,
    "adaptive_maxpool": adaptive_maxpool,
    "global_avgpool": global_avgpool,
    "linear": linear,
    "flatten": _plain(nn.Flatten),
    "batchnorm": batchnorm,
    "groupnorm": groupnorm,
    "instancenorm": instancenorm,
    "layernorm": layernorm,
    "lrn": lrn,
    "relu": _plain(nn.ReLU),
    "relu6": _plain(nn.ReLU6),
    "gelu": _plain(nn.GELU),
    "silu": _plain(nn.SiLU),
    "sigmoid": _plain(nn.Sigmoid),
    "tanh": _plain(nn.Tanh),
    "hardswish": _plain(nn.Hardswish),
    "elu": lambda args, shape: nn.ELU(alpha=args.alpha),
    "leaky_relu": lambda args, shape: nn.LeakyReLU(negative_slope=args.slope),
    "prelu": prelu,
    "softmax": lambda args, shape: nn.Softmax(dim=1),
    "log_softmax": lambda args, shape: nn.LogSoftmax(dim=1),
    "dropout": lambda args, shape: nn.Dropout(args.p),
    "dropout2d": lambda args, shape: nn.Dropout2d(args.p),
    "zeropad": zeropad,
    "upsample": upsample,
    "identity": _plain(nn.Identity),
}


# -- composites ------------------------------------------------------------------------------

class Branches(nn.Module):
    """concat (joined along channels) or add (element-wise sum) of branches `0`, `1`, …"""

    def __init__(self, kind: str, branches: list[tuple[str, nn.Module]]):
        super().__init__()
        self.kind = kind
        for name, branch in branches:
            self.add_module(name, branch)

    def forward(self, x):
        outs = [branch(x) for branch in self.children()]
        if self.kind == "concat":
            return torch.cat(outs, dim=1)
        total = outs[0]
        for out in outs[1:]:
            total = total + out
        return total


class Residual(nn.Module):
    def __init__(self, layers: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)


def _name(node: Node) -> str:
    """The module name of a node inside its parent: the last part of its path."""
    return node.path.rsplit(".", 1)[-1]


class _Builder:
    def __init__(self, analysis: Analysis):
        self.inputs = {row.node.path: row.input_shape for row in analysis.rows}
        self.shortcuts = analysis.shortcuts

    def node(self, node: Node) -> nn.Module:
        if node.leaf:
            return BUILDERS[node.kind](node.args, self.inputs[node.path])
        if node.kind in ("concat", "add"):
            return Branches(node.kind, [(_name(c), self.node(c)) for c in node.children])
        if node.kind == "residual":
            main, short = node.children
            if node.path in self.shortcuts:     # a projection the analysis resolved
                short = Node(short.path, "sequential", short.pos, short.rounding,
                             children=self.shortcuts[node.path])
            return Residual(self.node(main), self.node(short))
        return self.sequential(node.children)

    def sequential(self, children: list[Node]) -> nn.Sequential:
        module = nn.Sequential()
        for child in children:
            module.add_module(_name(child), self.node(child))
        return module


def build(analysis: Analysis) -> nn.Module:
    """The network on the meta device (no memory, no initialisation); see `materialise`."""
    with torch.device("meta"):
        return _Builder(analysis).sequential(analysis.root.children)


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
