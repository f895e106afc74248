"""Benchmark-2 training: resume after SIGKILL to the same final PSNR, the kept checkpoint skips a collapsed epoch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import lossnet
from lossnet.benchmarks.superres.data import read_coco
from lossnet.benchmarks.superres.model import TransformNet
from lossnet.benchmarks.superres.train import (PsnrValidator, SuperresLoss, SuperresPairs, check_kept_epoch,
                                               train_superres)
from lossnet.loss import PerceptualLoss
from lossnet.training import FitResult, Runtime, TrainingJob, fit

QUIET = Runtime(device="cpu", progress=False)


def sr_job(prepared, checkpoints, **options):
    return TrainingJob.create("superres", prepared, checkpoints, runtime=QUIET, **options)

EPOCHS = 4
TRAIN_SCRIPT = f"""
import sys, torch
torch.set_num_threads(1)
from lossnet.benchmarks.superres.train import train_superres
from lossnet.training import Runtime, TrainingJob
job = TrainingJob.create("superres", sys.argv[1], sys.argv[2], arch="alexnet", layer="E", weights="random", scale=4,
                         epochs={EPOCHS}, batch_size=4, runtime=Runtime(device="cpu", progress=False))
model, result = train_superres(job)
print([record["val"] for record in result.history])
"""


def _run(script: Path, prepared: Path, checkpoints: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(lossnet.__file__).parents[1])}
    return subprocess.Popen([sys.executable, str(script), str(prepared), str(checkpoints)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> list[float]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return eval(out.strip().splitlines()[-1])  # the printed list of validation PSNRs


def test_sigkill_mid_training_resumes_to_the_same_final_psnr(prepared, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    killed = _run(script, prepared["coco"], tmp_path / "killed")
    deadline = time.monotonic() + 240
    while not list((tmp_path / "killed").glob("**/run-*/last.pt")):
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (last,) = (tmp_path / "killed").glob("**/run-*/last.pt")
    stopped_after = torch.load(last, weights_only=True)["epoch"]
    assert stopped_after < EPOCHS, "the kill came too late to interrupt training"
    resumed = _finish(_run(script, prepared["coco"], tmp_path / "killed"))
    # The uninterrupted run, in this process (one thread, as the subprocesses: the same reduction order).
    _, reference = train_superres(sr_job(prepared["coco"], tmp_path / "reference", arch="alexnet", layer="E",
                                         weights="random", scale=4, epochs=EPOCHS, batch_size=4))
    assert resumed == [record["val"] for record in reference.history] and len(resumed) == EPOCHS
    (best_resumed,) = (tmp_path / "killed").glob("**/run-*/best.pt")
    for key, value in torch.load(reference.best_path, weights_only=True).items():
        assert torch.equal(value, torch.load(best_resumed, weights_only=True)[key]), key


def test_collapsed_epoch_is_never_kept_even_with_a_higher_psnr(prepared, tmp_path):
    """On dark validation images black outputs score a *higher* PSNR than a barely trained network; still the
    collapsed epoch 2 is not the one kept."""
    train, val = read_coco(prepared["coco"], "train") // 8, read_coco(prepared["coco"], "val") // 8
    torch.manual_seed(0)
    model, validator, calls, kept = TransformNet(4), PsnrValidator(val, 4), [], {}
    pixel = SuperresLoss(PerceptualLoss("pixel"))

    def collapsing_loss(model, batch):
        calls.append(1)
        if len(calls) == len(train) // 4 + 1:  # first step of epoch 2: the network collapses to black
            kept.update({k: v.clone() for k, v in model.state_dict().items()})
            with torch.no_grad():
                model.body[-1][1].weight.zero_()
                model.body[-1][1].bias.fill_(-20.0)
        return pixel(model, batch)

    result = fit(model, collapsing_loss, SuperresPairs(train, 4), checkpoint_dir=tmp_path, epochs=2, batch_size=4,
                 lr=1e-4, device="cpu", progress=False, validate=validator)
    first, second = validator.history
    assert second["collapsed"] and not first["collapsed"] and second["psnr"] > first["psnr"]
    assert [record["val"] for record in result.history] == [first["psnr"], float("-inf")]
    best = torch.load(result.best_path, weights_only=True)
    assert all(torch.equal(best[k], v) for k, v in kept.items())


def test_a_run_whose_every_epoch_collapsed_is_refused(tmp_path):
    history = [{"epoch": e, "train_loss": 0.1, "val": float("-inf"), "seconds": 1.0} for e in (1, 2)]
    with pytest.raises(RuntimeError, match="every epoch .* collapsed"):
        check_kept_epoch(FitResult(tmp_path / "best.pt", tmp_path / "last.pt", history), 1e-3)
    check_kept_epoch(FitResult(tmp_path / "best.pt", tmp_path / "last.pt", history + [{"val": 20.0}]), 1e-3)


def test_pixel_training_improves_psnr_and_returns_the_best_epoch(prepared, tmp_path):
    model, result = train_superres(sr_job(prepared["coco"], tmp_path, scale=8, epochs=3, batch_size=4, lr=3e-3))
    values = [record["val"] for record in result.history]
    assert max(values[1:]) > values[0]
    validator = PsnrValidator(read_coco(prepared["coco"], "val"), 8)
    with torch.no_grad():
        assert validator(model) == pytest.approx(max(values), abs=1e-9)
    assert not model.training and np.isfinite(values).all()
