"""Network-free image distances: pixel MSE, 1 - SSIM, and the MMD++ patch-distribution distance.

Every distance takes two image batches of shape (N, 3, H, W) with values in [0, 1] and returns one value per
image pair, shape (N,); a batch of one broadcasts against a batch of N. All are differentiable in both inputs,
work on any device and in any floating dtype, and have no state that changes between calls.

``PIXEL_DISTANCES`` names them; :func:`pixel_distance` builds one (MMD++ draws its random features from a
seed). :func:`lossnet.distances.distance` reaches them by name too.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

ImageDistance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.ndim != 4 or y.ndim != 4 or x.shape[1:] != y.shape[1:]:
        raise ValueError(
            f"expected two image batches (N, C, H, W) of one size, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    return torch.broadcast_tensors(x, y)


def l2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pixel mean squared error ``||x - y||^2 / (C H W)`` (the L2 baseline)."""
    x, y = _pair(x, y)
    diff = x - y
    return (diff * diff).flatten(1).mean(dim=1)


# --------------------------------------------------------------------------------------------------- SSIM

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5  # skimage's choice for gaussian_weights=True: an 11-tap window at sigma 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _gaussian_taps(sigma: float, truncate: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The normalised 1-D Gaussian of ``scipy.ndimage.gaussian_filter`` (radius ``int(truncate sigma + 0.5)``)."""
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (taps / taps.sum()).to(dtype=dtype, device=device)


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    sigma: float = SSIM_SIGMA,
    k1: float = SSIM_K1,
    k2: float = SSIM_K2,
) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004) per image pair, averaged over the channels, shape (N,).

    Local statistics come from a Gaussian window (sigma 1.5, 11 taps, normalised) applied separably::

        mu_x = g * x,  s_x^2 = g * x^2 - mu_x^2,  s_xy = g * (x y) - mu_x mu_y      (population covariances)
        SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
        C1 = (0.01 R)^2, C2 = (0.03 R)^2, R = data_range

    averaged over the positions where the window lies wholly inside the image ("valid" positions), then over
    channels. This is exactly ``skimage.metrics.structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=R, channel_axis=...)``: skimage filters with reflect padding but
    then crops ``(win_size - 1) / 2`` pixels from each border before averaging, which leaves the valid
    positions. Images must be at least 11 x 11.
    """
    x, y = _pair(x, y)
    n, c, h, w = x.shape
    taps = _gaussian_taps(sigma, SSIM_TRUNCATE, x.dtype, x.device)
    size = taps.numel()
    if h < size or w < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {h}x{w}")
    stacked = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5C, H, W)
    channels = stacked.shape[1]
    filtered = F.conv2d(stacked, taps.view(1, 1, size, 1).expand(channels, 1, size, 1), groups=channels)
    filtered = F.conv2d(filtered, taps.view(1, 1, 1, size).expand(channels, 1, 1, size), groups=channels)
    mu_x, mu_y, e_xx, e_yy, e_xy = filtered.split(c, dim=1)
    var_x, var_y, cov_xy = e_xx - mu_x * mu_x, e_yy - mu_y * mu_y, e_xy - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2, 3))  # every channel has the same number of positions


def ssim_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM(x, y)`` with :func:`ssim`'s settings (data range 1): 0 for identical images."""
    return 1.0 - ssim(x, y, data_range=1.0)


# ---------------------------------------------------------------------------------------------------- MMD++


