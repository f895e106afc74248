"""Calibrated LPIPS on BAPPS-format data: demo 2afc/train -> per-channel cache -> fit -> scored on val."""

import torch

import lossnet
from lossnet.benchmarks.similarity import calibrate as bapps_calibration
from lossnet.benchmarks.similarity.data import prepare
from lossnet.benchmarks.similarity.demo import make_bapps
from lossnet.calibration import Schedule, load_calibration
from lossnet.cli import main


def test_fit_on_demo_train_and_score_on_val(tmp_path):
    subsets = ("traditional", "cnn")
    make_bapps(tmp_path / "bapps", n_2afc=12, seed=1, subsets_2afc=subsets, subsets_jnd=(), part="train")
    make_bapps(tmp_path / "bapps", n_2afc=6, seed=0, subsets_2afc=subsets, subsets_jnd=())
    train = prepare(tmp_path / "bapps", tmp_path / "train.h5", subsets, (), progress=False, part="train")
    val = prepare(tmp_path / "bapps", tmp_path / "val.h5", subsets, (), progress=False)
    kwargs = dict(layers=["E", "S"], seed=0, batch_size=8, device="cpu")
    train_cache = bapps_calibration.cache_per_channel("resnet18", "random", train, tmp_path / "train_pc.h5", **kwargs)
    val_cache = bapps_calibration.cache_per_channel("resnet18", "random", val, tmp_path / "val_pc.h5", **kwargs)
    values, judge, attrs = bapps_calibration.read_per_channel(train_cache)
    assert judge.shape == (24,) and values["d0"]["E"].shape == (24, 64) and attrs["part"] == "train"

    schedule = Schedule(lr=1e-2, batch_size=8, epochs=1, decay_epochs=1)
    fitted = bapps_calibration.calibrate(train_cache, tmp_path / "cal.pt", schedule=schedule, seed=0)
    loaded = load_calibration(tmp_path / "cal.pt", fitted.backbone)
    assert "2afc/train" in loaded.fitted_on and "custom (lr 0.01, batch 8, 1+1 epochs)" in loaded.fitted_on
    assert loaded.layers == ["E", "S"]
    scores = bapps_calibration.score_2afc(loaded, val_cache)
    assert list(scores["subset"]) == ["cnn", "traditional"] and scores["score"].between(0, 1).all()
    table = bapps_calibration.score_calibrated(loaded, val_cache, weights_label="random", seed=0,
                                               output=tmp_path / "lpips_lin.csv")
    headline = table[table.subset == ""].iloc[0]
    assert headline.distance == "lpips_lin" and headline.layer == "all" and headline.metric == "2afc"
    assert abs(headline.value - scores["score"].mean()) < 1e-9  # the mean of the subset means
    assert (tmp_path / "lpips_lin.replicates.csv").is_file()

    # the cached values are what the network gives: the metric through the backbone agrees on val triplets
    import h5py
    with h5py.File(val, "r") as h5:
        ref, p0 = (torch.from_numpy(h5[f"2afc/cnn/{k}"][:]).permute(0, 3, 1, 2).float() / 255 for k in ("ref", "p0"))
    metric = lossnet.LPIPS("resnet18", weights="random", seed=0, calibrated=tmp_path / "cal.pt")
    val_values, _, _ = bapps_calibration.read_per_channel(val_cache, ["cnn"])
    with torch.no_grad():
        torch.testing.assert_close(metric(ref, p0), loaded.distance(val_values["d0"]), rtol=1e-5, atol=1e-7)

    # the CLI: fit from the cache, optionally scoring on a val cache
    assert main(["calibrate", str(train_cache), "-o", str(tmp_path / "cli.pt"), "--val", str(val_cache),
                 "--scores", str(tmp_path / "scores.csv"), "--epochs", "1", "--decay-epochs", "1"]) == 0
    from_cli = load_calibration(tmp_path / "cli.pt")
    assert from_cli.layers == ["E", "S"] and "schedule custom (lr 0.0001, batch 50, 1+1 epochs)" in from_cli.fitted_on
    assert (tmp_path / "scores.csv").read_text().startswith("subset,n,score")


def test_calibration_cache_command_reads_the_train_part(tmp_path):
    make_bapps(tmp_path / "bapps", n_2afc=3, seed=1, subsets_2afc=("cnn",), subsets_jnd=(), part="train")
    output = tmp_path / "train_pc.h5"
    assert main(["calibration-cache", str(tmp_path / "bapps"), "--arch", "alexnet", "--weights", "random",
                 "--device", "cpu", "-o", str(output)]) == 0
    values, judge, attrs = bapps_calibration.read_per_channel(output)
    assert attrs["subsets"] == ["cnn"] and attrs["part"] == "train" and judge.shape == (3,)
    assert attrs["backbone"] == {"arch": "alexnet", "weights": "random(seed=0)"}
    assert [v.shape[1] for v in values["d1"].values()] == [64, 192, 384, 256, 256]  # the lpips taps


def test_our_fit_and_the_lpips_v01_weights_side_by_side(tmp_path):
    """The comparison table: both scored on the same val triplets and taps; other taps are refused."""
    import pytest

    from lossnet.calibration import from_lpips_package

    make_bapps(tmp_path / "bapps", n_2afc=8, seed=1, subsets_2afc=("mix",), subsets_jnd=(), part="train")
    make_bapps(tmp_path / "bapps", n_2afc=5, seed=0, subsets_2afc=("cnn", "color"), subsets_jnd=())
    train = prepare(tmp_path / "bapps", tmp_path / "train.h5", ("mix",), (), progress=False, part="train")
    val = prepare(tmp_path / "bapps", tmp_path / "val.h5", ("cnn", "color"), (), progress=False)
    caches = {part: bapps_calibration.cache_per_channel("alexnet", "random", path, tmp_path / f"{part}_pc.h5",
                                                        layers="lpips", batch_size=8, device="cpu")
              for part, path in (("train", train), ("val", val))}
    table = bapps_calibration.compare_with_lpips_package(caches["train"], caches["val"], schedule="pihlgren",
                                                         output=tmp_path / "v01.csv")
    assert list(table.columns) == ["arch", "subset", "n", "fitted", "lpips_v01", "difference"]
    assert list(table.subset) == ["", "cnn", "color"] and list(table.n) == [10, 5, 5]
    backbone = bapps_calibration.read_per_channel(caches["val"])[2]["backbone"]
    released = bapps_calibration.score_2afc(from_lpips_package("alexnet", backbone), caches["val"])
    assert table.lpips_v01.iloc[1:].tolist() == released.score.tolist()
    assert table.lpips_v01.iloc[0] == pytest.approx(released.score.mean())
    assert table.difference.tolist() == pytest.approx((table.fitted - table.lpips_v01).tolist())
    assert (tmp_path / "v01.csv").is_file()

    study = bapps_calibration.cache_per_channel("alexnet", "random", train, tmp_path / "study.h5", layers=["E", "S"],
                                                batch_size=8, device="cpu")
    with pytest.raises(ValueError, match="cache with layers='lpips'"):
        bapps_calibration.compare_with_lpips_package(study, caches["val"])
