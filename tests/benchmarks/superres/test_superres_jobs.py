"""The workflow's jobs: a pixel-reference training job, the bicubic reference and the example-outputs figure."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from lossnet.benchmarks.superres import evaluate as ev
from lossnet.benchmarks.superres import jobs
from lossnet.training import Runtime, TrainingJob


def _outputs(root, name):
    return {"scores": root / f"{name}.csv", "per_image": root / f"{name}-images.csv", "example": root / f"{name}.png"}


def test_jobs_and_examples_figure(prepared, tmp_path):
    test_sets = [prepared[name] for name in ev.TEST_SETS]
    quiet = {"device": "cpu", "progress": False}
    pixel = jobs.train_and_evaluate(
        TrainingJob.create("superres", prepared["coco"], tmp_path / "checkpoints", scale=4, epochs=1, batch_size=4,
                           runtime=Runtime(**quiet, keep_checkpoints=False)), test_sets, _outputs(tmp_path, "pixel"))
    assert not list((tmp_path / "checkpoints").glob("**/*.pt"))
    alexnet = jobs.train_and_evaluate(
        TrainingJob.create("superres", prepared["coco"], tmp_path / "ck", arch="alexnet", layer="E", weights="random",
                           scale=4, epochs=1, batch_size=4, runtime=Runtime(**quiet)),
        test_sets, _outputs(tmp_path, "alexnet"))
    assert list((tmp_path / "ck").glob("superres/random/alexnet/E/run-*/best.pt"))
    bicubic = jobs.evaluate_bicubic(test_sets, _outputs(tmp_path, "bicubic"), scale=4)
    for rows, arch in ((pixel, "pixel"), (alexnet, "alexnet"), (bicubic, "bicubic")):
        assert len(rows) == 6 and set(rows["arch"]) == {arch}
        assert pd.read_csv(tmp_path / f"{arch}.csv").equals(rows.reset_index(drop=True))
    assert set(pixel["weights"]) == {"none"} and set(pixel["layer"]) == {"-"}
    _, labels = ev.read_example(tmp_path / "alexnet.png")
    assert labels == {"arch": "alexnet", "layer": "E", "weights": "random", "scale": "4", "dataset": "set5",
                      "image": "img_001_SRF_4_HR"}
    scores = [tmp_path / f"{name}.csv" for name in ("pixel", "alexnet", "bicubic")]
    assert jobs.best_network(pd.concat(map(pd.read_csv, scores)), 4) == ("random", "alexnet", "E")
    figure = jobs.examples_figure(scores, [tmp_path / f"{n}.png" for n in ("pixel", "alexnet", "bicubic")],
                                  prepared["set5"], tmp_path / "examples.png", side=32)
    assert Image.open(figure).size[0] > 100
