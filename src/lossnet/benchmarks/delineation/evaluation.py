"""Evaluation of a trained delineation network on the full-resolution test tiles (protocol section 5).

By default each tile is predicted by overlapping ``window`` x ``window`` windows every ``stride`` px (the last
flush with the edge), each refined K times, and blended: every window's prediction is weighted by a tent that is
highest at its centre, so seams fall where a neighbouring window is confident. ``resize=True`` reproduces the
original code instead: tile and map resized to 224 x 224 (bilinear; the map thresholded at half) and scored there.

Scores (scores schema, benchmark ``delineation``): the headline correctness, completeness and quality from the
skeleton counts pooled over the tiles (empty ``subset``), and per tile (``subset`` = tile id) as breakdown rows;
every row carries its counts, the threshold, the slack and the evaluation mode.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ..._util import progress_bar, resolve_device
from ...stats import interval, resample_indices
from ..scores import INTERVAL_COLUMNS, score_table, write_scores
from .metrics import DEFAULT_SLACK, DEFAULT_THRESHOLD, METRICS, Counts, tile_counts
from .model import IterativeUNet
from ...training import TrainingJob
from .train import CROP, DelineationTraining, Tiles, train_delineation, window_starts

log = logging.getLogger(__name__)
BENCHMARK = "delineation"
COUNTS = ("matched_pred", "unmatched_pred", "matched_true", "unmatched_true")

def tent(size: int) -> torch.Tensor:
    """(size, size) blending weights: the product of two triangles peaking at the centre, positive everywhere."""
    ramp = torch.minimum(torch.arange(1, size + 1), torch.arange(size, 0, -1)).float()
    return torch.outer(ramp, ramp) / ramp.max() ** 2


@torch.no_grad()
def predict_tile(model: IterativeUNet, image: np.ndarray, window: int = CROP, stride: int = CROP // 2,
                 batch_size: int = 16, device: str | torch.device = "auto") -> np.ndarray:
    """Road probability (H, W) float32 of a uint8 (H, W, 3) tile from blended overlapping windows."""
    height, width = image.shape[:2]
    if height < window or width < window:
        raise ValueError(f"a {width}x{height} tile is smaller than the {window} px prediction window")
    dev = resolve_device(device)
    model = model.to(dev).eval()
    pixels = torch.from_numpy(np.ascontiguousarray(image)).to(dev).permute(2, 0, 1).float().div_(255)
    weight = tent(window).to(dev)
    total, norm = torch.zeros(height, width, device=dev), torch.zeros(height, width, device=dev)
    positions = [(top, left) for top in window_starts(height, window, stride)
                 for left in window_starts(width, window, stride)]
    for start in range(0, len(positions), batch_size):
        batch = positions[start:start + batch_size]
        crops = torch.stack([pixels[:, t:t + window, l:l + window] for t, l in batch])
        for (top, left), prediction in zip(batch, model.predict(crops)[:, 0]):
            total[top:top + window, left:left + window] += prediction.float() * weight
            norm[top:top + window, left:left + window] += weight
    return (total / norm).cpu().numpy()


def _resized(array: np.ndarray, size: int) -> np.ndarray:
    return np.array(Image.fromarray(array).resize((size, size), Image.BILINEAR))


@torch.no_grad()
def predict_resized(model: IterativeUNet, image: np.ndarray, size: int = CROP,
                    device: str | torch.device = "auto") -> np.ndarray:
    """Road probability (size, size) of the whole tile resized to ``size`` (the original code's evaluation)."""
    dev = resolve_device(device)
    pixels = torch.from_numpy(_resized(image, size)).to(dev).permute(2, 0, 1).float().div_(255)
    return model.to(dev).eval().predict(pixels[None])[0, 0].float().cpu().numpy()


def evaluate_split(model: IterativeUNet, prepared: str | os.PathLike, split: str = "test", *,
                   threshold: float = DEFAULT_THRESHOLD, slack: float = DEFAULT_SLACK, resize: bool = False,
                   window: int = CROP, stride: int = CROP // 2, batch_size: int = 16,
                   device: str | torch.device = "auto", progress: bool = True) -> list[tuple[str, Counts]]:
    """``(tile id, skeleton counts)`` of every tile of ``split``."""
    tiles = Tiles(prepared, split, in_memory=False)
    counts = []
    for index, name in enumerate(progress_bar(tiles.names, desc=f"evaluate {split}", disable=not progress)):
        image, truth = tiles.crop(index)
        if resize:
            probability, truth = predict_resized(model, image, window, device), _resized(truth * 255, window) > 127
        else:
            probability = predict_tile(model, image, window, stride, batch_size, device)
        counts.append((name, tile_counts(probability, truth, threshold, slack)))
    return counts


def pooled_replicates(per_tile: list[tuple[str, Counts]]) -> dict[str, np.ndarray]:
    """Bootstrap replicates of the headline metrics: the test tiles resampled (the same resamples for every loss
    network), the counts pooled over each resample, then the ratios."""
    counts = np.array([[getattr(c, name) for name in COUNTS] for _, c in per_tile], dtype=np.float64).reshape(-1, 4)
    summed = counts[resample_indices(len(counts), f"{BENCHMARK}/test")].sum(axis=1)  # (resamples, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        correctness = summed[:, 0] / (summed[:, 0] + summed[:, 1])
        completeness = summed[:, 2] / (summed[:, 2] + summed[:, 3])
        quality = np.where((correctness == 0) | (completeness == 0), 0.0,
                           1 / (1 / correctness + 1 / completeness - 1))
    return {"correctness": correctness, "completeness": completeness, "quality": quality}


def score_rows(per_tile: list[tuple[str, Counts]], **columns: Any) -> pd.DataFrame:
    """Headline rows from the pooled counts (with a bootstrap interval over the tiles), then per-tile breakdown
    rows; ``columns`` are set on every row."""
    pooled = sum((counts for _, counts in per_tile), Counts())
    replicates = pooled_replicates(per_tile)
    rows = []
    for subset, counts in [("", pooled), *per_tile]:
        values = counts.scores()
        for metric in METRICS:
            low, high = interval(replicates[metric]) if subset == "" else (np.nan, np.nan)
            rows.append({"metric": metric, "value": values[metric], "subset": subset, **counts.as_dict(),
                         "ci_low": float(low), "ci_high": float(high)})
    identity = {"arch", "layer", "weights"}
    extras = ["subset", *COUNTS, *INTERVAL_COLUMNS, *(column for column in columns if column not in identity)]
    return score_table(rows, extras=extras, benchmark=BENCHMARK, **columns)


def evaluate_scores(model: IterativeUNet, prepared: str | os.PathLike, output: str | os.PathLike | None = None, *,
                    arch: str, layer: str, weights: str, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
                    slack: float = DEFAULT_SLACK, resize: bool = False, **predict: Any) -> pd.DataFrame:
    """Score ``model`` on the test tiles; write the rows to ``output`` (temporary name, then renamed) if given."""
    per_tile = evaluate_split(model, prepared, "test", threshold=threshold, slack=slack, resize=resize, **predict)
    scores = score_rows(per_tile, arch=arch, layer=layer, weights=weights, threshold=threshold, slack=slack,
                        evaluation="resize" if resize else "windows", seed=seed)
    headline = scores[scores["subset"] == ""]
    log.info("test scores of %s/%s/%s: %s", weights, arch, layer, dict(zip(headline["metric"], headline["value"])))
    if output is not None:
        replicates = pooled_replicates(per_tile)
        write_scores(scores, output, [replicates[metric] for metric in headline["metric"]], scores["subset"] == "")
    return scores


def train_and_score(job: TrainingJob, output: str | os.PathLike, evaluation: dict[str, Any]) -> pd.DataFrame:
    """One workflow job: train (or resume) the U-Net of ``job`` (:func:`.train.train_delineation`), score it on the
    test tiles of the same prepared file into ``output``, then let the engine drop the checkpoints if asked.

    ``evaluation`` (config ``delineation.evaluation``): threshold, slack, resize, stride; the prediction window is
    the training ``crop``, the batch size the runtime's ``eval_batch_size``.
    """
    model, result = train_delineation(job)
    settings = job.settings_as(DelineationTraining)
    scores = evaluate_scores(model, job.data["train"], output, **job.spec.labels, seed=job.seed,
                             window=settings.crop, device=job.runtime.device,
                             batch_size=job.runtime.eval_batch_size, **evaluation)
    job.finish(result)
    return scores
