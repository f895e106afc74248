"""The paper's own scores as data (``lossnet/data/published/``: its appendix Tables V-IX and XI, Table X missing),
and how this run's scores compare with them (the report's reproduction table)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..benchmarks.scores import read_scores
from .rank import headline

PUBLISHED_LABEL = "published (Pihlgren et al. 2023)"
CITATION = ("Pihlgren et al., A Systematic Performance Analysis of Deep Perceptual Loss Networks: Breaking Transfer "
            "Learning Conventions, arXiv:2302.04032 (2023), appendix Tables V-IX and XI")
PUBLISHED_WEIGHTS = "imagenet"  # the paper's loss networks are ImageNet-pretrained
REPRODUCTION_COLUMNS = ["benchmark", "metric", "arch", "layer", "published", "this_run", "ci_low", "ci_high",
                        "difference", "inside_interval"]


def published_path() -> Path:
    """The packaged CSV of the paper's appendix scores (scores schema; README.md beside it cites the tables)."""
    return Path(str(resources.files("lossnet.data") / "published" / "pihlgren2023_scores.csv"))


def published_scores() -> pd.DataFrame:
    """The paper's appendix scores, read as any scores file (no intervals: the paper gives none)."""
    return read_scores([published_path()])


def reproduction(scores: pd.DataFrame, published: pd.DataFrame | None = None,
                 exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Published vs this run, per (benchmark, metric, arch, layer) both have with ImageNet weights: this run's
    value and 95% interval, ``difference`` (this run - published) and ``inside_interval`` (whether the published
    value lies in this run's interval; NA without one). Benchmarks in ``exclude`` (synthetic data) are left out."""
    published = published_scores() if published is None else published
    keys = ["benchmark", "metric", "arch", "layer"]
    ours = headline(scores)
    ours = ours[(ours["weights"] == PUBLISHED_WEIGHTS) & ~ours["benchmark"].isin(list(exclude))]
    paper = published[published["weights"] == PUBLISHED_WEIGHTS][[*keys, "value"]].rename(columns={"value": "published"})
    table = paper.merge(ours[[*keys, "value", "ci_low", "ci_high"]].rename(columns={"value": "this_run"}), on=keys)
    table["difference"] = table["this_run"] - table["published"]
    has = table["ci_low"].notna() & table["ci_high"].notna()
    inside = (table["published"] >= table["ci_low"]) & (table["published"] <= table["ci_high"])
    table["inside_interval"] = pd.array(np.where(has, inside, pd.NA), dtype="boolean")
    return table[REPRODUCTION_COLUMNS].reset_index(drop=True)

