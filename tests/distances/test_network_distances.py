"""Seed 003's VGG loss (pixels + pre-ReLU VGG16 taps, L1, averaged, [-1, 1]) and the average over seeds."""

from __future__ import annotations

import torch

import lossnet
from lossnet.distances import pixel_distance
from lossnet.distances.networks import FeatureImageDistance, SeedAverage, SeedVGGLoss
from lossnet.weights import build_model


def _by_hand(weights: str, seed: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The seed's VGG loss from its definition: run VGG16's layers one by one, keep a *copy* of each conv output."""
    features = build_model("vgg16", weights, seed=seed).features
    taps = {2, 7, 14, 21, 28}

    def activations(images):
        z, kept = images * 2 - 1, [images * 2 - 1]
        for i, layer in enumerate(features[:29]):
            z = layer(z)
            if i in taps:
                kept.append(z.clone())  # the next layer is an in-place ReLU
        return kept

    terms = [(a - b).abs().flatten(1).mean(dim=1) for a, b in zip(activations(x), activations(y))]
    assert len(terms) == 6
    return torch.stack(terms).mean(dim=0)


def test_seed_vgg_loss_equals_its_definition_and_taps_pre_relu():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    loss = SeedVGGLoss("random_zero_mean", seed=2)
    torch.testing.assert_close(loss(x, y), _by_hand("random_zero_mean", 2, x, y), rtol=1e-5, atol=1e-6)
    features = loss.network(x)
    assert all((features[layer] < 0).any() for layer in features)  # pre-ReLU: negative values survive
    assert list(features) == ["pixels", "features.2", "features.7", "features.14", "features.21", "features.28"]
    assert torch.all(loss(x, x) == 0)
    torch.testing.assert_close(pixel_distance("seed_vgg", seed=2, weights="random_zero_mean")(x, y), loss(x, y))


def test_seed_vgg_loss_is_a_training_loss_and_redraw_is_stochastic():
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    y = torch.rand(1, 3, 32, 32)
    SeedVGGLoss("random_kaiming").forward(x, y).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    redrawn = SeedVGGLoss("random_zero_mean", redraw=True)
    assert not torch.equal(redrawn(x.detach(), y), redrawn(x.detach(), y))


def test_seed_average_is_the_mean_of_its_members():
    x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)

    def build(seed):
        return FeatureImageDistance("alexnet", ["features.1"], "random_zero_mean", "gram_normalized", seed=seed)

    average = SeedAverage(build, k=3, seed=5)
    expected = torch.stack([build(s)(x, y) for s in (5, 6, 7)]).mean(dim=0)
    torch.testing.assert_close(average(x, y), expected)
    net = lossnet.LossNetwork("alexnet", ["features.1"], weights="random_zero_mean", seed=5)
    torch.testing.assert_close(build(5)(x, y), lossnet.distance("gram_normalized", net(x), net(y)))
