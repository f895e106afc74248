"""Training the delineation network on the training engine (:class:`lossnet.training.TrainingJob`), protocol
section 5.

Loss of a batch, over the K iterations' predictions p_k of the truth y (Mosinska et al. 2018, Eq. 5)::

    sum_k  k / (K (K + 1) / 2)  x  (BCE(p_k, y) + mu x mse(F(p_k), F(y)))

F is the frozen loss network (eval mode, extraction layer ``layer``) fed the maps replicated to three channels;
``arch="pixel"`` is the BCE-only reference (no perceptual term). The truth's features are computed once per
batch and the K predictions go through F in one forward. An epoch is ``crops_per_epoch`` random 224 crops of the
full-resolution train tiles (a random tile, position and horizontal flip per crop, drawn from the torch RNG that
``fit`` reseeds every epoch, so a resumed run draws the same crops). The best checkpoint is the epoch with the
lowest loss on a fixed grid of windows over the valid tiles.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ...distances import distance
from ...network import LossNetwork
from ...training import FitResult, TrainingJob, load_model_state
from .model import ITERATIONS, ORIGINAL_WIDTHS, IterativeUNet

log = logging.getLogger(__name__)
CROP = 224
MU = 0.01


def iteration_weights(iterations: int) -> list[float]:
    """k / (K (K + 1) / 2) for k = 1..K: later iterations weigh more, the weights sum to 1."""
    total = iterations * (iterations + 1) / 2
    return [k / total for k in range(1, iterations + 1)]


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start offsets of windows of ``window`` px every ``stride`` px covering ``length``; the last ends at it."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, stride))
    return starts + [length - window]


class Tiles:
    """The ``sat`` and ``map`` arrays of one split of a prepared file, read whole or lazily (per worker)."""

    def __init__(self, prepared: str | os.PathLike, split: str, in_memory: bool = True) -> None:
        self.path, self.split = Path(prepared), split
        with h5py.File(self.path, "r") as h5:
            if f"{split}/sat" not in h5:
                raise KeyError(f"{self.path} has no split {split!r} (found {sorted(h5)}); rerun its prepare rule")
            self.names = [name.decode() if isinstance(name, bytes) else str(name) for name in h5[f"{split}/names"]]
            self.shape = h5[f"{split}/map"].shape
            self.arrays = (h5[f"{split}/sat"][:], h5[f"{split}/map"][:]) if in_memory else None

    def __len__(self) -> int:
        return len(self.names)

    def crop(self, tile: int, top: int = 0, left: int = 0, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """uint8 (size, size, 3) image and (size, size) map of one window (``size`` None: the whole tile)."""
        if self.arrays is None:  # opened here, after the DataLoader has forked its workers
            h5 = h5py.File(self.path, "r")
            self.arrays = (h5[f"{self.split}/sat"], h5[f"{self.split}/map"])
        sat, road = self.arrays
        rows = slice(top, None if size is None else top + size)
        cols = slice(left, None if size is None else left + size)
        return sat[tile, rows, cols], road[tile, rows, cols]


def _as_tensors(image: np.ndarray, road: np.ndarray, flip: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    image, road = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1), torch.from_numpy(road)[None]
    return (image.flip(-1), road.flip(-1)) if flip else (image, road)


class RandomCrops(Dataset):
    """``crops`` random ``size`` crops with random horizontal flips: (uint8 (3, S, S) image, uint8 (1, S, S) map)."""

    def __init__(self, tiles: Tiles, crops: int, size: int = CROP) -> None:
        height, width = tiles.shape[1:]
        if height < size or width < size:
            raise ValueError(f"{tiles.path} {tiles.split} tiles are {width}x{height}, smaller than the {size} crops")
        self.tiles, self.crops, self.size = tiles, int(crops), size

    def __len__(self) -> int:
        return self.crops

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = self.tiles.shape[1:]
        tile = int(torch.randint(len(self.tiles), ()))
        top, left = int(torch.randint(height - self.size + 1, ())), int(torch.randint(width - self.size + 1, ()))
        flip = bool(torch.rand(()) < 0.5)
        return _as_tensors(*self.tiles.crop(tile, top, left, self.size), flip)


class GridCrops(Dataset):
    """Every window of a fixed grid (stride ``stride``, the last flush with the edge) over every tile."""

    def __init__(self, tiles: Tiles, size: int = CROP, stride: int = CROP) -> None:
        height, width = tiles.shape[1:]
        self.tiles, self.size = tiles, size
        self.windows = [(tile, top, left) for tile in range(len(tiles)) for top in window_starts(height, size, stride)
                        for left in window_starts(width, size, stride)]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _as_tensors(*self.tiles.crop(*self.windows[index], self.size))


@dataclass(frozen=True)
class DelineationTraining:
    """The settings that define a delineation network (config ``delineation.train``)."""

    epochs: int = 100
    crops_per_epoch: int = 1108
    batch_size: int = 8
    lr: float = 1e-3
    mu: float = MU
    iterations: int = ITERATIONS
    widths: tuple[int, ...] = ORIGINAL_WIDTHS
    crop: int = CROP
    val_stride: int = CROP
    normalize_input: bool = True
    precision: str = "fp32"


def binary_cross_entropy(probabilities: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``F.binary_cross_entropy`` (logs clamped at -100, as torch does) that lets a NaN prediction through as a NaN
    loss, so the engine stops with its non-finite-loss error naming the epoch and step instead of torch's
    "all elements of input should be between 0 and 1"."""
    log_p = torch.log(probabilities).clamp_min(-100)
    log_not_p = torch.log(1 - probabilities).clamp_min(-100)
    return -(truth * log_p + (1 - truth) * log_not_p).mean()


