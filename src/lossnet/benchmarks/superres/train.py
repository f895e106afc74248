"""Benchmark 2 training (protocol section 4) on the shared engine :func:`lossnet.training.fit`.

One :class:`TransformNet` per (loss network, scale): LR inputs degraded on the fly from the prepared COCO crops,
the loss the ``mse`` distance at one extraction layer of the frozen loss network (``arch="pixel"``: pixel MSE),
Adam. After every epoch :class:`PsnrValidator` scores the validation images by Y-PSNR and ``fit`` keeps the best
epoch in ``best.pt``. An epoch whose outputs collapsed to constant (e.g. black) images scores ``-inf``, so it is
never the kept one, even as the first epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ...loss import PerceptualLoss
from ...training import FitResult, fit, load_model_state
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


class SuperresLoss:
    """``loss_fn(model, batch)`` for :func:`fit`: the perceptual loss of ``model(lr)`` against ``hr``."""

    def __init__(self, loss: nn.Module, channels_last: bool = False) -> None:
        self.loss, self.device = loss, torch.device("cpu")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        lr, hr = (x.float().div_(255).contiguous(memory_format=self.memory_format) for x in batch)
        if lr.device != self.device:
            self.loss.to(lr.device, memory_format=self.memory_format)
            self.device = lr.device
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


def run_key(settings: dict) -> str:
    """The checkpoint folder's key: every setting except ``epochs`` (more epochs continue a run)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def train_superres(
    prepared: Path, checkpoint_dir: Path, *, arch: str, layer: str = "-", weights: str = "imagenet", scale: int = 4,
    epochs: int = 80, batch_size: int = 4, lr: float = 1e-3, max_train: int | None = None,
    max_val: int | None = None, normalize_input: bool = True, precision: str = "fp32",
    channels_last: bool = False, compile: bool = False, num_workers: int = 0, seed: int = 0,
    device: str = "auto", progress: bool = True,
) -> tuple[nn.Module, FitResult]:
    """Train (or resume) one SR network; return it with the weights of its best validation epoch, and fit's result.

    Checkpoints go to ``checkpoint_dir/run-<key>`` (:func:`run_key` of the settings).
    """
    from .model import TransformNet

    train, val = read_coco(prepared, "train", max_train), read_coco(prepared, "val", max_val)
    settings = dict(prepared=Path(prepared).name, arch=arch, layer=layer, weights=str(weights), scale=scale,
                    batch_size=batch_size, lr=lr, n_train=len(train), n_val=len(val), normalize_input=normalize_input,
                    precision=precision, channels_last=channels_last, compile=compile, seed=seed)
    torch.manual_seed(seed)
    model = TransformNet(scale)
    loss = PerceptualLoss(arch, [layer] if arch != "pixel" else [], weights, "mse", normalize_input, seed)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:  # in place: state_dict keys stay those of the plain module
        model.compile()
        loss.compile()
    log.info("training x%d SR on %d crops (validating on %d) with %s", scale, len(train), len(val), settings)
    result = fit(model, SuperresLoss(loss, channels_last), SuperresPairs(train, scale),
                 checkpoint_dir=Path(checkpoint_dir) / f"run-{run_key(settings)}", epochs=epochs,
                 batch_size=batch_size, lr=lr, seed=seed, device=device, precision=precision,
                 validate=PsnrValidator(val, scale), num_workers=num_workers, progress=progress, log=log)
    check_kept_epoch(result, lr)
    return load_model_state(result.best_path, model.cpu()).eval(), result


def check_kept_epoch(result: FitResult, lr: float) -> None:
    """Refuse a run whose every epoch collapsed: its ``best.pt`` would be a network of constant images."""
    if result.history and all(record["val"] == float("-inf") for record in result.history):
        raise RuntimeError(f"every epoch of {result.last_path.parent} collapsed to constant images, so no checkpoint "
                           f"is worth keeping: lower the learning rate (now {lr}) or check the training data")
