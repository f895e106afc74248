"""The engine's optimiser options: Adam betas, a step learning-rate schedule and per-prefix learning rates.

The defaults must leave a run exactly as before (same optimiser, same checkpoint config); each option must act,
enter the checkpoint's config (so a run with another option is refused), and survive a resume.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lossnet.training import fit


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


class TwoParts(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.codes = nn.Embedding(16, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return self.head(self.codes(index))


DATA = TensorDataset(torch.arange(16), torch.rand(16, 3, generator=torch.Generator().manual_seed(2)))


def loss_fn(model: nn.Module, batch) -> torch.Tensor:
    index, target = batch
    return torch.mean((model(index) - target) ** 2)


def run(tmp, epochs: int = 3, **options):
    model = TwoParts()
    result = fit(model, loss_fn, DATA, checkpoint_dir=tmp, epochs=epochs, batch_size=4, lr=1e-2, device="cpu",
                 progress=False, **options)
    return model, torch.load(result.last_path, weights_only=True)


def test_defaults_keep_the_old_checkpoint_config_and_one_group(tmp_path):
    _, saved = run(tmp_path)
    assert saved["config"] == {"seed": 0, "batch_size": 4, "lr": 1e-2}
    groups = saved["optimizer"]["param_groups"]
    assert len(groups) == 1 and groups[0]["lr"] == 1e-2 and tuple(groups[0]["betas"]) == (0.9, 0.999)


def test_schedule_betas_and_group_lrs_act_and_are_recorded(tmp_path):
    options = dict(betas=(0.5, 0.999), lr_schedule=(2, 0.5), group_lrs={"codes.": 0.1})
    _, saved = run(tmp_path, epochs=3, **options)
    assert saved["config"]["betas"] == [0.5, 0.999]
    assert saved["config"]["lr_schedule"] == [2, 0.5]
    assert saved["config"]["group_lrs"] == {"codes.": 0.1}
    head, codes = saved["optimizer"]["param_groups"]
    # epoch 3 runs at factor 0.5 ** ((3 - 1) // 2) = 0.5
    assert head["lr"] == pytest.approx(1e-2 * 0.5) and codes["lr"] == pytest.approx(0.1 * 0.5)
    assert tuple(head["betas"]) == (0.5, 0.999)
    assert len(codes["params"]) == 1  # the embedding's weight alone
    with pytest.raises(ValueError, match="written with"):
        run(tmp_path, epochs=3, betas=(0.5, 0.999))  # another optimiser: the checkpoint is refused


def test_schedule_resumes_to_the_uninterrupted_result(tmp_path):
    options = dict(betas=(0.5, 0.999), lr_schedule=(1, 0.5), group_lrs={"codes.": 0.05})
    whole, _ = run(tmp_path / "whole", epochs=3, **options)
    run(tmp_path / "parts", epochs=1, **options)
    resumed, saved = run(tmp_path / "parts", epochs=3, **options)
    assert saved["epoch"] == 3
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_prefix_matching_nothing_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no trainable parameter of TwoParts starts with"):
        run(tmp_path, group_lrs={"latent.": 0.1})
