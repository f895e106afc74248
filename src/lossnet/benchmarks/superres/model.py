"""Johnson et al.'s (2016) super-resolution transformation network (protocol section 4, the original code's layout).

9x9 conv to 64 channels (BN, ReLU) -> 4 residual blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, plus the identity) ->
log2(scale) upsampling blocks (nearest x2, 3x3 conv, BN, ReLU): 2 for x4, 3 for x8 -> 9x9 conv to 3 channels ->
(tanh + 1) / 2, so outputs are in [0, 1]. Every convolution pads by reflection.
"""

from __future__ import annotations

from .. import SUPERRES_SCALES

import math

import torch
from torch import nn

SCALES = SUPERRES_SCALES
CHANNELS = 64
RESIDUAL_BLOCKS = 4


def conv(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """A stride-1 convolution that keeps the size, with reflection padding."""
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel))


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(conv(c_in, c_out, kernel), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int = CHANNELS) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(channels, channels, 3), conv(channels, channels, 3),
                                  nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def upsampling_block(channels: int = CHANNELS) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv_bn_relu(channels, channels, 3))


class TransformNet(nn.Module):
    """LR images (N, 3, h, w) in [0, 1] -> SR images (N, 3, h x scale, w x scale) in [0, 1]."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale}")
        self.scale = scale
        blocks = int(math.log2(scale))
        self.body = nn.Sequential(
            conv_bn_relu(3, CHANNELS, 9),
            *[ResidualBlock() for _ in range(RESIDUAL_BLOCKS)],
            *[upsampling_block() for _ in range(blocks)],
            conv(CHANNELS, 3, 9),
        )

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(self.body(lr)) + 1) / 2
