"""Calibrated LPIPS on BAPPS: cache per-channel values of every 2AFC triplet once, fit on them, score on val.

:func:`cache_per_channel` runs the backbone once per image of a prepared BAPPS file (:func:`.data.prepare`, part
``train`` or ``val``) and stores ``/<subset>/{d0,d1}/<layer>`` (N, C) float32 and ``/<subset>/judge`` (N,), with
the backbone's identity in the attributes. :func:`calibrate` fits :func:`lossnet.calibration.fit_calibration` on
such a file (no backbone run) and saves the calibration; :func:`score_2afc` scores a calibration on a val cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
import pandas as pd
import torch

from ..._util import atomic_output, resolve_device, write_csv
from ...calibration import (SCHEDULES, Calibration, Schedule, backbone_identity, calibrated_distance, fit_calibration,
                            from_lpips_package, per_channel, save_calibration)
from ...network import LossNetwork
from ..scores import ALL_LAYERS, write_scores
from . import scoring
from .cache import feature_pass

FORMAT = "lossnet-per-channel/1"


def cache_per_channel(arch: str, weights: str | os.PathLike, prepared: str | os.PathLike,
                      output: str | os.PathLike, *, layers: str | Sequence[str] = "lpips", seed: int = 0,
                      batch_size: int = 64, device: str = "auto", input_size: int | None = None) -> Path:
    """Per-channel values (:func:`lossnet.calibration.per_channel`) of every 2AFC triplet of ``prepared``.

    ``input_size`` is :class:`~lossnet.network.LossNetwork`'s (the side the network runs at; None: the images as
    they are); when given it is part of the backbone identity, as other features are another backbone's."""
    network = LossNetwork(arch, layers, weights, normalize_input=True, seed=seed, input_size=input_size)
    features = feature_pass(network, resolve_device(device))
    backbone = backbone_identity(arch, weights, seed)
    if input_size is not None:
        backbone["input_size"] = str(input_size)
    with torch.inference_mode(), h5py.File(prepared, "r") as source, atomic_output(output) as partial, \
            h5py.File(partial, "w") as cache:
        if "2afc" not in source:
            raise ValueError(f"{prepared} has no 2AFC triplets to calibrate on")
        cache.attrs.update({"format": FORMAT, "layers": json.dumps(list(network.layers)),
                            "backbone": json.dumps(backbone),
                            "source": str(source.attrs.get("source", prepared)),
                            "part": str(source.attrs.get("part", "val"))})
        for subset, group in source["2afc"].items():
            n = len(group["judge"])
            chunks: dict[tuple[str, str], list[np.ndarray]] = {}
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                ref, p0, p1 = (features(group[folder][start:stop]) for folder in ("ref", "p0", "p1"))
                for pair, other in (("d0", p0), ("d1", p1)):
                    for layer, values in per_channel(ref, other).items():
                        chunks.setdefault((pair, layer), []).append(values.cpu().numpy().astype(np.float32))
            for (pair, layer), values in chunks.items():
                cache[f"{subset}/{pair}/{layer}"] = np.concatenate(values)
            cache[f"{subset}/judge"] = group["judge"][:]
    return Path(output)


def read_per_channel(path: str | os.PathLike, subsets: Sequence[str] | None = None
                     ) -> tuple[dict[str, dict[str, torch.Tensor]], torch.Tensor, dict]:
    """``({"d0": {layer: (N, C)}, "d1": ...}, judgements (N,), attributes)`` of a :func:`cache_per_channel` file,
    the subsets (default: all) concatenated in name order."""
    with h5py.File(path, "r") as cache:
        if cache.attrs.get("format") != FORMAT:
            raise ValueError(f"{path} is not a per-channel cache (format {FORMAT!r}): make one with "
                             "cache_per_channel")
        attrs = {key: cache.attrs[key] for key in cache.attrs}
        layers = json.loads(attrs["layers"])
        names = sorted(cache) if subsets is None else list(subsets)
        missing = [name for name in names if name not in cache]
        if missing or not names:
            raise ValueError(f"{path} has no 2AFC subset(s) {missing or names}; it has {sorted(cache)}")
        values = {pair: {layer: torch.from_numpy(np.concatenate([cache[f"{s}/{pair}/{layer}"][:] for s in names]))
                         for layer in layers} for pair in ("d0", "d1")}
        judgements = torch.from_numpy(np.concatenate([cache[f"{s}/judge"][:] for s in names]).astype(np.float32))
    attrs.update(layers=layers, backbone=json.loads(attrs["backbone"]), subsets=names)
    return values, judgements, attrs


def fit_on_cache(per_channel_cache: str | os.PathLike, *, schedule: str | Schedule = "lpips",
                 seed: int = 0) -> Calibration:
    """Fit a calibration on a per-channel cache (BAPPS train); the backbone never runs."""
    values, judgements, attrs = read_per_channel(per_channel_cache)
    name = schedule if isinstance(schedule, str) else "custom"
    settings = SCHEDULES.get(schedule) if isinstance(schedule, str) else schedule
    described = (f"schedule {name} (lr {settings.lr:g}, batch {settings.batch_size}, "
                 f"{settings.epochs}+{settings.decay_epochs} epochs)" if settings else f"schedule {name}")
    fitted_on = (f"BAPPS-format 2afc/{attrs['part']} of {attrs['source']} ({', '.join(attrs['subsets'])}; "
                 f"{len(judgements)} triplets), {described}, seed {seed}")
    return fit_calibration(values, judgements, attrs["layers"], schedule, seed,
                           backbone=attrs["backbone"], fitted_on=fitted_on)


