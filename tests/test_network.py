"""LossNetwork: the 56 loss networks, layer naming, weights and freezing."""

from pathlib import Path

import pytest
import torch

import lossnet
from lossnet.weights import WeightsUnavailableError, build_model

# (channels, side at 64x64 input, side at 224x224 input) of each extraction layer, from the architectures.
EXPECTED = {
    "alexnet": {"E": (64, 15, 55), "S": (192, 7, 27), "M": (384, 3, 13), "L": (256, 3, 13)},
    "vgg11": {"E": (64, 64, 224), "S": (128, 32, 112), "M": (256, 16, 56), "L": (512, 4, 14)},
    "vgg16": {"E": (64, 64, 224), "S": (128, 32, 112), "M": (256, 16, 56), "L": (512, 4, 14)},
    "vgg16_bn": {"E": (64, 64, 224), "S": (128, 32, 112), "M": (256, 16, 56), "L": (512, 4, 14)},
    "vgg19": {"E": (64, 64, 224), "S": (128, 32, 112), "M": (256, 16, 56), "L": (512, 4, 14)},
    "resnet18": {"E": (64, 32, 112), "S": (64, 16, 56), "M": (128, 8, 28), "L": (512, 2, 7)},
    "resnet50": {"E": (64, 32, 112), "S": (256, 16, 56), "M": (512, 8, 28), "L": (2048, 2, 7)},
    "resnext50_32x4d": {"E": (64, 32, 112), "S": (256, 16, 56), "M": (512, 8, 28), "L": (2048, 2, 7)},
    "googlenet": {"E": (64, 32, 112), "S": (256, 8, 28), "M": (512, 4, 14), "L": (1024, 2, 7)},
    "inception_v3": {"E": (64, 29, 109), "S": (256, 5, 25), "M": (288, 5, 25), "L": (768, 2, 12)},
    "efficientnet_b0": {"E": (32, 32, 112), "S": (16, 32, 112), "M": (80, 4, 14), "L": (320, 2, 7)},
    "efficientnet_b7": {"E": (64, 32, 112), "S": (32, 32, 112), "M": (160, 4, 14), "L": (640, 2, 7)},
    "densenet121": {"E": (64, 32, 112), "S": (256, 16, 56), "M": (512, 8, 28), "L": (1024, 2, 7)},
    "squeezenet1_1": {"E": (64, 31, 111), "S": (128, 15, 55), "M": (256, 7, 27), "L": (512, 3, 13)},
}


def test_zoo_is_the_papers_14_architectures():
    assert set(EXPECTED) == set(lossnet.zoo.PAPER_ARCHITECTURES)


@pytest.mark.parametrize("arch", sorted(EXPECTED))
def test_shapes_of_all_56_loss_networks(arch):
    net = lossnet.LossNetwork(arch, weights="random")
    with torch.no_grad():
        small, large = net(torch.rand(2, 3, 64, 64)), net(torch.rand(1, 3, 224, 224))
    for label, (channels, side_64, side_224) in EXPECTED[arch].items():
        assert tuple(small[label].shape) == (2, channels, side_64, side_64), label
        assert tuple(large[label].shape) == (1, channels, side_224, side_224), label


def test_labels_and_module_paths_give_the_same_features():
    net = lossnet.LossNetwork("vgg16", layers=["M", "features.15", "features.22"], weights="random")
    out = net(torch.rand(1, 3, 64, 64))
    assert list(out) == ["M", "features.15", "features.22"]
    assert torch.equal(out["M"], out["features.15"])
    assert out["features.22"].shape[1] == 512


def test_container_module_of_resnet_is_a_valid_layer():
    out = lossnet.LossNetwork("resnet18", layers=["layer3"], weights="random")(torch.rand(1, 3, 64, 64))
    assert out["layer3"].shape == (1, 256, 4, 4)


def test_unknown_architecture_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown architecture 'vgg17'.*vgg16"):
        lossnet.LossNetwork("vgg17", weights="random")


def test_unknown_layer_lists_valid_module_names():
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['features.99'\].*features.1"):
        lossnet.LossNetwork("vgg11", layers=["features.99"], weights="random")


