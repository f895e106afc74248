"""Seed 003's 2AFC table on a small prepared BAPPS file: every row, intervals, the pooled column, reported values."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from lossnet.benchmarks.similarity.scoring import score_2afc
from lossnet.distances import pixel_distance
from lossnet.experiments.seed003 import (REPORTED, SEED_COLUMN, Row, compute_table, image_distances,
                                         render_table_figure, row_distances, run, table_rows)

SIZE = 24


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A prepared-format BAPPS file: 2AFC cnn/traditional/color and JND cnn, 8 samples each, p1 nearer the ref."""
    path = tmp_path_factory.mktemp("bapps") / "val.h5"
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        for split, subsets in (("2afc", ("traditional", "cnn", "color")), ("jnd", ("cnn",))):
            for subset in subsets:
                ref = rng.integers(0, 256, (8, SIZE, SIZE, 3)).astype(np.float64)
                group = h5.create_group(f"{split}/{subset}")
                near = np.clip(ref + rng.normal(0, 20, ref.shape), 0, 255).astype(np.uint8)
                far = np.clip(ref + rng.normal(0, 90, ref.shape), 0, 255).astype(np.uint8)
                if split == "2afc":
                    group["ref"], group["p0"], group["p1"] = ref.astype(np.uint8), far, near
                    group["judge"] = rng.uniform(0.6, 1.0, 8).astype(np.float32)
                else:
                    group["p0"], group["p1"] = ref.astype(np.uint8), np.where(np.arange(8)[:, None, None, None] < 4,
                                                                             near, far)
                    group["same"] = np.r_[np.full(4, 0.9), np.full(4, 0.1)].astype(np.float32)
    return path


def test_rows_cover_the_issue_and_the_reported_numbers():
    rows = table_rows()
    labels = [row.label for row in rows]
    assert len(labels) == len(set(labels))
    for needed in ("L1", "L2", "1 - SSIM", "patch-RBF (p 11, sigma 0.02)", "MMD++ [-1, 1], local sigma 0.06",
                   "MMD++ [-1, 1], local sigma 0.1", "MMD++ [0, 1], local sigma 0.06", "MMD++ [0, 1], local sigma 0.1",
                   "AlexNet imagenet: conv1 (pre-ReLU)", "AlexNet random: conv1 + conv2 (pre-ReLU)"):
        assert needed in labels
    for weights in ("imagenet", "random", "random_zero_mean"):
        for part in ("seed VGG loss", "conv1_2 (pre-ReLU)", "conv5_3 (pre-ReLU)", "lpips", "gram (seed layers)"):
            assert any(label.startswith(f"VGG16 {weights}: {part}") for label in labels), (weights, part)
    reported = {row.label: row.reported for row in rows if row.reported_as}
    assert reported["L1"] == 0.68 and reported["L2"] == 0.67 and reported["MMD++ [-1, 1], local sigma 0.06"] == 0.74
    assert reported["VGG16 imagenet: seed VGG loss"] == 0.72
    assert reported["VGG16 random_kaiming: seed VGG loss"] == 0.689
    assert reported["VGG16 random_zero_mean: seed VGG loss"] == pytest.approx(0.731)
    assert {row.reported_as for row in rows if row.reported_as} <= set(REPORTED)


def test_table_scores_every_row_with_intervals(prepared, tmp_path):
    rows = [row for row in table_rows(vgg_weights=("random_zero_mean",), alexnet_weights=("random",))]
    table = run(prepared, tmp_path / "seed003_2afc.csv", tmp_path / "seed003_2afc.png", rows=rows, batch_size=5,
                device="cpu", resamples=50, progress=False, weights_sources={"imagenet": "random"})
    assert list(table["label"]) == [row.label for row in rows]
    for column in (SEED_COLUMN, "2afc", "2afc_cnn", "2afc_traditional", "2afc_color", "jnd", "jnd_cnn"):
        values, low, high = (table[c].to_numpy(float) for c in (column, f"{column}_low", f"{column}_high"))
        assert np.all(np.isfinite(values)) and np.all(low <= values + 1e-12) and np.all(values <= high + 1e-12)
    # p1 is the nearer image and people prefer it: every sensible distance agrees with them more often than not
    l2 = table.set_index("label").loc["L2"]
    assert l2[SEED_COLUMN] > 0.6
    assert (tmp_path / "seed003_2afc.csv").stat().st_size > 0
    assert (tmp_path / "seed003_2afc.pdf").read_bytes().startswith(b"%PDF")
    assert table.set_index("label").loc["L1", "reported"] == 0.68


def test_pooled_column_is_the_mean_over_the_pooled_triplets(prepared):
    row = Row("L2", "l2")
    table = compute_table(prepared, rows=[row], device="cpu", resamples=20, progress=False)
    distances = image_distances(prepared, pixel_distance("l2"), 64, torch.device("cpu"))
    with h5py.File(prepared, "r") as h5:
        d0 = np.concatenate([distances["2afc", s, "d0"] for s in ("cnn", "traditional")])
        d1 = np.concatenate([distances["2afc", s, "d1"] for s in ("cnn", "traditional")])
        judge = np.concatenate([h5[f"2afc/{s}/judge"][:] for s in ("cnn", "traditional")])
    assert table.loc[0, SEED_COLUMN] == pytest.approx(score_2afc(d0, d1, judge))


def test_network_rows_share_passes_and_average_seeds(prepared):
    rows = [row for row in table_rows(vgg_weights=("random_zero_mean",), alexnet_weights=())
            if "conv1_2" in row.label or "seed VGG loss" in row.label and "redrawn" not in row.label]
    kwargs = dict(device="cpu", progress=False, batch_size=8)
    seed0, seed1 = row_distances(prepared, rows, seed=0, **kwargs), row_distances(prepared, rows, seed=1, **kwargs)
    both = row_distances(prepared, rows, seed=0, n_seeds=2, **kwargs)
    for row in rows:
        key = ("2afc", "cnn", "d0")
        assert not np.allclose(seed0[row.label][key], seed1[row.label][key])
        np.testing.assert_allclose(both[row.label][key], (seed0[row.label][key] + seed1[row.label][key]) / 2)
    table = compute_table(prepared, rows=rows, n_seeds=2, resamples=10, **kwargs)
    assert list(table["n_seeds"]) == [2, 2]


def test_figure_needs_the_column(prepared, tmp_path):
    table = compute_table(prepared, rows=[Row("L1", "l1")], device="cpu", resamples=10, progress=False)
    with pytest.raises(ValueError, match="no column"):
        render_table_figure(table, tmp_path / "f.png", column="2afc_nope")
