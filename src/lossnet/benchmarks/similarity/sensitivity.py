"""Distortion sensitivity (Kumar et al., section 8.2) and the side-by-side table of feature distances.

On 2AFC triplets where every rater chose the same patch (judge 0 or 1), a loss network should put the chosen
patch nearer to the reference. The margin ``d(ref, rejected) - d(ref, chosen)`` measures by how much; divided by
the mean of the two distances it becomes comparable between networks and distances of different scales.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import h5py
import numpy as np
import pandas as pd


def distortion_sensitivity(cache_paths: Iterable[Path | str]) -> pd.DataFrame:
    """One row per (weights, arch, layer, distance) over the unanimous 2AFC triplets of every subset."""
    rows = []
    for path in cache_paths:
        with h5py.File(path, "r") as cache:
            judgements = {s: cache[f"judgements/2afc/{s}/judge"][:] for s in cache["judgements/2afc"]}
            for distance in (name for name in cache if name != "judgements"):
                for layer in cache[distance]:
                    chosen, rejected = [], []
                    for subset, judge in judgements.items():
                        d0 = cache[f"{distance}/{layer}/2afc/{subset}/d0"][:].astype(np.float64)
                        d1 = cache[f"{distance}/{layer}/2afc/{subset}/d1"][:].astype(np.float64)
                        # judge = fraction preferring p1: 1 -> p1 chosen, 0 -> p0 chosen
                        chosen += [d1[judge == 1], d0[judge == 0]]
                        rejected += [d0[judge == 1], d1[judge == 0]]
                    near, far = np.concatenate(chosen), np.concatenate(rejected)
                    margin = far - near
                    scale = (far + near) / 2
                    rows.append({
                        "weights": cache.attrs["weights"], "arch": cache.attrs["arch"], "layer": layer,
                        "distance": distance, "n_unanimous": len(margin),
                        "mean_margin": float(np.mean(margin)) if len(margin) else np.nan,
                        "relative_margin": float(np.mean(margin / np.where(scale > 0, scale, np.nan)))
                        if len(margin) else np.nan,
                        "agreement": float(np.mean(margin > 0)) if len(margin) else np.nan,
                    })
    return pd.DataFrame(rows)


def distance_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Headline 2AFC/JND per (weights, arch, layer), one column per metric and distance (Kumar et al.'s view)."""
    rows = scores[(scores["benchmark"] == "similarity") & (scores["subset"].fillna("") == "")]
    table = rows.pivot_table(index=["weights", "arch", "layer"], columns=["metric", "distance"], values="value")
    table.columns = [f"{metric}_{distance}" for metric, distance in table.columns]
    return table.reset_index()
