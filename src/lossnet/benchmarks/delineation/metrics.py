"""Tolerant skeleton metrics of road delineation (protocol section 5; EPFL ``metrics_delin``'s corr_comp_qual).

Prediction = probability > threshold, truth = map > 0; both are skeletonised. A skeleton pixel is *matched* when
its Euclidean distance to the other skeleton is at most ``slack`` pixels. Correctness is the matched fraction of
the predicted skeleton, completeness the matched fraction of the true skeleton (NaN when a skeleton is empty),
quality = 1 / (1/correctness + 1/completeness - 1), 0 when either is 0 (so an empty prediction of a tile with
roads scores 0), NaN when the other is NaN.

:func:`score_predictions` scores a folder of a user's own predictions (8-bit greyscale PNGs, probability =
value / 255) against a folder of MRD ``.tif`` maps, matched by file stem (``lossnet delineation-metrics``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import distance_transform_edt
from skimage.morphology import skeletonize

from ..._util import atomic_output
from ...images import by_stem, decode_image, images_in

METRICS = ("correctness", "completeness", "quality")
DEFAULT_THRESHOLD = 0.3
DEFAULT_SLACK = 3.0
TRUTH_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class Counts:
    """Skeleton pixel counts of one tile, or summed over tiles (the headline pools them before the ratios)."""

    matched_pred: int = 0  # TP_g: predicted skeleton pixels within the slack of the true skeleton
    unmatched_pred: int = 0  # FP
    matched_true: int = 0  # TP_p: true skeleton pixels within the slack of the predicted skeleton
    unmatched_true: int = 0  # FN

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def scores(self) -> dict[str, float]:
        """``{correctness, completeness, quality}`` of these counts."""
        correctness = _ratio(self.matched_pred, self.matched_pred + self.unmatched_pred)
        completeness = _ratio(self.matched_true, self.matched_true + self.unmatched_true)
        return {"correctness": correctness, "completeness": completeness,
                "quality": quality(correctness, completeness)}


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def quality(correctness: float, completeness: float) -> float:
    """1 / (1/correctness + 1/completeness - 1); 0 when either is 0, else NaN when either is NaN.

    So an empty prediction of a tile with roads scores 0 (its completeness is 0), not NaN.
    """
    if correctness == 0 or completeness == 0:
        return 0.0
    if math.isnan(correctness) or math.isnan(completeness):
        return math.nan
    return 1.0 / (1.0 / correctness + 1.0 / completeness - 1.0)


def _matched(points: np.ndarray, reference: np.ndarray, slack: float) -> int:
    """How many True pixels of ``points`` lie within ``slack`` (Euclidean) of a True pixel of ``reference``."""
    if not reference.any():
        return 0
    distance = distance_transform_edt(~reference)
    return int(np.count_nonzero(distance[points] <= slack))


def skeleton_counts(prediction: np.ndarray, truth: np.ndarray, slack: float = DEFAULT_SLACK) -> Counts:
    """Counts of two binary masks of the same shape (True = road), after skeletonising both."""
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction shape {prediction.shape} differs from truth shape {truth.shape}")
    predicted = skeletonize(np.asarray(prediction, bool))
    true = skeletonize(np.asarray(truth, bool))
    matched_pred, matched_true = _matched(predicted, true, slack), _matched(true, predicted, slack)
    return Counts(matched_pred, int(predicted.sum()) - matched_pred, matched_true, int(true.sum()) - matched_true)


def tile_counts(probability: np.ndarray, truth: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                slack: float = DEFAULT_SLACK) -> Counts:
    """Counts of a probability map (thresholded: > ``threshold``) against a road map (road: > 0)."""
    return skeleton_counts(np.asarray(probability) > threshold, np.asarray(truth) > 0, slack)


def read_probability_png(path: Path) -> np.ndarray:
    """A prediction PNG as float probabilities (value / 255); it must be greyscale (8-bit, or 16-bit read as 8)."""
    rgb, grey = decode_image(Path(path))
    if not grey:
        raise ValueError(f"{path} is a RGB image: predictions must be 8-bit greyscale PNGs (mode L, probability "
                         "= value / 255; 16-bit greyscale is read as 8-bit)")
    return rgb[..., 0].astype(np.float32) / 255.0


def _pairs(pred_dir: Path, truth_dir: Path) -> list[tuple[str, Path, Path]]:
    """(stem, prediction PNG, truth map) matched by stem; a file without its partner, or two files of one stem
    (``t1.tif`` and ``t1.tiff``), is an error."""
    for folder in (pred_dir, truth_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder")
    predictions = by_stem(images_in(pred_dir, (".png",)), "prediction")
    truths = by_stem(images_in(truth_dir, TRUTH_SUFFIXES), "truth map")
    if not predictions:
        raise FileNotFoundError(f"no .png predictions in {pred_dir}")
    lonely = sorted(set(predictions) - set(truths))
    if lonely:
        raise FileNotFoundError(f"no truth map {truth_dir / lonely[0]}.tif for the prediction "
                                f"{predictions[lonely[0]]} ({len(lonely)} prediction(s) without a map)")
    unscored = sorted(set(truths) - set(predictions))
    if unscored:
        raise FileNotFoundError(f"no prediction {pred_dir / unscored[0]}.png for the truth map "
                                f"{truths[unscored[0]]} ({len(unscored)} map(s) without a prediction)")
    return [(stem, predictions[stem], truths[stem]) for stem in sorted(predictions)]


def check_parameters(threshold: float, slack: float) -> None:
    """A threshold is a probability in [0, 1); the slack a finite distance in pixels, not negative."""
    if not 0 <= threshold < 1:
        raise ValueError(f"--threshold {threshold}: a probability in [0, 1) (road where probability > threshold)")
    if not (math.isfinite(slack) and slack >= 0):
        raise ValueError(f"--slack {slack}: a finite number of pixels, 0 or more")


def score_predictions(pred_dir: str | os.PathLike, truth_dir: str | os.PathLike,
                      threshold: float = DEFAULT_THRESHOLD, slack: float = DEFAULT_SLACK) -> pd.DataFrame:
    """One row per tile: ``image, correctness, completeness, quality`` (NaN where undefined)."""
    from .data import read_map

    check_parameters(threshold, slack)
    rows = []
    for stem, prediction_path, truth_path in _pairs(Path(pred_dir), Path(truth_dir)):
        probability, truth = read_probability_png(prediction_path), read_map(truth_path)
        if probability.shape != truth.shape:
            raise ValueError(f"{prediction_path} is {probability.shape[1]}x{probability.shape[0]} but its truth "
                             f"{truth_path} is {truth.shape[1]}x{truth.shape[0]}")
        rows.append({"image": stem, **tile_counts(probability, truth, threshold, slack).scores()})
    return pd.DataFrame(rows, columns=["image", *METRICS])


def write_prediction_scores(pred_dir: str | os.PathLike, truth_dir: str | os.PathLike, output: str | os.PathLike,
                            threshold: float = DEFAULT_THRESHOLD, slack: float = DEFAULT_SLACK) -> pd.DataFrame:
    """:func:`score_predictions` written to the CSV ``output`` (temporary name, then renamed)."""
    table = score_predictions(pred_dir, truth_dir, threshold, slack)
    with atomic_output(output) as partial:
        table.to_csv(partial, index=False)
    return table
