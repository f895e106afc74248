"""Calibrated LPIPS in the workflow (config similarity.calibration): opt-in, demo 2afc/train -> fit -> val scores."""


import pandas as pd

from conftest import copy_workflow, demo_out, job_counts, snakemake, tail

OVERLAY = """\
architectures: [alexnet]
demo: {n_bapps: 4}
similarity:
  subsets_2afc: [traditional, cnn]
  calibration: {enabled: true, n_train: 6}
"""


def test_calibration_is_off_by_default_and_refused_for_the_download(tmp_path):
    workdir = copy_workflow(tmp_path)
    study = snakemake(workdir, "-n")
    assert study.returncode == 0, tail(study)
    assert "calibrate" not in job_counts(study.stdout)
    (workdir / "on.yaml").write_text("similarity: {calibration: {enabled: true}}\n")
    refused = snakemake(workdir, "-n", "--configfile", "on.yaml")
    assert refused.returncode != 0 and "2afc/train, which the download does not fetch" in refused.stderr + refused.stdout


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
