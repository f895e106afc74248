"""The stage taps of every torchvision classifier, checked against a shape-only trace on the meta device."""

import functools
import re

import pytest
import torch

import lossnet
from lossnet.network import planned_side
from lossnet.stages import FAMILIES, as_map, esml, family_of, meta_model, stage_paths, trace_sides
from lossnet.zoo import PAPER_ARCHITECTURES, get_architecture, torchvision_classifiers

MODELS = torchvision_classifiers()


@functools.lru_cache(maxsize=None)
def _model(arch: str, image_size: int | None = None) -> torch.nn.Module:
    return meta_model(arch, **get_architecture(arch).build_kwargs, **({"image_size": image_size} if image_size else {}))


def _octave_sides(arch: str, taps: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """(sides of the taps, sides of every module up to two levels below the trunk) on a 224 trace."""
    model = _model(arch)
    everything = [name for name, _ in model.named_modules() if name and name.count(".") <= 2]
    sides = trace_sides(model, arch, everything)
    return [sides[tap] for tap in taps], list(sides.values())


def test_every_family_is_used_and_every_classifier_has_one():
    assert len(MODELS) >= 80
    assert {family_of(arch).name for arch in MODELS} == set(FAMILIES)


@pytest.mark.parametrize("arch", MODELS)
def test_stage_taps_match_a_spatial_size_trace(arch):
    taps = stage_paths(arch)
    tap_sides, all_sides = _octave_sides(arch, taps)
    if family_of(arch).name == "vit":  # no downsampling: every encoder block, one grid
        assert len(taps) == int(arch.split("_")[1] == "b") * 12 + int(arch.split("_")[1] == "l") * 24 \
            + int(arch.split("_")[1] == "h") * 32
        assert len(set(tap_sides)) == 1
        return
    # every tap downsamples from the one before (by at least the 3/4 that separates stages) ...
    assert all(b < 0.75 * a for a, b in zip(tap_sides, tap_sides[1:])), tap_sides
    # ... and no resolution between the first and the deepest tap goes untapped (no stage skipped)
    inside = [s for s in all_sides if tap_sides[-1] <= s <= tap_sides[0]]
    untapped = [s for s in inside if not any(t <= s < t / 0.75 + 1 for t in tap_sides)]
    assert not untapped, (tap_sides, sorted(set(untapped)))
    assert tap_sides[-1] == min(inside), "the deepest stage is tapped"


@pytest.mark.parametrize("arch", MODELS)
def test_every_model_gives_four_maps_on_64_pixels_or_is_refused_with_the_fix(arch):
    try:
        side = planned_side(arch, 64)
    except ValueError as error:
        assert "input_size=" in str(error), error
        fix = int(re.search(r"input_size=(\d+)", str(error)).group(1))
        assert planned_side(arch, 64, input_size=fix) == fix
        return
    fixed = family_of(arch).fixed_size
    model = _model(arch, side if fixed else None)
    sides = trace_sides(model, arch, list(stage_paths(arch)), size=side)
    assert len(sides) >= 4 and all(s >= 1 for s in sides.values()), sides


def test_esml_rule_spreads_four_labels_over_the_stages():
    assert esml(list("abcd")) == {"E": "a", "S": "b", "M": "c", "L": "d"}
    assert esml(list("abcde")) == {"E": "a", "S": "b", "M": "d", "L": "e"}
    assert list(esml([str(i) for i in range(12)]).values()) == ["0", "4", "7", "11"]
    assert get_architecture("resnet101").layers == {"E": "layer1", "S": "layer2", "M": "layer3", "L": "layer4"}
    assert get_architecture("vgg16").layers["E"] == "features.3"  # the paper's 14 keep Table II
    assert "resnet101" not in PAPER_ARCHITECTURES


@pytest.mark.parametrize("arch", ["vit_b_16", "convnext_tiny", "swin_t"])
def test_transformers_and_convnext_run_on_64_pixels(arch):
    net = lossnet.LossNetwork(arch, layers="stages", weights="random")
    with torch.no_grad():
        out = net(torch.rand(2, 3, 64, 64))
    assert len(out) >= 4 and all(v.ndim == 4 and v.shape[0] == 2 for v in out.values())
    if arch == "vit_b_16":  # resized to the 224 its builder asserts: 14 x 14 patches of 768 channels
        assert {tuple(v.shape[1:]) for v in out.values()} == {(768, 14, 14)}
    else:  # Swin's channels-last outputs are permuted: channels double as the side halves
        assert [tuple(v.shape[1:]) for v in out.values()][:2] in ([(96, 16, 16), (192, 8, 8)],)


def test_vit_tokens_become_maps_without_the_class_token_and_cls_is_a_1x1_map():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)  # class token + 2x2 patches, 3 channels
    grid = as_map("vit_b_16", "encoder.layers.encoder_layer_0", tokens)
    assert grid.shape == (2, 3, 2, 2) and torch.equal(grid[:, :, 0, 1], tokens[:, 2])
    cls = as_map("vit_b_16", "encoder.layers.encoder_layer_0:cls", tokens)
    assert cls.shape == (2, 3, 1, 1) and torch.equal(cls[:, :, 0, 0], tokens[:, 0])
    net = lossnet.LossNetwork("vit_b_32", layers="cls", weights="random", input_size=64)
    out = net(torch.rand(1, 3, 64, 64))
    assert len(out) == 12 and {tuple(v.shape) for v in out.values()} == {(1, 768, 1, 1)}


