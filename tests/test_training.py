"""The training engine: learning, checkpoints, resume after SIGKILL, NaN stop, frozen loss networks."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import lossnet
from lossnet.training import FitResult, NonFiniteLossError, fit, load_model_state

STEPS_PER_EPOCH = 8  # 64 images, batch 8


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny ops on a shared 2-core machine: extra threads only spin (20x slower). Also, bit-exact
    comparisons with the resume test's subprocess need its reduction order (it runs on one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_autoencoder(channels: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.ConvTranspose2d(4, channels, 4, stride=2, padding=1),
        nn.Sigmoid(),
    )


def tiny_data(channels: int = 1) -> TensorDataset:
    return TensorDataset(torch.rand(64, channels, 8, 8, generator=torch.Generator().manual_seed(1)))


def mse_loss(model: nn.Module, batch) -> torch.Tensor:
    (x,) = batch
    return torch.mean((model(x) - x) ** 2)


def quick_fit(model, loss_fn, data, tmp: Path, **kwargs) -> FitResult:
    options = dict(checkpoint_dir=tmp, epochs=3, batch_size=8, device="cpu", progress=False)
    return fit(model, loss_fn, data, **{**options, **kwargs})


def test_trains_checkpoints_and_keeps_best(tmp_path):
    model, data = tiny_autoencoder(), tiny_data()
    val_x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    snapshots = []

    def validate(m: nn.Module) -> float:
        assert not m.training and not torch.is_grad_enabled()
        snapshots.append(copy.deepcopy(m.state_dict()))
        return -torch.mean((m(val_x) - val_x) ** 2).item()

    result = quick_fit(model, mse_loss, data, tmp_path, lr=1e-2, validate=validate)
    assert result.best_path == tmp_path / "best.pt" and result.best_path.exists()
    assert result.last_path == tmp_path / "last.pt" and result.last_path.exists()
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert all(h["seconds"] >= 0 for h in result.history)
    vals = [h["val"] for h in result.history]
    best = vals.index(max(vals))
    best_state = torch.load(result.best_path, weights_only=True)
    assert all(torch.equal(best_state[k], v) for k, v in snapshots[best].items())
    checkpoint = torch.load(result.last_path, weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["best_val"] == max(vals)
    reloaded = load_model_state(result.last_path, tiny_autoencoder())
    assert all(torch.equal(reloaded.state_dict()[k], v) for k, v in snapshots[-1].items())


def test_best_keeps_earlier_epoch_on_tie(tmp_path):
    scores, snapshots = iter([0.5, 0.9, 0.9]), []

    def validate(m: nn.Module) -> float:
        snapshots.append(copy.deepcopy(m.state_dict()))
        return next(scores)

    result = quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, validate=validate)
    best = load_model_state(result.best_path, tiny_autoencoder()).state_dict()
    assert all(torch.equal(best[k], v) for k, v in snapshots[1].items())
    assert not all(torch.equal(best[k], v) for k, v in snapshots[2].items())


def test_without_validate_best_is_last_epoch(tmp_path):
    result = quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=2)
    assert [h["val"] for h in result.history] == [None, None]
    best = load_model_state(result.best_path, tiny_autoencoder()).state_dict()
    last = load_model_state(result.last_path, tiny_autoencoder()).state_dict()
    assert all(torch.equal(best[k], last[k]) for k in last)


def sigkill_job(checkpoint_dir: Path, slow: bool) -> None:
    """The run of the resume test; ``slow`` sleeps every step and hangs at epoch 2, step 3 until killed."""
    calls = 0

    def loss_fn(model: nn.Module, batch) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if slow:
            time.sleep(0.01)
            if calls == STEPS_PER_EPOCH + 3:
                (checkpoint_dir / "in_epoch_2").touch()
                time.sleep(60)
        return mse_loss(model, batch)

    x_val = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    validate = lambda m: -torch.mean((m(x_val) - x_val) ** 2).item()  # noqa: E731
    quick_fit(tiny_autoencoder(), loss_fn, tiny_data(), checkpoint_dir, lr=1e-2, seed=7, validate=validate)


SCRIPT = """
import os, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
sys.path.insert(0, {tests!r})
from test_training import sigkill_job
sigkill_job(Path(sys.argv[1]), slow=bool(os.environ.get("LOSSNET_TEST_SLOW")))
""".format(tests=str(Path(__file__).parent))


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"training script exited early with {proc.returncode}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.05)


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    script, log_path = tmp_path / "train.py", tmp_path / "victim.log"
    script.write_text(SCRIPT)
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LOSSNET_TEST_SLOW": "1"}
    with log_path.open("w") as log:
        victim = subprocess.Popen([sys.executable, str(script), str(killed_dir)], env=env, stdout=log, stderr=log)
        try:
            sigkill_job(reference_dir, slow=False)  # the uninterrupted run (one thread), while the victim starts
            _wait_for(killed_dir / "last.pt", victim)
            _wait_for(killed_dir / "in_epoch_2", victim)
            os.kill(victim.pid, signal.SIGKILL)
            assert victim.wait(timeout=60) == -signal.SIGKILL
        finally:
            if victim.poll() is None:
                victim.kill()
                victim.wait()
    killed = torch.load(killed_dir / "last.pt", weights_only=True)
    assert killed["epoch"] == 1, log_path.read_text()  # epochs 2 and 3 unfinished

    # The rerun: the script's job again, here rather than in a third process (importing lossnet takes seconds).
    sigkill_job(killed_dir, slow=False)
    resumed = torch.load(killed_dir / "last.pt", weights_only=True)
    uninterrupted = torch.load(reference_dir / "last.pt", weights_only=True)
    assert resumed["epoch"] == uninterrupted["epoch"] == 3
    assert resumed["history"][0] == killed["history"][0]  # epoch 1 was continued from, not trained again
    assert resumed["model"].keys() == uninterrupted["model"].keys()
    assert all(torch.equal(resumed["model"][k], uninterrupted["model"][k]) for k in resumed["model"])
    for key in ("train_loss", "val"):
        assert [h[key] for h in resumed["history"]] == [h[key] for h in uninterrupted["history"]]
    best_resumed = torch.load(killed_dir / "best.pt", weights_only=True)
    best_reference = torch.load(reference_dir / "best.pt", weights_only=True)
    assert all(torch.equal(best_resumed[k], best_reference[k]) for k in best_reference)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_stops_before_the_step(tmp_path, bad):
    calls = 0

    def loss_fn(model, batch):
        nonlocal calls
        calls += 1
        loss = mse_loss(model, batch)
        return loss * bad if calls == STEPS_PER_EPOCH + 3 else loss

    with pytest.raises(NonFiniteLossError) as error:
        quick_fit(tiny_autoencoder(), loss_fn, tiny_data(), tmp_path)
    assert "epoch 2" in str(error.value) and "step 3" in str(error.value)
    checkpoint = torch.load(tmp_path / "last.pt", weights_only=True)
    assert checkpoint["epoch"] == 1 and len(checkpoint["history"]) == 1
    assert not (tmp_path / "last.pt.tmp").exists()


def test_finished_run_returns_immediately(tmp_path):
    first = quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=2)
    calls = 0

    def counting_loss(model, batch):
        nonlocal calls
        calls += 1
        return mse_loss(model, batch)

    model = tiny_autoencoder()
    again = quick_fit(model, counting_loss, tiny_data(), tmp_path, epochs=2)
    assert calls == 0 and again.history == first.history
    last = load_model_state(first.last_path, tiny_autoencoder()).state_dict()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in last.items())


def test_resume_with_other_settings_is_refused(tmp_path):
    quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=1)
    with pytest.raises(ValueError, match="last.pt"):
        quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=2, seed=1)


def test_fewer_epochs_than_the_checkpoint_are_refused(tmp_path):
    # Issue 12 item 3: the 4-epoch model must not come back labelled 2 epochs.
    quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=4)
    before = (tmp_path / "last.pt").read_bytes(), (tmp_path / "best.pt").read_bytes()
    with pytest.raises(ValueError, match=r"holds 4 finished epochs, more than the 2 asked for") as error:
        quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=2)
    assert f"delete {tmp_path}" in str(error.value)
    assert ((tmp_path / "last.pt").read_bytes(), (tmp_path / "best.pt").read_bytes()) == before


class WithPerceptualLoss(nn.Module):
    """A trained model carrying its loss network, as a benchmark does: ``.train()`` reaches the loss."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_autoencoder(channels=3)
        self.loss = lossnet.PerceptualLoss("squeezenet1_1", layers="E", weights="random")


