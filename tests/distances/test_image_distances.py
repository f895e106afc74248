"""meanpool and gram feature distances; pixel distances l2, 1 - SSIM and MMD++ against direct computations."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

import lossnet
from lossnet.distances import DISTANCES, gram, gram_matrix, meanpool
from lossnet.distances import PIXEL_DISTANCES, MMDPlusPlus, l2, pixel_distance, ssim, ssim_distance


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _smooth(n, h, w, seed=0, dtype=torch.float64):
    """Random images with some spatial structure (upsampled noise plus a little fine noise), in [0, 1]."""
    coarse = _rand(n, 3, h // 2 + 1, w // 2 + 1, seed=seed, dtype=dtype)
    up = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return (0.85 * up + 0.15 * _rand(n, 3, h, w, seed=seed + 1000, dtype=dtype)).clamp(0, 1)


# ------------------------------------------------------------------------------------------ feature distances


def test_meanpool_matches_a_direct_computation():
    z, z0 = torch.randn(3, 5, 4, 6, dtype=torch.float64), torch.randn(3, 5, 4, 6, dtype=torch.float64) + 0.3
    a, b = z.numpy(), z0.numpy()
    expected = []
    for n in range(3):
        m = np.array([a[n, c].sum() / a[n, c].size for c in range(5)])
        m0 = np.array([b[n, c].sum() / b[n, c].size for c in range(5)])
        m, m0 = m / (math.sqrt(sum(v * v for v in m)) + 1e-10), m0 / (math.sqrt(sum(v * v for v in m0)) + 1e-10)
        expected.append(sum((m[c] - m0[c]) ** 2 for c in range(5)))
    torch.testing.assert_close(meanpool(z, z0), torch.tensor(expected, dtype=torch.float64))
    assert torch.all(meanpool(z, z) == 0)
    # scale invariance: only the direction of the pooled vector counts
    torch.testing.assert_close(meanpool(3 * z, z0), meanpool(z, z0))


def test_gram_matches_a_direct_computation():
    z, z0 = torch.randn(2, 4, 3, 5, dtype=torch.float64), torch.randn(2, 4, 3, 5, dtype=torch.float64)
    a, b = z.numpy(), z0.numpy()
    expected = []
    for n in range(2):
        total = 0.0
        for c in range(4):
            for d in range(4):
                g = sum(a[n, c, i, j] * a[n, d, i, j] for i in range(3) for j in range(5)) / 15
                g0 = sum(b[n, c, i, j] * b[n, d, i, j] for i in range(3) for j in range(5)) / 15
                total += (g - g0) ** 2
        expected.append(total / 16)
    torch.testing.assert_close(gram(z, z0), torch.tensor(expected, dtype=torch.float64))
    assert gram_matrix(z).shape == (2, 4, 4)
    assert torch.all(gram(z, z) == 0)
    # a spatial permutation leaves the Gram matrix unchanged
    permuted = z.flatten(2)[:, :, torch.randperm(15)].reshape(z.shape)
    torch.testing.assert_close(gram(permuted, z), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)
    normalised = gram(z, z0, normalize=True)
    zn, z0n = (t / (t.norm(dim=1, keepdim=True) + 1e-10) for t in (z, z0))
    torch.testing.assert_close(normalised, gram(zn, z0n))


def test_gram_with_more_channels_than_positions_matches_the_channel_gram():
    # HW < C takes the HW x HW path; it must equal the C x C definition, values and gradients.
    z = torch.randn(3, 64, 2, 2, dtype=torch.float64, requires_grad=True)
    z0 = torch.randn(3, 64, 2, 2, dtype=torch.float64)
    direct = ((gram_matrix(z) - gram_matrix(z0)) ** 2).flatten(1).mean(dim=1)
    torch.testing.assert_close(gram(z, z0), direct)
    (grad,) = torch.autograd.grad(gram(z, z0).sum(), z)
    (expected,) = torch.autograd.grad(direct.sum(), z)
    torch.testing.assert_close(grad, expected)
    near = z0 + 1e-4 * torch.randn_like(z0)  # nearly equal inputs: the three terms nearly cancel
    torch.testing.assert_close(gram(near.float(), z0.float()).double(),
                               ((gram_matrix(near) - gram_matrix(z0)) ** 2).flatten(1).mean(dim=1), rtol=1e-3, atol=1e-12)


def test_new_feature_distances_are_registered_and_sum_over_layers():
    assert DISTANCES["meanpool"] is meanpool and DISTANCES["gram"] is gram
    a = {"E": torch.randn(2, 3, 4, 4), "M": torch.randn(2, 6, 2, 2)}
    b = {"E": torch.randn(2, 3, 4, 4), "M": torch.randn(2, 6, 2, 2)}
    for name in ("meanpool", "gram"):
        torch.testing.assert_close(
            lossnet.distance(name, a, b), DISTANCES[name](a["E"], b["E"]) + DISTANCES[name](a["M"], b["M"])
        )


@pytest.mark.parametrize("name", ["l2", "ssim", "mmdpp"])
def test_distance_names_the_network_free_distances(name):
    x = torch.rand(2, 3, 40, 40, requires_grad=True)
    y = torch.rand(2, 3, 40, 40)
    got = lossnet.distance(name, x, y, seed=3)
    torch.testing.assert_close(got, pixel_distance(name, seed=3)(x, y))
    assert torch.equal(lossnet.distance(name, x, y, seed=3), got)  # random features drawn once per seed
    got.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="network-free"):
        lossnet.distance(name, {"E": x}, {"E": y})


def test_mmdpp_seed_changes_the_random_features():
    x, y = torch.rand(2, 3, 40, 40), torch.rand(2, 3, 40, 40)
    assert not torch.equal(lossnet.distance("mmdpp", x, y, seed=0), lossnet.distance("mmdpp", x, y, seed=1))


@pytest.mark.parametrize("function", [meanpool, gram], ids=["meanpool", "gram"])
def test_feature_distance_gradients(function):
    z = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    z0 = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(function, (z, z0))


# ------------------------------------------------------------------------------------------- pixel distances


def test_l2_is_pixel_mse():
    x, y = _rand(2, 3, 5, 6), _rand(2, 3, 5, 6, seed=1)
    torch.testing.assert_close(l2(x, y), ((x - y) ** 2).sum(dim=(1, 2, 3)) / 90)


@pytest.mark.parametrize("shape", [(11, 11), (32, 40), (64, 64)])
def test_ssim_matches_skimage(shape):
    x = _smooth(3, *shape, seed=2)
    y = (x + 0.25 * (_rand(3, 3, *shape, seed=3) - 0.5)).clamp(0, 1)
    y[2] = _smooth(1, *shape, seed=4)[0]  # an unrelated image: SSIM far from 1
    expected = [
        structural_similarity(
            a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(), gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=1, channel_axis=2,
        )
        for a, b in zip(x, y)
    ]
    torch.testing.assert_close(ssim(x, y), torch.tensor(expected, dtype=torch.float64), atol=1e-4, rtol=0)
    # float32 too, as used in training
    expected32 = torch.tensor(expected, dtype=torch.float32)
    torch.testing.assert_close(ssim(x.float(), y.float()), expected32, atol=1e-4, rtol=0)
    torch.testing.assert_close(ssim_distance(x, y), 1 - torch.tensor(expected, dtype=torch.float64), atol=1e-4, rtol=0)
    torch.testing.assert_close(ssim_distance(x, x), torch.zeros(3, dtype=torch.float64), atol=1e-12, rtol=0)


def test_ssim_rejects_images_smaller_than_the_window():
    with pytest.raises(ValueError, match="11x11"):
        ssim(_rand(1, 3, 10, 20), _rand(1, 3, 10, 20))


def _explicit_mmd_term(mmd: MMDPlusPlus, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """The windowed RFF term from first principles: loops over windows and patches, numpy, raw features."""
    w = mmd.raw_weights.numpy()  # (r, C, p, p), the un-centred N(0, I / sigma^2) draws
    b = mmd.offsets.numpy()
    p, half = mmd.patch_size, mmd.patch_size // 2
    out = []
    for xi, yi in zip(x.numpy(), y.numpy()):
        pads = [np.pad(img, ((0, 0), (half, half), (half, half)), mode="reflect") for img in (xi, yi)]
        h, wd = xi.shape[1:]
        size_h, size_w = min(mmd.window, h), min(mmd.window, wd)
        total, count = 0.0, 0
        for top in range(0, h - size_h + 1, mmd.window_stride):
            for left in range(0, wd - size_w + 1, mmd.window_stride):
                embeddings = []
                for padded in pads:
                    phi = np.zeros(len(b))
                    for i in range(top, top + size_h):
                        for j in range(left, left + size_w):
                            patch = padded[:, i : i + p, j : j + p]
                            patch = patch - patch.mean(axis=(1, 2), keepdims=True)  # per-channel mean removed
                            phi += np.cos(np.tensordot(w, patch, axes=3) + b)
                    embeddings.append(phi / (size_h * size_w))
                total += np.mean((embeddings[0] - embeddings[1]) ** 2)
                count += 1
        out.append(total / count)
    return np.array(out)


def test_mmd_term_equals_the_explicit_random_feature_computation():
    mmd = MMDPlusPlus(seed=3, n_features=24, window=6, window_stride=3, value_range=(0, 1))
    x, y = _smooth(2, 10, 12, seed=5), _smooth(2, 10, 12, seed=6)
    expected = _explicit_mmd_term(mmd, x, y)
    torch.testing.assert_close(mmd.mmd_term(x, y), torch.from_numpy(expected), rtol=1e-10, atol=1e-14)
    # the default geometry (32x32 windows at stride 16) on a 48x48 image: 2 x 2 windows
    mmd = MMDPlusPlus(seed=0, n_features=8)
    assert mmd.window_embeddings(_smooth(1, 48, 48)).shape == (1, 8, 2, 2)
    x, y = _smooth(1, 48, 48, seed=7), _smooth(1, 48, 48, seed=8)
    expected = torch.from_numpy(_explicit_mmd_term(mmd, 2 * x - 1, 2 * y - 1))  # default: the seed's [-1, 1]
    torch.testing.assert_close(mmd.mmd_term(x, y), expected, rtol=1e-10, atol=1e-14)


def test_mmd_term_estimates_half_the_gaussian_kernel_mmd():
    """With many random features the term approaches 1/2 MMD^2 (V-statistic) with k = exp(-|P-Q|^2 / 2 s^2)."""
    size = 8
    mmd = MMDPlusPlus(seed=0, n_features=40_000, window=size, window_stride=size, value_range=(0, 1))
    x = _smooth(1, size, size, seed=9)
    y = (0.6 * x + 0.4 * _smooth(1, size, size, seed=10)).clamp(0, 1)
    estimate = float(mmd.mmd_term(x, y))

    def patches(img):
        padded = torch.nn.functional.pad(img, (1, 1, 1, 1), mode="reflect")
        unfolded = torch.nn.functional.unfold(padded, 3).reshape(3, 9, -1)  # (C, p*p, positions)
        return (unfolded - unfolded.mean(dim=1, keepdim=True)).reshape(27, -1).T  # (positions, 27)

    px, py = patches(x), patches(y)

    def k(a, b):
        return torch.exp(-torch.cdist(a, b) ** 2 / (2 * mmd.sigma**2)).mean()

    exact = float(k(px, px) + k(py, py) - 2 * k(px, py))
    assert exact > 1e-3
    assert estimate == pytest.approx(exact / 2, rel=0.05)


def test_local_term_and_total_match_direct_computations():
    mmd = MMDPlusPlus(seed=1, n_features=16, window=8, window_stride=4, value_range=(0, 1))
    x, y = _smooth(2, 9, 8, seed=11), _smooth(2, 9, 8, seed=12)
    sigma = 0.06 * 9
    expected = []
    for xi, yi in zip(x.numpy(), y.numpy()):
        sq = ((xi - yi) ** 2).sum(axis=0)
        h, w = sq.shape
        values = []
        for i in range(h):
            for j in range(w):
                s = sum(sq[u, v] for u in range(i - 1, i + 2) for v in range(j - 1, j + 2) if 0 <= u < h and 0 <= v < w)
                values.append(1 - math.exp(-s / (2 * sigma**2)))
        expected.append(np.mean(values))
    torch.testing.assert_close(mmd.local_term(x, y), torch.tensor(expected, dtype=torch.float64))
    total = 0.001 * l2(x, y) + 0.05 * mmd.local_term(x, y) + 1.0 * mmd.mmd_term(x, y)
    torch.testing.assert_close(mmd(x, y), total)


def test_mmdpp_is_deterministic_per_seed_and_zero_on_identical_images():
    x, y = _smooth(2, 40, 40, seed=13, dtype=torch.float32), _smooth(2, 40, 40, seed=14, dtype=torch.float32)
    a, b, other = MMDPlusPlus(seed=0), MMDPlusPlus(seed=0), MMDPlusPlus(seed=1)
    first = a(x, y)
    assert torch.equal(first, a(x, y)) and torch.equal(first, b(x, y))  # same seed, same value, every call
    assert torch.equal(pixel_distance("mmdpp", seed=0)(x, y), first)
    assert not torch.allclose(other.mmd_term(x, y), a.mmd_term(x, y), rtol=1e-3, atol=0)
    assert torch.all(a.mmd_term(x, x) == 0) and torch.all(a(x, x) == 0)
    assert torch.all(first > 0)
    # the MMD term ignores per-channel brightness shifts of patches less than pixel terms do
    shifted = (x + 0.05).clamp(0, 1)
    assert float(a.mmd_term(x, shifted).mean()) < float(a.mmd_term(x, y).mean())


def test_mmdpp_default_settings():
    mmd = MMDPlusPlus()
    assert mmd.weights == (0.001, 0.05, 1.0)
    assert mmd.patch_size == 3 and mmd.n_features == 512 and (mmd.window, mmd.window_stride) == (32, 16)
    assert mmd.sigma == pytest.approx(0.54) and mmd.local_sigma == pytest.approx(0.54)
    assert mmd.value_range == (-1.0, 1.0)  # the units seed 003 tuned its bandwidths in
    assert mmd.raw_weights.shape == (512, 3, 3, 3)
    assert list(mmd.parameters()) == []  # nothing to train; the random features are buffers


def test_pixel_gradients():
    # fast_mode checks random projections of the Jacobian (seconds, not minutes, on two shared cores)
    x = _rand(1, 3, 12, 12, seed=15).requires_grad_(True)
    y = _rand(1, 3, 12, 12, seed=16).requires_grad_(True)
    assert torch.autograd.gradcheck(ssim_distance, (x, y), fast_mode=True)
    assert torch.autograd.gradcheck(l2, (x, y), fast_mode=True)
    mmd = MMDPlusPlus(seed=0, n_features=8, window=4, window_stride=2)
    x6, y6 = (t.detach()[:, :, :6, :6].clone().requires_grad_(True) for t in (x, y))
    assert torch.autograd.gradcheck(mmd, (x6, y6), fast_mode=True)
    # and the full Jacobian of the smallest case: every pixel's gradient
    x4 = x.detach()[:, :, :4, :4].clone().requires_grad_(True)
    y4 = y.detach()[:, :, :4, :4]
    assert torch.autograd.gradcheck(lambda a: mmd(a, y4), (x4,))


@pytest.mark.parametrize("name", ["meanpool", "gram", "gram_normalized", "l2", "ssim", "mmdpp", "patch_rbf"])
def test_batched_equals_per_sample(name):
    if name in DISTANCES:
        function = DISTANCES[name]
        x, y = torch.randn(4, 5, 6, 7), torch.randn(4, 5, 6, 7)
    else:
        function = pixel_distance(name)
        x, y = _smooth(4, 34, 36, seed=17, dtype=torch.float32), _smooth(4, 34, 36, seed=18, dtype=torch.float32)
    batched = function(x, y)
    assert batched.shape == (4,)
    single = torch.cat([function(x[i : i + 1], y[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-7)
    if name in PIXEL_DISTANCES:  # a single image broadcasts against a batch
        torch.testing.assert_close(function(x[:1], y), function(x[:1].expand_as(y), y))


def test_pixel_distance_registry():
    assert set(PIXEL_DISTANCES) == {"l2", "l1", "ssim", "patch_rbf", "mmdpp", "mmdpp_unit", "mmdpp_later", "seed_vgg"}
    assert pixel_distance("l2") is l2 and pixel_distance("ssim") is ssim_distance
    assert isinstance(pixel_distance("mmdpp", seed=5), MMDPlusPlus) and pixel_distance("mmdpp", seed=5).seed == 5
    assert pixel_distance("mmdpp_unit").value_range == (0.0, 1.0)
    assert pixel_distance("mmdpp_later").local_sigma == pytest.approx(0.1 * 9)
    assert pixel_distance("mmdpp", local_sigma=0.1).local_sigma == pytest.approx(0.9)
    with pytest.raises(ValueError, match="unknown pixel distance"):
        pixel_distance("l3")
    with pytest.raises(ValueError, match="takes no options"):
        pixel_distance("l2", value_range=(0, 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_distances_agree_on_gpu():
    x, y = _smooth(2, 40, 40, seed=19, dtype=torch.float32), _smooth(2, 40, 40, seed=20, dtype=torch.float32)
    for name in PIXEL_DISTANCES:
        options = {"weights": "random_zero_mean"} if name == "seed_vgg" else {}  # offline: no ImageNet download
        expected = pixel_distance(name, **options)(x, y)
        function = pixel_distance(name, **options)
        if isinstance(function, torch.nn.Module):
            function = function.to("cuda")
        torch.testing.assert_close(function(x.cuda(), y.cuda()).cpu(), expected, rtol=1e-4, atol=1e-6)
    z, z0 = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5)
    for function in (meanpool, gram, *DISTANCES.values()):
        torch.testing.assert_close(function(z.cuda(), z0.cuda()).cpu(), function(z, z0), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------- seed 003's formulas, by hand


def _seed_local_term(x: np.ndarray, y: np.ndarray, p: int, sigma_per_pixel: float) -> np.ndarray:
    """Seed 003's PatchRBFLoss(pad_image=True) written from its formula: images already in the seed's units."""
    sigma = sigma_per_pixel * p * p
    half = p // 2
    out = []
    for xi, yi in zip(x, y):
        squared = np.pad(((xi - yi) ** 2).sum(axis=0), half)  # zero padding, as the seed's padded convolution
        h, w = xi.shape[1:]
        sums = np.array([[squared[i:i + p, j:j + p].sum() for j in range(w)] for i in range(h)])
        out.append(np.mean(1 - np.exp(-sums / (2 * sigma**2))))
    return np.array(out)


@pytest.mark.parametrize("local_sigma", [0.06, 0.1])
def test_mmdpp_deterministic_terms_equal_the_seed_formula_in_its_units(local_sigma):
    """L2 and LOCAL of MMD++ on [0, 1] images equal the seed's formulas applied to the same images in [-1, 1]."""
    x, y = _rand(2, 3, 9, 11, seed=31), _rand(2, 3, 9, 11, seed=32)
    mmd = MMDPlusPlus(seed=0, n_features=4, local_sigma=local_sigma)
    xs, ys = (2 * x - 1).numpy(), (2 * y - 1).numpy()
    seed_l2 = ((xs - ys) ** 2).reshape(2, -1).mean(axis=1)
    seed_local = _seed_local_term(xs, ys, 3, local_sigma)
    np.testing.assert_allclose(mmd.pixel_term(x, y).numpy(), seed_l2, rtol=0, atol=1e-6)
    np.testing.assert_allclose(mmd.local_term(x, y).numpy(), seed_local, rtol=0, atol=1e-6)
    deterministic = 0.001 * mmd.pixel_term(x, y) + 0.05 * mmd.local_term(x, y)
    np.testing.assert_allclose((mmd(x, y) - mmd.mmd_term(x, y)).numpy(), deterministic.numpy(), atol=1e-6)
    np.testing.assert_allclose(deterministic.numpy(), 0.001 * seed_l2 + 0.05 * seed_local, rtol=0, atol=1e-6)
    # in [0, 1] the same images give another number: the units matter
    unit = MMDPlusPlus(seed=0, n_features=4, local_sigma=local_sigma, value_range=(0, 1))
    np.testing.assert_allclose(unit.pixel_term(x, y).numpy(), seed_l2 / 4, rtol=1e-6)
    assert not np.allclose(unit.local_term(x, y).numpy(), seed_local, atol=1e-3)


