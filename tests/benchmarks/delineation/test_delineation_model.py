"""The iterative U-Net, the K-weighted loss, and every zoo architecture as the loss network."""

import copy

import pytest
import torch
import torch.nn.functional as F

from lossnet.benchmarks.delineation.model import IterativeUNet, UNet
from lossnet.benchmarks.delineation.train import (
    DelineationLoss,
    GridCrops,
    RandomCrops,
    Tiles,
    iteration_weights,
    validation_loss,
)
from lossnet.distances import distance
from lossnet.network import LossNetwork
from lossnet.training import fit
from lossnet.zoo import PAPER_ARCHITECTURES
from mrd_fixtures import mrd_root, one_thread, prepared  # noqa: F401 (fixtures)


def test_unet_has_the_original_codes_channels():
    unet = UNet()  # RGB + previous prediction, widths 8, 16, 32, 32
    down = [tuple(block[1].weight.shape[:2]) for block in unet.down]  # Conv2d: (out, in)
    up = [tuple(block[1].weight.shape[:2]) for block in unet.up]  # ConvTranspose2d: (in, out)
    assert down == [(8, 4), (16, 8), (32, 16), (32, 32)]
    assert up == [(32, 32), (64, 16), (32, 8), (16, 1)]
    assert all(isinstance(block[0], torch.nn.ReLU) and isinstance(block[2], torch.nn.BatchNorm2d)
               for block in [*unet.down, *unet.up])


def test_iterations_feed_back_the_previous_prediction():
    torch.manual_seed(0)
    model = IterativeUNet(widths=(4, 8), iterations=3).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        predictions = model(images)
        assert len(predictions) == 3 and predictions[0].shape == (2, 1, 32, 32)
        assert torch.equal(predictions[0], model.unet(torch.cat([images, torch.zeros(2, 1, 32, 32)], 1)))
        assert torch.equal(predictions[2], model.unet(torch.cat([images, predictions[1]], 1)))
        assert torch.equal(model.predict(images), predictions[2])
    assert ((predictions[2] > 0) & (predictions[2] < 1)).all()


def test_input_side_must_be_divisible():
    with pytest.raises(ValueError, match=r"\(20, 32\) is not divisible by 16"):
        IterativeUNet()(torch.rand(1, 3, 20, 32))


def test_k3_loss_weights():
    assert iteration_weights(3) == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert sum(iteration_weights(5)) == pytest.approx(1.0)
    assert iteration_weights(1) == [1.0]


def _maps_and_predictions():
    torch.manual_seed(1)
    truth = (torch.rand(2, 1, 32, 32) > 0.8).float()
    return truth, [torch.rand(2, 1, 32, 32).clamp(0.01, 0.99) for _ in range(3)]


def test_reference_loss_is_the_weighted_bce():
    truth, predictions = _maps_and_predictions()
    expected = sum(k / 6 * F.binary_cross_entropy(p, truth) for k, p in enumerate(predictions, 1))
    assert DelineationLoss(None).combine(predictions, truth) == pytest.approx(float(expected), rel=1e-6)


def test_perceptual_loss_adds_mu_times_the_feature_mse_of_three_channel_maps():
    truth, predictions = _maps_and_predictions()
    network = LossNetwork("alexnet", ["S"], "random")
    expected = 0.0
    for k, p in enumerate(predictions, 1):
        features = network(p.repeat(1, 3, 1, 1))["S"], network(truth.repeat(1, 3, 1, 1))["S"]
        mse = ((features[0] - features[1]) ** 2).mean(dim=(1, 2, 3)).mean()
        expected += k / 6 * (F.binary_cross_entropy(p, truth) + 0.5 * mse)
    assert torch.allclose(distance("mse", *features), ((features[0] - features[1]) ** 2).mean(dim=(1, 2, 3)))
    actual = DelineationLoss(network, mu=0.5).combine(predictions, truth)
    assert float(actual) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("arch", PAPER_ARCHITECTURES)
def test_every_zoo_architecture_trains_as_the_loss_network(arch, prepared, tmp_path):
    # Random weights, 64 px crops, two steps: that the extraction layer's features train the U-Net, whatever the
    # architecture's structure (the original code needed a `.features` attribute).
    torch.manual_seed(0)
    model = IterativeUNet(widths=(4, 8, 8, 8))
    initial = copy.deepcopy(model.state_dict())
    network = LossNetwork(arch, ["S"], "random")  # a block boundary (layer1, inception3a, denseblock1, ...)
    frozen = copy.deepcopy(network.state_dict())
    loss = DelineationLoss(network)
    val_crops = GridCrops(Tiles(prepared, "valid"), size=64, stride=256)  # the 4 corners of the valid tile
    result = fit(model, loss, RandomCrops(Tiles(prepared, "train"), crops=4, size=64), checkpoint_dir=tmp_path,
                 epochs=1, batch_size=2, device="cpu", progress=False,
                 validate=lambda m: -validation_loss(m, val_crops, loss, batch_size=4))
    record = result.history[0]
    assert torch.isfinite(torch.tensor([record["train_loss"], record["val"]])).all()
    assert record["val"] < 0, "validate returns the negative loss (fit keeps the highest)"
    assert any(not torch.equal(initial[k], v) for k, v in model.state_dict().items()), "the U-Net learnt nothing"
    assert all(torch.equal(frozen[k], v) for k, v in network.state_dict().items()), "the loss network changed"
    assert not any(p.requires_grad for p in network.parameters())
    assert not any(m.training for m in network.modules()), "the loss network left eval mode"
