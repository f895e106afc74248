"""Benchmark 2 training (protocol section 4) on the training engine (:class:`lossnet.training.TrainingJob`).

One :class:`TransformNet` per (loss network, scale): LR inputs degraded on the fly from the prepared COCO crops,
the loss the ``mse`` distance at one extraction layer of the frozen loss network (``arch="pixel"``: pixel MSE),
Adam. After every epoch :class:`PsnrValidator` scores the validation images by Y-PSNR and ``fit`` keeps the best
epoch in ``best.pt``. An epoch whose outputs collapsed to constant (e.g. black) images scores ``-inf``, so it is
never the kept one, even as the first epoch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ...training import FitResult, TrainingJob, load_model_state
from .data import read_coco
from .degradation import degrade
from .metrics import batch_psnr_y

log = logging.getLogger(__name__)
COLLAPSE_LEVELS = 2  # outputs spanning at most this many 8-bit levels are constant images


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)


class SuperresPairs(Dataset):
    """``(lr, hr)`` uint8 (3, h, w) tensors: prepared HR crops and their degradation by ``scale``."""

    def __init__(self, hr_images: np.ndarray, scale: int) -> None:
        if len(hr_images) and hr_images.shape[1] % scale:
            raise ValueError(f"crops of {hr_images.shape[1]} pixels are not a multiple of the scale {scale}")
        self.hr, self.scale = hr_images, scale

    def __len__(self) -> int:
        return len(self.hr)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        hr = self.hr[index]
        return _chw(degrade(hr, self.scale)), _chw(hr)


@dataclass(frozen=True)
class SuperresTraining:
    """The settings that define a super-resolution network (config ``superres.train``, plus the job's scale)."""

    scale: int = 4
    epochs: int = 80
    batch_size: int = 4
    lr: float = 1e-3
    normalize_input: bool = True
    precision: str = "fp32"
    max_train: int | None = None  # the first N prepared crops (None: all)
    max_val: int | None = None


class SuperresLoss:
    """``loss_fn(model, batch)`` for the engine: the perceptual loss of ``model(lr)`` against ``hr``."""

    def __init__(self, loss: nn.Module, channels_last: bool = False) -> None:
        self.loss = loss
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        lr, hr = (x.float().div_(255).contiguous(memory_format=self.memory_format) for x in batch)
        return self.loss(model(lr), hr)


class PsnrValidator:
    """``validate(model)`` for :func:`fit`: mean Y-PSNR (``scale`` pixels shaved) on the validation crops.

    Returns ``-inf`` (logged) when every output spans at most :data:`COLLAPSE_LEVELS` 8-bit levels: a collapsed
    network's black or flat images must never be the kept checkpoint.
    """

    def __init__(self, hr_images: np.ndarray, scale: int, batch_size: int = 16) -> None:
        pairs = SuperresPairs(hr_images, scale)
        self.lr = torch.stack([pairs[i][0] for i in range(len(pairs))])
        self.hr = torch.from_numpy(np.ascontiguousarray(hr_images)).permute(0, 3, 1, 2)
        self.scale, self.batch_size = scale, batch_size
        self.history: list[dict] = []

    def __call__(self, model: nn.Module) -> float:
        device = next(model.parameters()).device
        psnrs, spans = [], []
        for start in range(0, len(self.lr), self.batch_size):
            sr = model(self.lr[start:start + self.batch_size].to(device).float().div_(255))
            psnrs.append(batch_psnr_y(sr, self.hr[start:start + self.batch_size].to(device), self.scale))
            levels = sr.detach().float().clamp(0, 1).mul(255).round().flatten(1)
            spans.append(levels.amax(1) - levels.amin(1))
        psnr, collapsed = float(torch.cat(psnrs).mean()), bool(torch.cat(spans).max() <= COLLAPSE_LEVELS)
        self.history.append({"psnr": psnr, "collapsed": collapsed})
        if collapsed:
            log.warning("validation outputs collapsed to constant images (PSNR %.2f dB): epoch not kept", psnr)
            return float("-inf")
        return psnr


def train_superres(job: TrainingJob) -> tuple[nn.Module, FitResult]:
    """Train (or resume) the SR network of ``job`` (settings :class:`SuperresTraining`, data role ``train``: the
    prepared COCO crops); return it with the weights of its best validation epoch, and the engine's result."""
    from .model import TransformNet

    settings, runtime = job.settings_as(SuperresTraining), job.runtime
    prepared = job.data["train"]
    train, val = read_coco(prepared, "train", settings.max_train), read_coco(prepared, "val", settings.max_val)
    torch.manual_seed(job.seed)
    model = TransformNet(settings.scale)
    loss = job.spec.perceptual_loss("mse", settings.normalize_input, job.seed)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
        loss = loss.to(memory_format=torch.channels_last)
    if runtime.compile:  # in place: state_dict keys stay those of the plain module
        model.compile()
        loss.compile()
    job.log.info("x%d SR on %d crops, validating on %d", settings.scale, len(train), len(val))
    result = job.fit(model, SuperresLoss(loss, runtime.channels_last), SuperresPairs(train, settings.scale),
                     settings, frozen=[loss], validate=PsnrValidator(val, settings.scale, runtime.eval_batch_size))
    check_kept_epoch(result, settings.lr)
    return load_model_state(result.best_path, model.cpu()).eval(), result


def check_kept_epoch(result: FitResult, lr: float) -> None:
    """Refuse a run whose every epoch collapsed: its ``best.pt`` would be a network of constant images."""
    if result.history and all(record["val"] == float("-inf") for record in result.history):
        raise RuntimeError(f"every epoch of {result.last_path.parent} collapsed to constant images, so no checkpoint "
                           f"is worth keeping: lower the learning rate (now {lr}) or check the training data")
