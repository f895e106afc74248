"""Kumar et al., "Do better ImageNet classifiers assess perceptual similarity better?", over every torchvision
classifier: benchmark 1 (BAPPS 2AFC) at each network's stage taps, against its ImageNet accuracy.

The perceptual score (PS) is the 2AFC agreement x 100: the mean over the 2AFC subsets of the per-subset means, as
benchmark 1 scores it. Per (weights, input size, architecture, distance) there is one PS per stage tap and one of
the distances summed over the map taps (``stage == "all"``, Kumar et al.'s PS); the *best-stage PS* is the highest
single-tap PS. A ViT's taps are the token maps of every encoder block and their class tokens (1x1 maps). With
calibration on (config ``similarity.calibration``), each network also gets calibrated LPIPS (``lpips_lin``,
:func:`calibrated_scores`): channel weights over its map taps fitted on BAPPS 2afc/train, one PS (stage ``all``).

Input sizes: BAPPS patches are 64 px. At size S a network runs at S, except that a model whose torchvision
metadata asks for a larger input (``min_size``: Inception v3 75, Swin and MaxViT 224, Swin V2 256) gets it
upsampled to that, and a ViT runs at S rounded up to its patch size, its position embeddings interpolated.
The run size is in every row (``run_size``). With S = 224 every image is upsampled (Kumar et al.'s Appendix A).

Weights variants: ``imagenet`` (V1; the default entry where torchvision has none), ``imagenet_v2`` (only where
torchvision has V2), ``random`` and ``random_<k>`` (torchvision's init under seed + k). ``top1`` is always the
metadata of the architecture's trained entry (V2's for ``imagenet_v2``, V1's otherwise): for random weights it
describes the architecture, not the network scored.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
import pandas as pd

from ..benchmarks.similarity.data import SUBSETS_2AFC
from ..benchmarks.similarity.scoring import score_2afc

# PS reference lines quoted in the text of Kumar et al. (section 3): human agreement, AlexNet, a random network.
REFERENCES = {"human (Kumar et al.)": 73.9, "AlexNet (Kumar et al.)": 68.9, "random network (Kumar et al.)": 64.3}
# Kumar et al.'s split of the 2AFC subsets: the distortions (traditional, cnn) and the real algorithms (the rest).
SUBSET_GROUPS = {"distortions": SUBSETS_2AFC[:2], "real algorithms": SUBSETS_2AFC[2:]}
DISTANCE_NAMES = {"lpips": "local (lpips)", "meanpool": "mean-pool", "gram_normalized": "style (normalised Gram)"}
_RANDOM = re.compile(r"^random(?:_(\d+))?$")


def variant_source(arch: str, variant: str) -> tuple[str, int] | None:
    """``(weights source for LossNetwork, seed offset)`` of a weights variant for ``arch``; None where torchvision
    has no such entry (``imagenet_v2`` of a model without V2)."""
    import torchvision

    match = _RANDOM.match(variant)
    if match:
        return "random", int(match.group(1) or 0)
    entries = torchvision.models.get_model_weights(arch).__members__
    if variant == "imagenet":
        return ("imagenet", 0) if "IMAGENET1K_V1" in entries else (torchvision.models.get_model_weights(arch)
                                                                   .DEFAULT.name, 0)
    if variant == "imagenet_v2":
        return ("imagenet_v2", 0) if "IMAGENET1K_V2" in entries else None
    raise ValueError(f"kumar.weights: {variant!r} is none of imagenet, imagenet_v2, random, random_<k>")


def run_size(arch: str, size: int, variant: str = "random") -> int:
    """The side ``arch`` runs a ``size`` px image at in the study (module docstring)."""
    from ..network import _vit_patch
    from ..stages import family_of, min_size
    from ..weights import torchvision_weights

    if family_of(arch).fixed_size:
        patch = _vit_patch(arch)
        return math.ceil(size / patch) * patch
    source = variant_source(arch, variant)
    entry = torchvision_weights(arch, source[0]) if source else None
    return max(size, min_size(arch, entry))


def study_layers(arch: str) -> list[str]:
    """The layer paths cached for ``arch``: its stage taps, and for a ViT also the class token after each block."""
    from ..stages import family_of, stage_paths
    from ..zoo import layer_preset

    layers = list(stage_paths(arch))
    return layers + list(layer_preset("cls", arch)) if family_of(arch).name == "vit" else layers


def plan(archs: Sequence[str], variants: Sequence[str], sizes: Sequence[int]) -> list[tuple[str, int, str]]:
    """Every ``(variant, size, arch)`` cache job of the study (a variant an architecture lacks is left out)."""
    return [(variant, size, arch) for variant in variants for size in sizes for arch in archs
            if variant_source(arch, variant) is not None]


def model_table(archs: Iterable[str], variants: Sequence[str]) -> pd.DataFrame:
    """Per (architecture, variant): family, number of stages and torchvision's metadata (top-1, GFLOPS, ...)."""
    from ..stages import family_of, stage_paths
    from ..weights import weights_metadata

    rows = []
    for arch in archs:
        for variant in variants:
            source = variant_source(arch, variant)
            if source is None:
                continue
            trained = source[0] if source[0] != "random" else "imagenet"
            rows.append({"arch": arch, "weights": variant, "family": family_of(arch).name,
                         "n_stages": len(stage_paths(arch)), **weights_metadata(arch, trained)})
    return pd.DataFrame(rows)