class MMDPlusPlus(nn.Module):
    """MMD++ (Amir & Weiss, "Understanding and Simplifying Perceptual Distances", CVPR 2021; the seed
    repository ``ariel415el/PerceptualLossExperiments``, ``losses/patch_mmd_pp.py``): a network-free
    perceptual distance that compares the distributions of small image patches.

    ``d(x, y) = 0.001 * L2 + 0.05 * LOCAL + 1.0 * MMD``, per image pair, with p = 3, sigma = 0.06 p^2 = 0.54:

    **L2** (pixel term): ``mean_{c,h,w} (x - y)^2``.

    **LOCAL** (aligned p x p patch-RBF term; the seed's ``PatchRBFLoss``)::

        D_ij = sum_c sum_{(u,v) in the p x p neighbourhood of (i,j)} (x_cuv - y_cuv)^2
        LOCAL = mean_ij [1 - exp(-D_ij / (2 sigma_l^2))],   sigma_l = local_sigma p^2 = 0.54

    over every pixel (i, j); neighbours outside the image contribute nothing (the squared-difference map is
    zero-padded, as in the seed code). It compares the patches at the *same* position, so it is 0 only for
    identical images and grows with the number of differing patches, saturating per patch.

    **MMD** (windowed random-Fourier-feature patch MMD; the seed's ``MMDApproximate``). Both images are
    reflect-padded by p // 2. For every pixel position the p x p x C patch ``P`` has its per-channel mean
    removed, ``Pt = P - mean_{u,v} P`` (so a patch and its brightness-shifted copy are the same point), and is
    mapped through r = 512 random Fourier features::

        phi_k(P) = cos(<w_k, Pt> + b_k),   w_k ~ N(0, I / sigma^2),   b_k ~ U[0, 2 pi),   k = 1..r

    (computed as one convolution with the per-channel-centred filters ``w_k - mean_{u,v} w_k``, which is the
    same number). The feature maps are averaged over 32 x 32 windows taken at stride 16 (average pooling, no
    padding, windows that would cross the border are dropped; an image smaller than a window is one window),
    giving the mean embedding ``Phi_k(x, W)`` of the patch distribution of window W, and::

        MMD = mean_W mean_k (Phi_k(x, W) - Phi_k(y, W))^2

    Since ``E[2 cos(<w,p>+b) cos(<w,q>+b)] = exp(-||p - q||^2 / (2 sigma^2))``, this is an unbiased-in-r
    estimate of ``1/2 * mean_W MMD^2_W`` with the Gaussian kernel ``k(p, q) = exp(-||Pt - Qt||^2 /
    (2 sigma^2))`` between the two windows' empirical patch distributions (the biased, V-statistic form of
    MMD^2 that includes the diagonal). The 1/2 (mean over features rather than ``2/r`` times the sum) is the
    seed code's scale, which the term weights were tuned with; we keep it.

    Differences from the seed code: the random features are drawn **once**, at construction, from
    ``torch.Generator().manual_seed(seed)`` (the seed code redrew them on every call, so its distance was
    random); they are stored as buffers (moved by ``.to(device)``) and cast to the input's dtype at use.

    Args:
        seed: seed of the random features; the same seed gives the same distance, everywhere.
        patch_size, sigma, n_features, window, window_stride: p, the per-pixel bandwidth (multiplied by p^2),
            r, and the window size and stride of the MMD term.
        weights: the weights of (L2, LOCAL, MMD).
        local_sigma: per-pixel bandwidth of LOCAL (times p^2); defaults to ``sigma``, as in the seed.
        channels: the number of image channels the random features are drawn for.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        patch_size: int = 3,
        sigma: float = 0.06,
        n_features: int = 512,
        window: int = 32,
        window_stride: int = 16,
        weights: Sequence[float] = (0.001, 0.05, 1.0),
        local_sigma: float | None = None,
        channels: int = 3,
    ) -> None:
        super().__init__()
        if patch_size % 2 != 1:
            raise ValueError(f"patch_size must be odd, got {patch_size}")
        if len(weights) != 3:
            raise ValueError(f"weights are three numbers (L2, LOCAL, MMD), got {weights}")
        self.seed = seed
        self.patch_size = patch_size
        self.sigma = sigma * patch_size**2
        self.local_sigma = (sigma if local_sigma is None else local_sigma) * patch_size**2
        self.n_features = n_features
        self.window = window
        self.window_stride = window_stride
        self.weights = tuple(float(w) for w in weights)
        generator = torch.Generator().manual_seed(seed)
        raw = torch.randn(n_features, channels, patch_size, patch_size, generator=generator, dtype=torch.float64)
        offsets = torch.rand(n_features, generator=generator, dtype=torch.float64) * (2 * math.pi)
        # raw_weights / sigma are the w_k of the docstring; the convolution uses them per-channel centred.
        self.register_buffer("raw_weights", raw / self.sigma)
        self.register_buffer("offsets", offsets)

    @property
    def centred_weights(self) -> torch.Tensor:
        return self.raw_weights - self.raw_weights.mean(dim=(2, 3), keepdim=True)

    def extra_repr(self) -> str:
        return (
            f"seed={self.seed}, patch_size={self.patch_size}, sigma={self.sigma:g}, local_sigma={self.local_sigma:g}, "
            f"n_features={self.n_features}, window={self.window}, window_stride={self.window_stride}, "
            f"weights={self.weights}"
        )

    # The three terms, each (N,).
    def pixel_term(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return l2(x, y)

    def local_term(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = _pair(x, y)
        squared = ((x - y) ** 2).sum(dim=1, keepdim=True)
        p = self.patch_size
        box = torch.ones(1, 1, p, p, dtype=x.dtype, device=x.device)
        patch_sums = F.conv2d(squared, box, padding=p // 2)
        return (1 - torch.exp(-patch_sums / (2 * self.local_sigma**2))).mean(dim=(1, 2, 3))

    def window_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Mean random-Fourier embedding of each window's patches, shape (N, r, windows_h, windows_w)."""
        pad = self.patch_size // 2
        if pad:
            x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        weights = self.centred_weights.to(dtype=x.dtype, device=x.device)
        offsets = self.offsets.to(dtype=x.dtype, device=x.device)
        features = torch.cos(F.conv2d(x, weights, offsets))
        h, w = features.shape[2:]
        kernel = (min(self.window, h), min(self.window, w))
        return F.avg_pool2d(features, kernel, stride=self.window_stride)

    def mmd_term(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = _pair(x, y)
        if x.shape[1] != self.raw_weights.shape[1]:
            raise ValueError(
                f"random features were drawn for {self.raw_weights.shape[1]} channels, images have {x.shape[1]}"
            )
        diff = self.window_embeddings(x) - self.window_embeddings(y)
        return (diff * diff).mean(dim=(1, 2, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._combine(x, y, self.mmd_term(x, y))

    def _combine(self, x: torch.Tensor, y: torch.Tensor, mmd: torch.Tensor) -> torch.Tensor:
        w_pixel, w_local, w_mmd = self.weights
        total = w_mmd * mmd
        if w_local:
            total = total + w_local * self.local_term(x, y)
        if w_pixel:
            total = total + w_pixel * self.pixel_term(x, y)
        return total

    def bind(self, targets: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """``x -> self(x, targets)`` (x: a batch of one or of len(targets)), with the targets' window
        embeddings computed once (no gradient flows to ``targets``)."""
        targets = targets.detach()
        with torch.no_grad():
            target_embeddings = self.window_embeddings(targets)

        def to_targets(x: torch.Tensor) -> torch.Tensor:
            diff = self.window_embeddings(x) - target_embeddings
            return self._combine(x, targets, (diff * diff).mean(dim=(1, 2, 3)))

        return to_targets


PIXEL_DISTANCES: dict[str, ImageDistance | type] = {
    "l2": l2,
    "ssim": ssim_distance,
    "mmdpp": MMDPlusPlus,
}


def pixel_distance(name: str, seed: int = 0) -> ImageDistance:
    """The pixel distance ``name`` as a callable ``(x, y) -> (N,)``; ``seed`` seeds MMD++'s random features."""
    try:
        entry = PIXEL_DISTANCES[name]
    except KeyError:
        raise ValueError(f"unknown pixel distance {name!r}; known: {', '.join(PIXEL_DISTANCES)}") from None
    return entry(seed=seed) if isinstance(entry, type) else entry