def test_patch_rbf_equals_the_seed_formula():
    x, y = _smooth(2, 14, 13, seed=33), _smooth(2, 14, 13, seed=34)
    expected = _seed_local_term((2 * x - 1).numpy(), (2 * y - 1).numpy(), 11, 0.02)
    np.testing.assert_allclose(lossnet.distance("patch_rbf", x, y).numpy(), expected, rtol=0, atol=1e-6)
    assert torch.all(lossnet.distance("patch_rbf", x, x) == 0)
    with pytest.raises(ValueError, match="odd"):
        pixel_distance("patch_rbf")(x, y, patch_size=4)


def test_l1_pixel_and_feature_distances():
    x, y = _rand(3, 3, 8, 8, seed=35), _rand(3, 3, 8, 8, seed=36)
    expected = (x - y).abs().reshape(3, -1).mean(dim=1)
    torch.testing.assert_close(pixel_distance("l1")(x, y), expected)
    torch.testing.assert_close(lossnet.distance("l1", x, y), expected)
    z, z0 = {"a": x, "b": 2 * y}, {"a": y, "b": 2 * x}
    torch.testing.assert_close(lossnet.distance("l1", z, z0, layer_reduction="mean"), 1.5 * expected)
    torch.testing.assert_close(lossnet.distance("l1", z, z0), 3 * expected)
