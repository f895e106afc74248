"""``PerceptualLoss``: a training loss from a loss network and a distance."""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import nn

from ._inputs import should_check_range, unit_images, warn_if_out_of_range
from .distances import distance
from .network import LossNetwork


class PerceptualLoss(nn.Module):
    """Mean over the batch of ``distance`` between the loss network's features of prediction and target.

    ``arch="pixel"`` is the baseline "loss network": plain pixel MSE, no network. Single-channel images
    (road maps) are replicated to three channels before they enter the network.

    Inputs are taken as by :class:`lossnet.LPIPS`: floats in ``value_range`` (default (0, 1)), uint8 as 8-bit images
    in [0, 255], float16/bfloat16/float64 cast to the module's dtype. The first target batch is checked against
    ``value_range`` and a warning given when it falls clearly outside (the target only: a model's predictions
    stray outside early in training, the data's scale is what the check is for; once only and never while
    compiling, as it reads tensor values).
    """

    def __init__(
        self,
        arch: str,
        layers: str | Sequence[str] = "M",
        weights: str | os.PathLike = "imagenet",
        distance_name: str = "mse",
        normalize_input: bool = True,
        seed: int = 0,
        value_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        low, high = map(float, value_range)
        if not high > low:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
        self.value_range = (low, high)
        self.distance_name = distance_name
        self.network = None if arch == "pixel" else LossNetwork(arch, layers, weights, normalize_input, seed)
        self._range_checked = False

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if should_check_range(self._range_checked):
            self._range_checked = True
            warn_if_out_of_range(target, self.value_range, "PerceptualLoss")
        prediction = unit_images(prediction, self.value_range, "PerceptualLoss")
        target = unit_images(target, self.value_range, "PerceptualLoss")
        if self.network is None:
            return torch.mean((prediction - target.to(prediction.dtype)) ** 2)
        if prediction.shape[1] == 1:
            prediction, target = prediction.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
        with torch.no_grad():
            target_features = self.network(target)
        return distance(self.distance_name, self.network(prediction), target_features).mean()

    def extra_repr(self) -> str:
        return f"distance_name={self.distance_name!r}, value_range={self.value_range}"
