"""The training engine at the workflow level (benchmarks 2, 3 and 4): a job whose network is defined differently
trains afresh, whatever changed (the weights' content at the same path, a layer's module path, the prepared data),
and a runtime knob reruns nothing.

Real runs of the demo-sized jobs with checkpoints kept, since a kept checkpoint is what a stale run would reuse.
"""

from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import copy_workflow, demo_out, job_counts, snakemake, tail

from lossnet.weights import build_model

SCORES = {
    "superres": "results/scores/superres/mine/alexnet/M/x4.csv",
    "delineation": "results/scores/delineation/mine/alexnet/M.csv",
    "autoencoding": "results/scores/autoencoding/mine/alexnet/M/svhn.csv",
}
LAYERS = {"E": "features.1", "S": "features.4", "M": "features.7", "L": "features.11"}
OVERLAY = {
    "architectures": [{"name": "alexnet", "layers": LAYERS}],
    "weights": ["mine"],
    "weight_files": {"mine": {"alexnet": "weights/alexnet.pth"}},
    "benchmarks": list(SCORES),
    "superres": {"scales": [4], "pixel_baseline": False, "runtime": {"keep_checkpoints": True}},
    # mu 1: the loss network's term weighs as much as BCE, so another network visibly changes the U-Net.
    "delineation": {"pixel_baseline": False, "train": {"mu": 1.0}, "runtime": {"keep_checkpoints": True}},
    "autoencoding": {"datasets": ["svhn"], "layers": ["M"], "pixel_baseline": False,
                     "runtime": {"keep_checkpoints": True}},
}


def _configure(workdir: Path, overlay: dict) -> None:
    (workdir / "identity.yaml").write_text(yaml.safe_dump(overlay))


def _run(workdir: Path) -> dict[str, pd.DataFrame]:
    result = snakemake(workdir, "--cores", "2", *SCORES.values(), "--configfile", "demo.yaml", "identity.yaml",
                       timeout=1200)
    assert result.returncode == 0, tail(result)
    return {name: pd.read_csv(demo_out(workdir) / path) for name, path in SCORES.items()}


def _runs(workdir: Path) -> dict[str, int]:
    """How many training runs (checkpoint folders) each benchmark holds."""
    root = demo_out(workdir) / "results" / "checkpoints"
    return {name: len(list((root / name).glob("mine/alexnet/M/run-*"))) for name in SCORES}


def _assert_all_retrained(before: dict, after: dict, runs_before: dict, runs_after: dict, what: str) -> None:
    for name in SCORES:
        assert runs_after[name] == runs_before[name] + 1, f"{name}: {what} did not start a new training run"
        assert not before[name]["value"].equals(after[name]["value"]), f"{name}: {what} left the scores unchanged"


@pytest.mark.slow
def test_a_differently_defined_network_trains_afresh_in_every_training_benchmark(tmp_path):
    workdir = copy_workflow(tmp_path / "workflow")
    weights = workdir / "weights" / "alexnet.pth"
    weights.parent.mkdir()
    torch.save(build_model("alexnet", "random", seed=1).state_dict(), weights)
    _configure(workdir, OVERLAY)
    first, runs = _run(workdir), _runs(workdir)
    assert runs == dict.fromkeys(SCORES, 1)

    # 1. Other weights at the same path.
    torch.save(build_model("alexnet", "random", seed=2).state_dict(), weights)
    second, after = _run(workdir), _runs(workdir)
    _assert_all_retrained(first, second, runs, after, "a state_dict replaced at the same path")

    # 2. The layer label M mapped to another module.
    overlay = yaml.safe_load(yaml.safe_dump(OVERLAY))
    overlay["architectures"][0]["layers"]["M"] = "features.9"
    _configure(workdir, overlay)
    third, runs = _run(workdir), _runs(workdir)
    _assert_all_retrained(second, third, after, runs, "a remapped module path")

    # 3. A data setting that rebuilds each prepared file.
    overlay["superres"]["crop"] = 56
    overlay["delineation"]["demo"] = {"size": 288}
    overlay["autoencoding"]["max_unlabeled"] = 64
    _configure(workdir, overlay)
    fourth, after = _run(workdir), _runs(workdir)
    _assert_all_retrained(third, fourth, runs, after, "rebuilt prepared data")

    # Runtime knobs (and the device) plan nothing.
    overlay["device"] = "cpu"
    overlay["checkpoint_dir"] = "elsewhere/checkpoints"
    for section in SCORES:
        overlay[section]["runtime"] = {"keep_checkpoints": False, "num_workers": 1, "threads": 2,
                                       "eval_batch_size": 3, "in_memory": False}
    _configure(workdir, overlay)
    result = snakemake(workdir, "-n", *SCORES.values(), "--configfile", "demo.yaml", "identity.yaml")
    assert result.returncode == 0 and job_counts(result.stdout) == {}, tail(result)