def stage_scores(cache_path: Path | str, variant: str, size: int) -> pd.DataFrame:
    """PS (x100) of every tap, and of the map taps summed, per distance and 2AFC subset, from one cache."""
    rows = []
    with h5py.File(cache_path, "r") as cache:
        attrs = dict(cache.attrs)
        layers = list(json.loads(attrs["layers"]).values())
        judges = {s: cache[f"judgements/2afc/{s}/judge"][:] for s in cache["judgements/2afc"]}
        maps = [layer for layer in layers if not layer.endswith(":cls")]
        for name in json.loads(attrs["distances"]):
            taps = [(str(i + 1) if not layer.endswith(":cls") else f"cls{layers.index(layer) - len(maps) + 1}",
                     [layer]) for i, layer in enumerate(layers)] + [("all", maps)]
            for stage, group in taps:
                for subset, judge in judges.items():
                    d0, d1 = (sum(cache[f"{name}/{layer}/2afc/{subset}/{pair}"][:].astype(np.float64)
                                  for layer in group) for pair in ("d0", "d1"))
                    rows.append({"weights": variant, "size": size, "run_size": int(attrs.get("input_size", size)),
                                 "arch": attrs["arch"], "distance": name, "stage": stage,
                                 "layer": group[0] if len(group) == 1 else "all", "n_stages": len(maps),
                                 "subset": subset, "ps": 100 * score_2afc(d0, d1, judge)})
    return _with_summaries(pd.DataFrame(rows))


def _with_summaries(table: pd.DataFrame) -> pd.DataFrame:
    """Per-subset PS rows with their mean over the subsets (subset "") and per subset group prepended."""
    keys = ["weights", "size", "run_size", "arch", "distance", "stage", "layer", "n_stages"]
    headline = table.groupby(keys, sort=False)["ps"].mean().reset_index().assign(subset="")
    grouped = [table[table["subset"].isin(members)].groupby(keys, sort=False)["ps"].mean().reset_index()
               .assign(subset=group) for group, members in SUBSET_GROUPS.items()]
    return pd.concat([headline, *grouped, table], ignore_index=True)


