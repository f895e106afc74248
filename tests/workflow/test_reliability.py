"""Issue 12 at the workflow level: config mistakes stop the run in one line naming the key, a replaced state_dict
reruns its jobs, and a Snakemake killed with SIGKILL finishes when the same command is run again."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from conftest import SNAKEMAKE, copy_workflow, job_counts, snakemake, tail

from lossnet.weights import build_model


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path)


def _fails_in_one_line(result, *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, tail(result)
    for text in expected:
        assert text in output, tail(result)
    assert "properties" not in output and len(output.splitlines()) < 15, tail(result)  # no schema dump
    return output


def test_config_type_error_is_one_line_naming_the_key(workdir):
    (workdir / "wrong.yaml").write_text("similarity:\n  batch_size: lots\n")
    _fails_in_one_line(snakemake(workdir, "-n", "--configfile", "wrong.yaml"),
                       "config.similarity.batch_size: 'lots' is not of type 'integer'")


def test_ranked_distance_not_computed_is_a_config_error(workdir):
    # Issue 12 item 5: distances [gram] used to be accepted and every similarity rank became NaN.
    (workdir / "gram.yaml").write_text("similarity:\n  distances: [gram]\n")
    _fails_in_one_line(snakemake(workdir, "-n", "--configfile", "gram.yaml"),
                       "similarity.rank_distance", "'lpips'", "['gram']")
    (workdir / "gram.yaml").write_text("similarity:\n  distances: [gram]\n  rank_distance: gram\n")
    result = snakemake(workdir, "-n", "results/tables/rankings.csv", "--configfile", "gram.yaml")
    assert result.returncode == 0, tail(result)


def test_unknown_custom_layer_path_is_a_config_error(workdir):
    # Issue 12 item 10: the dry run accepted it and the job failed without naming it.
    (workdir / "layer.yaml").write_text(
        "architectures:\n  - {name: alexnet, layers: {E: features.99, S: features.4, M: features.7, L: features.11}}\n"
    )
    _fails_in_one_line(snakemake(workdir, "-n", "--configfile", "layer.yaml"),
                       "architectures[0].layers.E", "'features.99'", "lossnet archs alexnet")


def test_a_replaced_state_dict_reruns_its_jobs(workdir):
    # Issue 12 item 4: weight_files were not inputs, so a new file at the same path gave "Nothing to be done".
    weights = workdir / "weights" / "alexnet.pth"
    weights.parent.mkdir()
    torch.save(build_model("alexnet", "random", seed=1).state_dict(), weights)
    (workdir / "mine.yaml").write_text(
        "architectures: [alexnet]\nlayers: [E]\nweights: [mine]\n"
        "weight_files: {mine: {alexnet: weights/alexnet.pth}}\nsimilarity: {source: folder}\n"
    )
    targets = ["results/cache/similarity/mine/alexnet.h5", "results/cache/autoencoding/mine/alexnet/E/svhn.h5"]
    upstream = ["data/raw/svhn/train_32x32.mat", "data/raw/svhn/test_32x32.mat", "data/raw/svhn/extra_32x32.mat",
                "data/prepared/bapps.h5", "data/prepared/svhn.h5"]
    for path in upstream + targets:  # a finished earlier run
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_text("done")
    past = time.time() - 3600
    os.utime(weights, (past - 60, past - 60))
    for path in upstream:
        os.utime(workdir / path, (past - 30, past - 30))
    # Files made by hand have no provenance records: judge by modification times, as the report did.
    result = snakemake(workdir, "-n", *targets, "--rerun-triggers", "mtime", "--configfile", "mine.yaml")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr, tail(result)

    torch.save(build_model("alexnet", "random", seed=2).state_dict(), weights)  # new weights, same path
    result = snakemake(workdir, "-n", *targets, "--rerun-triggers", "mtime", "--configfile", "mine.yaml")
    assert result.returncode == 0, tail(result)
    assert job_counts(result.stdout) == {"similarity_cache": 1, "autoencoder_train": 1}, tail(result)
