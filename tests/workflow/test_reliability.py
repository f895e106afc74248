"""Issue 12 at the workflow level: config mistakes stop the run in one line naming the key, a replaced state_dict
reruns its jobs, and a Snakemake killed with SIGKILL finishes when the same command is run again."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from conftest import SNAKEMAKE, copy_workflow, demo_out, job_counts, snakemake, tail

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
    (workdir / "wrong.yaml").write_text("similarity:\n  runtime: {eval_batch_size: lots}\n")
    _fails_in_one_line(snakemake(workdir, "-n", "--configfile", "wrong.yaml"),
                       "config.similarity.runtime.eval_batch_size: 'lots' is not of type 'integer'")


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


@pytest.mark.slow
def test_a_sigkilled_snakemake_finishes_when_the_same_command_is_rerun(workdir):
    # Issue 12 item 8: a killed Snakemake left its locks and incomplete markers, and the same command stopped
    # with "Directory cannot be locked" / "IncompleteFilesException" until --unlock and --rerun-incomplete.
    target = "results/cache/similarity/random/alexnet.h5"
    command = SNAKEMAKE + ["--cores", "1", target, "--configfile", "demo.yaml"]
    run = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    out = demo_out(workdir)  # the demo works in its own folder
    started = out / "logs/similarity/cache/random/alexnet.log"  # the last job has begun
    deadline = time.time() + 300
    while not started.exists() and run.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert started.exists() and run.poll() is None, "the run ended before it could be killed"
    time.sleep(1)
    os.killpg(run.pid, signal.SIGKILL)  # Snakemake and its job, as a crash or `kill -9` would
    run.wait(timeout=60)
    assert list((out / ".snakemake/locks").glob("*.lock")), "the kill left no lock: the test tests nothing"
    assert not (out / target).exists()

    rerun = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, tail(rerun)
    assert (out / target).exists()
    assert not list((out / ".snakemake/locks").glob("*.lock"))
    assert "removed" in rerun.stderr and "lock file" in rerun.stderr


def test_locks_of_a_running_snakemake_are_kept(tmp_path):
    # Stale-lock removal must never touch the locks of a Snakemake that is still running here.
    import sys

    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from lossnet.workflow import clear_stale_locks; clear_stale_locks({str(tmp_path)!r}); "
                               "print('ready', flush=True); import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert not (locks / "0.input.lock").exists()  # no one else was running: stale, removed
        (locks / "0.input.lock").write_text("x\n")  # now the holder's own lock
        probe = subprocess.run(
            [sys.executable, "-c", f"from lossnet.workflow import clear_stale_locks; "
                                   f"print(clear_stale_locks({str(tmp_path)!r}))"],
            capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == "[]", probe.stderr
        assert (locks / "0.input.lock").exists()
    finally:
        holder.kill()
        holder.wait()
    probe = subprocess.run(
        [sys.executable, "-c", f"from lossnet.workflow import clear_stale_locks; print(len(clear_stale_locks({str(tmp_path)!r})))"],
        capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "1" and not (locks / "0.input.lock").exists()