def calibrated_scores(job: dict, size: int, train: Path | str, val: Path | str, output: Path | str, *,
                      schedule: str = "lpips", batch_size: int = 64, device: str = "auto") -> pd.DataFrame:
    """PS of calibrated LPIPS (distance ``lpips_lin``, stage ``all``) for one study network at input size
    ``size`` (``job``: what defines its cache job: arch, variant, weights, seed, layers, input_size): the per-channel values of its map taps on prepared BAPPS 2afc/train and 2afc/val, the
    channel weights fitted on train (:mod:`lossnet.calibration`), PS per val subset; written to ``output`` in
    :func:`stage_scores`' columns. The per-channel caches live in a temporary folder beside ``output``."""
    import tempfile

    from .._util import write_csv
    from ..benchmarks.similarity.calibrate import cache_per_channel, fit_on_cache, score_2afc

    maps = [layer for layer in job["layers"] if not layer.endswith(":cls")]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{Path(output).name}.", dir=Path(output).parent) as folder:
        caches = {part: cache_per_channel(job["arch"], job["weights"], prepared, Path(folder) / f"{part}.h5",
                                          layers=maps, seed=job["seed"], batch_size=batch_size, device=device,
                                          input_size=job["input_size"])
                  for part, prepared in (("train", train), ("val", val))}
        calibration = fit_on_cache(caches["train"], schedule=schedule, seed=job["seed"])
        per_subset = score_2afc(calibration, caches["val"])
    rows = [{"weights": job["variant"], "size": size, "run_size": job["input_size"], "arch": job["arch"],
             "distance": "lpips_lin", "stage": "all", "layer": "all", "n_stages": len(maps), "subset": subset,
             "ps": 100 * score} for subset, score in zip(per_subset["subset"], per_subset["score"])]
    table = _with_summaries(pd.DataFrame(rows))
    write_csv(table, output)
    return table


def best_stages(scores: pd.DataFrame, subset: str = "") -> pd.DataFrame:
    """Per (weights, size, arch, distance): the single tap with the highest PS on ``subset`` ("" = all 2AFC)."""
    single = scores[(scores["stage"] != "all") & (scores["subset"] == subset)]
    index = single.groupby(["weights", "size", "arch", "distance"])["ps"].idxmax()
    return single.loc[index].reset_index(drop=True)


def upper_frontier(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points on the upper convex hull of (x, y), left to right (the inverse-U frontier)."""
    order = np.lexsort((y, x))
    hull: list[int] = []
    for i in order:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = (x[hull[-2]], y[hull[-2]]), (x[hull[-1]], y[hull[-1]])
            if (x2 - x1) * (y[i] - y1) - (y2 - y1) * (x[i] - x1) >= 0:  # hull[-1] lies below the chord
                hull.pop()
            else:
                break
        hull.append(int(i))
    return np.array(hull, dtype=int)


def ceiling(judgements: dict[str, np.ndarray], sigmas: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0),
            seed: int = 0) -> pd.DataFrame:
    """PS's dynamic range (Kumar et al.'s Fig. 3): the PS of the human judgements binarised (a "distance" that
    always sides with the majority; sigma 0: the ceiling no network can pass) and of distances drawn around it
    with noise sigma (truncated normals on [0, 1], 0 for the majority's patch and 1 for the other), per subset."""
    from scipy.stats import truncnorm

    rng = np.random.default_rng(seed)
    rows = []
    for subset, judge in judgements.items():
        judge = np.asarray(judge, dtype=np.float64)
        p1_closer = judge > 0.5
        for sigma in sigmas:
            if sigma == 0:
                d_near, d_far = np.zeros(len(judge)), np.ones(len(judge))
            else:
                d_near = truncnorm.rvs(0, 1 / sigma, loc=0, scale=sigma, size=len(judge), random_state=rng)
                d_far = truncnorm.rvs(-1 / sigma, 0, loc=1, scale=sigma, size=len(judge), random_state=rng)
            d0, d1 = np.where(p1_closer, d_far, d_near), np.where(p1_closer, d_near, d_far)
            rows.append({"subset": subset, "sigma": sigma, "ps": 100 * score_2afc(d0, d1, judge), "n": len(judge)})
    table = pd.DataFrame(rows)
    mean = table.groupby("sigma", as_index=False)["ps"].mean().assign(subset="", n=int(table["n"].sum()))
    return pd.concat([mean, table], ignore_index=True)
