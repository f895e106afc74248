"""The workflow's jobs of benchmark 2, one call each (the Snakemake scripts only unpack their arguments).

* :func:`train_and_evaluate`: train (or resume) the network of one (weights, arch, layer, scale) or the pixel
  reference, then score it on the whole test images: headline scores, per-image values, one example output.
* :func:`evaluate_bicubic`: the same outputs for the bicubic reference (no training).
* :func:`examples_figure`: the report's example outputs, pixel and the best loss network beside LR/bicubic/HR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ...training import TrainingJob
from ..scores import REFERENCE_LAYER, REFERENCE_WEIGHTS
from .data import read_test_set
from .evaluate import Upscaler, bicubic_upscaler, evaluate, network_upscaler, read_example, save_example
from .figure import example_figure


def test_set_paths(paths: Iterable[str | Path]) -> dict[str, Path]:
    """``{set name: prepared file}``, the name being the file's stem (``data/prepared/superres/set5.h5``)."""
    return {Path(path).stem: Path(path) for path in paths}


def _score(upscale: Upscaler, test_sets: Sequence[str | Path], scale: int, outputs: Mapping[str, str | Path],
           labels: Mapping[str, str], seed: int) -> pd.DataFrame:
    sets = test_set_paths(test_sets)
    rows = evaluate(upscale, sets, scale, scores=Path(outputs["scores"]), per_image=Path(outputs["per_image"]),
                    seed=seed, progress=False, **labels)
    save_example(upscale, next(iter(sets.values())), scale, Path(outputs["example"]), labels)
    return rows


def train_and_evaluate(job: TrainingJob, test_sets: Sequence[str | Path],
                       outputs: Mapping[str, str | Path]) -> pd.DataFrame:
    """One training job (:func:`.train.train_superres`), then its network scored on the whole test images.

    ``outputs``: ``scores``, ``per_image`` (CSV paths) and ``example`` (a PNG path).
    """
    from .train import SuperresTraining, train_superres

    model, result = train_superres(job)
    scale = job.settings_as(SuperresTraining).scale
    rows = _score(network_upscaler(model, job.runtime.device), test_sets, scale, outputs, job.spec.labels, job.seed)
    job.finish(result)
    return rows


def evaluate_bicubic(test_sets: Sequence[str | Path], outputs: Mapping[str, str | Path], *, scale: int,
                     seed: int = 0) -> pd.DataFrame:
    """The bicubic reference rows (arch ``bicubic``, weights ``none``) with the same outputs as a training job."""
    labels = {"arch": "bicubic", "layer": REFERENCE_LAYER, "weights": REFERENCE_WEIGHTS}
    return _score(bicubic_upscaler(scale), test_sets, scale, outputs, labels, seed)


def best_network(scores: pd.DataFrame, scale: int) -> tuple[str, str, str] | None:
    """``(weights, arch, layer)`` of the loss network with the best mean PSNR over the test sets at ``scale``."""
    psnr = scores[scores["metric"].str.startswith("psnr_") & (scores["scale"] == scale)
                  & (scores["weights"] != REFERENCE_WEIGHTS)]
    if psnr.empty:
        return None
    return psnr.groupby(["weights", "arch", "layer"])["value"].mean().idxmax()


def examples_figure(scores: Sequence[str | Path], examples: Sequence[str | Path], test_set: str | Path,
                    output: str | Path, side: int = 96) -> Path:
    """Per scale: LR, bicubic, pixel, the best loss network (by mean PSNR over the sets) and HR crops of the example
    image; ``examples`` are the jobs' example PNGs (:func:`.evaluate.save_example`), matched by their labels."""
    table = pd.concat([pd.read_csv(path, keep_default_na=False) for path in scores], ignore_index=True)
    found = {}
    for path in examples:
        image, labels = read_example(Path(path))
        found[labels["weights"], labels["arch"], labels["layer"], int(labels["scale"])] = image
    hr = next(iter(read_test_set(Path(test_set)).values()))
    rows = {}
    for scale in sorted(int(s) for s in table["scale"].unique()):
        wanted = {"pixel": (REFERENCE_WEIGHTS, "pixel", REFERENCE_LAYER)}
        best = best_network(table, scale)
        if best:
            wanted[f"{best[1]} {best[2]} ({best[0]})"] = best
        rows[f"x{scale}"] = (hr, scale, {title: found[(*key, scale)] for title, key in wanted.items()
                                         if (*key, scale) in found})
    return example_figure(rows, Path(output), side)
