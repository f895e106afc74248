"""Calibrated LPIPS ("lin") for any loss network: fitting on cached per-channel values, saving, applying."""

import pytest
import torch

import lossnet
from lossnet.calibration import (SCHEDULES, Calibration, Schedule, backbone_identity, calibrated_distance,
                                 fit_calibration, from_lpips_package, load_calibration, per_channel,
                                 save_calibration)
from lossnet.metric import LPIPS_NETS
from lossnet.weights import build_model

FAST = Schedule(lr=1e-2, batch_size=64, epochs=20, decay_epochs=10)


def _images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ref = torch.rand(n, 3, 64, 64, generator=generator)
    return ref, (ref + 0.2 * torch.randn(n, 3, 64, 64, generator=generator)).clamp(0, 1), \
        (ref + 0.1 * torch.rand(1) * torch.randn(n, 3, 64, 64, generator=generator)).clamp(0, 1)


def _planted(n: int = 600, channels: tuple[int, ...] = (8, 6), seed: int = 0):
    """Per-channel values and judgements from a known non-negative weighting (half the channels weigh 0)."""
    generator = torch.Generator().manual_seed(seed)
    layers = [f"layer{i}" for i in range(len(channels))]
    truth = {layer: torch.where(torch.arange(c) % 2 == 0, torch.rand(c, generator=generator) + 0.5,
                                torch.zeros(c)) for layer, c in zip(layers, channels)}
    values = {pair: {layer: torch.rand(n, c, generator=generator) for layer, c in zip(layers, channels)}
              for pair in ("d0", "d1")}
    d0, d1 = calibrated_distance(values["d0"], truth), calibrated_distance(values["d1"], truth)
    judgements = torch.sigmoid(8 * (d0 - d1))  # p1 preferred when it is closer
    return values, judgements, layers, truth


def test_planted_weighting_is_recovered():
    values, judgements, layers, truth = _planted()
    fitted = fit_calibration(values, judgements, layers, schedule=FAST, seed=0)
    weights = dict(zip(fitted.layers, fitted.weights))
    assert all(bool((w >= 0).all()) for w in fitted.weights)
    assert fitted.history[-1] < fitted.history[0]
    test, test_judgements, _, _ = _planted(n=400, seed=1)
    predicted = calibrated_distance(test["d0"], weights) - calibrated_distance(test["d1"], weights)
    true = calibrated_distance(test["d0"], truth) - calibrated_distance(test["d1"], truth)
    agreement = ((predicted > 0) == (true > 0)).float().mean()
    assert agreement > 0.9
    assert torch.corrcoef(torch.stack([predicted, true]))[0, 1] > 0.9
    for layer in layers:  # support: the planted zero channels weigh far less than the planted positive ones
        on, off = weights[layer][0::2], weights[layer][1::2]
        assert off.max() < 0.5 * on.min()


def test_fit_is_seeded_and_leaves_the_global_rng_alone():
    values, judgements, layers, _ = _planted(n=120)
    schedule = Schedule(lr=1e-2, batch_size=50, epochs=2, decay_epochs=1)
    state = torch.random.get_rng_state()
    a = fit_calibration(values, judgements, layers, schedule=schedule, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = fit_calibration(values, judgements, layers, schedule=schedule, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.weights, b.weights))


def test_schedules_follow_the_lpips_training_loop():
    lrs = SCHEDULES["lpips"].learning_rates()
    assert len(lrs) == 10 and lrs[:6] == [1e-4] * 6
    torch.testing.assert_close(torch.tensor(lrs[6:]), torch.tensor([0.8e-4, 0.6e-4, 0.4e-4, 0.2e-4]))
    assert SCHEDULES["pihlgren"].lr == 1e-3 and SCHEDULES["pihlgren"].batch_size == 256


