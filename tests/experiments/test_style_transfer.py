"""Style transfer: the Gram term is the direct computation, total variation, the optimisation lowers its loss,
and the experiment writes its grid, table and correlation figure (a stand-in state_dict column and a random one)."""

from __future__ import annotations

import csv

import pytest
import torch

from lossnet.experiments.style_transfer import (channel_correlations, style_term, style_transfer,
                                                total_variation, transfer)
from lossnet.network import LossNetwork
from lossnet.weights import build_model


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_style_term_is_the_mean_over_layers_of_the_gram_mse():
    generator = torch.Generator().manual_seed(0)
    x = {"a": torch.randn(1, 4, 5, 6, generator=generator), "b": torch.randn(1, 3, 2, 2, generator=generator)}
    y = {"a": torch.randn(1, 4, 5, 6, generator=generator), "b": torch.randn(1, 3, 2, 2, generator=generator)}
    direct = []
    for layer in ("a", "b"):
        c, h, w = x[layer].shape[1:]
        fx, fy = x[layer][0].reshape(c, h * w), y[layer][0].reshape(c, h * w)
        gx = [[float(sum(fx[i, k] * fx[j, k] for k in range(h * w))) / (h * w) for j in range(c)] for i in range(c)]
        gy = [[float(sum(fy[i, k] * fy[j, k] for k in range(h * w))) / (h * w) for j in range(c)] for i in range(c)]
        direct.append(sum((gx[i][j] - gy[i][j]) ** 2 for i in range(c) for j in range(c)) / c**2)
    assert float(style_term(x, y, ["a", "b"])) == pytest.approx(sum(direct) / 2, rel=1e-5)
    assert float(style_term(x, x, ["a", "b"])) == 0.0


def test_total_variation_and_correlations():
    x = torch.zeros(1, 3, 4, 4)
    x[..., :, 2:] = 1.0  # one vertical edge: 1 of 3 horizontal neighbour pairs differ, no vertical pair
    assert float(total_variation(x)) == pytest.approx(1 / 3)
    features = torch.randn(1, 5, 7, 7, generator=torch.Generator().manual_seed(1))
    corr = channel_correlations(features)
    assert torch.allclose(corr.diagonal(), torch.ones(5), atol=1e-6) and bool((corr.abs() <= 1 + 1e-6).all())
    torch.testing.assert_close(corr, corr.T)


def test_transfer_lowers_the_loss_and_moves_towards_the_style():
    generator = torch.Generator().manual_seed(0)
    content, style = torch.rand(1, 3, 32, 32, generator=generator), torch.rand(1, 3, 32, 32, generator=generator)
    network = LossNetwork("squeezenet1_1", ["E", "S"], "random", normalize_input=False)
    result = transfer(content, style, network, "S", ["E", "S"], steps=15, lr=0.05, decay_every=5, progress=False)
    assert result.history[-1] < result.history[0]
    assert result.image.shape == (3, 32, 32) and 0 <= float(result.image.min()) and float(result.image.max()) <= 1
    with pytest.raises(ValueError, match="normalize_input=False"):
        transfer(content, style, LossNetwork("squeezenet1_1", ["E"], "random"), "E", ["E"], steps=1)


def test_experiment_writes_grid_table_and_correlations(tmp_path):
    state_dict = tmp_path / "squeezenet1_1.pth"
    torch.save(build_model("squeezenet1_1", "random", seed=7).state_dict(), state_dict)
    networks = [{"arch": "squeezenet1_1", "content": "S", "style": ["E", "S"]}]
    results = style_transfer(networks=networks, weights=["imagenet", "random_zero_mean"], size=32, steps=4,
                             weights_sources={"imagenet": str(tmp_path / "{arch}.pth")}, device="cpu",
                             grid=tmp_path / "grid.png", table=tmp_path / "table.csv",
                             correlations=tmp_path / "corr.png")
    assert list(results) == [("squeezenet1_1", "imagenet *"), ("squeezenet1_1", "random_zero_mean")]
    rows = list(csv.DictReader(open(tmp_path / "table.csv")))
    assert [row["weights"] for row in rows] == ["imagenet *", "random_zero_mean"]
    assert all(float(row["total"]) > 0 for row in rows)
    assert (tmp_path / "grid.png").stat().st_size > 1000 and (tmp_path / "corr.png").stat().st_size > 1000
    # the stand-in and the random network give different results
    assert not torch.equal(results["squeezenet1_1", "imagenet *"].image, results["squeezenet1_1", "random_zero_mean"].image)
