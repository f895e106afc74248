"""Image distances: pixel MSE and L1, 1 - SSIM, the patch-RBF term, the MMD++ patch-distribution distance, and
(by name) seed 003's VGG loss.

Every distance takes two image batches of shape (N, 3, H, W) with values in [0, 1] and returns one value per
image pair, shape (N,); a batch of one broadcasts against a batch of N. All are differentiable in both inputs,
work on any device and in any floating dtype. Only seed 003's VGG loss with ``redraw=True`` changes between calls.

Where a distance has bandwidths (patch-RBF, MMD++), ``value_range`` says in which units it computes: inputs in
[0, 1] are mapped linearly onto that range first. Seed 003 fed its distances images in [-1, 1], and its
bandwidths were chosen in those units, so ``(-1, 1)`` is their default; ``(0, 1)`` makes every kernel twice as
wide and the MMD++ L2 term a quarter as strong relative to the others.

``PIXEL_DISTANCES`` names them (a function is the distance; a factory, marked by :func:`_factory`, builds one
from a seed and options); :func:`pixel_distance` builds one. :func:`lossnet.distances.distance` reaches them by
name too.
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


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pixel mean absolute difference ``||x - y||_1 / (C H W)`` (seed 003's L1 baseline)."""
    x, y = _pair(x, y)
    return (x - y).abs().flatten(1).mean(dim=1)


