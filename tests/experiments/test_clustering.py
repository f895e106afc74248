"""Perceptual clustering: metrics of a planted labelling are perfect, the embeddings' squared distances are the
distances they stand for, k-means finds planted clusters, and the experiment writes its table and figure."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from lossnet.distances import MMDPlusPlus, lpips
from lossnet.experiments.clustering import (cluster, cluster_scores, embed, kmeans_runs, load_labelled,
                                            majority_mapping, random_runs)
from lossnet.network import LossNetwork


def test_a_planted_labelling_scores_perfectly_under_any_cluster_names():
    labels = np.repeat(np.arange(4), 5)
    renamed = (labels + 1) % 4 * 10  # the same partition, other cluster ids
    assert cluster_scores(labels, renamed) == {"nmi": 1.0, "ari": 1.0, "f1": 1.0}
    assert np.array_equal(majority_mapping(labels, renamed), labels)


def test_a_merged_clustering_scores_less():
    labels = np.repeat(np.arange(4), 5)
    scores = cluster_scores(labels, labels // 2)  # pairs of classes merged
    assert scores["nmi"] < 1 and scores["ari"] < 1 and scores["f1"] < 1
    chance = random_runs(labels, n_seeds=5)
    assert np.mean([run["ari"] for run in chance]) < 0.2


def test_kmeans_finds_well_separated_blobs():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 10)
    features = rng.normal(size=(30, 5)) * 0.1 + labels[:, None] * 5.0
    runs = kmeans_runs(features, labels, n_seeds=3)
    assert all(run == {"nmi": 1.0, "ari": 1.0, "f1": 1.0} for run in runs)


def test_embeddings_squared_distances_are_the_distances():
    images = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    network = LossNetwork("squeezenet1_1", ["S"], "random")
    e = embed(images, "network", network=network, layer="S")
    with torch.no_grad():
        z = network(x)["S"]
    assert float(((e[0] - e[1]) ** 2).sum()) == pytest.approx(float(lpips(z[:1], z[1:])), rel=1e-4)
    mmd = MMDPlusPlus(0)
    e = embed(images, "mmd", mmd=mmd)
    with torch.no_grad():
        expected = float(mmd.mmd_term(x[:1], x[1:]))
    assert float(((e[0] - e[1]) ** 2).sum()) == pytest.approx(expected, rel=1e-4)


@pytest.fixture
def class_folder(tmp_path):
    """Two classes that differ in colour and texture, three images each."""
    rng = np.random.default_rng(0)
    for label, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        (tmp_path / f"person_{label}").mkdir()
        for i in range(3):
            image = np.clip(np.array(colour) + rng.normal(0, 20, (40, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(tmp_path / f"person_{label}" / f"{i}.png")
    return tmp_path


def test_folder_and_prepared_file_load_with_labels(class_folder, tmp_path):
    images, labels = load_labelled(class_folder, size=16, max_per_class=2)
    assert images.shape == (4, 16, 16, 3) and labels.tolist() == [0, 0, 1, 1]
    prepared = tmp_path / "stl10.h5"
    with h5py.File(prepared, "w") as h5:
        h5["test/images"] = np.zeros((6, 96, 96, 3), np.uint8)
        h5["test/labels"] = np.array([3, 5, 3, 5, 3, 5])
    images, labels = load_labelled(prepared, size=32, max_per_class=2)
    assert images.shape == (4, 32, 32, 3) and labels.tolist() == [0, 1, 0, 1]


def test_experiment_beats_chance_and_writes_table_and_figure(class_folder, tmp_path):
    table = cluster(class_folder, networks=[{"arch": "squeezenet1_1", "layers": ["E"]}], weights=["random"],
                    size=32, n_seeds=3, device="cpu", table=tmp_path / "c.csv", figure=tmp_path / "c.png")
    assert set(table["space"]) == {"random labels", "pixels", "mmd", "network"}
    pixels = table.query("space == 'pixels' and metric == 'nmi'")["mean"].item()
    assert pixels == pytest.approx(1.0)
    assert (tmp_path / "c.csv").exists() and (tmp_path / "c.png").stat().st_size > 1000
