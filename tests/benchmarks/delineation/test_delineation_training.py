"""Training resumes after a SIGKILL to the same scores; evaluation by blended windows; the scores rows."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lossnet.benchmarks.delineation.evaluation import (evaluate_scores, evaluate_split, predict_tile, score_rows,
                                                        tent)
from lossnet.benchmarks.delineation.metrics import Counts
from lossnet.benchmarks.delineation.train import train_delineation, window_starts
from lossnet.training import Runtime, TrainingJob
from mrd_fixtures import mrd_root, one_thread, prepared  # noqa: F401 (fixtures)

HERE = Path(__file__).parent


# Tiny settings: widths (4, 8, 8, 8), 64 px crops, 3 epochs of 4 crops in batches of 2 (2 steps), validation on
# 9 windows of the valid tile (1 loss call), evaluation by 64 px windows every 32 px.
def train_and_score(prepared, checkpoints, output):
    job = TrainingJob.create("delineation", prepared, checkpoints, arch="alexnet", layer="S", weights="random",
                             epochs=3, batch_size=2, crops_per_epoch=4, crop=64, val_stride=128, widths=(4, 8, 8, 8),
                             seed=3, runtime=Runtime(device="cpu", progress=False, in_memory=True))
    model, _ = train_delineation(job)
    evaluate_scores(model, prepared, output, arch="alexnet", layer="S", weights="random", seed=3, window=64,
                    stride=32, device="cpu", progress=False)


RUN = textwrap.dedent("""
    import logging, os, signal, sys
    import torch
    from lossnet.benchmarks.delineation import train
    from test_delineation_training import train_and_score

    prepared, checkpoints, output, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    calls, loss_call = 0, train.DelineationLoss.__call__

    def counted(self, model, batch):  # SIGKILL this process at the kill_at-th loss call (0: never)
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return loss_call(self, model, batch)

    train.DelineationLoss.__call__ = counted
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)  # the reduction order of the reference run in the test process (one_thread)
    train_and_score(prepared, checkpoints, output)
""")


def _run(prepared, checkpoints, output, kill_at=0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", RUN, str(prepared), str(checkpoints), str(output), str(kill_at)],
                          capture_output=True, text=True, timeout=600, env=env, check=False)


def test_sigkill_mid_training_resumes_to_the_same_scores(prepared, tmp_path):
    train_and_score(prepared, tmp_path / "whole", tmp_path / "whole.csv")  # uninterrupted, in this process
    # Epoch 1 makes 2 training + 1 validation loss calls (9 windows, one evaluation batch); the 5th is epoch 2's
    # second step.
    killed = _run(prepared, tmp_path / "killed", tmp_path / "killed.csv", kill_at=5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (run_dir,) = (tmp_path / "killed").glob("delineation/random/alexnet/S/run-*")
    assert torch.load(run_dir / "last.pt", weights_only=True)["epoch"] == 1
    assert not (tmp_path / "killed.csv").exists()
    resumed = _run(prepared, tmp_path / "killed", tmp_path / "killed.csv")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "after epoch 1" in resumed.stderr

    expected, actual = pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(tmp_path / "killed.csv")
    pd.testing.assert_frame_equal(actual, expected)
    best = [torch.load(d / "best.pt", weights_only=True) for d in [*(tmp_path / "whole").glob("**/run-*"), run_dir]]
    assert all(torch.equal(best[0][k], best[1][k]) for k in best[0])
    # The scores file: headline rows (pooled) and a breakdown row per test tile for each metric.
    assert list(expected.columns[:7]) == ["benchmark", "metric", "arch", "layer", "weights", "value",
                                          "higher_is_better"]
    assert (expected["benchmark"] == "delineation").all() and expected["higher_is_better"].all()
    assert expected["subset"].isna().sum() == 3 and expected["subset"].nunique() == 2
    assert set(expected["metric"]) == {"correctness", "completeness", "quality"}


def test_window_starts_cover_the_tile_with_the_last_flush():
    assert window_starts(224, 224, 112) == [0]
    assert window_starts(256, 224, 112) == [0, 32]
    assert window_starts(1500, 224, 112)[-2:] == [1232, 1276]
    assert window_starts(1500, 224, 224) == [0, 224, 448, 672, 896, 1120, 1276]


class RedChannel(nn.Module):
    """A stand-in model whose prediction is the image's red channel: blending must give it back exactly."""

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, :1]


def test_blended_windows_reproduce_a_consistent_prediction_everywhere():
    image = np.random.default_rng(0).integers(0, 256, (150, 170, 3), dtype=np.uint8)
    probability = predict_tile(RedChannel(), image, window=64, stride=40, batch_size=5, device="cpu")
    np.testing.assert_allclose(probability, image[..., 0] / 255.0, atol=1e-6)
    assert tent(4).tolist()[0] == pytest.approx([1 / 4, 2 / 4, 2 / 4, 1 / 4])


class Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return torch.full_like(images[:, :1], self.value)


def test_resize_evaluates_at_224_like_the_original(prepared):
    full = evaluate_split(Constant(0.0), prepared, window=64, stride=64, device="cpu", progress=False)
    small = evaluate_split(Constant(0.0), prepared, resize=True, window=64, device="cpu", progress=False)
    assert [name for name, _ in full] == [name for name, _ in small]
    for (_, at_full), (_, at_64) in zip(full, small):  # nothing predicted: every true skeleton pixel is missed
        assert at_full.matched_pred == at_64.matched_pred == 0
        assert 0 < at_64.unmatched_true < at_full.unmatched_true  # the skeleton of a 4x smaller map is shorter


def test_score_rows_headline_from_pooled_counts_and_breakdowns_per_tile():
    rows = score_rows([("a", Counts(9, 1, 9, 1)), ("b", Counts(0, 30, 1, 0))], arch="vgg16", layer="M",
                      weights="imagenet", threshold=0.3, slack=3.0, evaluation="windows", seed=0)
    assert len(rows) == 9
    headline = rows[rows["subset"] == ""].set_index("metric")["value"]
    assert headline["correctness"] == pytest.approx(9 / 40) and headline["completeness"] == pytest.approx(10 / 11)
    tile_b = rows[rows["subset"] == "b"].set_index("metric")
    assert tile_b.loc["correctness", "value"] == 0 and tile_b.loc["completeness", "value"] == 1
    assert tile_b.loc["quality", "unmatched_pred"] == 30
    assert (rows[["benchmark", "arch", "layer", "weights"]].drop_duplicates().values.tolist()
            == [["delineation", "vgg16", "M", "imagenet"]])
