"""Incremental rebuild after the demo run: a new architecture runs only its own jobs and the aggregation, and
leaves every earlier result untouched; a changed hyperparameter or script reruns only the jobs that use it."""

import os
import re
import time

import pandas as pd
import pytest
import yaml

from conftest import DEMO_TARGET, demo_config, demo_out, file_states, job_counts, snakemake, tail

NEW_ARCH = "mobilenet_v3_small"
# One config entry: a torchvision classifier that is not built in, with its E/S/M/L modules.
NEW_ARCH_ENTRY = {"name": NEW_ARCH, "layers": {"E": "features.0", "S": "features.1", "M": "features.4", "L": "features.12"}}
# Outputs that aggregate over all jobs: they are rewritten when a job is added.
AGGREGATES = ("results/tables/", "results/report.html", "results/figures/")
AGGREGATION_RULES = {"scores_table": 1, "rankings": 1}


def demo_sizes() -> dict[str, int]:
    """How many jobs of each per-job rule the demo has."""
    config = demo_config()
    assert set(config["benchmarks"]) == {"similarity", "superres", "delineation", "autoencoding"}, \
        "the demo runs every benchmark"
    autoencoding, superres = config["autoencoding"], config["superres"]
    n_models = len(config["weights"]) * len(config["architectures"])
    return {
        "models": n_models,
        "layers": len(config["layers"]),
        "datasets": len(autoencoding["datasets"]),
        "pixel_datasets": len(autoencoding["datasets"]) if autoencoding["pixel_baseline"] else 0,
        "sr_layers": len(superres["layers"] or config["layers"]),
        "scales": len(superres["scales"]),
        "pixel_scales": len(superres["scales"]) if superres["pixel_baseline"] else 0,
        "dl_layers": len(config["delineation"]["layers"] or config["layers"]),
        "ae_layers": len(autoencoding["layers"] or config["layers"]),
        "delineation_pixel": int(config["delineation"]["pixel_baseline"]),
    }


def calibration_jobs(n_weights: int) -> dict[str, int]:
    """Calibrated LPIPS's jobs for one more architecture: a train and a val cache and one fit per weights."""
    if not demo_config()["similarity"]["calibration"]["enabled"]:
        return {}
    return {"calibration_cache": 2 * n_weights, "calibrate": n_weights}


def dry_run(workdir, *configfiles):
    result = snakemake(workdir, "-n", DEMO_TARGET, "--configfile", "demo.yaml", *configfiles)
    assert result.returncode == 0, tail(result)
    return result


def planned_outputs(output: str) -> list[str]:
    """Every output file of the jobs a dry-run plans."""
    return [path for line in re.findall(r"^\s+output: (.+)$", output, re.MULTILINE) for path in line.split(", ")]


