"""Convolutional backbones sized for 8x8 (digits), 28x28 (MNIST) and 32x32 (CIFAR) images.

Every backbone is an ``nn.Module`` with the same interface (``vision.layers.Backbone``)::

    from gymlab.vision.nn.backbones import build
    net = build("resnet", in_channels=1, image_size=8, num_classes=10)   # extra kwargs go to the class
    scores = net(x)              # (N, num_classes)
    fmap = net.features(x)       # (N, net.feature_dim, net.feature_size, net.feature_size): detection heads
    vec = net.embed(x)           # (N, net.feature_dim): a feature vector (FID, captioning, kNN on features)
    net.stride                   # input pixels per feature-map cell

To use one as a frozen feature extractor: ``net.eval()`` and ``with torch.no_grad(): net.embed(x)``.
Names: alexnet, vgg, googlenet, resnet (one file each).
"""
from __future__ import annotations

from torch import nn

from gymlab.vision.nn.backbones.alexnet import AlexNet
from gymlab.vision.nn.backbones.googlenet import GoogLeNet, Inception
from gymlab.vision.nn.backbones.resnet import BasicBlock, ResNet
from gymlab.vision.nn.backbones.vgg import VGG

BACKBONES = {"alexnet": AlexNet, "vgg": VGG, "googlenet": GoogLeNet, "resnet": ResNet}

__all__ = ["AlexNet", "VGG", "GoogLeNet", "Inception", "ResNet", "BasicBlock", "BACKBONES", "build"]


def build(name: str, in_channels: int = 1, image_size: int = 32, num_classes: int = 10, **kwargs) -> nn.Module:
    """The backbone ``name`` (alexnet | vgg | googlenet | resnet) for the given input and classes. Converted
    with ``.to(memory_format=torch.channels_last)`` (as the detector does), oneDNN's convolutions and pooling
    skip reordering every map on the CPU; inputs may come in either layout, the results the same up to rounding."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")
    return BACKBONES[name](in_channels=in_channels, image_size=image_size, num_classes=num_classes, **kwargs)