class DelineationLoss:
    """``loss_fn(model, batch)`` for the engine: the K-weighted BCE + ``mu`` x perceptual loss.

    ``network`` None: BCE only (the reference). The loss network stays outside the trained model (out of its
    checkpoints and of the engine's ``model.train()``); the engine moves it with the model (``frozen``).
    """

    def __init__(self, network: LossNetwork | None, mu: float = MU) -> None:
        self.network, self.mu = network, mu

    def _features(self, maps: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.network(maps.expand(-1, 3, -1, -1))

    def combine(self, predictions: Sequence[torch.Tensor], truth: torch.Tensor) -> torch.Tensor:
        """The loss of the K predictions (N, 1, H, W) of the float maps ``truth``."""
        weights = iteration_weights(len(predictions))
        with torch.autocast(truth.device.type, enabled=False):  # BCE is not autocast-safe
            bce = [binary_cross_entropy(p.float(), truth) for p in predictions]
        if self.network is None:
            return sum(w * b for w, b in zip(weights, bce))
        with torch.no_grad():
            true_features = self._features(truth)
        stacked = self._features(torch.cat(list(predictions)))
        perceptual = [distance("mse", {k: v.chunk(len(predictions))[i] for k, v in stacked.items()},
                               true_features).mean() for i in range(len(predictions))]
        return sum(w * (b + self.mu * p) for w, b, p in zip(weights, bce, perceptual))

    def __call__(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        images, maps = batch
        return self.combine(model(images.float().div(255)), maps.float())


def validation_loss(model: nn.Module, crops: Dataset, loss: DelineationLoss, batch_size: int = 8) -> float:
    """The mean loss over every crop of ``crops`` (the model's mode and gradients are the caller's)."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for images, maps in DataLoader(crops, batch_size=batch_size, shuffle=False):
        value = loss(model, (images.to(device), maps.to(device)))
        total, count = total + float(value) * len(images), count + len(images)
    return total / count


def train_delineation(job: TrainingJob) -> tuple[IterativeUNet, FitResult]:
    """Train (or resume) the delineation network of ``job`` (settings :class:`DelineationTraining`, data role
    ``train``: the prepared MRD file); return it with the weights of its best validation epoch."""
    settings, runtime = job.settings_as(DelineationTraining), job.runtime
    train, valid = Tiles(job.data["train"], "train", runtime.in_memory), Tiles(job.data["train"], "valid", True)
    torch.manual_seed(job.seed)
    model = IterativeUNet(settings.widths, settings.iterations)
    network = job.spec.network(settings.normalize_input, job.seed)
    loss = DelineationLoss(network, settings.mu)
    val_crops = GridCrops(valid, settings.crop, settings.val_stride)
    job.log.info("%d crops/epoch of %d train tiles, validating on %d windows of %d valid tiles",
                 settings.crops_per_epoch, len(train), len(val_crops), len(valid))
    result = job.fit(model, loss, RandomCrops(train, settings.crops_per_epoch, settings.crop), settings,
                     frozen=[network] if network is not None else [],
                     validate=lambda m: -validation_loss(m, val_crops, loss, runtime.eval_batch_size))
    return load_model_state(result.best_path, model.cpu()).eval(), result