def test_frozen_loss_network_is_untouched(tmp_path):
    model = WithPerceptualLoss()
    frozen_before = copy.deepcopy(model.loss.state_dict())
    trained_before = copy.deepcopy(model.net.state_dict())
    modes: list[bool] = []
    for module in model.loss.network.extractor.modules():
        module.register_forward_pre_hook(lambda m, args: modes.append(m.training))

    def loss_fn(m: WithPerceptualLoss, batch) -> torch.Tensor:
        (x,) = batch
        return m.loss(m.net(x), x)

    x_val = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    quick_fit(model, loss_fn, tiny_data(3), tmp_path, epochs=2, validate=lambda m: -loss_fn(m, (x_val,)).item())
    assert modes and not any(modes)
    assert all(torch.equal(model.loss.state_dict()[k], v) for k, v in frozen_before.items())
    assert not all(torch.equal(model.net.state_dict()[k], v) for k, v in trained_before.items())
    optimizer = torch.load(tmp_path / "last.pt", weights_only=True)["optimizer"]
    in_optimizer = sum(len(group["params"]) for group in optimizer["param_groups"])
    assert in_optimizer == len(list(model.net.parameters()))


def test_bf16_autocast_runs(tmp_path):
    result = quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=1, precision="bf16")
    assert len(result.history) == 1
    with pytest.raises(ValueError, match="precision"):
        quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path / "other", precision="fp16")


