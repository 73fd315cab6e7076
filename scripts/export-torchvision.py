#!/usr/bin/python3
"""Export small torchvision classifiers to ONNX, as test fixtures for the DAG importer.

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12), not the pyenv one on PATH:

    /usr/bin/python3 scripts/export-torchvision.py              # test/fixtures/torchvision/*.onnx
    /usr/bin/python3 scripts/export-torchvision.py --full DIR   # the 17 full-size classifiers

Each fixture is a width-reduced, seeded instance of the torchvision class itself, built through
the class's own constructor arguments where they allow it (width_mult, growth_rate,
block_config, stages_out_channels, inverted_residual_setting, blocks=...) and with minimal
replacements of hard-coded widths where they do not (ResNet's stem/layers/fc, SqueezeNet's
Fires, VGG's classifier). Fewer blocks than the real network, but every kind of block the real
export contains, so the ONNX graph has the real export's node patterns: residual Adds, depthwise
convolutions, Clip (ReLU6), Concat, a standalone BatchNormalization after each Concat
(DenseNet), squeeze-excitation (GlobalAveragePool, Sigmoid, Mul), channel shuffle
(Reshape/Transpose/Reshape) and chunk (Split), ceil-mode max pools, ReduceMean, Flatten, Gemm.

BatchNorm: the affine parameters are random, the running statistics are measured on a seeded
batch (train-mode forward, cumulative average) and then perturbed, so activations stay O(1)
through the depth, as in a trained network, and folding BN is actually tested. The export is a
user's: torch.onnx.export(model, x, path, opset_version=13, input_names=['input'],
output_names=['logits'], do_constant_folding=True), torch 1.13's defaults otherwise (eval mode:
BN after a Conv is folded into it by the exporter; static batch 1).
"""
import argparse
import collections
import os
import sys

import onnx
import torch
import torch.nn as nn
import torchvision
from torchvision.models import (
    DenseNet, EfficientNet, GoogLeNet, MobileNetV2, ResNet, ShuffleNetV2, SqueezeNet, VGG,
)
from torchvision.models.efficientnet import MBConvConfig
from torchvision.models.googlenet import BasicConv2d, Inception, InceptionAux
from torchvision.models.resnet import BasicBlock
from torchvision.models.squeezenet import Fire
from torchvision.models.vgg import make_layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, 'test', 'fixtures', 'torchvision')
CLASSES = 10


# ------------------------------------------------------------------------------------------
# The small models


class NarrowResNet(ResNet):
    """ResNet with the stem and the four stages `width`, 2x, 4x, 8x wide (64 in torchvision)."""

    def __init__(self, block, layers, width, num_classes):
        super().__init__(block, layers, num_classes=num_classes)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], stride=2)
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)


def resnet18():
    # BasicBlock; layer1 two identity blocks (an Add feeding an Add), layers 2-4 one block with
    # the 1x1 stride-2 downsample shortcut. Widths 8/16/32/64.
    return NarrowResNet(BasicBlock, [2, 1, 1, 1], width=8, num_classes=CLASSES)


def mobilenet_v2():
    # t=1 block without expansion (16->8), stride-2 expanded blocks, stride-1 residual blocks,
    # a stride-1 block that changes width (no residual), the 1x1 to 1280, ReLU6 (Clip) everywhere.
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2], [6, 96, 1, 1]]
    return MobileNetV2(num_classes=CLASSES, width_mult=0.5, inverted_residual_setting=setting)


class NarrowSqueezeNet(SqueezeNet):
    """SqueezeNet 1.1 with every width divided by `div` (the Fires are hard-coded)."""

    def __init__(self, div, num_classes):
        super().__init__(version='1_1', num_classes=num_classes)
        s = lambda c: c // div  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(3, s(64), kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(s(64), s(16), s(64), s(64)),
            Fire(s(128), s(16), s(64), s(64)),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(s(128), s(32), s(128), s(128)),
            Fire(s(256), s(32), s(128), s(128)),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(s(256), s(48), s(192), s(192)),
            Fire(s(384), s(48), s(192), s(192)),
            Fire(s(384), s(64), s(256), s(256)),
            Fire(s(512), s(64), s(256), s(256)),
        )
        self.classifier[1] = nn.Conv2d(s(512), num_classes, kernel_size=1)
        for m in self.modules():  # SqueezeNet's own initialisation
            if isinstance(m, nn.Conv2d):
                if m is self.classifier[1]:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)


