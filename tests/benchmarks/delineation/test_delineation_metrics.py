"""The tolerant skeleton metrics on hand-made maps, and scoring a folder of prediction PNGs."""

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lossnet.benchmarks.delineation.metrics import (
    Counts,
    quality,
    score_predictions,
    skeleton_counts,
    tile_counts,
    write_prediction_scores,
)


def horizontal_road(row: int, size: int = 64, width: int = 1) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[row - width // 2: row + width // 2 + 1, :] = True
    return mask


@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_line_shifted_within_the_slack_is_fully_matched(shift):
    counts = skeleton_counts(horizontal_road(30 + shift), horizontal_road(30), slack=3)
    assert counts == Counts(matched_pred=64, unmatched_pred=0, matched_true=64, unmatched_true=0)
    assert counts.scores() == {"correctness": 1.0, "completeness": 1.0, "quality": 1.0}


@pytest.mark.parametrize("shift", [4, 10])
def test_line_shifted_beyond_the_slack_matches_nothing(shift):
    counts = skeleton_counts(horizontal_road(30 + shift), horizontal_road(30), slack=3)
    assert counts == Counts(0, 64, 0, 64)
    assert counts.scores() == {"correctness": 0.0, "completeness": 0.0, "quality": 0.0}


def test_seven_pixel_roads_are_skeletonised_before_matching():
    # MRD's maps are 7 px wide: unskeletonised, a 2 px shift would leave pixels 5-6 px away from the truth.
    prediction, truth = horizontal_road(32, width=7), horizontal_road(34, width=7)
    scores = skeleton_counts(prediction, truth, slack=3).scores()
    assert scores == {"correctness": 1.0, "completeness": 1.0, "quality": 1.0}


def test_partial_prediction_scores_the_protocol_ratios():
    truth = horizontal_road(20) | horizontal_road(50)  # two roads of 64 px
    prediction = horizontal_road(21) | horizontal_road(5)  # one found, one 15 px off any road
    counts = skeleton_counts(prediction, truth, slack=3)
    assert counts == Counts(matched_pred=64, unmatched_pred=64, matched_true=64, unmatched_true=64)
    scores = counts.scores()
    assert scores["correctness"] == 0.5 and scores["completeness"] == 0.5
    assert scores["quality"] == pytest.approx(1 / (1 / 0.5 + 1 / 0.5 - 1))  # 1/3


def test_empty_prediction_has_no_correctness_and_zero_completeness_and_quality():
    scores = skeleton_counts(np.zeros((64, 64), bool), horizontal_road(30)).scores()
    assert math.isnan(scores["correctness"])
    assert scores["completeness"] == 0.0 and scores["quality"] == 0.0


def test_empty_truth_has_no_completeness_and_zero_correctness_and_quality():
    scores = skeleton_counts(horizontal_road(30), np.zeros((64, 64), bool)).scores()
    assert math.isnan(scores["completeness"])
    assert scores["correctness"] == 0.0 and scores["quality"] == 0.0


def test_both_empty_is_undefined():
    scores = skeleton_counts(np.zeros((8, 8), bool), np.zeros((8, 8), bool)).scores()
    assert all(math.isnan(value) for value in scores.values())


def test_quality_edge_cases():
    assert quality(0.0, math.nan) == 0.0 and quality(math.nan, 0.0) == 0.0
    assert math.isnan(quality(math.nan, 1.0))
    assert quality(1.0, 1.0) == 1.0


def test_pooled_counts_are_summed_before_the_ratios():
    tiles = [Counts(9, 1, 9, 1), Counts(0, 30, 1, 0)]
    pooled = sum(tiles, Counts())
    assert pooled == Counts(9, 31, 10, 1)
    assert pooled.scores()["correctness"] == pytest.approx(9 / 40)  # the mean of the tiles' would be 0.45
    assert pooled.scores()["completeness"] == pytest.approx(10 / 11)  # and (0.9 + 1) / 2 = 0.95


def test_threshold_is_strict_and_truth_is_any_nonzero_pixel():
    probability = horizontal_road(30).astype(np.float32) * 0.3  # exactly at the threshold: not a road
    assert tile_counts(probability, horizontal_road(30).astype(np.uint8) * 255, 0.3) == Counts(0, 0, 0, 64)
    assert tile_counts(probability + 1e-3, horizontal_road(30).astype(np.uint8), 0.3) == Counts(64, 0, 64, 0)


def _save_png(path, probability):
    Image.fromarray((probability * 255).round().astype(np.uint8), mode="L").save(path)


def _save_map(path, mask):
    Image.fromarray(mask.astype(np.uint8) * 255).save(path)


def test_score_predictions_matches_by_stem_and_writes_the_csv(tmp_path):
    pred_dir, truth_dir = tmp_path / "pred", tmp_path / "truth"
    pred_dir.mkdir(), truth_dir.mkdir()
    _save_png(pred_dir / "a_15.png", horizontal_road(31) * 0.8)
    _save_map(truth_dir / "a_15.tif", horizontal_road(30, width=7))
    _save_png(pred_dir / "b_15.png", np.zeros((64, 64)))
    _save_map(truth_dir / "b_15.tif", horizontal_road(30, width=7))
    table = write_prediction_scores(pred_dir, truth_dir, tmp_path / "out" / "scores.csv", threshold=0.3, slack=3)
    written = pd.read_csv(tmp_path / "out" / "scores.csv")
    assert list(written.columns) == ["image", "correctness", "completeness", "quality"]
    assert list(written["image"]) == ["a_15", "b_15"]
    assert written.iloc[0, 1:].tolist() == [1.0, 1.0, 1.0]
    assert math.isnan(written.loc[1, "correctness"]) and written.loc[1, "quality"] == 0.0
    pd.testing.assert_frame_equal(table, written)
    assert not list((tmp_path / "out").glob("*.partial"))


def test_missing_partner_is_named(tmp_path):
    pred_dir, truth_dir = tmp_path / "pred", tmp_path / "truth"
    pred_dir.mkdir(), truth_dir.mkdir()
    _save_png(pred_dir / "a.png", np.zeros((8, 8)))
    _save_png(pred_dir / "b.png", np.zeros((8, 8)))
    _save_map(truth_dir / "a.tif", np.zeros((8, 8), bool))
    with pytest.raises(FileNotFoundError, match=r"truth.b\.tif.*pred.b\.png"):
        score_predictions(pred_dir, truth_dir)
    _save_map(truth_dir / "b.tif", np.zeros((8, 8), bool))
    _save_map(truth_dir / "c.tif", np.zeros((8, 8), bool))
    with pytest.raises(FileNotFoundError, match=r"pred.c\.png.*truth.c\.tif"):
        score_predictions(pred_dir, truth_dir)


def test_prediction_must_be_8_bit_greyscale(tmp_path):
    pred_dir, truth_dir = tmp_path / "pred", tmp_path / "truth"
    pred_dir.mkdir(), truth_dir.mkdir()
    Image.new("RGB", (8, 8)).save(pred_dir / "a.png")
    _save_map(truth_dir / "a.tif", np.zeros((8, 8), bool))
    with pytest.raises(ValueError, match=r"a\.png is a RGB image.*8-bit greyscale"):
        score_predictions(pred_dir, truth_dir)


def test_cli_delineation_metrics(tmp_path, capsys):
    from lossnet.cli import main

    pred_dir, truth_dir = tmp_path / "pred", tmp_path / "truth"
    pred_dir.mkdir(), truth_dir.mkdir()
    _save_png(pred_dir / "t.png", horizontal_road(40) * 0.5)
    _save_map(truth_dir / "t.tif", horizontal_road(30, width=7) | horizontal_road(40, width=7))
    output = tmp_path / "scores.csv"
    args = ["delineation-metrics", str(pred_dir), str(truth_dir), "--threshold", "0.3", "--slack", "3"]
    assert main([*args, "--output", str(output)]) == 0
    assert pd.read_csv(output).iloc[0].tolist() == ["t", 1.0, 0.5, 0.5]
    assert capsys.readouterr().out == ""  # with -o only the file (and one line on stderr)
    assert main(args) == 0
    assert "completeness" in capsys.readouterr().out  # without -o: the CSV on stdout
    (truth_dir / "t.tif").rename(truth_dir / "u.tif")
    assert main([*args, "--output", str(output)]) == 1
    assert "no truth map" in capsys.readouterr().err


def test_two_truth_maps_of_one_stem_are_named(tmp_path):
    # Issue 20 item 3: t1.tif and t1.tiff: one was used silently (the empty one, scoring 0).
    pred_dir, truth_dir = tmp_path / "pred", tmp_path / "truth"
    pred_dir.mkdir(), truth_dir.mkdir()
    _save_png(pred_dir / "t1.png", horizontal_road(40) * 0.5)
    _save_map(truth_dir / "t1.tif", horizontal_road(40))
    _save_map(truth_dir / "t1.tiff", np.zeros((64, 64), bool))
    with pytest.raises(ValueError, match=r"two truth map files of the stem 't1': .*t1\.tif and .*t1\.tiff"):
        score_predictions(pred_dir, truth_dir)


def test_threshold_and_slack_are_checked_by_the_library_too(tmp_path):
    with pytest.raises(ValueError, match=r"--threshold 2"):
        score_predictions(tmp_path, tmp_path, threshold=2)
    with pytest.raises(ValueError, match=r"--slack nan"):
        score_predictions(tmp_path, tmp_path, slack=float("nan"))