def test_cached_fit_applied_through_the_network_gives_the_same_distances(tmp_path):
    arch = "resnet18"
    network = lossnet.LossNetwork(arch, ["E", "S", "M"], "random", seed=0)
    ref, p0, p1 = _images(24, seed=0)
    with torch.no_grad():
        f_ref, f0, f1 = network(ref), network(p0), network(p1)
    cached = {"d0": per_channel(f_ref, f0), "d1": per_channel(f_ref, f1)}
    judgements = torch.rand(24, generator=torch.Generator().manual_seed(0))
    schedule = Schedule(lr=1e-2, batch_size=8, epochs=2, decay_epochs=1)
    fitted = fit_calibration(cached, judgements, list(network.layers), schedule=schedule, seed=0,
                             backbone=backbone_identity(arch, "random", 0), fitted_on="test triplets")
    path = save_calibration(fitted, tmp_path / "calibration.pt")
    record = torch.load(path, weights_only=True)
    assert set(record) == {"format", "layers", "weights", "backbone", "fitted_on"}
    metric = lossnet.LPIPS(arch, weights="random", seed=0, calibrated=path)
    assert metric.label == "lpips_lin" and list(metric.network.layers) == ["E", "S", "M"]
    with torch.no_grad():
        through_network = metric(ref, p0)
    torch.testing.assert_close(through_network, fitted.distance(cached["d0"]), rtol=1e-5, atol=1e-7)


def test_a_calibration_refuses_another_backbone(tmp_path):
    calibration = Calibration(["E"], [torch.ones(64)], backbone_identity("resnet18", "random", 0), "test")
    path = save_calibration(calibration, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="fitted on resnet18 with weights random\\(seed=0\\), not resnet18 with "
                                         "weights random\\(seed=1\\)"):
        lossnet.LPIPS("resnet18", weights="random", seed=1, calibrated=path)
    with pytest.raises(ValueError, match="fitted on resnet18"):
        load_calibration(path, backbone_identity("resnet50", "random", 0))
    with pytest.raises(ValueError, match="fitted on layers"):
        lossnet.LPIPS("resnet18", layers=["S"], weights="random", seed=0, calibrated=path)
    assert backbone_identity("resnet18", "random_kaiming", 2)["weights"] == "random_kaiming(seed=2)"
    assert backbone_identity("resnet18", "imagenet", 2)["weights"] == "imagenet"
    (tmp_path / "bad.pt").write_bytes(b"not a file")
    with pytest.raises(ValueError, match="cannot read calibration file"):
        load_calibration(tmp_path / "bad.pt")


def test_lpips_v01_alex_weights_reproduce_the_lpips_package(tmp_path):
    lpips_package = pytest.importorskip("lpips")
    reference = lpips_package.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    state_dict = build_model("alexnet", "random", seed=1).state_dict()
    for name, value in reference.net.state_dict().items():  # lpips' random alexnet into torchvision's
        state_dict[f"features.{name.split('.', 1)[1]}"] = value
    backbone_path = tmp_path / "alexnet.pth"
    torch.save(state_dict, backbone_path)
    calibration = from_lpips_package("alexnet", backbone=backbone_identity("alexnet", backbone_path))
    assert all(bool((w >= 0).all()) for w in calibration.weights)  # the released v0.1 weights are non-negative
    path = save_calibration(calibration, tmp_path / "alex_v01.pt")
    metric = lossnet.LPIPS("alexnet", weights=backbone_path, calibrated=path)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 3, 64, 64, generator=generator), torch.rand(3, 3, 64, 64, generator=generator)
    with torch.no_grad():
        expected = reference(x, y, normalize=True).flatten()
        network = metric.network
        cached = per_channel(network(x), network(y))
        torch.testing.assert_close(metric(x, y), expected, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(calibration.distance(cached), expected, rtol=1e-5, atol=1e-7)
    assert LPIPS_NETS["alexnet"] in calibration.fitted_on


def test_clear_errors():
    values, judgements, layers, _ = _planted(n=10)
    with pytest.raises(ValueError, match="unknown schedule"):
        fit_calibration(values, judgements, layers, schedule="adam")
    with pytest.raises(ValueError, match="has no layer"):
        fit_calibration(values, judgements, ["nope"])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        fit_calibration(values, judgements * 3, layers)


def test_every_schedule_is_offered_by_the_cli_and_the_config():
    """The CLI names its choices without importing torch; they, the config schema and SCHEDULES agree."""
    import yaml

    from lossnet.cli import parser as build_parser

    parser = build_parser()
    action = next(a for a in parser._subparsers._group_actions[0].choices["calibrate"]._actions
                  if "--schedule" in a.option_strings)
    assert action.choices == list(SCHEDULES)
    schema = yaml.safe_load(open("schemas/config.schema.yaml"))
    calibration = schema["properties"]["similarity"]["properties"]["calibration"]["properties"]
    assert calibration["schedule"]["enum"] == list(SCHEDULES)
