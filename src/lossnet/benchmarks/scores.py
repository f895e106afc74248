"""The scores schema: the one contract between the benchmarks and the analysis.

Every benchmark job writes a CSV with the columns :data:`SCORE_COLUMNS`, plus optional extras (``subset``,
``distance``, ``n``, ``seed``, ...). Rows with a non-empty ``subset`` are breakdowns of a headline metric; rows
with ``layer == "all"`` sum distances over all layers. Reference rows (network-free distances and baselines such
as a pixel-loss model) have weights :data:`REFERENCE_WEIGHTS` and layer :data:`REFERENCE_LAYER`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

SCORE_COLUMNS = ["benchmark", "metric", "arch", "layer", "weights", "value", "higher_is_better"]
REFERENCE_WEIGHTS = "none"
REFERENCE_LAYER = "-"
ALL_LAYERS = "all"  # the layer of a score of distances summed over every extraction layer


def score_table(rows: Iterable[dict], *, extras: Iterable[str] = (), **columns) -> pd.DataFrame:
    """Rows (dicts) as a scores table: ``columns`` are set on every row, schema columns first, then ``extras``."""
    table = pd.DataFrame(list(rows)).assign(**columns)
    missing = [column for column in SCORE_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"score rows lack the columns {missing} of the scores schema")
    return table[[*SCORE_COLUMNS, *extras]]


def reference_columns(arch: str) -> dict[str, str]:
    """The identifying columns of a reference row (a network-free distance or baseline named ``arch``)."""
    return {"arch": arch, "layer": REFERENCE_LAYER, "weights": REFERENCE_WEIGHTS}


def is_reference(scores: pd.DataFrame) -> pd.Series:
    """Mask of the reference rows of a scores table."""
    return scores["weights"] == REFERENCE_WEIGHTS


def read_scores(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate score CSVs, checking each has the schema's columns."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["", "nan", "NaN"]})
        missing = [column for column in SCORE_COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"{path} is not a scores file: missing columns {missing} (need {SCORE_COLUMNS})")
        frames.append(frame)
    if not frames:
        raise ValueError("no score files given")
    scores = pd.concat(frames, ignore_index=True)
    scores["higher_is_better"] = scores["higher_is_better"].map(_as_bool)
    return scores


def _as_bool(value) -> bool:
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"higher_is_better must be true or false, got {value!r}")
        return value.lower() in ("true", "1")
    return bool(value)
