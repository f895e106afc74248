"""Benchmark 4: autoencoder embeddings (protocol section 6, Pihlgren et al. 2020).

1. :func:`train_autoencoder` trains :class:`Autoencoder` on a prepared file's ``unlabeled`` images with the
   perceptual loss (``mse`` at one extraction layer; the pixel reference is plain pixel MSE) as a
   :class:`lossnet.training.TrainingJob` (resumable, checkpointed every epoch).
2. :func:`write_embeddings` embeds the labelled train/test images with the frozen encoder into HDF5:
   ``/{train,test}/{embeddings (N, 64) float32, labels}`` plus the job's labels (arch, layer, weights, ...) as attrs.
3. :mod:`.probes` scores the embeddings with MLP probes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..._util import atomic_output, resolve_device
from ...training import FitResult, TrainingJob, load_model_state
from .data import read_prepared

log = logging.getLogger(__name__)
DECODER_KERNELS = (5, 5, 6, 6)
DECODER_CHANNELS = (1024, 128, 64, 32, 3)
ENCODER_CHANNELS = (3, 32, 64, 128, 256)


class ImageSplit(Dataset):
    """One split of a prepared HDF5 file as uint8 (3, S, S) tensors (converted to [0, 1] on the device).

    ``in_memory`` reads the split once (fast random access); otherwise each worker opens the file lazily.
    ``limit`` keeps the first ``limit`` images.
    """

    def __init__(self, path: Path, split: str = "unlabeled", limit: int | None = None, in_memory: bool = True):
        self.path, self.split = Path(path), split
        with h5py.File(self.path, "r") as h5:
            if f"{split}/images" not in h5:
                raise KeyError(f"{self.path} has no split {split!r} (found {sorted(h5)}); rerun its prepare rule")
            images = h5[f"{split}/images"]
            self.length = len(images) if limit is None else min(len(images), limit)
            self.size = int(images.shape[1])
            self.images = images[: self.length] if in_memory else None

    def __len__(self) -> int:
        return int(self.length)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self.images is None:  # opened here, after the DataLoader has forked its workers
            self.images = h5py.File(self.path, "r")[f"{self.split}/images"]
        return torch.from_numpy(np.ascontiguousarray(self.images[index])).permute(2, 0, 1)


def decoder_grid(size: int) -> int:
    """g = (size - 64) / 16 + 1, the side of the decoder's first 1024-channel map (64 -> 1, 96 -> 3)."""
    if size < 64 or (size - 64) % 16:
        raise ValueError(f"image size {size} is not 64 + 16k: the protocol's decoder cannot produce it")
    return (size - 64) // 16 + 1


class Autoencoder(nn.Module):
    """The protocol's autoencoder (the World Models VAE layout, deterministic).

    Encoder: 4 x [4x4 conv, stride 2, no padding, BN, ReLU] with 32, 64, 128, 256 channels -> linear -> embedding.
    Decoder: linear, ReLU (the original ``relu(dense(z))``) -> 1024 x g x g -> transposed convs (kernels 5, 5, 6, 6, stride 2, no padding; 1024 -> 128 ->
    64 -> 32 -> 3), BN + ReLU between them, sigmoid output. With no padding the decoder produces exactly
    ``size`` x ``size`` for 64 (1 -> 5 -> 13 -> 30 -> 64) and 96 (3 -> 9 -> 21 -> 46 -> 96); no output_padding.
    """

    def __init__(self, size: int, embedding_size: int = 64) -> None:
        super().__init__()
        self.size, self.grid = size, decoder_grid(size)
        layers: list[nn.Module] = []
        side = size
        for c_in, c_out in zip(ENCODER_CHANNELS, ENCODER_CHANNELS[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            side = (side - 4) // 2 + 1
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(ENCODER_CHANNELS[-1] * side * side, embedding_size))
        layers = [nn.Linear(embedding_size, DECODER_CHANNELS[0] * self.grid**2), nn.ReLU(inplace=True),
                  nn.Unflatten(1, (DECODER_CHANNELS[0], self.grid, self.grid))]
        for i, kernel in enumerate(DECODER_KERNELS):
            layers.append(nn.ConvTranspose2d(DECODER_CHANNELS[i], DECODER_CHANNELS[i + 1], kernel, stride=2))
            last = i == len(DECODER_KERNELS) - 1
            layers += [nn.Sigmoid()] if last else [nn.BatchNorm2d(DECODER_CHANNELS[i + 1]), nn.ReLU(inplace=True)]
        self.decoder = nn.Sequential(*layers)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images))


