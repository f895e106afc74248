"""Distances: formulas, and lpips against the `lpips` package's unweighted baseline."""

import pytest
import torch

import lossnet
from lossnet.distances import lpips, lpips_channels, mse
from lossnet.weights import build_model

VGG_LPIPS_LAYERS = ["features.3", "features.8", "features.15", "features.22", "features.29"]


def test_lpips_matches_the_lpips_package_baseline(tmp_path):
    import lpips as lpips_package  # the test extra installs it
    reference = lpips_package.LPIPS(net="vgg", lpips=False, pnet_rand=True, verbose=False).eval()
    # Give torchvision's vgg16 the lpips backbone's (random) weights: its slices keep torchvision's indices.
    state_dict = build_model("vgg16", "random").state_dict()
    for name, value in reference.net.state_dict().items():
        _, index, kind = name.split(".")  # slice1.0.weight
        state_dict[f"features.{index}.{kind}"] = value
    torch.save(state_dict, tmp_path / "vgg16.pth")
    ours = lossnet.LossNetwork("vgg16", layers=VGG_LPIPS_LAYERS, weights=tmp_path / "vgg16.pth")

    generator = torch.Generator().manual_seed(0)
    x, x0 = torch.rand(4, 3, 64, 64, generator=generator), torch.rand(4, 3, 64, 64, generator=generator)
    with torch.no_grad():
        expected = reference(x * 2 - 1, x0 * 2 - 1).flatten()  # the package takes [-1, 1]
        actual = lossnet.distance("lpips", ours(x), ours(x0))
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=0)


def test_lpips_formula_on_random_features():
    z, z0 = torch.randn(3, 5, 4, 6), torch.randn(3, 5, 4, 6)
    zn = z / (z.norm(dim=1, keepdim=True) + 1e-10)
    z0n = z0 / (z0.norm(dim=1, keepdim=True) + 1e-10)
    expected = ((zn - z0n) ** 2).sum(dim=1).mean(dim=(1, 2))
    torch.testing.assert_close(lpips(z, z0), expected)
    weights = torch.rand(5)
    torch.testing.assert_close(lpips(z, z0, weights), (lpips_channels(z, z0) * weights).sum(1))


def test_mse_formula_and_identity():
    z, z0 = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(mse(z, z0), ((z - z0) ** 2).sum(dim=(1, 2, 3)) / 48)
    assert torch.all(mse(z, z) == 0) and torch.all(lpips(z, z) == 0)


def test_distance_sums_layers_and_rejects_unknown_names():
    a = {"E": torch.randn(2, 3, 4, 4), "M": torch.randn(2, 6, 2, 2)}
    b = {"E": torch.randn(2, 3, 4, 4), "M": torch.randn(2, 6, 2, 2)}
    torch.testing.assert_close(lossnet.distance("mse", a, b), mse(a["E"], b["E"]) + mse(a["M"], b["M"]))
    with pytest.raises(ValueError, match="unknown distance 'l3'"):
        lossnet.distance("l3", a, b)


def test_perceptual_loss_trains_through_the_network_and_pixel_baseline():
    loss = lossnet.PerceptualLoss("squeezenet1_1", layers="S", weights="random")
    prediction = torch.rand(2, 3, 32, 32, requires_grad=True)
    value = loss(prediction, torch.rand(2, 3, 32, 32))
    value.backward()
    assert value.ndim == 0 and prediction.grad.abs().sum() > 0
    pixel = lossnet.PerceptualLoss("pixel")
    target = torch.rand(1, 1, 8, 8)
    assert torch.isclose(pixel(target + 0.5, target), torch.tensor(0.25))
    loss(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32))  # road maps: one channel is replicated