def to_value_range(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Map images in [0, 1] linearly onto ``value_range`` (``(-1, 1)``: ``2 x - 1``); ``(0, 1)`` returns them."""
    low, high = map(float, value_range)
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    return images if (low, high) == (0.0, 1.0) else low + (high - low) * images


# ----------------------------------------------------------------------------------------------- patch RBF

PATCH_RBF_SIZE = 11  # seed 003's image-mean objective: 11 x 11 patches, sigma 0.02 per pixel, images in [-1, 1]
PATCH_RBF_SIGMA = 0.02
SEED_VALUE_RANGE = (-1.0, 1.0)


def patch_rbf(
    x: torch.Tensor,
    y: torch.Tensor,
    patch_size: int = PATCH_RBF_SIZE,
    sigma: float = PATCH_RBF_SIGMA,
    value_range: tuple[float, float] = SEED_VALUE_RANGE,
) -> torch.Tensor:
    """Aligned patch-RBF distance (seed 003's ``PatchRBFLoss``; MMD++'s local term), shape (N,)::

        D_ij = sum_c sum_{(u,v) in the p x p neighbourhood of (i,j)} (x_cuv - y_cuv)^2
        d = mean_ij [1 - exp(-D_ij / (2 s^2))],   s = sigma p^2

    after mapping both images onto ``value_range``. Every pixel (i, j) is a patch centre; neighbours outside the
    image contribute nothing (a zero-padded sum). Each patch's term saturates at 1, so the distance counts how
    many patches differ rather than by how much: a sharp image with a few wrong edges beats a blurred one.
    """
    if patch_size % 2 != 1:
        raise ValueError(f"patch_rbf: patch_size must be odd, got {patch_size}")
    x, y = _pair(x, y)
    x, y = to_value_range(x, value_range), to_value_range(y, value_range)
    squared = ((x - y) ** 2).sum(dim=1, keepdim=True)
    box = torch.ones(1, 1, patch_size, patch_size, dtype=x.dtype, device=x.device)
    patch_sums = F.conv2d(squared, box, padding=patch_size // 2)
    bandwidth = sigma * patch_size**2
    return (1 - torch.exp(-patch_sums / (2 * bandwidth**2))).mean(dim=(1, 2, 3))


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
    """MMD++ (Amir & Weiss, "Understanding and Simplifying Perceptual Distances", CVPR 2021; class ``MMD_PP`` of
    the seed repository ``ariel415el/PerceptualLossExperiments``, in ``losses/experimental_patch_losses.py`` at its
    last commit): a network-free perceptual distance that compares the distributions of small image patches.

    ``d(x, y) = 0.001 * L2 + 0.05 * LOCAL + 1.0 * MMD``, per image pair, with p = 3, sigma = 0.06 p^2 = 0.54,
    computed on the images mapped onto ``value_range`` (default [-1, 1], the units seed 003 fed and tuned it in):

    **L2** (pixel term): ``mean_{c,h,w} (x - y)^2``.

    **LOCAL** (aligned p x p patch-RBF term, :func:`patch_rbf`; the seed's ``PatchRBFLoss``)::

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

    Which seed numbers this reproduces: the published "MMD++ 0.74" 2AFC (cnn + traditional) was computed with
    ``local_sigma`` equal to ``sigma`` (0.06) on images in [-1, 1], this class's defaults. The seed repository's
    later code sets ``local_sigma=0.1`` (:data:`MMDPP_LATER_LOCAL_SIGMA`; registered as ``mmdpp_later``).
    ``value_range=(0, 1)`` (registered as ``mmdpp_unit``) is what lossnet computed before it had this option:
    bandwidths twice as wide and an L2 term a quarter as strong, in the seed's units.

    Args:
        seed: seed of the random features; the same seed gives the same distance, everywhere.
        patch_size, sigma, n_features, window, window_stride: p, the per-pixel bandwidth (multiplied by p^2),
            r, and the window size and stride of the MMD term.
        weights: the weights of (L2, LOCAL, MMD).
        local_sigma: per-pixel bandwidth of LOCAL (times p^2); defaults to ``sigma``, as in the seed's
            published runs.
        channels: the number of image channels the random features are drawn for.
        value_range: the range the [0, 1] inputs are mapped onto before every term (the units of ``sigma``).
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
        value_range: tuple[float, float] = SEED_VALUE_RANGE,
    ) -> None:
        super().__init__()
        to_value_range(torch.zeros(()), value_range)  # checks low < high here, not at the first call
        self.value_range = (float(value_range[0]), float(value_range[1]))
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
            f"weights={self.weights}, value_range={self.value_range}"
        )

    # The three terms, each (N,), of images in [0, 1] (mapped onto value_range inside).
    def pixel_term(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return l2(to_value_range(x, self.value_range), to_value_range(y, self.value_range))

    def local_term(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        return patch_rbf(x, y, patch_size=p, sigma=self.local_sigma / p**2, value_range=self.value_range)

    def window_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Mean random-Fourier embedding of each window's patches, shape (N, r, windows_h, windows_w)."""
        x = to_value_range(x, self.value_range)
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


MMDPP_LATER_LOCAL_SIGMA = 0.1  # the seed repository's later MMD++ local bandwidth (its published 0.74 used 0.06)

_FACTORIES: set[Callable] = set()


def _factory(build: Callable[..., ImageDistance]) -> Callable[..., ImageDistance]:
    """Mark a registry entry as a builder ``(seed=..., **options) -> distance`` rather than the distance itself."""
    _FACTORIES.add(build)
    return build


@_factory
def mmdpp(seed: int = 0, **options) -> MMDPlusPlus:
    """MMD++ as seed 003 published it: images in [-1, 1], local sigma 0.06 (the class defaults)."""
    return MMDPlusPlus(seed, **options)


@_factory
def mmdpp_unit(seed: int = 0, **options) -> MMDPlusPlus:
    """MMD++ on images in [0, 1]: lossnet's former units (kernels twice as wide as the seed's)."""
    return MMDPlusPlus(seed, **{"value_range": (0.0, 1.0), **options})


@_factory
def mmdpp_later(seed: int = 0, **options) -> MMDPlusPlus:
    """MMD++ with the seed repository's later local sigma, 0.1, on images in [-1, 1]."""
    return MMDPlusPlus(seed, **{"local_sigma": MMDPP_LATER_LOCAL_SIGMA, **options})


@_factory
def seed_vgg(seed: int = 0, **options) -> nn.Module:
    """Seed 003's VGG loss (:class:`lossnet.distances.networks.SeedVGGLoss`); options: ``weights``, ``redraw``."""
    from .networks import SeedVGGLoss  # torchvision only when asked for

    return SeedVGGLoss(seed=seed, **options)


PIXEL_DISTANCES: dict[str, Callable] = {
    "l2": l2,
    "l1": l1,
    "ssim": ssim_distance,
    "patch_rbf": patch_rbf,
    "mmdpp": mmdpp,
    "mmdpp_unit": mmdpp_unit,
    "mmdpp_later": mmdpp_later,
    "seed_vgg": seed_vgg,
}


def pixel_distance(name: str, seed: int = 0, **options) -> ImageDistance:
    """The image distance ``name`` as a callable ``(x, y) -> (N,)``; ``seed`` seeds MMD++'s random features (and
    seed_vgg's random weights); ``options`` go to a factory entry (e.g. ``weights`` of ``seed_vgg``)."""
    try:
        entry = PIXEL_DISTANCES[name]
    except KeyError:
        raise ValueError(f"unknown pixel distance {name!r}; known: {', '.join(PIXEL_DISTANCES)}") from None
    if entry in _FACTORIES:
        return entry(seed=seed, **options)
    if options:
        raise ValueError(f"pixel distance {name!r} takes no options, got {sorted(options)}")
    return entry
