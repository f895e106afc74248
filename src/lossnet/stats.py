"""Seeded bootstrap intervals from per-item outcomes, for every benchmark (protocol section 7).

A benchmark's score is a statistic of items (2AFC triplets, JND pairs, test images, probe test samples). Its
evaluation hands the per-item outcomes of one score to :func:`bootstrap`, which resamples the items (within strata,
e.g. BAPPS subsets) and returns the statistic of every resample: the *replicates*. From them come the score's
``ci_low``/``ci_high`` (:func:`interval`) and, in the rankings, the rank intervals.

**Joint resamples without a shared file**: the resampled indices are a function of ``(seed, key, n)`` only
(:func:`resample_indices`), where ``key`` names the items (``"similarity/2afc/traditional"``) and not the
architecture. Every job scoring the same items with the same seed therefore draws the *same* resamples, so replicate
``b`` of every architecture's score comes from the same resampled items: ranking replicate ``b`` across the
architectures is a joint bootstrap of the rankings, though each job computed its replicates alone.

Everything is vectorised numpy: 1000 resamples of 10k items take well under a second.
"""

from __future__ import annotations

import contextlib
import warnings
import zlib
from typing import Callable, Mapping, Sequence

import numpy as np

RESAMPLES = 1000  # bootstrap resamples of every score
LEVEL = 0.95  # the level of every interval
SEED = 0


def resample_indices(n: int, key: str, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``(resamples, n)`` indices drawn with replacement from ``range(n)``, determined by ``seed``, ``key`` and ``n``
    alone (so every job resampling the same items draws the same resamples)."""
    sequence = np.random.SeedSequence([int(seed), zlib.crc32(key.encode("utf-8")), int(n)])
    return np.random.default_rng(sequence).integers(0, n, size=(resamples, n)) if n else np.zeros((resamples, 0), int)


def stratified_indices(sizes: Mapping[str, int], key: str, resamples: int = RESAMPLES,
                       seed: int = SEED) -> dict[str, np.ndarray]:
    """Per stratum (e.g. BAPPS subset) its own resampled indices (``key/stratum``): items never cross strata."""
    return {stratum: resample_indices(n, f"{key}/{stratum}", resamples, seed) for stratum, n in sizes.items()}


def bootstrap_mean(outcomes: np.ndarray, key: str, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Replicates of the mean of per-item ``outcomes`` (e.g. 1/0 correctness of each test sample)."""
    outcomes = np.asarray(outcomes, dtype=np.float64)
    return outcomes[resample_indices(len(outcomes), key, resamples, seed)].mean(axis=1)


def bootstrap(statistic: Callable[..., np.ndarray], items: Mapping[str, Sequence[np.ndarray]], key: str,
              resamples: int = RESAMPLES, seed: int = SEED, chunk: int = 250) -> np.ndarray:
    """Replicates of ``statistic`` over items resampled within each stratum of ``items``.

    ``items`` maps a stratum to its per-item arrays (all of one length); ``statistic`` takes, per stratum in the
    same order, the resampled arrays as ``(resamples, n)`` matrices, i.e. ``statistic({stratum: (a, b, ...)})``,
    and returns one value per resample (vectorised over the first axis). Resamples are drawn in ``chunk``s to bound
    memory.
    """
    sizes = {stratum: len(arrays[0]) for stratum, arrays in items.items()}
    indices = stratified_indices(sizes, key, resamples, seed)
    values = []
    for start in range(0, resamples, chunk):
        picked = {stratum: tuple(np.asarray(a)[indices[stratum][start:start + chunk]] for a in arrays)
                  for stratum, arrays in items.items()}
        values.append(np.asarray(statistic(picked), dtype=np.float64))
    return np.concatenate(values) if values else np.empty(0)


def interval(replicates: np.ndarray, level: float = LEVEL, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval (``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles) of ``replicates``; NaN
    replicates (a resample without positives, say) are ignored."""
    replicates = np.asarray(replicates, dtype=np.float64)
    tail = (1 - level) / 2
    with _quiet():
        low, high = np.nanquantile(replicates, [tail, 1 - tail], axis=axis)
    return low, high


def rank_interval(replicates: np.ndarray, level: float = LEVEL, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`interval` for ranks: the lower bound rounds down and the upper up to values that occur."""
    tail = (1 - level) / 2
    with _quiet():
        low = np.nanquantile(replicates, tail, axis=axis, method="lower")
        high = np.nanquantile(replicates, 1 - tail, axis=axis, method="higher")
    return low, high


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN bounds, as documented
        yield


# --- statistics of the benchmarks' items, vectorised over resamples (rows) ---------------------------------------

def average_precision(d: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Row-wise JND average precision (``scoring.score_jnd`` on every row of ``(resamples, n)`` matrices): ``same``
    as soft positives ranked by ascending distance ``d``, VOC-style (precision envelope). NaN without positives."""
    d, same = np.atleast_2d(d).astype(np.float64), np.atleast_2d(same).astype(np.float64)
    order = np.argsort(d, axis=1, kind="stable")
    same = np.take_along_axis(same, order, axis=1)
    tp = np.cumsum(same, axis=1)
    fp = np.cumsum(1 - same, axis=1)
    positives = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
        recall = tp / positives
    rows = len(d)
    recall = np.concatenate([np.zeros((rows, 1)), recall, np.ones((rows, 1))], axis=1)
    precision = np.concatenate([np.zeros((rows, 1)), precision, np.zeros((rows, 1))], axis=1)
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    steps = recall[:, 1:] - recall[:, :-1]  # zero where the recall does not change
    ap = np.sum(np.where(steps != 0, steps * precision[:, 1:], 0.0), axis=1)
    return np.where(positives[:, 0] > 0, ap, np.nan)