@pytest.mark.slow
def test_demo_run_is_complete(demo_run):
    result = dry_run(demo_run)
    assert job_counts(result.stdout) == {}, result.stdout[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_new_architecture_runs_only_its_jobs_and_the_aggregation(demo_copy):
    workdir = demo_copy
    architectures = demo_config()["architectures"] + [NEW_ARCH_ENTRY]
    (workdir / "more.yaml").write_text(yaml.safe_dump({"architectures": architectures}))
    sizes = demo_sizes()
    n_weights = len(demo_config()["weights"])
    n_layers, n_datasets = sizes["layers"], sizes["datasets"]

    planned = dry_run(workdir, "more.yaml")
    assert job_counts(planned.stdout) == {
        "similarity_cache": n_weights,
        "similarity_score": n_weights * n_layers,
        "similarity_score_all_layers": n_weights,
        "autoencoder_train": n_weights * sizes["ae_layers"] * n_datasets,
        "autoencoder_probe": n_weights * sizes["ae_layers"] * n_datasets,
        "superres_train": n_weights * sizes["sr_layers"] * sizes["scales"],
        "delineation_train": n_weights * sizes["dl_layers"],
        **calibration_jobs(n_weights),
        **AGGREGATION_RULES,
    }, planned.stdout[-3000:]
    # No data preparation, no pixel references, nothing of the old architectures: only the new one's files.
    for path in planned_outputs(planned.stdout):
        assert f"/{NEW_ARCH}" in path or path.startswith(AGGREGATES), path

    before = file_states(demo_out(workdir), exclude=AGGREGATES)
    assert len(before) > 50
    old_rankings = pd.read_csv(demo_out(workdir) / DEMO_TARGET)

    result = snakemake(workdir, "--cores", "2", DEMO_TARGET, "--configfile", "demo.yaml", "more.yaml", timeout=1500)
    assert result.returncode == 0, tail(result)

    after = file_states(demo_out(workdir), exclude=AGGREGATES)
    new_files = sorted(set(after) - set(before))
    assert new_files and all(f"/{NEW_ARCH}" in path for path in new_files), new_files
    changed = sorted(path for path in before if after.get(path) != before[path])
    assert changed == [], f"earlier results rewritten or removed (mtime or content): {changed}"

    rankings = pd.read_csv(demo_out(workdir) / DEMO_TARGET)
    assert len(rankings) == len(old_rankings) + n_weights
    assert set(rankings.arch) == set(old_rankings.arch) | {NEW_ARCH}
    assert sorted(rankings[rankings.arch == NEW_ARCH].weights) == sorted(demo_config()["weights"])
    assert job_counts(dry_run(workdir, "more.yaml").stdout) == {}


def expected_reruns(name: str) -> dict[str, int]:
    """The jobs that must run again when `name` changes (besides the aggregation)."""
    n = demo_sizes()
    probes = {"autoencoder_probe": n["models"] * n["ae_layers"] * n["datasets"], "autoencoder_probe_pixel": n["pixel_datasets"]}
    training = {"autoencoder_train": probes["autoencoder_probe"], "autoencoder_train_pixel": n["pixel_datasets"]}
    similarity = {
        "similarity_cache": n["models"],
        "similarity_score": n["models"] * n["layers"],
        "similarity_score_all_layers": n["models"],
    }
    superres = {"superres_train": n["models"] * n["sr_layers"] * n["scales"], "superres_train_pixel": n["pixel_scales"]}
    delineation = {"delineation_train": n["models"] * n["dl_layers"], "delineation_train_pixel": n["delineation_pixel"]}
    expected = {"probe": probes, "training": {**training, **probes}, "similarity": similarity,
                "superres": superres, "delineation": delineation}[name]
    return {rule: count for rule, count in expected.items() if count}


# A hyperparameter of one benchmark (a rule param of only that benchmark's rules) and which jobs it reaches.
HYPERPARAMETERS = {
    "autoencoding probe": ("autoencoding:\n  probe: {epochs: 7}\n", "probe"),
    "autoencoding training": ("autoencoding:\n  train: {lr: 0.0005}\n", "training"),
    "similarity": ("similarity:\n  normalize_input: false\n", "similarity"),
    "superres training": ("superres:\n  train: {lr: 0.0005}\n", "superres"),
    "delineation": ("delineation:\n  train: {mu: 0.02}\n", "delineation"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HYPERPARAMETERS))
def test_changed_hyperparameter_reruns_only_its_benchmark(demo_copy, name):
    overlay, reaches = HYPERPARAMETERS[name]
    (demo_copy / "change.yaml").write_text(overlay)
    planned = dry_run(demo_copy, "change.yaml")
    assert job_counts(planned.stdout) == {**expected_reruns(reaches), **AGGREGATION_RULES}, planned.stdout[-3000:]
    assert "Params have changed since last execution" in planned.stdout


@pytest.mark.slow
def test_runtime_knobs_rerun_nothing(demo_copy):
    """How jobs run (device, threads, workers, evaluation batch sizes, memory, checkpoints) is never a rerun."""
    runtime = {"threads": 2, "num_workers": 1, "eval_batch_size": 5, "in_memory": False, "keep_checkpoints": True}
    sections = {"superres": runtime, "delineation": runtime, "autoencoding": runtime,
                "similarity": {"eval_batch_size": 7, "channels_last": True, "threads": 1}}
    overlay = {"device": "cpu", "checkpoint_dir": "scratch/checkpoints",
               **{name: {"runtime": knobs} for name, knobs in sections.items()}}
    (demo_copy / "runtime.yaml").write_text(yaml.safe_dump(overlay))
    planned = dry_run(demo_copy, "runtime.yaml")
    assert job_counts(planned.stdout) == {}, planned.stdout[-3000:]


@pytest.mark.slow
def test_ranked_distance_is_the_headline_everywhere(demo_copy):
    """rank_distance gram: the rankings, Table IV, the correlations, the figures and the report follow it."""
    (demo_copy / "gram.yaml").write_text("similarity:\n  rank_distance: gram\n")
    result = snakemake(demo_copy, "--cores", "2", "--configfile", "demo.yaml", "gram.yaml", timeout=900)
    assert result.returncode == 0, tail(result)
    counts = job_counts(result.stdout + result.stderr)  # a real run prints its job stats on stderr
    assert {"rankings", "best_layers", "correlations", "figures", "report"} <= set(counts), counts
    assert "similarity_cache" not in counts and "superres_train" not in counts  # nothing is recomputed
    best = pd.read_csv(demo_out(demo_copy) / "results/tables/best_layers.csv")
    similarity = best[(best.benchmark == "similarity") & (best.weights != "none")]
    assert len(similarity), "Table IV has no similarity rows"  # else the comparisons below hold vacuously
    scores = pd.read_csv(demo_out(demo_copy) / "results/tables/scores.csv")
    for distance, ranked in (("gram", True), ("lpips", False)):
        rows = scores[(scores.benchmark == "similarity") & (scores.distance == distance) & scores.subset.isna()
                      & (scores.layer != "all")]
        merged = similarity.merge(rows, on=["weights", "arch", "layer", "metric"], suffixes=("", "_other"))
        same = len(merged) == len(similarity) and (merged.value == merged.value_other).all()
        assert same == ranked, f"Table IV's similarity rows are {'not ' if ranked else ''}the {distance} scores"
    correlations = pd.read_csv(demo_out(demo_copy) / "results/tables/correlations.csv")
    assert (correlations.benchmark == "similarity").any()
    report = (demo_out(demo_copy) / "results/report.html").read_text()
    assert "ranked distance" in report and "gram" in report


@pytest.mark.slow
def test_edited_script_reruns_its_rule(demo_copy):
    """A rule's script is code Snakemake tracks (by mtime); the modules it imports are not (docs/cluster.md)."""
    script = demo_copy / "scripts/autoencoding/probe.py"
    now = time.time()
    os.utime(script, (now, now))
    planned = dry_run(demo_copy)
    assert job_counts(planned.stdout) == {**expected_reruns("probe"), **AGGREGATION_RULES}, planned.stdout[-3000:]
    assert "Code has changed since last execution" in planned.stdout