def test_random_weights_are_seeded():
    x = torch.rand(1, 3, 64, 64)
    a = lossnet.LossNetwork("alexnet", layers="M", weights="random", seed=3)(x)["M"]
    b = lossnet.LossNetwork("alexnet", layers="M", weights="random", seed=3)(x)["M"]
    c = lossnet.LossNetwork("alexnet", layers="M", weights="random", seed=4)(x)["M"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_frozen_eval_mode_and_gradients_flow_to_input():
    net = lossnet.LossNetwork("resnet18", layers="S", weights="random")
    parent = torch.nn.ModuleList([torch.nn.Conv2d(3, 3, 1), net]).train()
    assert parent[0].training and not net.extractor.training
    bn = net.extractor.get_submodule("bn1")
    before = bn.running_mean.clone()
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    net(x)["S"].sum().backward()
    assert torch.equal(bn.running_mean, before)  # BatchNorm statistics untouched
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in net.parameters())


def test_input_is_not_modified_in_place():
    x = torch.rand(1, 3, 32, 32)
    copy = x.clone()
    lossnet.LossNetwork("alexnet", layers="E", weights="random")(x)
    assert torch.equal(x, copy)


def test_state_dict_file_round_trip(tmp_path):
    model = build_model("squeezenet1_1", "random", seed=7)
    torch.save(model.state_dict(), tmp_path / "weights.pth")
    x = torch.rand(1, 3, 64, 64)
    from_file = lossnet.LossNetwork("squeezenet1_1", layers="M", weights=tmp_path / "weights.pth")(x)["M"]
    seeded = lossnet.LossNetwork("squeezenet1_1", layers="M", weights="random", seed=7)(x)["M"]
    assert torch.equal(from_file, seeded)


def test_state_dict_of_another_architecture_is_refused(tmp_path):
    torch.save(build_model("alexnet", "random").state_dict(), tmp_path / "alexnet.pth")
    with pytest.raises(ValueError, match="do not fit torchvision's squeezenet1_1"):
        lossnet.LossNetwork("squeezenet1_1", weights=tmp_path / "alexnet.pth")


def test_pickled_module_is_not_loaded(tmp_path):
    torch.save(build_model("alexnet", "random"), tmp_path / "module.pth")  # a whole module, not a state_dict
    with pytest.raises(ValueError, match="module.pth"):
        lossnet.LossNetwork("alexnet", weights=tmp_path / "module.pth")


def _cache_under_its_hash(path: Path, arch: str, monkeypatch) -> None:
    """Point the ImageNet entry of ``arch`` at a file name whose hash prefix is that of ``path``'s content
    (a real checkpoint cannot be made here), and move ``path`` there."""
    import hashlib
    import types

    import lossnet.weights as weights_module

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    url = f"https://download.pytorch.org/models/{arch}-{digest[:8]}.pth"
    monkeypatch.setattr(weights_module, "imagenet_weights", lambda name: types.SimpleNamespace(url=url))
    target = weights_module.imagenet_cache_path(arch)
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)


def test_imagenet_weights_come_from_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.save(build_model("squeezenet1_1", "random", seed=5).state_dict(), tmp_path / "sq.pth")
    _cache_under_its_hash(tmp_path / "sq.pth", "squeezenet1_1", monkeypatch)
    x = torch.rand(1, 3, 64, 64)
    cached = lossnet.LossNetwork("squeezenet1_1", layers="L", weights="imagenet")(x)["L"]
    assert torch.equal(cached, lossnet.LossNetwork("squeezenet1_1", layers="L", weights="random", seed=5)(x)["L"])


