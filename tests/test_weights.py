"""Named random initialisations (seed 003's random VGG): zero-mean first filters, seeding, redraw per forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lossnet.network import LossNetwork
from lossnet.weights import INITIALIZERS, build_model, first_conv_name, kaiming_init


def _conv_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight.detach() for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_random_zero_mean_first_filters_have_zero_spatial_mean_and_are_seeded():
    model = build_model("vgg16", "random_zero_mean", seed=3)
    first = model.get_submodule("features.0").weight.detach()
    assert first_conv_name(model) == "features.0"
    assert first.mean(dim=(2, 3)).abs().max() < 1e-7  # per (output, input) channel
    assert first.std() > 0.1  # not zeroed: only the mean is removed
    # the second conv keeps its mean: the change is the first layer's alone
    assert _conv_weights(model)[1].mean(dim=(2, 3)).abs().max() > 1e-3
    again, other = build_model("vgg16", "random_zero_mean", seed=3), build_model("vgg16", "random_zero_mean", seed=4)
    for a, b in zip(_conv_weights(model), _conv_weights(again)):
        assert torch.equal(a, b)
    assert not torch.equal(first, other.get_submodule("features.0").weight.detach())


def test_kaiming_fan_in_scale_and_zero_bias():
    model = build_model("vgg16", "random_kaiming", seed=0)
    conv = model.get_submodule("features.28")  # 512 in, 3x3: std sqrt(2 / 4608)
    assert conv.weight.std().item() == pytest.approx((2 / (512 * 9)) ** 0.5, rel=0.02)
    assert torch.all(conv.bias == 0)
    # torchvision's init (fan_out) is another network
    assert not torch.equal(build_model("vgg16", "random", seed=0).get_submodule("features.0").weight,
                           model.get_submodule("features.0").weight)
    assert set(INITIALIZERS) >= {"random_kaiming", "random_zero_mean"}


@pytest.mark.parametrize("arch", ["resnet18", "alexnet"])
def test_zero_mean_first_conv_on_other_architectures(arch):
    model = build_model(arch, "random_zero_mean", seed=0)
    first = model.get_submodule(first_conv_name(model)).weight.detach()
    assert first.mean(dim=(2, 3)).abs().max() < 1e-7


def test_redraw_gives_a_new_network_every_forward_reproducibly():
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    fixed = LossNetwork("vgg16", ["features.7"], weights="random_zero_mean", seed=1)
    assert torch.equal(fixed(x)["features.7"], fixed(x)["features.7"])
    redrawn = LossNetwork("vgg16", ["features.7"], weights="random_zero_mean", seed=1, redraw=True)
    first, second = redrawn(x)["features.7"], redrawn(x)["features.7"]
    assert not torch.equal(first, second)
    assert redrawn.extractor.get_submodule("features.0").weight.mean(dim=(2, 3)).abs().max() < 1e-7
    replay = LossNetwork("vgg16", ["features.7"], weights="random_zero_mean", seed=1, redraw=True)
    assert torch.equal(replay(x)["features.7"], first) and torch.equal(replay(x)["features.7"], second)
    with pytest.raises(ValueError, match="redraw=True needs weights named"):
        LossNetwork("vgg16", ["features.7"], weights="random", redraw=True)


def test_kaiming_init_draws_from_the_generator_only():
    a = kaiming_init(nn.Conv2d(3, 4, 3), torch.Generator().manual_seed(5))
    torch.manual_seed(123)  # the global generator plays no part
    b = kaiming_init(nn.Conv2d(3, 4, 3), torch.Generator().manual_seed(5))
    assert torch.equal(a.weight, b.weight)
