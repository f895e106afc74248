"""The scores schema: the one contract between the benchmarks and the analysis.

Every benchmark job writes a CSV with the columns :data:`SCORE_COLUMNS`, plus optional extras (``subset``,
``distance``, ``n``, ``seed``, ...). Rows with a non-empty ``subset`` are breakdowns of a headline metric; rows
with ``layer == "all"`` sum distances over all layers. Reference rows (network-free distances and baselines such
as a pixel-loss model) have weights :data:`REFERENCE_WEIGHTS` and layer :data:`REFERENCE_LAYER`.

Intervals (optional, :data:`INTERVAL_COLUMNS`): ``ci_low`` and ``ci_high`` bound a score's 95% bootstrap interval
(:mod:`lossnet.stats`); files without them still read (the columns are then NaN).

Replicates (optional): beside a scores file ``X.csv`` a job may write ``X.replicates.csv``
(:func:`replicates_path`): the bootstrap replicates of its headline rows, one row per score with its identifying
columns (:data:`SCORE_COLUMNS` but ``value``, plus ``subset``/``distance`` where present) and one column per
resample, ``r0`` ... ``r999``. Resamples are joint across jobs (same seed, same items: same resampled indices),
so the rankings rank replicate ``b`` of every architecture together (rank intervals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import BENCHMARKS

SCORE_COLUMNS = ["benchmark", "metric", "arch", "layer", "weights", "value", "higher_is_better"]
REFERENCE_WEIGHTS = "none"
REFERENCE_LAYER = "-"
ALL_LAYERS = "all"  # the layer of a score of distances summed over every extraction layer
INTERVAL_COLUMNS = ["ci_low", "ci_high"]
REPLICATE_PREFIX = "r"


def score_table(rows: Iterable[dict], *, extras: Iterable[str] = (), **columns) -> pd.DataFrame:
    """Rows (dicts) as a scores table: ``columns`` are set on every row, schema columns first, then ``extras``.

    ``higher_is_better`` comes from the metric's entry in :data:`~lossnet.benchmarks.BENCHMARKS`: a job never
    states a direction, so a metric cannot rank the wrong way round in one benchmark's rows only.
    """
    table = pd.DataFrame(list(rows)).assign(**columns)
    if "higher_is_better" in table:
        raise ValueError("score rows give higher_is_better: it comes from the metric's entry in BENCHMARKS")
    table["higher_is_better"] = [metric_direction(b, m) for b, m in zip(table["benchmark"], table["metric"])]
    missing = [column for column in SCORE_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"score rows lack the columns {missing} of the scores schema")
    return table[[*SCORE_COLUMNS, *extras]]


def metric_direction(benchmark: str, metric: str) -> bool:
    """Whether a higher ``metric`` of ``benchmark`` is better, from the registry (an unknown one is refused)."""
    entry = BENCHMARKS.get(benchmark)
    known = entry.metric(metric) if entry else None
    if known is None:
        raise ValueError(f"no metric {metric!r} of benchmark {benchmark!r} in BENCHMARKS: register it "
                         "(lossnet/benchmarks/__init__.py) with its direction")
    return known.higher_is_better


def reference_columns(arch: str) -> dict[str, str]:
    """The identifying columns of a reference row (a network-free distance or baseline named ``arch``)."""
    return {"arch": arch, "layer": REFERENCE_LAYER, "weights": REFERENCE_WEIGHTS}


def read_scores(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate score CSVs, checking each has the schema's columns."""
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, keep_default_na=False, na_values={"value": ["", "nan", "NaN"]})
        except pd.errors.EmptyDataError:
            raise ValueError(f"{path} is empty: not a scores file (need the columns {SCORE_COLUMNS}); the job that "
                             "wrote it may have failed, rerun it") from None
        except pd.errors.ParserError as error:
            raise ValueError(f"{path} is not a readable CSV ({' '.join(str(error).split())})") from None
        missing = [column for column in SCORE_COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"{path} is not a scores file: missing columns {missing} (need {SCORE_COLUMNS})")
        frames.append(frame)
    if not frames:
        raise ValueError("no score files given")
    scores = pd.concat(frames, ignore_index=True)
    scores["higher_is_better"] = scores["higher_is_better"].map(_as_bool)
    for column in INTERVAL_COLUMNS:  # optional: NaN where a file has none
        scores[column] = pd.to_numeric(scores[column], errors="coerce") if column in scores else float("nan")
    return scores


def replicates_path(scores_path: Path | str) -> Path:
    """``X.csv`` -> ``X.replicates.csv``: where a score job writes its headline rows' bootstrap replicates."""
    path = Path(scores_path)
    return path.with_name(path.name.removesuffix(".csv") + ".replicates.csv")


def replicate_table(scores: pd.DataFrame, replicates: Iterable) -> pd.DataFrame:
    """The replicates of ``scores``' rows (one array per row, all of one length) as a replicates table."""
    values = np.asarray([np.asarray(r, dtype=np.float64) for r in replicates])
    ids = [c for c in scores.columns if c in (*SCORE_COLUMNS, "subset", "distance") and c != "value"]
    columns = [f"{REPLICATE_PREFIX}{i}" for i in range(values.shape[1] if values.ndim == 2 else 0)]
    return pd.concat([scores[ids].reset_index(drop=True), pd.DataFrame(values, columns=columns)], axis=1)


def replicate_columns(table: pd.DataFrame) -> list[str]:
    """The resample columns ``r0``, ``r1``, ... of a replicates table, in order."""
    names = [c for c in table.columns if c.startswith(REPLICATE_PREFIX) and c[len(REPLICATE_PREFIX):].isdigit()]
    return sorted(names, key=lambda c: int(c[len(REPLICATE_PREFIX):]))


def read_replicates(paths: Iterable[Path | str]) -> pd.DataFrame | None:
    """Concatenate replicates files (those that exist; None when there are none)."""
    frames = [pd.read_csv(p, keep_default_na=False) for p in map(Path, paths) if p.is_file()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    table["higher_is_better"] = table["higher_is_better"].map(_as_bool)
    resample = replicate_columns(table)
    table[resample] = table[resample].apply(pd.to_numeric, errors="coerce")
    return table


def write_scores(scores: pd.DataFrame, path: Path | str, replicates: Iterable | None = None,
                 replicate_rows: pd.Series | None = None) -> Path:
    """Write a scores CSV, and its replicates file when ``replicates`` are given (one per row selected by the
    mask ``replicate_rows``, default: every row), each under a temporary name first."""
    from .._util import write_csv

    write_csv(scores, path)
    if replicates is not None:
        rows = scores if replicate_rows is None else scores[replicate_rows.to_numpy()]
        write_csv(replicate_table(rows, replicates), replicates_path(path), float_format="%.6g")
    return Path(path)


def _as_bool(value) -> bool:
    if isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"higher_is_better must be true or false, got {value!r}")
        return value.lower() in ("true", "1")
    return bool(value)
