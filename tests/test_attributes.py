"""Architecture and layer attributes measured from the torchvision models (lossnet.attributes)."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.feature_extraction import create_feature_extractor

from lossnet.attributes import architecture_table, layer_attributes
from lossnet.weights import build_model

COLUMNS = [
    "arch", "layer", "module", "params_total", "params_to_layer", "params_fraction", "mflops_total",
    "mflops_to_layer", "depth_total", "depth_to_layer", "channels", "features_64", "features_224",
    "skip", "branch", "conv1x1", "batchnorm", "imagenet_top1", "imagenet_top1_source",
    "weights_entry", "eval_crop", "gflops", "params", "file_size_mb", "min_size",  # torchvision's metadata
]


def test_columns_and_rows() -> None:
    table = layer_attributes("resnet18")
    assert list(table.columns) == COLUMNS
    assert list(table["layer"]) == ["E", "S", "M", "L"]
    assert list(table["module"]) == ["relu", "layer1", "layer2", "layer4"]
    assert list(layer_attributes("resnet18", input_sizes=(32,)).columns).count("features_32") == 1


# Table I of the paper; these architectures match it exactly.
@pytest.mark.parametrize(
    "arch, depth",
    [("vgg11", 11), ("vgg16", 16), ("vgg19", 19), ("resnet18", 18), ("resnet50", 50), ("alexnet", 8),
     ("densenet121", 121), ("squeezenet1_1", 18), ("googlenet", 22)],
)
def test_depth_matches_paper(arch: str, depth: int) -> None:
    table = layer_attributes(arch)
    assert (table["depth_total"] == depth).all()
    assert table["depth_to_layer"].is_monotonic_increasing and table["depth_to_layer"].iloc[-1] < depth


def test_depth_where_paper_differs() -> None:
    # Measured values, explained in the module docstring (paper: 81 and 49).
    assert layer_attributes("efficientnet_b0")["depth_total"].iloc[0] == 82
    assert layer_attributes("inception_v3")["depth_total"].iloc[0] == 48


def test_efficientnet_b7() -> None:
    table = layer_attributes("efficientnet_b7")
    assert table["depth_total"].iloc[0] == 274  # paper: 271
    assert table[["skip", "batchnorm"]].all().all() and not table["branch"].any()


@pytest.mark.parametrize("arch", ["vgg16", "resnet50", "alexnet", "resnet18"])
def test_mflops_match_torchvision_ops(arch: str) -> None:
    gmacs = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.meta["_ops"]
    assert layer_attributes(arch)["mflops_total"].iloc[0] == pytest.approx(gmacs * 1000, rel=0.02)


@pytest.mark.parametrize("arch", ["vgg16", "resnet50", "squeezenet1_1"])
def test_params_and_mflops_grow_with_layer(arch: str) -> None:
    table = layer_attributes(arch)
    for column in ("params_to_layer", "params_fraction", "mflops_to_layer"):
        assert table[column].is_monotonic_increasing and table[column].is_unique
    assert table["params_fraction"].iloc[-1] <= 1
    assert (table["mflops_to_layer"] <= table["mflops_total"]).all()
    assert table["params_total"].iloc[0] == sum(p.numel() for p in build_model(arch, "random").parameters())


def test_truncation_is_the_feature_extractor() -> None:
    table = layer_attributes("resnet18").set_index("layer")
    model = build_model("resnet18", "random")
    extractor = create_feature_extractor(model, return_nodes=["layer2"])
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = extractor(torch.zeros(1, 3, 224, 224))["layer2"]
    assert table.loc["M", "params_to_layer"] == sum(p.numel() for p in extractor.parameters())
    assert table.loc["M", "features_224"] == out[0].numel() and table.loc["M", "channels"] == out.shape[1]
    assert table.loc["M", "mflops_to_layer"] == pytest.approx(counter.get_total_flops() / 2e6)


def test_vgg16_features() -> None:
    table = layer_attributes("vgg16").set_index("layer")
    assert table.loc["E", "features_64"] == 64 * 64 * 64
    assert table.loc["E", "features_224"] == 64 * 224 * 224 and table.loc["L", "channels"] == 512
    assert table.loc["E", "imagenet_top1"] == pytest.approx(71.592)


@pytest.mark.parametrize(
    "arch, flags",
    [
        ("vgg16", {"skip": False, "branch": False, "batchnorm": False, "conv1x1": False}),
        ("resnet50", {"skip": True, "branch": False, "batchnorm": True, "conv1x1": True}),
        ("resnext50_32x4d", {"skip": True, "branch": True}),
        ("googlenet", {"skip": False, "branch": True}),
        ("densenet121", {"skip": True, "branch": False}),
        ("squeezenet1_1", {"skip": False, "branch": True, "conv1x1": True, "batchnorm": False}),
    ],
)
def test_flags(arch: str, flags: dict[str, bool]) -> None:
    table = layer_attributes(arch)
    for flag, expected in flags.items():
        assert (table[flag] == expected).all(), flag


def test_architecture_table_and_cache() -> None:
    table = architecture_table(["alexnet", "squeezenet1_1"])
    assert len(table) == 8 and list(table["arch"].unique()) == ["alexnet", "squeezenet1_1"]
    first = layer_attributes("alexnet")
    first.loc[0, "depth_total"] = -1  # callers get copies, not the cached frame
    assert layer_attributes("alexnet")["depth_total"].iloc[0] == 8
    assert not math.isnan(table["imagenet_top1"].iloc[0])
