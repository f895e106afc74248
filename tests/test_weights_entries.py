"""Any torchvision weights entry: imagenet (V1), imagenet_v2, an entry's own name; cached and checksum-verified."""

import hashlib
import types

import pytest
import torch

import lossnet
import lossnet.weights as weights_module
from lossnet.spec import LossSpec, weights_identity
from lossnet.weights import WeightsUnavailableError, build_model, torchvision_weights, weights_metadata


def test_names_resolve_to_torchvision_entries():
    assert torchvision_weights("resnet50", "imagenet").name == "IMAGENET1K_V1"
    assert torchvision_weights("resnet50", "imagenet_v2").name == "IMAGENET1K_V2"
    assert torchvision_weights("vit_b_16", "IMAGENET1K_SWAG_E2E_V1").name == "IMAGENET1K_SWAG_E2E_V1"
    assert torchvision_weights("resnet50", "ResNet50_Weights.IMAGENET1K_V2").name == "IMAGENET1K_V2"
    assert torchvision_weights("resnet50", "random") is None
    assert torchvision_weights("resnet50", "models/resnet50.pth") is None
    with pytest.raises(ValueError, match="no IMAGENET1K_V2 weights for resnet18.*IMAGENET1K_V1"):
        torchvision_weights("resnet18", "imagenet_v2")
    with pytest.raises(ValueError, match="no IMAGENET1K_V1 weights for vit_h_14.*IMAGENET1K_SWAG_E2E_V1"):
        lossnet.LossNetwork("vit_h_14", weights="imagenet")


def test_v2_metadata_and_identity_is_the_checkpoint_file_name():
    v1, v2 = weights_metadata("resnet50", "imagenet"), weights_metadata("resnet50", "imagenet_v2")
    assert (v1["imagenet_top1"], v2["imagenet_top1"]) == (76.13, 80.858)
    assert weights_metadata("vit_h_14")["weights_entry"] == "ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1"
    assert weights_identity("imagenet_v2", "resnet50") == {"imagenet": "resnet50-11ad3fa6.pth"}
    assert weights_identity("imagenet", "resnet50") == {"imagenet": "resnet50-0676ba61.pth"}
    spec = LossSpec.resolve("resnet50", "M", "imagenet_v2")
    assert spec.weights_label == "imagenet_v2" and spec.identity()["weights"] != LossSpec.resolve(
        "resnet50", "M", "imagenet").identity()["weights"]
    assert LossSpec.resolve("vit_b_16", "L", "IMAGENET1K_SWAG_E2E_V1").weights_label == "IMAGENET1K_SWAG_E2E_V1"


def test_an_entry_is_read_from_the_hub_cache_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = build_model("squeezenet1_1", "random", seed=4).state_dict()
    torch.save(state, tmp_path / "sq.pth")
    digest = hashlib.sha256((tmp_path / "sq.pth").read_bytes()).hexdigest()
    entry = types.SimpleNamespace(url=f"https://example.org/sq-{digest[:8]}.pth", name="IMAGENET1K_V2")
    monkeypatch.setattr(weights_module, "torchvision_weights", lambda arch, weights: None if weights == "random"
                        else entry)
    path = weights_module.checkpoint_path(entry)
    path.parent.mkdir(parents=True)
    (tmp_path / "sq.pth").rename(path)
    loaded = lossnet.weights.build_model("squeezenet1_1", "imagenet_v2")
    assert torch.equal(loaded.features[0].weight, state["features.0.weight"])
    path.write_bytes(path.read_bytes()[:-1])  # truncated: refused, never loaded
    with pytest.raises(WeightsUnavailableError, match="not the published file"):
        lossnet.weights.build_model("squeezenet1_1", "imagenet_v2")