def test_a_full_disk_during_a_checkpoint_is_named_and_keeps_the_last_one(tmp_path, monkeypatch):
    """torch's zip writer reports a full disk as "unexpected pos ..."; the engine says what happened and what is
    left, and the previous checkpoint stays whole (issue 20, item 11)."""
    quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=1)
    before = (tmp_path / "last.pt").read_bytes()

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed; unexpected pos 1792 vs 1686")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match=r"disk is full.*previous checkpoint, if any, is intact"):
        quick_fit(tiny_autoencoder(), mse_loss, tiny_data(), tmp_path, epochs=2)
    assert (tmp_path / "last.pt").read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))


def test_a_nan_delineation_prediction_is_the_engines_non_finite_loss(tmp_path):
    """A NaN road probability used to end in BCE's "all elements of input should be between 0 and 1"; it is now
    a NaN loss, which the engine stops on naming the epoch and step (issue 20, item 11)."""
    from lossnet.benchmarks.delineation.train import DelineationLoss, binary_cross_entropy

    truth = (torch.rand(2, 1, 8, 8) > 0.5).float()
    probabilities = torch.rand(2, 1, 8, 8).clamp(0.01, 0.99)
    assert binary_cross_entropy(probabilities, truth) == pytest.approx(
        float(nn.functional.binary_cross_entropy(probabilities, truth)), rel=1e-6)
    assert torch.isnan(DelineationLoss(None).combine([probabilities.clone().fill_(float("nan"))], truth))

    class NaNRoads(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, images):
            return [images[:, :1] * self.scale * float("nan")]

    roads = TensorDataset(torch.rand(16, 3, 8, 8), (torch.rand(16, 1, 8, 8) > 0.5).float())
    with pytest.raises(NonFiniteLossError, match="epoch 1 step 1"):
        quick_fit(NaNRoads(), DelineationLoss(None), roads, tmp_path)