def test_vit_input_size_interpolates_the_position_embeddings(tmp_path):
    full = lossnet.weights.build_model("vit_b_32", "random", seed=3)
    torch.save(full.state_dict(), tmp_path / "vit.pth")
    net = lossnet.LossNetwork("vit_b_32", layers=["L"], weights=tmp_path / "vit.pth", input_size=64)
    assert net(torch.rand(1, 3, 64, 64))["L"].shape == (1, 768, 2, 2)
    with pytest.raises(ValueError, match="multiple of 32; use 64 or 32"):
        lossnet.LossNetwork("vit_b_32", weights="random", input_size=40)


def test_min_size_is_respected_with_the_fix_in_the_error():
    with pytest.raises(ValueError, match="at least 75 pixels.*input_size=75"):
        lossnet.LossNetwork("inception_v3", layers="stages", weights="random", input_size=64)
    with pytest.raises(ValueError, match="maxvit_t needs inputs of at least 224x224.*input_size=224"):
        planned_side("maxvit_t", 64)
    out = lossnet.LossNetwork("inception_v3", layers="stages", weights="random", input_size=75)(torch.rand(1, 3, 64, 64))
    assert len(out) == 5


def test_unknown_family_and_cls_outside_vits_are_refused_naming_the_fix():
    with pytest.raises(ValueError, match="register_architecture"):
        family_of("newnet_b0")
    with pytest.raises(ValueError, match="'cls'.*ViTs"):
        lossnet.LossNetwork("resnet18", layers="cls", weights="random")


def test_attributes_of_a_vit_stage_by_stage():
    from lossnet.attributes import layer_attributes

    table = layer_attributes("vit_b_32", layers="stages")
    assert len(table) == 12 and (table["channels"] == 768).all()
    assert (table["features_64"] == 768 * 7 * 7).all()  # at 224 whatever is asked: 7 x 7 patches of 32
    assert table["mflops_to_layer"].is_monotonic_increasing and table["mflops_to_layer"].iloc[-1] < 4500
    assert table.loc[0, "gflops"] == 4.409 and table.loc[0, "eval_crop"] == 224 and table.loc[0, "params"] == 88224232


def test_archs_all_lists_every_classifier_with_metadata(capsys):
    from lossnet.cli import main

    assert main(["archs", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert set(rows) == set(MODELS)
    assert rows["resnet50"][1:6] == ["(paper)", "resnet", "76.13", "4.09", "25.6"] and rows["vit_h_14"][2] == "88.55*"
    assert rows["swin_t"][-4:] == ["features.1", "features.3", "features.5", "features.7"]