class ReconstructionLoss:
    """``loss_fn(model, batch)`` for the engine: the perceptual loss between ``model(x)`` and ``x``.

    The loss network stays outside the autoencoder (out of its checkpoints); the engine moves it (``frozen``).
    """

    def __init__(self, loss: nn.Module) -> None:
        self.loss = loss

    def __call__(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        images = batch.float().div_(255)
        return self.loss(model(images), images)


@dataclass(frozen=True)
class AutoencoderTraining:
    """The settings that define an autoencoder (config ``autoencoding.train``)."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    embedding_size: int = 64
    normalize_input: bool = True
    precision: str = "fp32"
    max_images: int | None = None  # the first N unlabeled images (None: all)


def train_autoencoder(job: TrainingJob) -> tuple[Autoencoder, FitResult]:
    """Train (or resume) the autoencoder of ``job`` (settings :class:`AutoencoderTraining`, data role ``train``:
    a prepared file's unlabeled split); return it with its last-epoch weights, and the engine's result."""
    settings = job.settings_as(AutoencoderTraining)
    data = ImageSplit(Path(job.data["train"]), "unlabeled", settings.max_images, job.runtime.in_memory)
    torch.manual_seed(job.seed)
    model = Autoencoder(data.size, settings.embedding_size)
    loss = job.spec.perceptual_loss("mse", settings.normalize_input, job.seed)
    job.log.info("%s px autoencoder on %d unlabeled images of %s", data.size, len(data), job.data["train"])
    result = job.fit(model, ReconstructionLoss(loss), data, settings, frozen=[loss])
    return load_model_state(result.last_path, model.cpu()).eval(), result


@torch.no_grad()
def embed(model: Autoencoder, images: np.ndarray, batch_size: int = 512, device: str = "auto") -> np.ndarray:
    """Embeddings (N, embedding_size) float32 of uint8 (N, S, S, 3) images with the encoder in eval mode."""
    dev = resolve_device(device)
    model = model.to(dev).eval()
    out = [model.encode(torch.from_numpy(images[i:i + batch_size]).to(dev).permute(0, 3, 1, 2).float().div_(255))
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).float().cpu().numpy() if out else np.zeros((0, model.encoder[-1].out_features), np.float32)


def write_embeddings(model: Autoencoder, prepared: Path, output: Path, attrs: dict[str, Any],
                     batch_size: int = 512, device: str = "auto") -> Path:
    """Embed the train and test splits of ``prepared`` into ``output`` (temporary name, then renamed)."""
    with h5py.File(prepared, "r") as source:
        attrs = {"dataset": source.attrs["dataset"], **attrs}
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5:
        h5.attrs.update({key: value for key, value in attrs.items() if value is not None})
        for split in ("train", "test"):
            images, labels = read_prepared(prepared, split)
            h5[f"{split}/embeddings"] = embed(model, images, batch_size, device)
            h5[f"{split}/labels"] = labels
    return Path(output)


def train_and_embed(job: TrainingJob, output: Path) -> Path:
    """One workflow job: train (or resume) the autoencoder of ``job``, embed the labelled images of the same
    prepared file into ``output``, then let the engine drop the checkpoints if asked."""
    model, result = train_autoencoder(job)
    attrs = {**job.spec.labels, "seed": job.seed, "epochs": job.settings_as(AutoencoderTraining).epochs}
    write_embeddings(model, Path(job.data["train"]), Path(output), attrs, batch_size=job.runtime.eval_batch_size,
                     device=job.runtime.device)
    job.finish(result)
    return Path(output)
