"""Benchmark 4: the protocol's autoencoder, embeddings, MLP probes and the scores they write."""

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from lossnet.benchmarks.autoencoding.model import (
    Autoencoder,
    ImageSplit,
    decoder_grid,
    train_autoencoder,
    write_embeddings,
)
from lossnet.benchmarks.autoencoding.probes import PROBE_HIDDEN, make_probe, probe_name, probe_scores
from lossnet.benchmarks.autoencoding.data import prepare_stl10
from lossnet.benchmarks.autoencoding.demo import make_demo_stl10
from lossnet.benchmarks.scores import SCORE_COLUMNS, read_scores
from lossnet.training import Runtime, TrainingJob


def ae_job(prepared, checkpoints, **options):
    return TrainingJob.create("autoencoding", prepared, checkpoints, runtime=Runtime(device="cpu", progress=False),
                              **options)


@pytest.mark.parametrize("size, grid", [(64, 1), (96, 3)])
def test_autoencoder_reconstructs_exactly_size_by_size(size, grid):
    model = Autoencoder(size, embedding_size=64).eval()
    images = torch.rand(2, 3, size, size)
    assert decoder_grid(size) == grid
    assert model.encode(images).shape == (2, 64)
    output = model(images)
    assert output.shape == (2, 3, size, size) and 0 <= output.min() and output.max() <= 1


def test_decoder_rejects_sizes_it_cannot_produce():
    with pytest.raises(ValueError, match="70"):
        Autoencoder(70)


def test_probes_are_the_protocols_seven():
    assert [probe_name(hidden) for hidden in PROBE_HIDDEN] == ["linear", "32", "64", "32-32", "64-32", "64-64", "128-128"]
    probe = make_probe(64, (64, 32))
    assert [m.out_features for m in probe if isinstance(m, torch.nn.Linear)] == [64, 32, 10]
    assert sum(isinstance(m, torch.nn.LeakyReLU) for m in probe) == 2


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stl10")
    folder = make_demo_stl10(root, n_train=100, n_test=100, n_unlabeled=64, seed=0)
    return prepare_stl10(folder, root / "stl10.h5", progress=False)


