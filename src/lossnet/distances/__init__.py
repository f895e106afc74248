"""One registry of distances: between feature maps of a loss network, and between images (network-free).

:func:`distance` takes two feature tensors (N, C, H, W) of one layer, or two ``{layer: features}`` dicts and
sums over layers (how LPIPS combines layers). The network-free distances take two image batches in [0, 1].
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import torch

from .features import (EPS, FEATURE_DISTANCES, gram, gram_matrix, gram_normalized, lpips, lpips_channels, meanpool,
                       mse, unit_normalize)
from .features import l1 as feature_l1
from .images import PIXEL_DISTANCES, MMDPlusPlus, l1, l2, patch_rbf, pixel_distance, ssim, ssim_distance

# Feature distances by name (the public `lossnet.DISTANCES`); PIXEL_DISTANCES names the network-free ones.
DISTANCES = FEATURE_DISTANCES

__all__ = [
    "DISTANCES", "EPS", "FEATURE_DISTANCES", "LAYER_REDUCTIONS", "MMDPlusPlus", "PIXEL_DISTANCES", "distance",
    "feature_l1", "gram", "gram_matrix", "gram_normalized", "l1", "l2", "lpips", "lpips_channels", "meanpool", "mse",
    "patch_rbf", "pixel_distance", "ssim", "ssim_distance", "unit_normalize",
]

# How a distance between two feature dicts combines its layers: LPIPS sums them; seed 003's VGG loss averages.
LAYER_REDUCTIONS = ("sum", "mean")


def distance(
    name: str,
    z: torch.Tensor | Mapping[str, torch.Tensor],
    z0: torch.Tensor | Mapping[str, torch.Tensor],
    *,
    seed: int = 0,
    layer_reduction: str = "sum",
) -> torch.Tensor:
    """Distance ``name`` between two feature tensors, or the sum (``layer_reduction="mean"``: the mean) over layers
    of two feature dicts.

    ``name`` is a feature distance of :data:`DISTANCES` or an image distance of :data:`PIXEL_DISTANCES`
    (``l2``, ``l1``, ``ssim``, ``patch_rbf``, ``mmdpp``, ...); the latter take two image batches (N, 3, H, W) in
    [0, 1] instead of features, and ``seed`` fixes MMD++'s random features (drawn once per seed, so the distance
    is the same on every call). A name that is both (``l1``) means the feature distance when given feature
    tensors or dicts from a network; call :func:`pixel_distance` for the image one explicitly.
    """
    if layer_reduction not in LAYER_REDUCTIONS:
        raise ValueError(f"layer_reduction must be one of {', '.join(LAYER_REDUCTIONS)}, got {layer_reduction!r}")
    # l1 is both: on two image batches the two agree (the mean absolute difference), so the feature one serves
    if name in PIXEL_DISTANCES and name not in FEATURE_DISTANCES:
        if isinstance(z, Mapping) or isinstance(z0, Mapping):
            raise ValueError(f"{name!r} is a network-free distance: pass the two image batches, not feature dicts")
        return _network_free(name, seed)(z, z0)
    try:
        function = FEATURE_DISTANCES[name]
    except KeyError:
        known = ", ".join([*FEATURE_DISTANCES, *PIXEL_DISTANCES])
        raise ValueError(f"unknown distance {name!r}; known: {known}") from None
    if isinstance(z, Mapping):
        if set(z) != set(z0):
            raise ValueError(f"feature dicts have different layers: {sorted(z)} vs {sorted(z0)}")
        total = sum(function(z[layer], z0[layer]) for layer in z)
        return total / len(z) if layer_reduction == "mean" else total
    return function(z, z0)


@functools.lru_cache(maxsize=None)
def _network_free(name: str, seed: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    # One instance per (name, seed): MMD++ draws its random features at construction, not at every call.
    return pixel_distance(name, seed=seed)
