"""What the library's modules do with every kind of image tensor: the right value or a clear error, never NaN."""

import warnings

import pytest
import torch

import lossnet


@pytest.fixture(scope="module")
def metric():
    return lossnet.LPIPS("alexnet", weights="random", calibrated=False)


@pytest.fixture(scope="module")
def images():
    generator = torch.Generator().manual_seed(0)
    x, y = (torch.rand(2, 3, 48, 48, generator=generator) for _ in range(2))
    return (x * 255).round() / 255, (y * 255).round() / 255  # exactly representable as uint8


def test_uint8_images_are_8_bit_images_not_nan(metric, images):
    x, y = images
    expected = metric(x, y)
    as_uint8 = metric((x * 255).to(torch.uint8), (y * 255).to(torch.uint8))
    assert torch.isfinite(as_uint8).all() and torch.allclose(as_uint8, expected, atol=1e-5)
    loss = lossnet.PerceptualLoss("alexnet", "E", weights="random")
    assert torch.allclose(loss(x, (y * 255).to(torch.uint8)), loss(x, y), atol=1e-6)
    network = lossnet.LossNetwork("alexnet", ["E"], weights="random")
    assert torch.allclose(network((x * 255).to(torch.uint8))["E"], network(x)["E"], atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_cast_to_the_modules_dtype(metric, images, dtype):
    x, y = images
    value = metric(x.to(dtype), y.to(dtype))
    assert value.dtype == torch.float32
    assert torch.allclose(value, metric(x, y), rtol=0.05)
    loss = lossnet.PerceptualLoss("alexnet", "E", weights="random")
    assert torch.allclose(loss(x.to(dtype), y.to(dtype)), loss(x, y), rtol=0.05)


def test_other_integer_tensors_are_refused_with_the_fix(metric, images):
    x, y = images
    with pytest.raises(ValueError, match=r"int64 tensor: convert it"):
        metric(x.long(), y.long())
    with pytest.raises(ValueError, match=r"bool tensor"):
        lossnet.PerceptualLoss("alexnet", "E", weights="random")(x, y > 0.5)


def test_too_small_an_input_says_the_minimum_size(metric):
    tiny = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"at least 31x31 pixels, got 8x8"):
        metric(tiny, tiny)
    assert lossnet.network.minimum_input_size("alexnet", ["features.11"]) == 31
    metric(torch.rand(1, 3, 31, 31), torch.rand(1, 3, 31, 31))  # the minimum itself works


def test_perceptual_loss_has_lpips_value_range_and_warning(images):
    x, y = images
    loss = lossnet.PerceptualLoss("alexnet", "E", weights="random", value_range=(0, 255))
    assert torch.allclose(loss(x * 255, y * 255), lossnet.PerceptualLoss("alexnet", "E", weights="random")(x, y))
    with pytest.warns(UserWarning, match=r"PerceptualLoss inputs span .* value_range=\(0, 255\)"):
        lossnet.PerceptualLoss("alexnet", "E", weights="random")(x * 255, y * 255)
    with pytest.raises(ValueError, match="low < high"):
        lossnet.PerceptualLoss("pixel", value_range=(1, 0))


def test_range_check_reads_values_once_and_never_under_compile(images):
    x, y = images
    metric = lossnet.LPIPS("alexnet", weights="random", calibrated=False)
    compiled = torch.compile(metric, fullgraph=True, backend="eager")  # a data-dependent branch would fail here
    assert torch.allclose(compiled(x, y), metric(x, y), atol=1e-6)
    calls = []
    import lossnet.metric as metric_module

    original = metric_module.warn_if_out_of_range
    metric_module.warn_if_out_of_range = lambda *args: calls.append(args) or original(*args)
    try:
        fresh = lossnet.LPIPS("alexnet", weights="random", calibrated=False)
        for _ in range(3):
            fresh(x, y)
    finally:
        metric_module.warn_if_out_of_range = original
    assert len(calls) == 2  # x and y of the first call only: no GPU sync on every call


def test_non_spatial_layers_are_refused_when_the_network_is_built():
    with pytest.raises(ValueError, match=r"classifier.6.* not spatial feature maps.*features.11"):
        lossnet.LossNetwork("alexnet", ["classifier.6"], weights="random")
    assert "fc" not in lossnet.network.spatial_layers("resnet18")
    assert {"layer4", "avgpool"} <= lossnet.network.spatial_layers("resnet18")


def test_calibrated_weights_on_another_backbone_are_labelled_and_warned():
    with pytest.warns(UserWarning, match="not the LPIPS metric"):
        metric = lossnet.LPIPS("alexnet", weights="random")
    assert metric.calibrated and metric.label == "lpips-channel-weighted"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lossnet.LPIPS("alexnet", weights="random", calibrated=False).label == "lpips"
    from lossnet.metric import label

    assert label(True, "imagenet") == "lpips-calibrated"
