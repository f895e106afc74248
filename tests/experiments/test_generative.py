"""Generative models on the engine: shapes, GLO codes as model parameters with their own learning rate, resume
after a kill to the uninterrupted result, evaluation arrays, the cross-loss matrix and its figures."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from lossnet.experiments import generative
from lossnet.experiments.generative import (GLO, Autoencoder, GenerativeTraining, build_loss, dcgan_channels,
                                            loss_spec, prepare_generative, train_generative)
from lossnet.spec import LossSpec
from lossnet.training import Runtime, TrainingJob

TINY = dict(epochs=3, batch_size=8, z_dim=8, width=4, lr_decay_every=1, lr_decay_factor=0.5)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A prepared STL-10-like file (96 px unlabeled and test splits) turned into 16 px generative data."""
    folder = tmp_path_factory.mktemp("generative")
    rng = np.random.default_rng(0)
    stl = folder / "stl10.h5"
    with h5py.File(stl, "w") as h5:
        h5["unlabeled/images"] = rng.integers(0, 256, (24, 96, 96, 3), dtype=np.uint8)
        h5["test/images"] = rng.integers(0, 256, (6, 96, 96, 3), dtype=np.uint8)
        h5["test/labels"] = np.arange(6) % 2
    return prepare_generative(stl, folder / "data.h5", size=16, n_heldout=4)


def job(prepared, root, **settings):
    return TrainingJob("generative", LossSpec.pixel(), {"train": prepared}, {**TINY, **settings}, 0, root,
                       Runtime(device="cpu", progress=False))


def test_dcgan_channels_are_the_seeds():
    assert dcgan_channels(64) == [512, 256, 128, 64]
    assert dcgan_channels(128) == [512, 512, 256, 128, 64]
    with pytest.raises(ValueError, match="power of two"):
        dcgan_channels(96)


@pytest.mark.parametrize("kind", [Autoencoder, GLO])
def test_models_reconstruct_images_in_unit_range(kind):
    torch.manual_seed(0)
    model = kind(32, 5, z_dim=8, width=4).eval()
    images = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        out = model.reconstruct(torch.arange(5), images)
    assert out.shape == images.shape and 0 <= float(out.min()) and float(out.max()) <= 1


def test_glo_codes_start_small_and_are_parameters():
    torch.manual_seed(0)
    model = GLO(16, 1000, z_dim=8, width=4)
    assert "codes.weight" in model.state_dict()
    assert float(model.codes.weight.std()) == pytest.approx(0.01, rel=0.1)


def test_prepare_reads_unlabeled_for_training_and_test_for_held_out(prepared):
    with h5py.File(prepared) as h5:
        assert h5["train/images"].shape == (24, 16, 16, 3) and h5["heldout/images"].shape == (4, 16, 16, 3)


def test_losses_refuse_the_wrong_network():
    with pytest.raises(ValueError, match="needs a loss network"):
        build_loss("mse", LossSpec.pixel())
    with pytest.raises(ValueError, match="takes no loss network"):
        build_loss("l2", LossSpec.resolve("alexnet", "E", "random"))
    with pytest.raises(ValueError, match="unknown generative loss"):
        build_loss("l3", LossSpec.pixel())
    spec = loss_spec({"loss": "seed_vgg", "weights": "random_zero_mean"})
    assert spec.labels == {"arch": "vgg16", "layer": "seed003", "weights": "random_zero_mean"}
    assert loss_spec({"loss": "mse", "arch": "alexnet", "layer": "E", "weights": "imagenet"}, "random").weights == "random"


class Killed(Exception):
    pass


def test_glo_codes_and_generator_resume_after_a_kill_to_the_same_result(prepared, tmp_path, monkeypatch):
    whole = train_generative(job(prepared, tmp_path / "whole", model="glo"), evaluation={"glo_steps": 3})
    # a run killed in its second epoch (after epoch 1's checkpoint), then run again
    calls = {"n": 0}
    original = generative.ReconstructionLoss.__call__

    def dies_in_epoch_two(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 5:  # 3 steps per epoch: the second step of epoch 2
            raise Killed
        return original(self, model, batch)

    monkeypatch.setattr(generative.ReconstructionLoss, "__call__", dies_in_epoch_two)
    killed = job(prepared, tmp_path / "killed", model="glo")
    with pytest.raises(Killed):
        train_generative(killed)
    last = killed.run_dir(killed.settings_as(GenerativeTraining)) / "last.pt"
    assert torch.load(last, weights_only=True)["epoch"] == 1
    monkeypatch.setattr(generative.ReconstructionLoss, "__call__", original)
    resumed = train_generative(killed, evaluation={"glo_steps": 3})
    for key in whole:
        assert np.array_equal(whole[key], resumed[key]), key
    saved = torch.load(last, weights_only=True)
    reference = torch.load(job(prepared, tmp_path / "whole", model="glo").run_dir(
        killed.settings_as(GenerativeTraining)) / "last.pt", weights_only=True)
    assert saved["epoch"] == 3 and saved["config"]["group_lrs"] == {"codes.": 0.01}
    for key in reference["model"]:  # codes.weight and every generator tensor
        assert torch.equal(saved["model"][key], reference["model"][key]), key
    codes_group = saved["optimizer"]["param_groups"][1]
    assert codes_group["lr"] == pytest.approx(0.01 * 0.5 ** 2) and tuple(codes_group["betas"]) == (0.5, 0.999)


def test_training_lowers_the_loss_and_writes_the_arrays(prepared, tmp_path):
    output = tmp_path / "ae.npz"
    arrays = train_generative(job(prepared, tmp_path, model="autoencoder", epochs=4, lr_decay_every=0), output)
    with np.load(output) as saved:
        assert set(saved) >= {"train_images", "train_recon", "heldout_images", "heldout_recon", "samples"}
        assert saved["heldout_recon"].shape == (4, 3, 16, 16) and saved["samples"].shape == (8, 16, 16, 3)
        assert np.array_equal(arrays["heldout_recon"], saved["heldout_recon"])
    history = torch.load(next(tmp_path.rglob("last.pt")), weights_only=True)["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_cross_loss_matrix_normalises_each_column_by_its_largest(prepared, tmp_path):
    files = {}
    for model in ("autoencoder", "glo"):
        files[model] = tmp_path / f"{model}.npz"
        train_generative(job(prepared, tmp_path / "runs", model=model, epochs=1), files[model], {"glo_steps": 2})
    losses = {"l2": build_loss("l2", LossSpec.pixel())}
    table = generative.cross_loss_matrix(files, losses)
    assert set(table["measure"]) == {"l2", "PSNR", "SSIM"}
    for _, column in table.groupby("measure"):
        assert column["normalized"].abs().max() == pytest.approx(1.0)
    # the l2 column is the mean squared error of the stored arrays
    with np.load(files["glo"]) as arrays:
        expected = np.mean((arrays["heldout_recon"] - arrays["heldout_images"].transpose(0, 3, 1, 2) / 255.0) ** 2)
    got = table.query("model == 'glo' and measure == 'l2'")["value"].item()
    assert got == pytest.approx(expected, rel=1e-5)
    written = generative.render_matrix(table, tmp_path / "matrix.png")
    written += generative.render_reconstructions(files, tmp_path / "grid.png")
    assert all(path.stat().st_size > 1000 for path in written)