class _Planted:
    """Unpickling this object creates ``marker``: code that runs if a loader trusts the pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _no_download(*args, **kwargs):
    raise AssertionError("the cached file must be used (or refused), not downloaded again")


def test_planted_pickle_in_the_hub_cache_does_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    from lossnet.weights import imagenet_cache_path

    marker = tmp_path / "code-ran"
    planted = imagenet_cache_path("alexnet")
    assert planted.name == "alexnet-owt-7be5be79.pth"
    planted.parent.mkdir(parents=True)
    torch.save({"features.0.weight": _Planted(marker)}, planted)
    with pytest.raises(WeightsUnavailableError) as error:
        lossnet.LossNetwork("alexnet", weights="imagenet")
    assert not marker.exists()
    assert str(planted) in str(error.value) and "Delete it" in str(error.value)


def test_planted_pickle_with_a_matching_hash_is_still_not_run(tmp_path, monkeypatch):
    # Even a file whose hash matches its name is read with weights_only=True.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_download)
    marker = tmp_path / "code-ran"
    torch.save({"features.0.weight": _Planted(marker)}, tmp_path / "evil.pth")
    _cache_under_its_hash(tmp_path / "evil.pth", "alexnet", monkeypatch)
    with pytest.raises(ValueError, match="alexnet-[0-9a-f]{8}.pth") as error:
        lossnet.LossNetwork("alexnet", weights="imagenet")
    assert not marker.exists()
    assert "delete it" in str(error.value)


def test_empty_weights_file_says_it_is_empty(tmp_path):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.pth.*empty \(0 bytes\)"):
        lossnet.LossNetwork("alexnet", weights=tmp_path / "empty.pth")
    (tmp_path / "junk.pth").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match=r"junk.pth as a torchvision state_dict \(\w"):
        lossnet.LossNetwork("alexnet", weights=tmp_path / "junk.pth")


def test_directory_as_weights_says_it_is_a_directory(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path} is a directory"):
        lossnet.LossNetwork("alexnet", weights=tmp_path)


def test_missing_imagenet_weights_offline_say_where_they_were_looked_for(tmp_path, monkeypatch):
    import urllib.error

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsUnavailableError) as error:
        lossnet.LossNetwork("alexnet", weights="imagenet")
    message = str(error.value)
    assert str(tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth") in message
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message
    assert "state_dict" in message


def test_register_architecture_checks_its_module_paths_at_once():
    # Issue 20 item 11: `...` or a wrong path was accepted and the error later blamed the label.
    from lossnet.zoo import ARCHITECTURES, register_architecture

    before = ARCHITECTURES["alexnet"]
    good = dict(before.layers)
    for layers, message in (({**good, "L": ...}, r"layers \{'L': Ellipsis\} are not module paths"),
                            ({**good, "L": "feature.11"}, r"layers.L: 'feature.11' is not a module"),
                            ({**good, "L": "classifier.1"}, r"\['L'\] of alexnet give vectors")):
        with pytest.raises(ValueError, match=message):
            register_architecture("alexnet", layers)
        assert ARCHITECTURES["alexnet"] is before  # a refused definition changes nothing


def test_pre_relu_taps_are_copied_before_the_in_place_relu():
    """features.2 of VGG16 is conv1_2 *before* its ReLU (which runs in place): negative values survive."""
    net = lossnet.LossNetwork("vgg16", ["features.2", "features.3"], weights="random", normalize_input=False)
    features = net(torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0)))
    assert (features["features.2"] < 0).any()
    torch.testing.assert_close(features["features.3"], features["features.2"].clamp_min(0))
    # and it is the convolution's own output
    module = net.extractor.get_submodule
    x = torch.rand(1, 3, 16, 16)
    direct = module("features.2")(torch.relu(module("features.0")(x)))
    torch.testing.assert_close(net(x)["features.2"], direct)


def test_pixels_pseudo_layer_and_seed003_preset():
    net = lossnet.LossNetwork("vgg16", "seed003", weights="random", normalize_input="signed")
    assert list(net.layers) == ["pixels", "features.2", "features.7", "features.14", "features.21", "features.28"]
    x = torch.rand(1, 3, 32, 32)
    features = net(x)
    torch.testing.assert_close(features["pixels"], 2 * x - 1)
    only_pixels = lossnet.LossNetwork("vgg16", ["pixels"], weights="random", normalize_input=False)
    assert only_pixels.extractor is None and torch.equal(only_pixels(x)["pixels"], x)
    with pytest.raises(ValueError, match="normalize_input must be"):
        lossnet.LossNetwork("vgg16", ["E"], weights="random", normalize_input="zscore")
