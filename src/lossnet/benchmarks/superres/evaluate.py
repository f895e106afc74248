"""Benchmark 2 evaluation (protocol section 4): whole test images, Y-channel PSNR/SSIM, 12 headline scores.

Each HR test image is cropped to a multiple of the scale, degraded (:func:`.degradation.degrade`) and upscaled by
the trained network (or bicubically: the ``bicubic`` reference); the output is clamped and quantised to 8 bits,
as a saved image would be, and scored against the HR crop with ``scale`` border pixels shaved. Per-image values
are kept; the headline score of a (test set, scale) is their mean, ``psnr_<set>_x<scale>`` / ``ssim_<set>_x<scale>``.
"""

from __future__ import annotations

from .. import SUPERRES_TEST_SETS

from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from torch import nn

from ..._util import atomic_output, progress_bar, resolve_device, write_csv
from ...stats import bootstrap_mean, interval
from ..scores import INTERVAL_COLUMNS, score_table, write_scores
from .data import SuperresDataError, check_size, read_test_set, test_images
from .degradation import bicubic_upscale, crop_to_scale, degrade
from .metrics import psnr_y, ssim_y, to_uint8

BENCHMARK = "superres"
METRICS = ("psnr", "ssim")
TEST_SETS = tuple(SUPERRES_TEST_SETS)
Upscaler = Callable[[np.ndarray], np.ndarray]


def metric_name(metric: str, dataset: str, scale: int) -> str:
    """``psnr``, ``set5``, 4 -> ``psnr_set5_x4`` (the names of the published scores, ``lossnet.analysis.published``)."""
    return f"{metric}_{dataset}_x{scale}"


def network_upscaler(model: nn.Module, device: str = "auto") -> Upscaler:
    """An :data:`Upscaler` running ``model`` on one whole LR image (uint8 in, clamped/quantised uint8 out)."""
    dev = resolve_device(device)
    model = model.to(dev).eval()

    @torch.no_grad()
    def upscale(lr: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1)[None].to(dev).float().div_(255)
        return to_uint8(model(x))[0]

    return upscale


def bicubic_upscaler(scale: int) -> Upscaler:
    return lambda lr: bicubic_upscale(lr, scale)


def evaluate_images(upscale: Upscaler, test_sets: Mapping[str, Path], scale: int,
                    progress: bool = True) -> pd.DataFrame:
    """Per-image rows ``dataset, image, scale, height, width, psnr, ssim`` over the prepared test sets."""
    rows = []
    for dataset, path in test_sets.items():
        for name, image in progress_bar(read_test_set(path).items(), desc=f"{dataset} x{scale}", disable=not progress):
            hr = crop_to_scale(image, scale)
            sr = upscale(degrade(hr, scale))
            rows.append({"dataset": dataset, "image": name, "scale": scale, "height": hr.shape[0],
                         "width": hr.shape[1], "psnr": psnr_y(sr, hr, scale), "ssim": ssim_y(sr, hr, scale)})
    return pd.DataFrame(rows)


def image_replicates(per_image: pd.DataFrame) -> dict[str, np.ndarray]:
    """Bootstrap replicates of each headline metric: the mean over a set's test images resampled (the same
    resamples for every loss network, so that rankings can be repeated on them)."""
    return {metric_name(metric, dataset, int(scale)): bootstrap_mean(group[metric].to_numpy(), f"{BENCHMARK}/{dataset}")
            for (dataset, scale), group in per_image.groupby(["dataset", "scale"], sort=False) for metric in METRICS}


def score_rows(per_image: pd.DataFrame, *, arch: str, layer: str, weights: str, seed: int = 0) -> pd.DataFrame:
    """The headline rows (scores schema plus ``ci_low``, ``ci_high``, ``scale``, ``n``, ``seed``): the mean of each
    metric per set and scale, with its 95% bootstrap interval over the test images."""
    replicates = image_replicates(per_image)
    rows = []
    for (dataset, scale), group in per_image.groupby(["dataset", "scale"], sort=False):
        for metric in METRICS:
            name = metric_name(metric, dataset, int(scale))
            low, high = interval(replicates[name])
            rows.append({"metric": name, "value": float(group[metric].mean()), "ci_low": float(low),
                         "ci_high": float(high), "scale": int(scale), "n": len(group)})
    return score_table(rows, extras=(*INTERVAL_COLUMNS, "scale", "n", "seed"), benchmark=BENCHMARK, arch=arch,
                       layer=layer, weights=weights, seed=seed)


def evaluate(upscale: Upscaler, test_sets: Mapping[str, Path], scale: int, *, scores: Path, per_image: Path,
             arch: str, layer: str, weights: str, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Score one upscaler on the test sets; write the per-image values and the headline rows; return the latter."""
    images = evaluate_images(upscale, test_sets, scale, progress)
    labels = dict(arch=arch, layer=layer, weights=weights)
    write_csv(images.assign(**labels), per_image)
    rows = score_rows(images, seed=seed, **labels)
    replicates = image_replicates(images)
    write_scores(rows, scores, [replicates[metric] for metric in rows["metric"]])
    return rows


def save_example(upscale: Upscaler, test_set: Path, scale: int, output: Path,
                 labels: Mapping[str, str] | None = None) -> Path:
    """The upscaled first image of ``test_set`` as a PNG (the report's example outputs), ``labels`` (arch, layer,
    weights) and ``scale``, ``dataset``, ``image`` in its text chunks (:func:`read_example`)."""
    name, image = next(iter(read_test_set(test_set).items()))
    info = PngInfo()
    for key, value in {**(labels or {}), "scale": scale, "dataset": Path(test_set).stem, "image": name}.items():
        info.add_text(key, str(value))
    with atomic_output(output, ".partial.png") as partial:
        Image.fromarray(upscale(degrade(crop_to_scale(image, scale), scale))).save(partial, pnginfo=info)
    return Path(output)


def read_example(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    """An example output written by :func:`save_example`: the RGB image and its labels."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")), dict(image.text)


def score_folders(hr_dir: Path, sr_dir: Path, scale: int) -> pd.DataFrame:
    """``image, psnr, ssim`` of a user's SR outputs against HR images matched by file stem.

    HR images are cropped to a multiple of ``scale`` (the SR output must have that size) and ``scale`` border
    pixels are shaved, as in the benchmark.
    """
    if scale < 1:
        raise SuperresDataError(f"the scale must be a positive integer, got {scale}")
    hr = {stem: image for stem, image, _ in test_images(Path(hr_dir))}
    sr = {stem: image for stem, image, _ in test_images(Path(sr_dir))}
    unmatched = sorted(set(hr) ^ set(sr))
    if unmatched:
        raise SuperresDataError(
            f"no partner for {', '.join(unmatched)}: every HR image in {hr_dir} needs an SR image with the same "
            f"stem in {sr_dir}, and the other way round"
        )
    rows = []
    for stem in sorted(hr):
        check_size(f"{stem} in {hr_dir}", hr[stem], [scale])
        target = crop_to_scale(hr[stem], scale)
        if sr[stem].shape != target.shape:
            raise SuperresDataError(
                f"{stem}: the SR image in {sr_dir} is {sr[stem].shape[1]}x{sr[stem].shape[0]}, the HR image cropped "
                f"to a multiple of {scale} is {target.shape[1]}x{target.shape[0]}"
            )
        rows.append({"image": stem, "psnr": psnr_y(sr[stem], target, scale), "ssim": ssim_y(sr[stem], target, scale)})
    return pd.DataFrame(rows, columns=["image", "psnr", "ssim"])
