"""Plain-PyTorch reference implementations of the torchvision architectures the zoo ships.

Architecture code only (no weights, no torchvision dependency), written like torchvision's
`torchvision/models/{alexnet,vgg,resnet,googlenet,densenet,squeezenet}.py` (v0.2x), with its
default initialisation. Module structure, parameter and buffer shapes match torchvision's, so
these are the oracle for the zoo specs' params, buffers, output shapes and FLOPs.

Build them on the meta device when only shapes and counts matter:

    with torch.device("meta"):
        model = resnet50()

Factories: alexnet, vgg11, vgg16, vgg19, vgg16_bn, resnet18, resnet34, resnet50, resnet101,
resnet152, googlenet (without auxiliary heads), densenet121, squeezenet1_0. `FACTORIES` maps
each bundled spec's name to its factory.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------------------------
# AlexNet (torchvision's one-GPU variant: 64-192-384-256-256 filters, conv1 11×11/4 pad 2)

class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet() -> AlexNet:
    return AlexNet()


# ---------------------------------------------------------------------------------------------
# VGG (Simonyan & Zisserman 2014, configurations A, D, E)

VGG_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def make_layers(cfg: list, batch_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


def vgg11() -> VGG:
    return VGG(make_layers(VGG_CFGS["A"]))


def vgg16() -> VGG:
    return VGG(make_layers(VGG_CFGS["D"]))


def vgg19() -> VGG:
    return VGG(make_layers(VGG_CFGS["E"]))


def vgg16_bn() -> VGG:
    return VGG(make_layers(VGG_CFGS["D"], batch_norm=True))


# ---------------------------------------------------------------------------------------------
# ResNet (He et al. 2015; torchvision's v1.5: the bottleneck's stride is on its 3×3 conv)

def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18() -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet34() -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3])


def resnet50() -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3])


def resnet101() -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3])


def resnet152() -> ResNet:
    return ResNet(Bottleneck, [3, 8, 36, 3])


# ---------------------------------------------------------------------------------------------
# GoogLeNet (Szegedy et al. 2014) as torchvision has it: BasicConv2d = conv (no bias) + BN
# (eps 0.001) + ReLU, the "5×5" branch is a 3×3, ceil_mode pools; auxiliary heads left out.

class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        # torchvision's known deviation from the paper: kernel_size=3 here, not 5.
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4c(self.inception4b(self.inception4a(x)))
        x = self.maxpool4(self.inception4e(self.inception4d(x)))
        x = self.inception5b(self.inception5a(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def googlenet() -> GoogLeNet:
    return GoogLeNet()


# ---------------------------------------------------------------------------------------------
# DenseNet-121 (Huang et al. 2016; torchvision: growth 32, blocks 6-12-24-16, bn_size 4)

class _DenseLayer(nn.Module):
    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)

    def forward(self, features: list):
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class _DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, num_init_features, kernel_size=7,
                                                    stride=2, padding=3, bias=False))
        self.features.add_module("norm0", nn.BatchNorm2d(num_init_features))
        self.features.add_module("relu0", nn.ReLU(inplace=True))
        self.features.add_module("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, num_features, bn_size, growth_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features = num_features + num_layers * growth_rate
            if i != len(block_config) - 1:
                trans = _Transition(num_features, num_features // 2)
                self.features.add_module(f"transition{i + 1}", trans)
                num_features = num_features // 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = F.relu(self.features(x), inplace=True)
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def densenet121() -> DenseNet:
    return DenseNet(32, (6, 12, 24, 16), 64)


# ---------------------------------------------------------------------------------------------
# SqueezeNet 1.0 (Iandola et al. 2016)

class Fire(nn.Module):
    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=7, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(96, 16, 64, 64),
            Fire(128, 16, 64, 64),
            Fire(128, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 32, 128, 128),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0() -> SqueezeNet:
    return SqueezeNet()




# ---------------------------------------------------------------------------------------------
# Building blocks shared by the 2017-onwards networks below (torchvision.ops.misc)

def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's `_make_divisible`: the nearest multiple of `divisor`, never 10 % below `v`."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def conv_norm_act(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                  dilation: int = 1, act=nn.ReLU, norm=nn.BatchNorm2d) -> nn.Sequential:
    """Conv2dNormActivation: "same" padding for odd kernels, no conv bias (the norm has one);
    `act=None` leaves the activation out."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 * dilation, dilation=dilation,
                  groups=groups, bias=False),
        norm(cout)]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """x · gate(fc2(act(fc1(avgpool(x))))), the fc layers 1×1 convolutions with biases."""

    def __init__(self, channels: int, squeeze: int, act=nn.ReLU, gate=nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = act()
        self.scale_activation = gate()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class StochasticDepth(nn.Module):
    """Drops whole residual branches per sample in training ("row" mode); the identity in eval."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty([x.shape[0]] + [1] * (x.ndim - 1), dtype=x.dtype, device=x.device)
        return x * keep.bernoulli_(1 - self.p).div_(1 - self.p)


# ---------------------------------------------------------------------------------------------
# MobileNetV2 (Sandler et al. 2018, Table 2): inverted residuals (t, c, n, s), ReLU6

class InvertedResidualV2(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_norm_act(inp, hidden, 1, act=nn.ReLU6))
        layers += [conv_norm_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
                   nn.Conv2d(hidden, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        channels, last = 32, 1280
        features: list[nn.Module] = [conv_norm_act(3, channels, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in self.SETTING:
            for i in range(n):
                features.append(InvertedResidualV2(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(conv_norm_act(channels, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2() -> MobileNetV2:
    return MobileNetV2()


# ---------------------------------------------------------------------------------------------
# MobileNetV3 (Howard et al. 2019, Tables 1 and 2): bneck = expand, depthwise, SE (hard
# sigmoid gate, squeeze = make_divisible(expanded / 4)), project; BN eps 0.001

class BneckConfig:
    def __init__(self, cin: int, kernel: int, expanded: int, cout: int, se: bool, act: str,
                 stride: int, dilation: int = 1) -> None:
        self.cin, self.kernel, self.expanded, self.cout = cin, kernel, expanded, cout
        self.se, self.hardswish, self.stride, self.dilation = se, act == "HS", stride, dilation


class InvertedResidualV3(nn.Module):
    def __init__(self, cnf: BneckConfig, norm) -> None:
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.cin == cnf.cout
        act = nn.Hardswish if cnf.hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if cnf.expanded != cnf.cin:
            layers.append(conv_norm_act(cnf.cin, cnf.expanded, 1, act=act, norm=norm))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(conv_norm_act(cnf.expanded, cnf.expanded, cnf.kernel, stride,
                                    groups=cnf.expanded, dilation=cnf.dilation, act=act, norm=norm))
        if cnf.se:
            layers.append(SqueezeExcitation(cnf.expanded, make_divisible(cnf.expanded // 4, 8),
                                            gate=nn.Hardsigmoid))
        layers.append(conv_norm_act(cnf.expanded, cnf.cout, 1, act=None, norm=norm))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.cout
        self.is_cn = cnf.stride > 1       # torchvision's `_is_cn`: where LR-ASPP's taps are

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res_connect else y


def mobilenet_v3_setting(arch: str, dilated: bool = False) -> tuple[list[BneckConfig], int]:
    d = 2 if dilated else 1       # the segmentation backbone dilates its last stage
    if arch == "large":
        setting = [BneckConfig(16, 3, 16, 16, False, "RE", 1), BneckConfig(16, 3, 64, 24, False, "RE", 2),
                   BneckConfig(24, 3, 72, 24, False, "RE", 1), BneckConfig(24, 5, 72, 40, True, "RE", 2),
                   BneckConfig(40, 5, 120, 40, True, "RE", 1), BneckConfig(40, 5, 120, 40, True, "RE", 1),
                   BneckConfig(40, 3, 240, 80, False, "HS", 2), BneckConfig(80, 3, 200, 80, False, "HS", 1),
                   BneckConfig(80, 3, 184, 80, False, "HS", 1), BneckConfig(80, 3, 184, 80, False, "HS", 1),
                   BneckConfig(80, 3, 480, 112, True, "HS", 1), BneckConfig(112, 3, 672, 112, True, "HS", 1),
                   BneckConfig(112, 5, 672, 160, True, "HS", 2, d),
                   BneckConfig(160, 5, 960, 160, True, "HS", 1, d),
                   BneckConfig(160, 5, 960, 160, True, "HS", 1, d)]
        return setting, 1280
    setting = [BneckConfig(16, 3, 16, 16, True, "RE", 2), BneckConfig(16, 3, 72, 24, False, "RE", 2),
               BneckConfig(24, 3, 88, 24, False, "RE", 1), BneckConfig(24, 5, 96, 40, True, "HS", 2),
               BneckConfig(40, 5, 240, 40, True, "HS", 1), BneckConfig(40, 5, 240, 40, True, "HS", 1),
               BneckConfig(40, 5, 120, 48, True, "HS", 1), BneckConfig(48, 5, 144, 48, True, "HS", 1),
               BneckConfig(48, 5, 288, 96, True, "HS", 2, d),
               BneckConfig(96, 5, 576, 96, True, "HS", 1, d),
               BneckConfig(96, 5, 576, 96, True, "HS", 1, d)]
    return setting, 1024


class MobileNetV3(nn.Module):
    def __init__(self, setting: list[BneckConfig], last_channel: int, num_classes: int = 1000) -> None:
        super().__init__()
        norm = lambda c: nn.BatchNorm2d(c, eps=0.001, momentum=0.01)  # noqa: E731
        layers: list[nn.Module] = [conv_norm_act(3, setting[0].cin, 3, 2, act=nn.Hardswish, norm=norm)]
        layers += [InvertedResidualV3(cnf, norm) for cnf in setting]
        last_conv = 6 * setting[-1].cout
        layers.append(conv_norm_act(setting[-1].cout, last_conv, 1, act=nn.Hardswish, norm=norm))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(last_conv, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True),
                                        nn.Linear(last_channel, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v3_large() -> MobileNetV3:
    return MobileNetV3(*mobilenet_v3_setting("large"))


def mobilenet_v3_small() -> MobileNetV3:
    return MobileNetV3(*mobilenet_v3_setting("small"))


# ---------------------------------------------------------------------------------------------
# EfficientNet-B0 (Tan & Le 2019, Table 1): MBConv = expand, depthwise, SE (squeeze = the
# block's input channels / 4, SiLU, sigmoid gate), project; SiLU; stochastic depth 0.2

class MBConv(nn.Module):
    def __init__(self, expand_ratio: int, kernel: int, stride: int, cin: int, cout: int,
                 sd_prob: float) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        expanded = make_divisible(cin * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(conv_norm_act(cin, expanded, 1, act=nn.SiLU))
        layers.append(conv_norm_act(expanded, expanded, kernel, stride, groups=expanded, act=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, cin // 4), act=nn.SiLU))
        layers.append(conv_norm_act(expanded, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x):
        y = self.block(x)
        return self.stochastic_depth(y) + x if self.use_res_connect else y


class EfficientNet(nn.Module):
    # expand ratio, kernel, stride, in, out, layers
    B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
          (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

    def __init__(self, setting=B0, dropout: float = 0.2, stochastic_depth_prob: float = 0.2,
                 num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(3, setting[0][3], 3, 2, act=nn.SiLU)]
        total = sum(row[5] for row in setting)
        block_id = 0
        for t, k, s, cin, cout, n in setting:
            stage = []
            for i in range(n):
                stage.append(MBConv(t, k, s if i == 0 else 1, cin if i == 0 else cout, cout,
                                    stochastic_depth_prob * block_id / total))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last = 4 * setting[-1][4]
        layers.append(conv_norm_act(setting[-1][4], last, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def efficientnet_b0() -> EfficientNet:
    return EfficientNet()


# ---------------------------------------------------------------------------------------------
# RegNetY-400MF (Radosavovic et al. 2020): widths from the quantised linear rule, group width
# 8, bottleneck ratio 1, SE with squeeze = a quarter of the block's input width

def regnet_block_params(depth: int, w_0: int, w_a: float, w_m: float, group_width: int):
    """Per stage (depth, width, group width), as torchvision's BlockParams.from_init_params
    computes them (in float32, as it does)."""
    widths_cont = torch.arange(depth, device="cpu") * w_a + w_0   # real numbers, also under meta
    capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), 8)) * 8).int().tolist()
    stages: list[list[int]] = []
    for w in block_widths:
        if stages and stages[-1][1] == w:
            stages[-1][0] += 1
        else:
            stages.append([1, w])
    out = []
    for d, w in stages:              # widths and groups made compatible (ratio 1 here)
        g = min(group_width, w)
        out.append((d, make_divisible(w, g), g))
    return out


class ResBottleneckBlock(nn.Module):
    def __init__(self, w_in: int, w_out: int, stride: int, group_width: int, se_ratio: float) -> None:
        super().__init__()
        self.proj = None
        if w_in != w_out or stride != 1:
            self.proj = conv_norm_act(w_in, w_out, 1, stride, act=None)
        self.f = nn.Sequential(
            conv_norm_act(w_in, w_out, 1),
            conv_norm_act(w_out, w_out, 3, stride, groups=w_out // group_width),
            SqueezeExcitation(w_out, int(round(se_ratio * w_in))),
            conv_norm_act(w_out, w_out, 1, act=None))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class RegNet(nn.Module):
    def __init__(self, stages, stem_width: int = 32, se_ratio: float = 0.25,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = conv_norm_act(3, stem_width, 3, 2)
        width = stem_width
        blocks = []
        for depth, w_out, g in stages:
            blocks.append(nn.Sequential(*[ResBottleneckBlock(width if i == 0 else w_out, w_out,
                                                             2 if i == 0 else 1, g, se_ratio)
                                          for i in range(depth)]))
            width = w_out
        self.trunk_output = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


def regnet_y_400mf() -> RegNet:
    return RegNet(regnet_block_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8))


# ---------------------------------------------------------------------------------------------
# ShuffleNetV2 1.0× (Ma et al. 2018, Table 5): stride-1 units split the channels in two halves,
# stride-2 units run two branches on the whole input; each unit ends in a channel shuffle

def channel_shuffle(x, groups: int):
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else half, half, 1, bias=False), nn.BatchNorm2d(half),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), widths=(24, 116, 232, 464, 1024),
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = widths[0]
        stages = []
        for n, cout in zip(repeats, widths[1:4]):
            stages.append(nn.Sequential(ShuffleUnit(cin, cout, 2),
                                        *[ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]))
            cin = cout
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(nn.Conv2d(cin, widths[-1], 1, bias=False),
                                   nn.BatchNorm2d(widths[-1]), nn.ReLU(inplace=True))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean([2, 3]))


def shufflenet_v2_x1_0() -> ShuffleNetV2:
    return ShuffleNetV2()


# ---------------------------------------------------------------------------------------------
# ConvNeXt-T (Liu et al. 2022): 4×4/4 patchify stem, stages of 3-3-9-3 blocks at 96-192-384-
# 768 channels; block = 7×7 depthwise, LayerNorm, Linear 4×, GELU, Linear, layer scale

class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels at each position of an N×C×H×W tensor."""

    def forward(self, x):
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float, sd_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(sd_prob)

    def forward(self, x):
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


class ConvNeXt(nn.Module):
    def __init__(self, setting=((96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)),
                 stochastic_depth_prob: float = 0.1, layer_scale: float = 1e-6,
                 num_classes: int = 1000) -> None:
        super().__init__()
        norm = lambda c: LayerNorm2d(c, eps=1e-6)  # noqa: E731
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, setting[0][0], 4, 4, bias=True),
                                                 norm(setting[0][0]))]
        total = sum(n for _, _, n in setting)
        block_id = 0
        for cin, cout, n in setting:
            stage = []
            for _ in range(n):
                stage.append(CNBlock(cin, layer_scale, stochastic_depth_prob * block_id / (total - 1.0)))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cout is not None:
                layers.append(nn.Sequential(norm(cin), nn.Conv2d(cin, cout, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = setting[-1][0]
        self.classifier = nn.Sequential(norm(last), nn.Flatten(1), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


def convnext_tiny() -> ConvNeXt:
    return ConvNeXt()


# ---------------------------------------------------------------------------------------------
# LR-ASPP with a MobileNetV3-Large backbone (Howard et al. 2019, Fig. 10), as torchvision's
# segmentation model: the backbone's last stage dilated (stride 16), "low" taps the output of
# the C2 block (stride 8, 40 channels), "high" the last 1×1 conv (960 channels); 21 classes.
# Returns the `"out"` tensor of torchvision's result dict.

class LRASPPHead(nn.Module):
    def __init__(self, low_channels: int, high_channels: int, num_classes: int, inter: int) -> None:
        super().__init__()
        self.cbr = nn.Sequential(nn.Conv2d(high_channels, inter, 1, bias=False),
                                 nn.BatchNorm2d(inter), nn.ReLU(inplace=True))
        self.scale = nn.Sequential(nn.AdaptiveAvgPool2d(1),
                                   nn.Conv2d(high_channels, inter, 1, bias=False), nn.Sigmoid())
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter, num_classes, 1)

    def forward(self, low, high):
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP(nn.Module):
    def __init__(self, num_classes: int = 21, inter_channels: int = 128) -> None:
        super().__init__()
        backbone = MobileNetV3(*mobilenet_v3_setting("large", dilated=True)).features
        taps = [0] + [i for i, b in enumerate(backbone) if getattr(b, "is_cn", False)] + [len(backbone) - 1]
        self.low_pos, self.high_pos = taps[-4], taps[-1]
        low_channels = backbone[self.low_pos].out_channels
        high_channels = backbone[self.high_pos][0].out_channels
        self.backbone = backbone[:self.high_pos + 1]
        self.classifier = LRASPPHead(low_channels, high_channels, num_classes, inter_channels)

    def forward(self, x):
        low = None
        y = x
        for i, layer in enumerate(self.backbone):
            y = layer(y)
            if i == self.low_pos:
                low = y
        out = self.classifier(low, y)
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


def lraspp_mobilenet_v3_large() -> LRASPP:
    return LRASPP()


FACTORIES = {f.__name__: f for f in (alexnet, vgg11, vgg16, vgg19, vgg16_bn, resnet18, resnet34,
                                      resnet50, resnet101, resnet152, googlenet, densenet121,
                                      squeezenet1_0, mobilenet_v2, mobilenet_v3_small,
                                      mobilenet_v3_large, efficientnet_b0, regnet_y_400mf,
                                      shufflenet_v2_x1_0, convnext_tiny, lraspp_mobilenet_v3_large)}
