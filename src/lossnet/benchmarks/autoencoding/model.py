"""Benchmark 4: autoencoder embeddings (protocol section 6, Pihlgren et al. 2020).

1. :func:`train_autoencoder` trains :class:`Autoencoder` on a prepared file's ``unlabeled`` images with the
   perceptual loss (``mse`` at one extraction layer; ``arch="pixel"`` is plain pixel MSE) through
   :func:`lossnet.training.fit` (resumable, checkpointed every epoch).
2. :func:`write_embeddings` embeds the labelled train/test images with the frozen encoder into HDF5:
   ``/{train,test}/{embeddings (N, 64) float32, labels}`` plus the job's labels (arch, layer, weights, ...) as attrs.
3. :mod:`.probes` scores the embeddings with MLP probes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..._util import atomic_output, resolve_device
from ...data.download import file_digest
from ...loss import PerceptualLoss
from ...training import fit, load_model_state
from ...weights import imagenet_weights
from ...zoo import get_architecture
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
    """``loss_fn(model, batch)`` for :func:`fit`: the perceptual loss between ``model(x)`` and ``x``.

    The loss network stays outside the autoencoder (kept out of its checkpoints) and follows the batch's device.
    """

    def __init__(self, loss: nn.Module) -> None:
        self.loss, self.device = loss, torch.device("cpu")

    def __call__(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if batch.device != self.device:
            self.loss.to(batch.device)
            self.device = batch.device
        images = batch.float().div_(255)
        return self.loss(model(images), images)


RUN_KEY_VERSION = 2  # bump when the meaning of a run's settings changes, so old checkpoints are not resumed
_DIGESTS: dict[tuple[str, int, int], str] = {}


def _content_digest(path: Path) -> str:
    """sha256 of a file's content (memoised per process on path, size and mtime)."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_digest(path)
    return _DIGESTS[key]


def run_settings(prepared: Path, *, arch: str, layer: str, weights: str | Path, lr: float, batch_size: int,
                 embedding_size: int, normalize_input: bool, n_images: int, precision: str, seed: int) -> dict:
    """Everything that defines a training run (all but ``epochs``): a checkpoint is resumed only under equal settings.

    The data by content, the loss network by its resolved module path, build kwargs and the content of a state_dict
    file (not by the label, the path or the file name, which stay the same when what they point at changes).
    """
    if arch == "pixel":
        network: dict[str, Any] = {"arch": "pixel"}
    else:
        spec = get_architecture(arch)
        network = {"arch": arch, "layer": layer, "module": spec.module_path(layer),
                   "build_kwargs": spec.build_kwargs}
        if str(weights) in ("imagenet", "random"):
            network["weights"] = str(weights)
            if str(weights) == "imagenet":
                network["checkpoint"] = imagenet_weights(arch).url.rsplit("/", 1)[-1]
        else:
            network["weights"] = {"state_dict_sha256": _content_digest(Path(weights))}
    return {"version": RUN_KEY_VERSION, "data": {"name": Path(prepared).name, "sha256": _content_digest(prepared),
                                                 "split": "unlabeled", "n_images": n_images},
            "network": network, "distance": "mse", "normalize_input": normalize_input, "lr": lr,
            "batch_size": batch_size, "embedding_size": embedding_size, "precision": precision, "seed": seed}


def run_key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train_autoencoder(
    prepared: Path, checkpoint_dir: Path, *, arch: str, layer: str = "-", weights: str = "imagenet",
    epochs: int = 10, batch_size: int = 256, lr: float = 1e-3, embedding_size: int = 64,
    normalize_input: bool = True, max_images: int | None = None, precision: str = "fp32", num_workers: int = 0,
    in_memory: bool = True, seed: int = 0, device: str = "auto", progress: bool = True,
) -> Autoencoder:
    """Train (or resume) an autoencoder on ``prepared``'s unlabeled split; return it with its last-epoch weights.

    Checkpoints go to ``checkpoint_dir/run-<key>``, the key hashing :func:`run_settings` (every setting but
    ``epochs``), so a changed setting starts afresh while more epochs continue the run (fewer are refused).
    """
    data = ImageSplit(prepared, "unlabeled", max_images, in_memory)
    settings = run_settings(prepared, arch=arch, layer=layer, weights=weights, lr=lr, batch_size=batch_size,
                            embedding_size=embedding_size, normalize_input=normalize_input, n_images=len(data),
                            precision=precision, seed=seed)
    settings["decoder"] = "linear-relu"  # the model's layout: checkpoints of the ReLU-less decoder never resume
    key = run_key(settings)
    torch.manual_seed(seed)
    model = Autoencoder(data.size, embedding_size)
    loss = PerceptualLoss(arch, [layer] if arch != "pixel" else [], weights, "mse", normalize_input, seed)
    log.info("training %s autoencoder on %d images of %s with %s", data.size, len(data), prepared, settings)
    result = fit(model, ReconstructionLoss(loss), data, checkpoint_dir=Path(checkpoint_dir) / f"run-{key}",
                 epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, precision=precision,
                 num_workers=num_workers, progress=progress, log=log)
    return load_model_state(result.last_path, model.cpu()).eval()


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


def train_and_embed(prepared: Path, output: Path, checkpoint_dir: Path, *, network: dict[str, Any], seed: int = 0,
                    device: str = "auto", embed_batch_size: int = 512, keep_checkpoints: bool = True,
                    **settings: Any) -> Path:
    """One workflow job: train (or resume) the autoencoder of ``network`` (arch, layer, weights, weights_label),
    embed the labelled images into ``output``, and drop the checkpoints unless ``keep_checkpoints``."""
    model = train_autoencoder(Path(prepared), Path(checkpoint_dir), arch=network["arch"], layer=network["layer"],
                              weights=network["weights"], seed=seed, device=device, **settings)
    attrs = {"arch": network["arch"], "layer": network["layer"], "weights": network["weights_label"],
             "seed": seed, "epochs": settings.get("epochs")}
    write_embeddings(model, Path(prepared), Path(output), attrs, batch_size=embed_batch_size, device=device)
    if not keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return Path(output)
