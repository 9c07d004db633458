"""A plain-PyTorch copy of Ultralytics' YOLOv8n (ultralytics/cfg/models/v8/yolov8.yaml at scale
n: depth 0.33, width 0.25), the oracle for specs/yolov8n.yaml.

Architecture only, no ultralytics dependency (it can't be installed beside the CPU build of
PyTorch here). Module structure and parameter shapes follow ultralytics/nn/modules/{conv,block,
head}.py: Conv = Conv2d (no bias, "same" padding) + BatchNorm2d + SiLU; C2f; SPPF; Detect with
the YOLOv8 ("legacy") class branch. `forward` returns what the spec describes: Detect's three
per-level tensors (box and class convolutions concatenated, 64 + 80 = 144 channels at strides 8,
16 and 32), as Ultralytics' Detect returns them in training mode; the decoding that follows
(anchors, DFL's softmax expectation, box conversion) is not run. The DFL's fixed 1×1 conv (16
weights, no gradient) is built, as Ultralytics builds it, so its parameters count as theirs do.
"""

from __future__ import annotations

import torch
from torch import nn


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, g: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=0.001, momentum=0.03)   # Ultralytics' initialize_weights
        self.act = nn.SiLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two 3×3 Convs; adds the input when `shortcut` and the widths agree."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, e: float = 1.0) -> None:
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 3, 1)
        self.cv2 = Conv(c_, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """cv1 to 2c channels, split in halves; n bottlenecks chained on the second half; every
    piece concatenated ((2 + n)·c channels) and cv2 to c2."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, e: float = 0.5) -> None:
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """cv1 to half the channels, three chained 5×5/1 max pools, all four concatenated, cv2."""

    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """Distribution focal loss integral: a fixed 1×1 conv with weights 0..15 (decoding only)."""

    def __init__(self, c1: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)


class Detect(nn.Module):
    def __init__(self, nc: int = 80, ch: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.nc, self.nl, self.reg_max = nc, len(ch), 16
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3),
                                               nn.Conv2d(c2, 4 * self.reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3),
                                               nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(self.reg_max)

    def forward(self, xs):
        return tuple(torch.cat((self.cv2[i](x), self.cv3[i](x)), 1) for i, x in enumerate(xs))


class YOLOv8(nn.Module):
    """yolov8.yaml's 23 layers; `widths` are 64-128-256-512-1024 scaled by 0.25 (scale n),
    `depths` 3 and 6 scaled by 0.33 and rounded (1 and 2)."""

    def __init__(self, nc: int = 80, width: float = 0.25, depth: float = 0.33) -> None:
        super().__init__()
        w = [int(c * width) for c in (64, 128, 256, 512, 1024)]      # 16 32 64 128 256
        d3, d6 = (max(round(n * depth), 1) for n in (3, 6))           # 1 2
        self.model = nn.ModuleList([
            Conv(3, w[0], 3, 2),                     # 0  P1/2
            Conv(w[0], w[1], 3, 2),                  # 1  P2/4
            C2f(w[1], w[1], d3, True),               # 2
            Conv(w[1], w[2], 3, 2),                  # 3  P3/8
            C2f(w[2], w[2], d6, True),               # 4
            Conv(w[2], w[3], 3, 2),                  # 5  P4/16
            C2f(w[3], w[3], d6, True),               # 6
            Conv(w[3], w[4], 3, 2),                  # 7  P5/32
            C2f(w[4], w[4], d3, True),               # 8
            SPPF(w[4], w[4], 5),                     # 9
            nn.Upsample(scale_factor=2, mode="nearest"),   # 10
            nn.Identity(),                           # 11 Concat [10, 6]
            C2f(w[4] + w[3], w[3], d3),              # 12
            nn.Upsample(scale_factor=2, mode="nearest"),   # 13
            nn.Identity(),                           # 14 Concat [13, 4]
            C2f(w[3] + w[2], w[2], d3),              # 15 (P3/8, small)
            Conv(w[2], w[2], 3, 2),                  # 16
            nn.Identity(),                           # 17 Concat [16, 12]
            C2f(w[2] + w[3], w[3], d3),              # 18 (P4/16, medium)
            Conv(w[3], w[3], 3, 2),                  # 19
            nn.Identity(),                           # 20 Concat [19, 9]
            C2f(w[3] + w[4], w[4], d3),              # 21 (P5/32, large)
            Detect(nc, (w[2], w[3], w[4])),          # 22
        ])

    # Layer i's inputs where not just the previous layer's output (yolov8.yaml's `from`).
    FROM = {11: (-1, 6), 14: (-1, 4), 17: (-1, 12), 20: (-1, 9), 22: (15, 18, 21)}

    def forward(self, x):
        saved: list = []
        for i, m in enumerate(self.model):
            if i in self.FROM:
                inputs = [x if f == -1 else saved[f] for f in self.FROM[i]]
                x = m(inputs) if isinstance(m, Detect) else torch.cat(inputs, 1)
            else:
                x = m(x)
            saved.append(x)
        return x


def yolov8n() -> YOLOv8:
    return YOLOv8()
