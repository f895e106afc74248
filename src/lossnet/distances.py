"""Distances between feature maps: one value per image pair, differentiable, batched.

Every distance takes two tensors of shape (N, C, H, W) (the features of x and x0 at one layer) and
returns shape (N,). :func:`distance` also takes two ``{layer: features}`` dicts and sums over layers,
which is how LPIPS combines layers.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch

EPS = 1e-10  # as in the LPIPS package's normalize_tensor


def unit_normalize(features: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Divide each spatial position's channel vector by its L2 norm (plus ``eps``)."""
    norm = torch.sqrt(torch.sum(features * features, dim=1, keepdim=True))
    return features / (norm + eps)


def lpips_channels(z: torch.Tensor, z0: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Per-channel spatial mean of squared differences of unit-normalised features, shape (N, C).

    Summed over channels it is :func:`lpips`; weighted by learned per-channel weights before the sum it is
    LPIPS's "lin" variant.
    """
    diff = unit_normalize(z, eps) - unit_normalize(z0, eps)
    return (diff * diff).mean(dim=(2, 3))


def lpips(z: torch.Tensor, z0: torch.Tensor, channel_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Unweighted LPIPS baseline (Zhang et al. 2018; Pihlgren et al. Eq. 1).

    ``d = mean_hw sum_c w_c (zhat_chw - zhat0_chw)^2`` with ``zhat = z / (||z||_2 + 1e-10)`` over channels,
    and ``w = 1`` unless ``channel_weights`` (non-negative, shape (C,)) are given.
    """
    per_channel = lpips_channels(z, z0)
    if channel_weights is not None:
        per_channel = per_channel * channel_weights
    return per_channel.sum(dim=1)


def mse(z: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """Feature reconstruction loss (Johnson et al. 2016; Pihlgren et al. Eq. 3): ``||z - z0||^2 / (C H W)``."""
    diff = z - z0
    return (diff * diff).flatten(1).mean(dim=1)


DISTANCES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "lpips": lpips,
    "mse": mse,
}


def distance(
    name: str,
    z: torch.Tensor | Mapping[str, torch.Tensor],
    z0: torch.Tensor | Mapping[str, torch.Tensor],
) -> torch.Tensor:
    """Distance ``name`` between two feature tensors, or the sum over layers of two feature dicts."""
    try:
        function = DISTANCES[name]
    except KeyError:
        raise ValueError(f"unknown distance {name!r}; known: {', '.join(DISTANCES)}") from None
    if isinstance(z, Mapping):
        if set(z) != set(z0):
            raise ValueError(f"feature dicts have different layers: {sorted(z)} vs {sorted(z0)}")
        return sum(function(z[layer], z0[layer]) for layer in z)
    return function(z, z0)
