"""xfer's pre-activation ResNet (src/models/resnet.h) in plain PyTorch,
written from timm's ResNetV2 (timm/models/resnetv2.py) with its module names:
stem.conv (and for BiT's stem, timm's stem_type 'fixed': ConstantPad2d(1, 0)
then MaxPool2d(3, stride 2)), stages.s.blocks.j (PreActBasic: downsample.conv,
norm1, conv1, norm2, conv2; PreActBottleneck: downsample.conv, norm1, conv1
1x1, norm2, conv2 3x3 with the stride, norm3, conv3 1x1, four times the inner
width out), norm, head.fc (a 1x1 conv, as timm's ResNetV2 head). The config's
"block" and "stem" keys are optional: "basic" and "small" when absent.

norm "group_ws" ("group" in older configs): GroupNormAct with gcd(32,
channels) groups, eps 1e-5, and StdConv2d (per output channel (w - mean) /
sqrt(var + 1e-8), the biased variance, as timm's BiT models). norm "batch": BatchNormAct2d (eps 1e-5,
momentum 0.1) with plain convs. No bias in any conv but the head."""

import math

import torch
from torch import nn
import torch.nn.functional as F

WSTD_EPS = 1e-8


class StdConv2d(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
        w = (w - mean) / torch.sqrt(var + WSTD_EPS)
        return F.conv2d(x, w, None, self.stride, self.padding)


class GroupNormAct(nn.GroupNorm):
    def forward(self, x):
        return F.relu(super().forward(x))


class BatchNormAct2d(nn.BatchNorm2d):
    def forward(self, x):
        return F.relu(super().forward(x))


def groups(channels):
    return math.gcd(32, channels)


class Layers:
    def __init__(self, norm):
        self.group = norm in ("group_ws", "group")

    def conv(self, cin, cout, k, stride=1):
        cls = StdConv2d if self.group else nn.Conv2d
        return cls(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    def norm(self, c):
        if self.group:
            return GroupNormAct(groups(c), c, eps=1e-5)
        return BatchNormAct2d(c, eps=1e-5, momentum=0.1)


class DownsampleConv(nn.Module):
    def __init__(self, layers, cin, cout, stride):
        super().__init__()
        self.conv = layers.conv(cin, cout, 1, stride)

    def forward(self, x):
        return self.conv(x)


class PreActBasicBlock(nn.Module):
    def __init__(self, layers, cin, cout, stride):
        super().__init__()
        if stride != 1 or cin != cout:
            self.downsample = DownsampleConv(layers, cin, cout, stride)
        else:
            self.downsample = None
        self.norm1 = layers.norm(cin)
        self.conv1 = layers.conv(cin, cout, 3, stride)
        self.norm2 = layers.norm(cout)
        self.conv2 = layers.conv(cout, cout, 3)

    def forward(self, x):
        a = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(a)
        return self.conv2(self.norm2(self.conv1(a))) + shortcut


class PreActBottleneck(nn.Module):
    """timm's PreActBottleneck: the stride on the 3x3 conv; a downsample
    (on the pre-activation) in the first block of every stage."""

    def __init__(self, layers, cin, cout, stride):
        super().__init__()
        mid = cout // 4
        if stride != 1 or cin != cout:
            self.downsample = DownsampleConv(layers, cin, cout, stride)
        else:
            self.downsample = None
        self.norm1 = layers.norm(cin)
        self.conv1 = layers.conv(cin, mid, 1)
        self.norm2 = layers.norm(mid)
        self.conv2 = layers.conv(mid, mid, 3, stride)
        self.norm3 = layers.norm(mid)
        self.conv3 = layers.conv(mid, cout, 1)

    def forward(self, x):
        a = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(a)
        x = self.conv1(a)
        x = self.conv2(self.norm2(x))
        return self.conv3(self.norm3(x)) + shortcut


class ResNetStage(nn.Module):
    def __init__(self, layers, block, cin, cout, depth, stride):
        super().__init__()
        self.blocks = nn.Sequential(*[
            block(layers, cin if j == 0 else cout, cout, stride if j == 0 else 1)
            for j in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class Head(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.fc = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3), keepdim=True)).flatten(1)


class ResNetV2(nn.Module):
    def __init__(self, channels, classes, stages, blocks, base_width, norm, block="basic",
                 stem="small"):
        super().__init__()
        layers = Layers(norm)
        self.stem = nn.Sequential()
        if stem == "bit":
            self.stem.add_module("conv", layers.conv(channels, base_width, 7, 2))
            self.stem.add_module("pad", nn.ConstantPad2d(1, 0.0))
            self.stem.add_module("pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=0))
        else:
            self.stem.add_module("conv", layers.conv(channels, base_width, 3))
        block_cls = PreActBottleneck if block == "bottleneck" else PreActBasicBlock
        expansion = 4 if block == "bottleneck" else 1
        width, stage_list = base_width, []
        for s in range(stages):
            cout = (base_width << s) * expansion
            stage_list.append(ResNetStage(layers, block_cls, width, cout, blocks[s],
                                          2 if s > 0 else 1))
            width = cout
        self.stages = nn.Sequential(*stage_list)
        self.norm = layers.norm(width)
        self.head = Head(width, classes)

    def forward(self, x):
        """x: NCHW."""
        return self.head(self.norm(self.stages(self.stem(x))))

    def forward_taps(self, x):
        """x: NCHW. The logits and xfer's taps in its order: every block's
        output averaged over space, then the pre-logits (the final norm and
        ReLU, averaged)."""
        x = self.stem(x)
        taps = []
        for stage in self.stages:
            for blk in stage.blocks:
                x = blk(x)
                taps.append(x.mean(dim=(2, 3)))
        x = self.norm(x)
        taps.append(x.mean(dim=(2, 3)))
        return self.head(x), taps


def build(config):
    r = config["resnet"]
    return ResNetV2(config["channels"], config["n_classes"], r["stages"], r["blocks"],
                    r["base_width"], r["norm"], r.get("block", "basic"), r.get("stem", "small"))
