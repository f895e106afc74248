"""``PerceptualLoss``: a training loss from a loss network and a distance."""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import nn

from .distances import distance
from .network import LossNetwork


class PerceptualLoss(nn.Module):
    """Mean over the batch of ``distance`` between the loss network's features of prediction and target.

    ``arch="pixel"`` is the baseline "loss network": plain pixel MSE, no network. Single-channel images
    (road maps) are replicated to three channels before they enter the network.
    """

    def __init__(
        self,
        arch: str,
        layers: str | Sequence[str] = "M",
        weights: str | os.PathLike = "imagenet",
        distance_name: str = "mse",
        normalize_input: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.distance_name = distance_name
        self.network = None if arch == "pixel" else LossNetwork(arch, layers, weights, normalize_input, seed)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.network is None:
            return torch.mean((prediction - target) ** 2)
        if prediction.shape[1] == 1:
            prediction, target = prediction.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
        with torch.no_grad():
            target_features = self.network(target)
        return distance(self.distance_name, self.network(prediction), target_features).mean()
