"""Calibrated LPIPS in the workflow (config similarity.calibration): planned by the study, demo 2afc/train -> fit ->
val scores in scores.csv."""


import pandas as pd

from conftest import copy_workflow, demo_out, job_counts, snakemake, tail

OVERLAY = """\
architectures: [alexnet]
demo: {n_bapps: 4}
similarity:
  subsets_2afc: [traditional, cnn]
  calibration: {enabled: true, n_train: 6}
"""


def test_the_study_plans_the_train_part_one_fit_per_network_and_the_v01_comparison(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "imagenet.yaml").write_text("weights: [imagenet]\n")
    study = snakemake(workdir, "-n", "--configfile", "imagenet.yaml")
    assert study.returncode == 0, tail(study)
    counts, archs = job_counts(study.stdout), 14
    assert counts["prepare_bapps_train"] == 1 and counts["calibrate"] == archs
    # train and val of every network at the study's layers, and at the LPIPS taps of the three v0.1 backbones
    assert counts["calibration_cache"] == 2 * archs + 2 * 3 and counts["calibration_v01"] == 3
    assert "twoafc_train.tar.gz" in study.stdout and "calibration_v01_table" in counts
    (workdir / "off.yaml").write_text("similarity: {calibration: {enabled: false}}\n")
    off = snakemake(workdir, "-n", "--configfile", "imagenet.yaml", "off.yaml")
    assert off.returncode == 0, tail(off)
    assert not {"calibrate", "calibration_cache", "prepare_bapps_train"} & set(job_counts(off.stdout))
    assert "twoafc_train" not in off.stdout


def test_demo_calibration_fits_on_train_and_scores_on_val(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "tiny.yaml").write_text(OVERLAY)
    target = "results/scores/similarity/random/alexnet/calibrated/lpips_lin.csv"
    result = snakemake(workdir, "--cores", "2", target, "--configfile", "demo.yaml", "tiny.yaml")
    assert result.returncode == 0, tail(result)
    out = demo_out(workdir)
    scores = pd.read_csv(out / target, keep_default_na=False)
    headline = scores[scores.subset == ""].iloc[0]
    assert headline.distance == "lpips_lin" and headline.layer == "all" and headline.metric == "2afc"
    assert sorted(scores.subset) == ["", "cnn", "traditional"]
    assert (out / "results/calibration/random/alexnet.pt").is_file()
    assert (out / "data/demo/bapps_train/2afc/train/cnn/judge").is_dir()