def test_pixel_autoencoder_embeddings_let_probes_beat_chance(prepared, tmp_path):
    torch.set_num_threads(1)
    model, _ = train_autoencoder(ae_job(prepared, tmp_path / "checkpoints", epochs=1, batch_size=32))
    assert len(list((tmp_path / "checkpoints").glob("autoencoding/none/pixel/-/run-*/last.pt"))) == 1
    embeddings = write_embeddings(model, prepared, tmp_path / "embeddings.h5",
                                  {"arch": "pixel", "layer": "-", "weights": "-", "seed": 0}, device="cpu")
    with h5py.File(embeddings) as h5:
        assert h5["train/embeddings"].shape == (100, 64) and h5["test/labels"].shape == (100,)
        assert h5.attrs["dataset"] == "stl10"
    scores = probe_scores(embeddings, tmp_path / "scores.csv", epochs=30, batch_size=32, seed=0, device="cpu")
    assert scores.loc[0, "value"] > 0.25  # ten classes: chance is 0.1 (this run: 0.40)
    assert scores.loc[0, "probe"] in [probe_name(hidden) for hidden in PROBE_HIDDEN]

    table = read_scores([tmp_path / "scores.csv"])  # the schema every benchmark writes
    assert list(table.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    row = table.iloc[0]
    assert (row.benchmark, row.metric, row.arch, row.layer, row.weights) == ("autoencoding", "stl10", "pixel", "-", "-")
    assert row.higher_is_better is True or row.higher_is_better == np.True_
    assert {"probe", "val_accuracy", "seed"} <= set(table.columns)

    # Rerunning the job resumes from the finished checkpoint instead of training again.
    again, _ = train_autoencoder(ae_job(prepared, tmp_path / "checkpoints", epochs=1, batch_size=32))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_probe_selection_and_split_are_seeded(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    centres = rng.normal(0, 5, (10, 8))
    with h5py.File(tmp_path / "e.h5", "w") as h5:
        for split in ("train", "test"):
            h5[f"{split}/embeddings"] = (centres[labels] + rng.normal(0, 1, (200, 8))).astype(np.float32)
            h5[f"{split}/labels"] = labels
        h5.attrs.update({"dataset": "svhn", "arch": "vgg16", "layer": "M", "weights": "imagenet"})
    settings = dict(hidden=[(), (16,)], epochs=60, batch_size=64, seed=3, device="cpu")
    first, second = probe_scores(tmp_path / "e.h5", **settings), probe_scores(tmp_path / "e.h5", **settings)
    pd.testing.assert_frame_equal(first, second)
    assert first.loc[0, "metric"] == "svhn" and first.loc[0, "value"] > 0.8 and first.loc[0, "seed"] == 3


def test_image_split_reads_uint8_channels_first(prepared):
    data = ImageSplit(prepared, "train", limit=5, in_memory=False)
    assert len(data) == 5 and data[4].shape == (3, 96, 96) and data[4].dtype == torch.uint8
    assert torch.equal(data[4], ImageSplit(prepared, "train")[4])


def test_fewer_epochs_through_the_benchmark_are_refused(prepared, tmp_path):
    torch.set_num_threads(1)
    train_autoencoder(ae_job(prepared, tmp_path, epochs=2, batch_size=8, max_images=8))
    with pytest.raises(ValueError, match="more than the 1 asked for"):
        train_autoencoder(ae_job(prepared, tmp_path, epochs=1, batch_size=8, max_images=8))


def test_decoder_linear_is_followed_by_a_relu():
    decoder = Autoencoder(64).decoder
    assert isinstance(decoder[0], torch.nn.Linear) and isinstance(decoder[1], torch.nn.ReLU)


def _toy_embeddings(path: Path) -> Path:
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        for split in ("train", "test"):
            labels = rng.integers(0, 10, 150)
            h5[f"{split}/embeddings"] = (labels[:, None] + rng.normal(0, 2, (150, 8))).astype(np.float32)
            h5[f"{split}/labels"] = labels
        h5.attrs.update({"dataset": "svhn", "arch": "vgg16", "layer": "M", "weights": "imagenet"})
    return path


def test_every_probe_is_recorded_with_the_winners_interval_and_replicates(tmp_path):
    from lossnet.benchmarks.scores import read_replicates, replicates_path

    embeddings = _toy_embeddings(tmp_path / "e.h5")
    scores = probe_scores(embeddings, tmp_path / "svhn.csv", epochs=8, batch_size=32, seed=0, device="cpu")
    headline, probes = scores.iloc[0], scores.iloc[1:]
    assert headline.subset == "" and list(probes.probe) == [probe_name(h) for h in PROBE_HIDDEN]
    assert list(probes.subset) == [f"probe {probe_name(h)}" for h in PROBE_HIDDEN]
    winner = probes.loc[probes.val_accuracy.idxmax()]
    assert (headline.probe, headline.value, headline.val_accuracy) == (winner.probe, winner.value,
                                                                        winner.val_accuracy)
    assert probes.epoch.between(1, 8).all() and headline.n == 150
    assert headline.ci_low <= headline.value <= headline.ci_high and headline.ci_low < headline.ci_high
    replicates = read_replicates([replicates_path(tmp_path / "svhn.csv")])
    assert len(replicates) == 1 and replicates.iloc[0]["r0":].mean() == pytest.approx(headline.value, abs=0.02)


def test_probe_loss_and_epoch_are_knobs(tmp_path):
    from lossnet.benchmarks.autoencoding.probes import train_probes

    embeddings = _toy_embeddings(tmp_path / "e.h5")
    settings = dict(hidden=[()], epochs=6, batch_size=32, seed=0, device="cpu")
    best = train_probes(embeddings, **settings)
    last = train_probes(embeddings, keep="last", **settings)
    entropy = train_probes(embeddings, loss="cross_entropy", keep="last", **settings)
    assert last.epoch.item() == 6 and 1 <= best.epoch.item() <= 6
    assert best.val_accuracy.item() >= last.val_accuracy.item()  # the best epoch is kept
    assert not entropy.equals(last)
    with pytest.raises(ValueError, match="probe loss"):
        train_probes(embeddings, loss="hinge", **settings)
