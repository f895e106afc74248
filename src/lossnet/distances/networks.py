"""Image distances built on a loss network: seed 003's VGG loss, and an average over several random networks.

Both take two image batches (N, 3, H, W) in [0, 1] and return (N,), like the distances of
:mod:`lossnet.distances.images`, so they serve in benchmark 1 (reference rows), the image mean and as a training
loss. The network is frozen; gradients flow to the images.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import nn

from ..network import LossNetwork
from .features import FEATURE_DISTANCES
from .images import _pair

SEED_VGG_ARCH = "vgg16"
SEED_VGG_PRESET = "seed003"


class FeatureImageDistance(nn.Module):
    """A loss network plus a feature distance as an image distance: ``d(x, y) = reduce_layers d_f(net(x), net(y))``.

    Both batches go through the network in **one** forward pass, so with ``redraw=True`` the two images of a pair
    always meet the same network (and every call draws a new one).

    Args:
        arch, layers, weights, normalize_input, seed, redraw: as for :class:`lossnet.LossNetwork`.
        distance_name: a feature distance of :data:`lossnet.distances.FEATURE_DISTANCES`.
        layer_reduction: ``"mean"`` or ``"sum"`` over the layers.
    """

    def __init__(self, arch: str, layers: str | Sequence[str], weights: str | os.PathLike = "imagenet",
                 distance_name: str = "l1", *, normalize_input: bool | str = True, seed: int = 0,
                 redraw: bool = False, layer_reduction: str = "mean") -> None:
        super().__init__()
        if distance_name not in FEATURE_DISTANCES:
            raise ValueError(f"unknown feature distance {distance_name!r}; known: {', '.join(FEATURE_DISTANCES)}")
        if layer_reduction not in ("mean", "sum"):
            raise ValueError(f"layer_reduction must be 'mean' or 'sum', got {layer_reduction!r}")
        self.network = LossNetwork(arch, layers, weights, normalize_input=normalize_input, seed=seed, redraw=redraw)
        self.distance_name = distance_name
        self.layer_reduction = layer_reduction

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = _pair(x, y)
        n = x.shape[0]
        features = self.network(torch.cat([x, y]))
        function = FEATURE_DISTANCES[self.distance_name]
        terms = [function(z[:n], z[n:]) for z in features.values()]
        total = torch.stack(terms).sum(dim=0)
        return total / len(terms) if self.layer_reduction == "mean" else total


class SeedVGGLoss(FeatureImageDistance):
    """Seed 003's VGG loss: the mean of six mean-absolute-differences, one of the pixels and one of each of VGG16's
    conv1_2, conv2_2, conv3_3, conv4_3 and conv5_3 **before** their ReLU, with the images in [-1, 1] and no
    ImageNet standardisation (layer preset ``"seed003"``, feature distance ``"l1"``, ``normalize_input="signed"``).

    ``weights``: ``"imagenet"`` (the seed's pretrained VGG16 features), ``"random_kaiming"`` (its plain random
    network), ``"random_zero_mean"`` (its random network with zero-mean first-layer filters; seed 003 reports 0.72
    2AFC on BAPPS cnn + traditional, against 0.689 for the plain random one), ``"random"`` (torchvision's init) or a
    state_dict path. ``redraw=True`` draws new random weights on every call (seed 003's ``reinit``): stochastic.
    """

    def __init__(self, weights: str | os.PathLike = "imagenet", *, seed: int = 0, redraw: bool = False) -> None:
        super().__init__(SEED_VGG_ARCH, SEED_VGG_PRESET, weights, "l1", normalize_input="signed", seed=seed,
                         redraw=redraw, layer_reduction="mean")


class SeedAverage(nn.Module):
    """The mean of one image distance over ``k`` seeds: ``d(x, y) = 1/k sum_s d_s(x, y)``, s = seed .. seed + k - 1.

    Why: a random network's distance depends on its draw; averaging k draws estimates the distance of the random
    *family* (deterministic for a fixed ``seed`` and ``k``), the quantity a single random network samples.
    ``build(seed)`` returns one distance (e.g. ``lambda s: SeedVGGLoss("random_zero_mean", seed=s)``).
    """

    def __init__(self, build, k: int, seed: int = 0) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"SeedAverage needs k >= 1 seeds, got {k}")
        self.members = nn.ModuleList([build(seed + i) for i in range(k)])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x, y) for member in self.members]).mean(dim=0)
