"""The generic bootstrap: coverage of a known distribution, seeded determinism, joint resamples, vectorised AP."""

import numpy as np
import pandas as pd
import pytest

from lossnet import stats as intervals
from lossnet.benchmarks.scores import read_replicates, read_scores, replicates_path, write_scores
from lossnet.benchmarks.similarity.scoring import score_jnd


def test_bootstrap_of_a_known_distribution_covers_its_mean_at_the_nominal_rate():
    # 400 samples of 200 draws from an exponential of mean 1: the 95% percentile interval of the mean should
    # cover 1 about 95% of the time (percentile intervals of a skewed mean run a little under: ~93-94%).
    rng = np.random.default_rng(12345)
    covered = []
    for trial in range(400):
        sample = rng.exponential(1.0, 200)
        low, high = intervals.interval(intervals.bootstrap_mean(sample, f"trial/{trial}", 1000, seed=7))
        covered.append(low <= 1.0 <= high)
    rate = float(np.mean(covered))
    assert 0.91 <= rate <= 0.98, rate


def test_bootstrap_is_seeded_and_deterministic():
    outcomes = np.random.default_rng(0).random(50)
    first = intervals.bootstrap_mean(outcomes, "similarity/2afc", 300, seed=3)
    assert np.array_equal(first, intervals.bootstrap_mean(outcomes, "similarity/2afc", 300, seed=3))
    assert not np.array_equal(first, intervals.bootstrap_mean(outcomes, "similarity/2afc", 300, seed=4))
    assert not np.array_equal(first, intervals.bootstrap_mean(outcomes, "similarity/jnd", 300, seed=3))


def test_resamples_are_joint_across_jobs():
    # Two architectures scored on the same items draw the same resampled items, whatever else differs.
    a = intervals.resample_indices(40, "autoencoding/svhn", 100, seed=0)
    b = intervals.resample_indices(40, "autoencoding/svhn", 100, seed=0)
    assert np.array_equal(a, b) and a.shape == (100, 40) and a.min() >= 0 and a.max() < 40
    strata = intervals.stratified_indices({"cnn": 10, "traditional": 20}, "similarity/jnd", 5)
    assert strata["cnn"].shape == (5, 10) and strata["traditional"].max() < 20


def test_vectorised_average_precision_equals_score_jnd():
    rng = np.random.default_rng(1)
    d, same = rng.random((6, 80)), rng.integers(0, 4, (6, 80)) / 3
    d[0, :10] = 0.5  # ties keep file order, as in score_jnd
    expected = [score_jnd(d[i], same[i]) for i in range(6)]
    assert intervals.average_precision(d, same) == pytest.approx(expected, rel=1e-12)
    assert np.isnan(intervals.average_precision(np.array([0.1, 0.2]), np.zeros(2))[0])


def test_rank_interval_bounds_are_values_that_occur():
    low, high = intervals.rank_interval(np.array([1, 1, 2, 2, 2, 3, 3, 3, 3, 4] * 10))
    assert (low, high) == (1, 4)


def test_scores_without_intervals_still_read(tmp_path):
    plain = pd.DataFrame({"benchmark": ["b"], "metric": ["m"], "arch": ["A"], "layer": ["E"], "weights": ["w"],
                          "value": [0.5], "higher_is_better": [True]})
    plain.to_csv(tmp_path / "plain.csv", index=False)
    write_scores(plain.assign(ci_low=0.4, ci_high=0.6), tmp_path / "with.csv", [np.linspace(0.4, 0.6, 5)])
    table = read_scores([tmp_path / "plain.csv", tmp_path / "with.csv"])
    assert np.isnan(table.loc[0, "ci_low"]) and table.loc[1, "ci_high"] == 0.6
    assert replicates_path(tmp_path / "with.csv").name == "with.replicates.csv"
    replicates = read_replicates([replicates_path(tmp_path / "with.csv"), replicates_path(tmp_path / "plain.csv")])
    assert list(replicates.columns[-5:]) == ["r0", "r1", "r2", "r3", "r4"] and replicates.loc[0, "arch"] == "A"