def squeezenet1_1():
    # All eight Fires (squeeze 1x1, expand 1x1 and 3x3, Concat), ceil-mode max pools, the final
    # 1x1 conv + ReLU + global average pool + Flatten. Widths / 4.
    return NarrowSqueezeNet(div=4, num_classes=CLASSES)


def googlenet():
    # Every Inception of the real network (four branches, Concat; the pool branch's 3x3 stride-1
    # ceil-mode max pool), ceil-mode max pools, BasicConv2d (BN eps 1e-3), all widths / 8 through
    # GoogLeNet's own `blocks` argument. transform_input=True as in torchvision's pretrained
    # googlenet (what users export): per-channel Gather/Unsqueeze/Mul/Add/Concat at the input.
    div = 8
    s = lambda c: c if c == 3 else c // div  # noqa: E731

    def conv_block(in_channels, out_channels, **kwargs):
        return BasicConv2d(s(in_channels), s(out_channels), **kwargs)

    def inception_block(in_channels, *widths):
        return Inception(s(in_channels), *[s(w) for w in widths])

    model = GoogLeNet(num_classes=CLASSES, aux_logits=False, transform_input=True, init_weights=True,
                      blocks=[conv_block, inception_block, InceptionAux])
    model.fc = nn.Linear(1024 // div, CLASSES)
    return model


def densenet121():
    # Four dense blocks of two layers (BN-ReLU-1x1-BN-ReLU-3x3, Concat), three transitions
    # (BN-ReLU-1x1-AveragePool 2x2), norm5 + ReLU + global pool. Each layer's norm1 and each
    # transition's norm (and norm5) take a Concat's output: standalone BatchNormalization nodes.
    # Growth 6 (not a multiple of 4: channel counts 16, 22, 28, ...).
    return DenseNet(growth_rate=6, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=4,
                    num_classes=CLASSES)


def vgg11_bn():
    # Configuration "A" with batch norm, widths / 8; the adaptive average pool's output is the
    # features' own size (2x2 at 64 px, as 7x7 is at 224 px: an AveragePool 1x1 in the export),
    # the classifier's three Linear layers (with ReLU and Dropout) 64 wide instead of 4096.
    cfg = [8, 'M', 16, 'M', 32, 32, 'M', 64, 64, 'M', 64, 64, 'M']
    model = VGG(make_layers(cfg, batch_norm=True), num_classes=CLASSES, init_weights=True)
    model.avgpool = nn.AdaptiveAvgPool2d((2, 2))
    model.classifier = nn.Sequential(
        nn.Linear(64 * 2 * 2, 64), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(64, 64), nn.ReLU(True), nn.Dropout(p=0.5),
        nn.Linear(64, CLASSES),
    )
    return model


def efficientnet_b0():
    # MBConv with t=1 (no expansion), t=6, kernels 3 and 5, stride 1 and 2, residual Adds,
    # squeeze-excitation (GlobalAveragePool, 1x1, SiLU, 1x1, Sigmoid, Mul), SiLU as Sigmoid+Mul,
    # the 4x wide last 1x1. b0's first four stages, width 0.5 (one block fewer in stage 3).
    w = 0.5
    setting = [
        MBConvConfig(1, 3, 1, 32, 16, 1, w),
        MBConvConfig(6, 3, 2, 16, 24, 2, w),
        MBConvConfig(6, 5, 2, 24, 40, 2, w),
        MBConvConfig(6, 3, 2, 40, 80, 1, w),
    ]
    return EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.2, num_classes=CLASSES)


def shufflenet_v2_x0_5():
    # Each stage: a stride-2 unit (two branches, Concat, channel shuffle) and a stride-1 unit
    # (chunk into halves, one branch, Concat, channel shuffle); ReduceMean over H, W.
    return ShuffleNetV2(stages_repeats=[2, 2, 2], stages_out_channels=[8, 16, 32, 64, 128],
                        num_classes=CLASSES)