def calibrate(per_channel_cache: str | os.PathLike, output: str | os.PathLike, *,
              schedule: str | Schedule = "lpips", seed: int = 0) -> Calibration:
    """Fit a calibration on a per-channel cache (BAPPS train) and save it to ``output``."""
    calibration = fit_on_cache(per_channel_cache, schedule=schedule, seed=seed)
    save_calibration(calibration, output)
    return calibration


def compare_with_lpips_package(train_cache: str | os.PathLike, val_cache: str | os.PathLike, *,
                               schedule: str | Schedule = "lpips", seed: int = 0,
                               output: str | os.PathLike | None = None) -> pd.DataFrame:
    """Our fit beside the ``lpips`` package's released v0.1 weights, both on the same taps and the same val
    triplets: 2AFC per subset and their mean (subset ``""``), with columns arch, subset, n, fitted, lpips_v01,
    difference (fitted - lpips_v01). The caches must hold the LPIPS taps of an ImageNet backbone
    (``layers="lpips"``; alexnet, vgg16 or squeezenet1_1), as the v0.1 weights were learned on those."""
    ours = fit_on_cache(train_cache, schedule=schedule, seed=seed)
    arch = ours.backbone.get("arch", "?")
    package = from_lpips_package(arch, backbone=ours.backbone)
    if package.layers != ours.layers:
        raise ValueError(f"{train_cache} holds layers {ours.layers}, the LPIPS v0.1 weights of {arch} belong to "
                         f"its taps {package.layers}: cache with layers='lpips'")
    fitted, released = score_2afc(ours, val_cache), score_2afc(package, val_cache)
    table = fitted.rename(columns={"score": "fitted"}).assign(lpips_v01=released["score"].to_numpy())
    mean = {"subset": "", "n": int(table["n"].sum()), "fitted": table["fitted"].mean(),
            "lpips_v01": table["lpips_v01"].mean()}
    table = pd.concat([pd.DataFrame([mean]), table], ignore_index=True)
    table.insert(0, "arch", arch)
    table["difference"] = table["fitted"] - table["lpips_v01"]
    if output is not None:
        write_csv(table, output, float_format="%.6f")
    return table


def score_2afc(calibration: Calibration, per_channel_cache: str | os.PathLike) -> pd.DataFrame:
    """2AFC score of the calibrated distance per subset of a per-channel cache (BAPPS val): the fraction of raters
    agreeing with its choice (0.5 for a tie), with columns subset, n, score."""
    rows = []
    with h5py.File(per_channel_cache, "r") as cache:
        subsets = sorted(cache)
    for subset in subsets:
        values, judge, attrs = read_per_channel(per_channel_cache, [subset])
        if attrs["backbone"] != calibration.backbone:
            raise ValueError(f"{per_channel_cache} holds values of {attrs['backbone']}, the calibration was fitted "
                             f"on {calibration.backbone}")
        d0, d1 = calibration.distance(values["d0"]), calibration.distance(values["d1"])
        rows.append({"subset": subset, "n": len(judge),
                     "score": scoring.score_2afc(d0.numpy(), d1.numpy(), judge.numpy())})
    return pd.DataFrame(rows)


def score_calibrated(calibration: Calibration, per_channel_cache: str | os.PathLike, *, weights_label: str,
                     seed: int = 0, output: str | os.PathLike | None = None) -> pd.DataFrame:
    """The calibrated distance's 2AFC scores on a val per-channel cache in the scores schema (distance
    ``lpips_lin``, layer ``all``; headline = mean of subset means with bootstrap intervals, as
    :func:`.scoring.score` gives every other distance). With ``output``, write them and the headline replicates.
    JND is not scored (the per-channel cache holds 2AFC triplets only)."""
    values, _, attrs = read_per_channel(per_channel_cache)
    if attrs["backbone"] != calibration.backbone:
        raise ValueError(f"{per_channel_cache} holds values of {attrs['backbone']}, the calibration was fitted on "
                         f"{calibration.backbone}")
    judgements: dict = {"2afc": {}}
    distances: dict[tuple[str, str], np.ndarray] = {}
    for subset in attrs["subsets"]:
        subset_values, judge, _ = read_per_channel(per_channel_cache, [subset])
        judgements["2afc"][subset] = None
        judgements[f"2afc/{subset}/judge"] = judge.numpy()
        for pair in ("d0", "d1"):
            distances[subset, pair] = calibration.distance(subset_values[pair]).double().numpy()
    rows, replicates = scoring._score_splits(judgements, lambda split, subset, pair: distances[subset, pair], seed)
    table = scoring._tidy(rows, arch=calibration.backbone["arch"], layer=ALL_LAYERS, weights=weights_label,
                          distance="lpips_lin", seed=seed)
    if output is not None:
        write_scores(table, output, replicates, table["subset"] == "")
    return table


__all__ = ["cache_per_channel", "calibrate", "calibrated_distance", "compare_with_lpips_package", "fit_on_cache",
           "read_per_channel", "score_2afc", "score_calibrated"]
