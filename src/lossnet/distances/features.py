"""Distances between feature maps: one value per image pair, differentiable, batched.

Every distance takes two tensors of shape (N, C, H, W) (the features of x and x0 at one layer) and
returns shape (N,). ``FEATURE_DISTANCES`` names them; :func:`lossnet.distances.distance` looks them up.
"""

from __future__ import annotations

from typing import Callable

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


def l1(z: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference ``||z - z0||_1 / (C H W)`` (seed 003's feature distance: less dominated by the
    few large activations than :func:`mse`)."""
    return (z - z0).abs().flatten(1).mean(dim=1)


def mse(z: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """Feature reconstruction loss (Johnson et al. 2016; Pihlgren et al. Eq. 3): ``||z - z0||^2 / (C H W)``."""
    diff = z - z0
    return (diff * diff).flatten(1).mean(dim=1)


def meanpool(z: torch.Tensor, z0: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Mean-pool distance (Kumar et al. 2022, "Do better ImageNet classifiers assess perceptual similarity
    better?", section 8.1 "Mean Pool").

    The *unnormalised* features are averaged over space, the resulting global vectors are unit-normalised over
    channels and compared by squared L2::

        m_c = mean_hw z_chw,   mhat = m / (||m||_2 + 1e-10),   d = sum_c (mhat_c - mhat0_c)^2

    (so ``0 <= d <= 4``). Unlike :func:`lpips` there is no pixel-to-pixel correspondence: the distance
    compares global representations, which tolerates shifts and warps.
    """
    m, m0 = z.mean(dim=(2, 3)), z0.mean(dim=(2, 3))
    m = m / (torch.sqrt(torch.sum(m * m, dim=1, keepdim=True)) + eps)
    m0 = m0 / (torch.sqrt(torch.sum(m0 * m0, dim=1, keepdim=True)) + eps)
    diff = m - m0
    return (diff * diff).sum(dim=1)


def gram_matrix(z: torch.Tensor) -> torch.Tensor:
    """Per-sample Gram matrix ``G = z z^T / (H W)`` of features (N, C, H, W), shape (N, C, C)."""
    n, c, h, w = z.shape
    flat = z.reshape(n, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (h * w)


def gram(z: torch.Tensor, z0: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """Gram-matrix ("style") distance (Gatys et al. 2015/2016; Kumar et al. 2022 section 8.1 "Style").

    With the features flattened to ``z`` (C x HW) per sample::

        G = z z^T / (H W),   d = (1 / C^2) sum_{c,c'} (G_cc' - G0_cc')^2

    i.e. the mean squared difference of the two C x C inter-channel correlation matrices. Gatys et al. sum
    (not average) with an extra 1/4 and normalise by C^2 (HW)^2; the constant does not change rankings.
    ``normalize=True`` first unit-normalises each spatial position's channel vector (as :func:`lpips` does),
    which is our reading of Kumar et al.'s "spatially normalized outputs"; the default (registered ``gram``)
    uses the raw features, as the protocol (section 2) specifies.
    """
    if normalize:
        z, z0 = unit_normalize(z), unit_normalize(z0)
    n, c, h, w = z.shape
    if h * w >= c:
        diff = gram_matrix(z) - gram_matrix(z0)
        return (diff * diff).flatten(1).mean(dim=1)
    # Late layers of wide networks at 64x64 have far more channels than positions (ResNet-50 L: 2048 x 2x2), where
    # the C x C matrices cost C^2 memory per image. The same value from HW x HW products ("kernel trick"):
    #   ||z z^T - z0 z0^T||_F^2 = ||z^T z||_F^2 - 2 ||z^T z0||_F^2 + ||z0^T z0||_F^2,
    # in float64 because the three terms nearly cancel when z is close to z0.
    a, b = z.reshape(n, c, h * w).double(), z0.reshape(n, c, h * w).double()

    def squared_norm(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x.transpose(1, 2), y).square().sum(dim=(1, 2))

    total = squared_norm(a, a) - 2 * squared_norm(a, b) + squared_norm(b, b)
    return (total.clamp_min(0) / (h * w) ** 2 / c**2).to(z.dtype)


def gram_normalized(z: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """:func:`gram` of unit-normalised features (each position's channel vector divided by its L2 norm): the
    correlations of feature *directions*, blind to how strongly a position responds overall."""
    return gram(z, z0, normalize=True)


FEATURE_DISTANCES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "lpips": lpips,
    "mse": mse,
    "l1": l1,
    "meanpool": meanpool,
    "gram": gram,
    "gram_normalized": gram_normalized,  # Kumar et al.'s "style" distance; seed 003's normalised Gram
}