# name -> (constructor, input side, seed)
SMALL = collections.OrderedDict([
    ('resnet18', (resnet18, 64, 1)),
    ('mobilenet_v2', (mobilenet_v2, 64, 2)),
    # 66, not 64: every ceil-mode max pool then rounds up (32 -> 16 -> 8 -> 4; floor would give 15, 7, 3).
    ('squeezenet1_1', (squeezenet1_1, 66, 3)),
    ('googlenet', (googlenet, 64, 4)),
    ('densenet121', (densenet121, 64, 5)),
    ('vgg11_bn', (vgg11_bn, 64, 6)),
    ('efficientnet_b0', (efficientnet_b0, 64, 7)),
    ('shufflenet_v2_x0_5', (shufflenet_v2_x0_5, 64, 8)),
])


# ------------------------------------------------------------------------------------------
# The full-size models (--full DIR): weights=None, seeded


FULL = [
    ('alexnet', 224, {}), ('vgg11', 224, {}), ('vgg11_bn', 224, {}), ('resnet18', 224, {}),
    ('resnet50', 224, {}), ('squeezenet1_1', 224, {}), ('densenet121', 224, {}),
    ('googlenet', 224, {'aux_logits': False, 'init_weights': True}),
    ('inception_v3', 299, {'aux_logits': False, 'init_weights': True}),
    ('mobilenet_v2', 224, {}), ('mobilenet_v3_small', 224, {}), ('mnasnet1_0', 224, {}),
    ('efficientnet_b0', 224, {}), ('shufflenet_v2_x1_0', 224, {}), ('regnet_x_400mf', 224, {}),
    ('convnext_tiny', 224, {}), ('vit_b_16', 224, {}),
]


# ------------------------------------------------------------------------------------------


def randomize(model, side, calibration_batch=8):
    """Random biases and BN affine parameters; BN running statistics measured, then perturbed."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.2)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batch
        if bns:
            model.train()
            model(torch.randn(calibration_batch, 3, side, side))
            for bn in bns:
                std = bn.running_var.sqrt()
                bn.running_mean.add_(0.2 * std * torch.randn_like(std))
                bn.running_var.mul_(torch.empty_like(std).uniform_(0.6, 1.6))
                bn.momentum = 0.1
    model.eval()
    return model


def export(model, side, path):
    x = torch.randn(1, 3, side, side)
    torch.onnx.export(model, x, path, opset_version=13, input_names=['input'], output_names=['logits'],
                      do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    return os.path.getsize(path), ops


def params(model):
    return sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--full', metavar='DIR', help='export the 17 full-size torchvision classifiers into DIR')
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    if args.full:
        os.makedirs(args.full, exist_ok=True)
        failed = []
        for i, (name, side, kwargs) in enumerate(FULL):
            path = os.path.join(args.full, f'{name}.onnx')
            try:
                torch.manual_seed(1000 + i)
                model = getattr(torchvision.models, name)(weights=None, **kwargs)
                randomize(model, side, calibration_batch=2)
                size, ops = export(model, side, path)
                print(f'{name:20s} {side}px {params(model) / 1e6:7.2f} M params {size / 2**20:8.1f} MB  '
                      f'{len(ops)} op types: {" ".join(sorted(ops))}', flush=True)
            except Exception as e:  # noqa: BLE001 (report and go on)
                failed.append(name)
                print(f'{name:20s} FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}', flush=True)
        print(f'{len(FULL) - len(failed)} of {len(FULL)} exported to {args.full}' +
              (f'; failed: {", ".join(failed)}' if failed else ''))
        return 1 if failed else 0

    os.makedirs(FIXTURES, exist_ok=True)
    total = 0
    for name, (build, side, seed) in SMALL.items():
        torch.manual_seed(seed)
        model = randomize(build(), side)
        path = os.path.join(FIXTURES, f'{name}.onnx')
        size, ops = export(model, side, path)
        total += size
        print(f'{name:20s} 3x{side}x{side} {params(model):7d} params {size / 1024:7.1f} KB  '
              f'{sum(ops.values())} nodes: {" ".join(f"{k}x{v}" for k, v in sorted(ops.items()))}')
    print(f'total {total / 2**20:.2f} MB in {os.path.relpath(FIXTURES, ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
