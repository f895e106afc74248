"""lossnet.LPIPS: the calibrated metric equals the `lpips` package on the same backbone, for its three networks."""

import warnings

import pytest
import torch

import lossnet
from lossnet.metric import LPIPS_NETS
from lossnet.weights import build_model

lpips_package = pytest.importorskip("lpips")  # the test extra installs it


def _same_backbone(arch: str, tmp_path):
    """The lpips package's metric with a random backbone, and a state_dict file giving torchvision's `arch` the
    same weights (offline: no ImageNet download). The lpips slices keep torchvision's `features` indices."""
    reference = lpips_package.LPIPS(net=LPIPS_NETS[arch], pretrained=True, pnet_rand=True, verbose=False).eval()
    state_dict = build_model(arch, "random", seed=1).state_dict()
    for name, value in reference.net.state_dict().items():
        _, rest = name.split(".", 1)  # slice2.3.squeeze.weight -> 3.squeeze.weight
        assert f"features.{rest}" in state_dict
        state_dict[f"features.{rest}"] = value
    path = tmp_path / f"{arch}.pth"
    torch.save(state_dict, path)
    return reference, path


@pytest.mark.parametrize("arch", ["alexnet", "vgg16", "squeezenet1_1"])
def test_calibrated_lpips_equals_the_lpips_package(arch, tmp_path):
    reference, path = _same_backbone(arch, tmp_path)
    metric = lossnet.LPIPS(arch, weights=path)
    assert metric.calibrated and len(metric.network.layers) == reference.L
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 3, 64, 64, generator=generator), torch.rand(3, 3, 64, 64, generator=generator)
    with torch.no_grad():
        expected = reference(x, y, normalize=True).flatten()
        actual = metric(x, y)
        signed = lossnet.LPIPS(arch, weights=path, value_range=(-1, 1))(x * 2 - 1, y * 2 - 1)
    assert actual.shape == (3,)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(signed, expected, rtol=1e-5, atol=1e-7)


def test_uncalibrated_and_other_architectures_are_the_unweighted_sum():
    x, y = torch.rand(2, 3, 48, 48), torch.rand(2, 3, 48, 48)
    metric = lossnet.LPIPS("resnet18", weights="random")
    assert not metric.calibrated and list(metric.network.layers) == list(lossnet.LAYER_LABELS)
    net = lossnet.LossNetwork("resnet18", weights="random")
    with torch.no_grad():
        torch.testing.assert_close(metric(x, y), lossnet.distance("lpips", net(x), net(y)))
    x.requires_grad_(True)
    lossnet.LPIPS("alexnet", weights="random", calibrated=False)(x, y).sum().backward()
    assert x.grad is not None


def test_layer_preset_and_clear_errors():
    assert list(lossnet.LossNetwork("vgg16", layers="lpips", weights="random").layers) == [
        "features.3", "features.8", "features.15", "features.22", "features.29"]
    with pytest.raises(ValueError, match="preset 'lpips' is defined for alexnet"):
        lossnet.LossNetwork("resnet18", layers="lpips", weights="random")
    with pytest.raises(ValueError, match="calibrated=False"):
        lossnet.LPIPS("resnet18", weights="random", calibrated=True)
    with pytest.raises(ValueError, match="layers='lpips'"):
        lossnet.LPIPS("alexnet", layers=["E"], weights="random", calibrated=True)
    with pytest.raises(ValueError, match="one shape"):
        lossnet.LPIPS("alexnet", weights="random", calibrated=False)(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 48))


def test_missing_lpips_package_says_how_to_get_the_weights(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lpips" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"pip install lpips==0.1.4.*calibrated=False"):
        lossnet.LPIPS("alexnet", weights="random")


def test_warns_once_for_inputs_out_of_range():
    metric = lossnet.LPIPS("alexnet", weights="random", calibrated=False)
    x, y = torch.rand(1, 3, 32, 32) * 255, torch.rand(1, 3, 32, 32) * 255
    with pytest.warns(UserWarning, match=r"value_range=\(0, 255\)"):
        metric(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric(x, y)  # once only
        lossnet.LPIPS("alexnet", weights="random", calibrated=False, value_range=(0, 255))(x, y)
