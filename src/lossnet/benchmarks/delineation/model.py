"""The delineation network: the original code's pix2pix-style U-Net, applied K times (protocol section 5).

Each down block is [ReLU, 4x4 conv stride 2, BN], each up block [ReLU, 4x4 transposed conv stride 2, BN] whose
input is the previous up block's output concatenated with the down block's output of the same resolution; a
sigmoid follows the last up block (whose BN, as in the original, normalises the single output channel). The
original's activation flag was inverted, so it used plain ReLU throughout, and so does this. Convolutions have no
bias (BN follows each). Inputs must have sides divisible by 2 ** len(widths) (16 by default; 224 is).

:class:`IterativeUNet` feeds the image concatenated with the previous prediction (zeros first) to one shared
U-Net K times and returns every iteration's prediction: the loss weighs them all, the last one is the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ORIGINAL_WIDTHS = (8, 16, 32, 32)  # the original: inp_ch x (2, 4, 8, 8) with inp_ch = 4 (RGB + prediction)
ITERATIONS = 3


def _block(c_in: int, c_out: int, transposed: bool) -> nn.Sequential:
    convolution = nn.ConvTranspose2d if transposed else nn.Conv2d
    return nn.Sequential(nn.ReLU(), convolution(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out))


class UNet(nn.Module):
    """``len(widths)`` down blocks with those output channels, as many up blocks back to one channel."""

    def __init__(self, in_channels: int = 4, widths: Sequence[int] = ORIGINAL_WIDTHS) -> None:
        super().__init__()
        widths = [int(width) for width in widths]
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive channel counts, got {widths}")
        self.widths = tuple(widths)
        self.down = nn.ModuleList(_block(c_in, c_out, False) for c_in, c_out in zip([in_channels, *widths], widths))
        # Up block i (deepest first) returns the channels of the skip it is concatenated with next (1 at the end).
        ins = [widths[-1]] + [2 * width for width in reversed(widths[:-1])]
        outs = list(reversed(widths[:-1])) + [1]
        self.up = nn.ModuleList(_block(c_in, c_out, True) for c_in, c_out in zip(ins, outs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** len(self.down)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"input {tuple(x.shape[-2:])} is not divisible by {factor} (2 ** number of blocks)")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], 1))
        return torch.sigmoid(x)


class IterativeUNet(nn.Module):
    """``forward(images)`` -> K predictions (each (N, 1, H, W) in [0, 1]) of one U-Net fed its own output.

    Gradients flow through the previous predictions, as in the original code.
    """

    def __init__(self, widths: Sequence[int] = ORIGINAL_WIDTHS, iterations: int = ITERATIONS) -> None:
        super().__init__()
        if iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {iterations}")
        self.unet, self.iterations = UNet(4, widths), int(iterations)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        prediction = images.new_zeros(images.shape[0], 1, *images.shape[2:])
        predictions = []
        for _ in range(self.iterations):
            prediction = self.unet(torch.cat([images, prediction], 1))
            predictions.append(prediction)
        return predictions

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """The last iteration's prediction."""
        return self.forward(images)[-1]
