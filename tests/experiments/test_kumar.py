"""The Kumar study: its plan, PS per tap from a cache, the frontier, the ceiling of PS."""

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from lossnet.experiments.kumar import best_stages, ceiling, plan, run_size, stage_scores, upper_frontier
from lossnet.zoo import torchvision_classifiers

REPO = Path(__file__).resolve().parents[2]


def test_run_sizes_respect_min_size_and_vit_patches():
    assert run_size("resnet18", 64) == 64 and run_size("inception_v3", 64) == 75
    assert run_size("swin_t", 64) == 224 and run_size("swin_v2_t", 64) == 256 and run_size("maxvit_t", 64) == 224
    assert run_size("vit_b_16", 64) == 64 and run_size("vit_h_14", 64) == 70 and run_size("vit_b_32", 224) == 224


def test_plan_has_v2_only_where_torchvision_has_it():
    jobs = plan(["resnet18", "resnet50", "vit_h_14"], ["imagenet", "imagenet_v2"], [64])
    assert jobs == [("imagenet", 64, "resnet18"), ("imagenet", 64, "resnet50"), ("imagenet", 64, "vit_h_14"),
                    ("imagenet_v2", 64, "resnet50")]


def test_kumar_config_plans_one_cache_job_per_classifier(tmp_path):
    import torchvision

    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--forceall",
                             "results/kumar/tables/scores.csv", "--configfile", "kumar.yaml"], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, re.M))
    with_v2 = [a for a in torchvision_classifiers() if "IMAGENET1K_V2" in torchvision.models.get_model_weights(a)
               .__members__]
    # one job per classifier (its V1, or its default entry), and one per classifier with a V2
    assert int(counts["kumar_cache"]) == len(torchvision_classifiers()) + len(with_v2)
    # calibration is on in the study: every network also gets calibrated LPIPS, fitted on 2afc/train
    assert counts["kumar_calibrate"] == counts["kumar_cache"] and counts["prepare_bapps_train"] == "1"
    assert len(torchvision_classifiers()) >= 80 and len(with_v2) == 24


def _cache(path: Path, d0: dict, d1: dict, judge: np.ndarray) -> Path:
    with h5py.File(path, "w") as cache:
        cache.attrs.update({"arch": "toy", "weights": "random", "layers": '{"a": "a", "b": "b"}',
                            "distances": '["lpips"]', "seed": 0})
        for subset in ("traditional", "superres"):
            cache[f"judgements/2afc/{subset}/judge"] = judge
            for layer in ("a", "b"):
                cache[f"lpips/{layer}/2afc/{subset}/d0"] = d0[layer]
                cache[f"lpips/{layer}/2afc/{subset}/d1"] = d1[layer]
    return path


def test_stage_scores_per_tap_summed_and_best(tmp_path):
    judge = np.array([1.0, 1.0, 0.0, 0.0])  # p1 nearer, p1 nearer, p0 nearer, p0 nearer
    d0 = {"a": np.array([1, 1, 0, 0.]), "b": np.array([0, 0, 0, 0.])}  # a agrees everywhere; b always says p0
    d1 = {"a": np.array([0, 0, 1, 1.]), "b": np.array([1, 1, 1, 1.])}
    table = stage_scores(_cache(tmp_path / "c.h5", d0, d1, judge), "random", 64)
    headline = table[table["subset"] == ""].set_index("stage")["ps"]
    assert headline["1"] == 100 and headline["2"] == 50  # summed: d0 1,1,0,0 / d1 1,1,2,2: two ties, two right
    assert headline["all"] == 75
    assert set(table["subset"]) == {"", "distortions", "real algorithms", "traditional", "superres"}
    best = best_stages(table)
    assert list(best["stage"]) == ["1"] and best["ps"].iloc[0] == 100


def test_upper_frontier_is_the_upper_hull():
    x, y = np.array([0, 1, 2, 3, 4.]), np.array([0, 3, 1, 3.5, 0.])
    assert list(upper_frontier(x, y)) == [0, 1, 3, 4]


def test_ceiling_is_the_majority_vote_and_noise_lowers_it():
    judge = np.tile([0.0, 0.2, 0.6, 1.0, 0.8], 200)
    table = ceiling({"traditional": judge}, sigmas=(0.0, 5.0), seed=0)
    exact = table[(table["subset"] == "traditional") & (table["sigma"] == 0)]["ps"].item()
    assert exact == pytest.approx(100 * np.mean(np.maximum(judge, 1 - judge)))
    assert table[(table["subset"] == "") & (table["sigma"] == 5.0)]["ps"].item() < exact


def test_calibrated_lpips_of_a_study_network_and_its_panel(tmp_path):
    """lpips_lin: fitted on 2afc/train over the map taps, one PS per network in stage_scores' columns, drawn in (b)."""
    import pandas as pd

    from lossnet.benchmarks.similarity.data import prepare
    from lossnet.benchmarks.similarity.demo import make_bapps
    from lossnet.experiments.kumar import calibrated_scores, model_table, study_layers
    from lossnet.experiments.kumar_figures import figure_distances

    make_bapps(tmp_path / "bapps", n_2afc=6, seed=1, subsets_2afc=("mix",), subsets_jnd=(), part="train")
    make_bapps(tmp_path / "bapps", n_2afc=4, seed=0, subsets_2afc=("cnn", "color"), subsets_jnd=())
    train = prepare(tmp_path / "bapps", tmp_path / "train.h5", ("mix",), (), progress=False, part="train")
    val = prepare(tmp_path / "bapps", tmp_path / "val.h5", ("cnn", "color"), (), progress=False)
    job = {"arch": "vit_b_32", "variant": "random", "weights": "random", "seed": 0,
           "layers": study_layers("vit_b_32"), "input_size": run_size("vit_b_32", 64)}
    table = calibrated_scores(job, 64, train, val, tmp_path / "out" / "vit_b_32.csv", schedule="small",
                              batch_size=8, device="cpu")
    maps = [layer for layer in job["layers"] if not layer.endswith(":cls")]
    assert len(maps) < len(job["layers"])  # the class tokens are not calibrated, as stage "all" leaves them out
    assert set(table["distance"]) == {"lpips_lin"} and set(table["stage"]) == {"all"}
    assert set(table["n_stages"]) == {len(maps)} and set(table["run_size"]) == {64}
    assert set(table["subset"]) == {"", "distortions", "real algorithms", "cnn", "color"}
    headline = table[table["subset"] == ""]["ps"].iloc[0]
    assert 0 <= headline <= 100 and headline == pytest.approx(table[table["subset"].isin(["cnn", "color"])]["ps"].mean())
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["vit_b_32.csv"]  # the per-channel caches are gone

    single = pd.DataFrame([{"weights": "random", "size": 64, "run_size": 64, "arch": "vit_b_32", "distance": "lpips",
                            "stage": stage, "layer": stage, "n_stages": len(maps), "subset": "", "ps": ps}
                           for stage, ps in (("1", 60.0), ("2", 62.0))])
    scores = pd.concat([single, table], ignore_index=True)
    figure_distances(scores, model_table(["vit_b_32"], ["random"]), None, None, [], {}, tmp_path / "fig", True)
    drawn = pd.read_csv(tmp_path / "fig" / "kumar_distances.csv")
    assert sorted(drawn["distance"]) == ["lpips", "lpips_lin"]
    assert drawn.set_index("distance")["ps"].to_dict() == pytest.approx({"lpips": 62.0, "lpips_lin": headline})
