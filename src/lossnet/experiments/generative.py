"""Generative models trained with a loss network (seed 003): an autoencoder and GLO, on the training engine.

Both use seed 003's DCGAN pair: the encoder is 4x4 stride-2 convolutions (64, 128, ... channels, BatchNorm and
ReLU after each) then a 4x4 convolution to the code ``z``; the generator mirrors it with transposed convolutions
and ends in tanh. The autoencoder learns the two together. GLO (Bojanowski et al.) has no encoder: every training
image owns a code, a row of an ``nn.Embedding`` inside the model, learnt with the generator at its own learning rate
(``code_lr``), so the engine checkpoints and resumes codes and generator as one model.

:func:`train_generative` trains one model under one loss (a :class:`~lossnet.training.TrainingJob` of kind
``generative``) and evaluates it: reconstructions of training and held-out images (GLO fits codes for held-out
images with its generator frozen) and samples decoded from a Gaussian fitted to the codes. :func:`cross_loss_matrix`
scores every model's held-out reconstructions under every loss and PSNR, SSIM and LPIPS, and
:func:`render_reconstructions` draws them.

Losses (setting ``loss``, registry :data:`LOSSES`): ``l2`` (pixel MSE), ``mmdpp`` (MMD++), ``seed_vgg`` (seed 003's
VGG loss with the job's weights) or any feature distance of :data:`lossnet.DISTANCES` (``mse``: Johnson et al.'s
perceptual loss) of the job's loss network.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .._util import atomic_output, progress_bar, write_csv
from ..distances import FEATURE_DISTANCES, MMDPlusPlus, ssim
from ..distances.networks import SEED_VGG_ARCH, SEED_VGG_PRESET, SeedVGGLoss
from ..spec import LossSpec
from ..training import FitResult, TrainingJob, load_model_state
from ._images import as_tensor, as_uint8, named_image, pyplot, save_figure, square

MODELS = ("autoencoder", "glo")
SPLITS = ("train", "heldout")


# ----------------------------------------------------------------------------------------------------- models


def dcgan_channels(size: int, width: int = 64) -> list[int]:
    """The generator's channels after its first layer, coarse to fine (the encoder's in reverse).

    ``size`` a power of two >= 8; seed 003's ``width`` 64 gives 512, 256, 128, 64 at 64 px and 512, 512, 256, 128, 64
    at 128 px (no more than 8 x ``width``)."""
    if size < 8 or size & (size - 1):
        raise ValueError(f"image size {size} is not a power of two >= 8: the DCGAN models double the side per layer")
    stages = int(math.log2(size)) - 2
    return [min(8 * width, width * 2 ** (stages - 1 - i)) for i in range(stages)]


def _init(module: nn.Module) -> None:
    """Seed 003's init: Xavier-normal convolutions with gain sqrt(2)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_normal_(module.weight, gain=math.sqrt(2.0))


class Generator(nn.Module):
    """DCGAN generator: code (N, z) -> images (N, 3, size, size) in [0, 1] (tanh, mapped from [-1, 1])."""

    def __init__(self, size: int, z_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        channels = dcgan_channels(size, width)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, channels[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU(True)]
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(channels[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.network = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.network(z[:, :, None, None]) + 1) / 2


class Encoder(nn.Module):
    """DCGAN encoder: images (N, 3, size, size) in [0, 1] (seen in [-1, 1]) -> codes (N, z)."""

    def __init__(self, size: int, z_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        channels = [3, *reversed(dcgan_channels(size, width))]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels, channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers.append(nn.Conv2d(channels[-1], z_dim, 4, 1, 0, bias=False))
        self.network = nn.Sequential(*layers)
        self.apply(_init)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images * 2 - 1).flatten(1)


class Autoencoder(nn.Module):
    """Encoder and generator learnt together; ``codes_of`` encodes."""

    def __init__(self, size: int, n_images: int, z_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        self.encoder = Encoder(size, z_dim, width)
        self.generator = Generator(size, z_dim, width)

    def reconstruct(self, index: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(images))

    def codes_of(self, images: torch.Tensor, **_: Any) -> torch.Tensor:
        return self.encoder(images)


class GLO(nn.Module):
    """Generative latent optimisation: one learnt code per training image (``codes``, init N(0, 0.01^2)) and a
    generator. ``codes_of`` fits codes to new images with the generator frozen (:func:`fit_codes`)."""

    def __init__(self, size: int, n_images: int, z_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        self.codes = nn.Embedding(n_images, z_dim)
        nn.init.normal_(self.codes.weight, mean=0.0, std=0.01)
        self.generator = Generator(size, z_dim, width)

    def reconstruct(self, index: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return self.generator(self.codes(index))

    def codes_of(self, images: torch.Tensor, loss: Callable | None = None, steps: int = 200, lr: float = 0.01,
                 seed: int = 0) -> torch.Tensor:
        return fit_codes(self.generator, images, loss or _mse, steps, lr, self.codes.embedding_dim, seed)


MODEL_CLASSES: dict[str, type[nn.Module]] = {"autoencoder": Autoencoder, "glo": GLO}


def _mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((x - y) ** 2)


def fit_codes(generator: Generator, images: torch.Tensor, loss: Callable, steps: int, lr: float, z_dim: int,
              seed: int = 0) -> torch.Tensor:
    """Codes (N, z) whose generated images match ``images`` under ``loss``: Adam (0.5, 0.999) at ``lr`` for
    ``steps`` steps from N(0, 0.01^2) draws of ``seed``, the generator frozen in eval mode."""
    generator.eval()
    start = torch.randn(len(images), z_dim, generator=torch.Generator().manual_seed(seed)) * 0.01
    codes = start.to(images.device).requires_grad_(True)
    optimizer = torch.optim.Adam([codes], lr=lr, betas=(0.5, 0.999))
    for parameter in generator.parameters():
        parameter.requires_grad_(False)
    try:
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss(generator(codes), images).backward()
            optimizer.step()
    finally:
        for parameter in generator.parameters():
            parameter.requires_grad_(True)
    return codes.detach()


# ----------------------------------------------------------------------------------------------------- losses


class MeanOf(nn.Module):
    """An image distance ``(x, y) -> (N,)`` as a training loss: its batch mean."""

    def __init__(self, distance: nn.Module) -> None:
        super().__init__()
        self.distance = distance

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.distance(x, y).mean()


def _pixel_only(name: str, build: Callable[[int], nn.Module]) -> Callable[[LossSpec, bool, int], nn.Module]:
    def make(spec: LossSpec, normalize_input: bool, seed: int) -> nn.Module:
        if not spec.is_pixel:
            raise ValueError(f"loss {name!r} takes no loss network, got {spec.arch}: use the pixel spec")
        return build(seed)
    return make


def _seed_vgg(spec: LossSpec, normalize_input: bool, seed: int) -> nn.Module:
    if spec.arch != SEED_VGG_ARCH:
        raise ValueError(f"loss 'seed_vgg' is seed 003's VGG16 loss, got arch {spec.arch!r}: use {SEED_VGG_ARCH}")
    return MeanOf(SeedVGGLoss(spec.weights, seed=seed))


def _feature(name: str) -> Callable[[LossSpec, bool, int], nn.Module]:
    def make(spec: LossSpec, normalize_input: bool, seed: int) -> nn.Module:
        if spec.is_pixel:
            raise ValueError(f"loss {name!r} is a feature distance and needs a loss network (arch, layer, weights)")
        return spec.perceptual_loss(name, normalize_input, seed)
    return make


# name -> (spec, normalize_input, seed) -> a module (prediction, target) -> scalar; feature distances added below.
LOSSES: dict[str, Callable[[LossSpec, bool, int], nn.Module]] = {
    "l2": _pixel_only("l2", lambda seed: MeanOf(_Pixel())),
    "mmdpp": _pixel_only("mmdpp", lambda seed: MeanOf(MMDPlusPlus(seed))),
    "seed_vgg": _seed_vgg,
}


class _Pixel(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((x - y) ** 2).flatten(1).mean(dim=1)


LOSSES.update({name: _feature(name) for name in FEATURE_DISTANCES if name not in LOSSES})


def build_loss(name: str, spec: LossSpec, normalize_input: bool = True, seed: int = 0) -> nn.Module:
    """The training loss ``name`` of :data:`LOSSES` with the loss network ``spec`` (the pixel spec for network-free
    losses)."""
    try:
        make = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown generative loss {name!r}; known: {', '.join(LOSSES)}") from None
    return make(spec, normalize_input, seed)


def loss_spec(entry: Mapping[str, Any], weights: str | os.PathLike | None = None) -> LossSpec:
    """The loss network of a config loss entry ``{loss, arch, layer, weights}``: none for ``l2``/``mmdpp``, VGG16 at
    seed 003's layers for ``seed_vgg``, else ``arch`` at ``layer``. ``weights`` is where the entry's weights variant
    is loaded from (default: the variant itself); results keep the variant's name."""
    name = entry["loss"]
    if name in ("l2", "mmdpp"):
        return LossSpec.pixel()
    variant = str(entry.get("weights", "imagenet"))
    source = str(weights if weights is not None else variant)
    if name == "seed_vgg":
        from ..zoo import LAYER_PRESETS

        return LossSpec(SEED_VGG_ARCH, SEED_VGG_PRESET, source, variant,
                        ",".join(LAYER_PRESETS[SEED_VGG_PRESET][SEED_VGG_ARCH]))
    return LossSpec.resolve(entry["arch"], entry["layer"], source, variant)


# ------------------------------------------------------------------------------------------------------- data


def prepare_generative(source: str | os.PathLike, output: str | os.PathLike, *, size: int = 64,
                       n_train: int | None = None, n_heldout: int = 256) -> Path:
    """Write the images a generative model trains on: ``/train/images`` and ``/heldout/images`` uint8
    (N, size, size, 3) in an HDF5 file.

    ``source``: a prepared STL-10 file of benchmark 4 (``.h5``: training images from its unlabeled split, held-out
    ones from its test split) or a folder of images (faces: FFHQ thumbnails; sorted by name, the last ``n_heldout``
    held out). Every image is centre-cropped square and resized to ``size``. ``n_train``: the first N (None: all).
    """
    import h5py

    source = Path(source)
    if source.suffix == ".h5":
        with h5py.File(source, "r") as h5:
            missing = [split for split in ("unlabeled", "test") if f"{split}/images" not in h5]
            if missing:
                raise KeyError(f"{source} has no split(s) {missing}: give benchmark 4's prepared STL-10 file")
            train = h5["unlabeled/images"][: n_train]
            heldout = h5["test/images"][: n_heldout]
    elif source.is_dir():
        from ..images import IMAGE_SUFFIXES

        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) <= n_heldout:
            raise ValueError(f"{source} holds {len(files)} images, not more than the {n_heldout} held out: give a "
                             "larger folder or a smaller n_heldout")
        train_files = files[:-n_heldout][: n_train]
        train = np.stack([square(named_image(p), size) for p in train_files])
        heldout = np.stack([square(named_image(p), size) for p in files[-n_heldout:]])
    else:
        raise FileNotFoundError(f"generative data {source} is neither a prepared STL-10 .h5 file nor a folder of images")
    train = np.stack([square(image, size) for image in train]) if train.shape[1] != size else train
    heldout = np.stack([square(image, size) for image in heldout]) if heldout.shape[1] != size else heldout
    with atomic_output(output) as partial, h5py.File(partial, "w") as h5:
        h5["train/images"] = train
        h5["heldout/images"] = heldout
        h5.attrs.update({"source": str(source), "size": size})
    return Path(output)


class IndexedImages(Dataset):
    """A split of a :func:`prepare_generative` file as ``(index, uint8 (3, S, S))`` items, read into memory."""

    def __init__(self, path: str | os.PathLike, split: str = "train", limit: int | None = None) -> None:
        import h5py

        with h5py.File(path, "r") as h5:
            if f"{split}/images" not in h5:
                raise KeyError(f"{path} has no split {split!r} (found {sorted(h5)}); rerun its prepare rule")
            self.images = torch.from_numpy(h5[f"{split}/images"][: limit]).permute(0, 3, 1, 2).contiguous()
        self.size = int(self.images.shape[-1])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor]:
        return index, self.images[index]


# --------------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class GenerativeTraining:
    """What defines a trained generative model (config ``generative.train``, plus ``model`` and ``loss``); the
    defaults are seed 003's."""

    model: str = "autoencoder"  # autoencoder or glo
    loss: str = "l2"  # a name of LOSSES
    epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3  # encoder and generator
    code_lr: float = 0.01  # GLO's codes
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_every: int = 25  # epochs; every rate is multiplied by lr_decay_factor (0: constant)
    lr_decay_factor: float = 0.5
    z_dim: int = 64
    width: int = 64  # channels of the first encoder / last generator layer
    normalize_input: bool = True  # ImageNet normalisation before a lossnet network (not seed_vgg: it has its own)
    precision: str = "fp32"
    max_images: int | None = None  # the first N training images (None: all)


@dataclass(frozen=True)
class GenerativeEvaluation:
    """How a trained model is shown and scored (config ``generative.evaluation``): never retrains it."""

    n_show: int = 8  # images per row of the figure
    glo_steps: int = 200  # Adam steps fitting GLO codes to held-out images (generator frozen)
    n_samples: int = 8  # images decoded from the Gaussian fitted to the codes


class ReconstructionLoss:
    """``loss_fn(model, batch)`` for the engine: the loss between a model's reconstruction and the images."""

    def __init__(self, loss: nn.Module) -> None:
        self.loss = loss

    def __call__(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        index, images = batch
        images = images.float().div(255)
        return self.loss(model.reconstruct(index, images), images)


def build_model(settings: GenerativeTraining, size: int, n_images: int, seed: int = 0) -> nn.Module:
    """The untrained model of ``settings`` for ``n_images`` training images of ``size`` px, drawn under ``seed``."""
    try:
        kind = MODEL_CLASSES[settings.model]
    except KeyError:
        raise ValueError(f"unknown generative model {settings.model!r}; known: {', '.join(MODEL_CLASSES)}") from None
    torch.manual_seed(seed)
    return kind(size, n_images, settings.z_dim, settings.width)


def fit_generative(job: TrainingJob) -> tuple[nn.Module, nn.Module, FitResult]:
    """Train (or resume) the model of ``job`` (settings :class:`GenerativeTraining`, data role ``train``: a
    :func:`prepare_generative` file); return it with its last-epoch weights, its loss and the engine's result."""
    settings = job.settings_as(GenerativeTraining)
    data = IndexedImages(job.data["train"], "train", settings.max_images)
    model = build_model(settings, data.size, len(data), job.seed)
    loss = build_loss(settings.loss, job.spec, settings.normalize_input, job.seed)
    group_lrs = {"codes.": settings.code_lr} if settings.model == "glo" else None
    job.log.info("%s with %s loss on %d images of %d px from %s", settings.model, settings.loss, len(data),
                 data.size, job.data["train"])
    result = job.fit(model, ReconstructionLoss(loss), data, settings, frozen=[loss], group_lrs=group_lrs)
    return load_model_state(result.last_path, model.cpu()).eval(), loss.cpu(), result


@torch.no_grad()
def gaussian_samples(codes: torch.Tensor, generator: Generator, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images decoded from codes drawn from the Gaussian (mean, full covariance) fitted to ``codes``."""
    codes = codes.double()
    mean = codes.mean(dim=0)
    centred = codes - mean
    covariance = centred.T @ centred / max(len(codes) - 1, 1)
    covariance += 1e-6 * torch.eye(len(mean), dtype=covariance.dtype) * max(float(covariance.diagonal().mean()), 1e-12)
    draws = torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    z = mean + draws @ torch.linalg.cholesky(covariance).T
    generator.eval()
    return generator(z.float())


def evaluate(model: nn.Module, loss: nn.Module, data_path: str | os.PathLike, settings: GenerativeTraining,
             evaluation: GenerativeEvaluation, seed: int = 0) -> dict[str, np.ndarray]:
    """Training and held-out images with their reconstructions (all held-out ones, float32, for scoring), and
    samples from the Gaussian fitted to the codes of the training images."""
    model.eval()
    train = IndexedImages(data_path, "train", settings.max_images)
    heldout = IndexedImages(data_path, "heldout")
    shown = torch.arange(min(evaluation.n_show, len(train)))
    train_images = train.images[shown].float().div(255)
    heldout_images = heldout.images.float().div(255)
    code_options = dict(loss=loss, steps=evaluation.glo_steps, lr=settings.code_lr, seed=seed)
    with torch.no_grad():
        train_recon = model.reconstruct(shown, train_images)
        train_codes = model.codes.weight if isinstance(model, GLO) else torch.cat(
            [model.encoder(train.images[i:i + 256].float().div(255)) for i in range(0, len(train), 256)])
    heldout_recon = torch.cat([model.generator(model.codes_of(heldout_images[i:i + 64], **code_options))
                               for i in range(0, len(heldout_images), 64)]).detach()
    samples = gaussian_samples(train_codes.detach(), model.generator, evaluation.n_samples, seed)
    return {"train_images": as_uint8(train_images), "train_recon": as_uint8(train_recon),
            "heldout_images": as_uint8(heldout_images), "heldout_recon": heldout_recon.float().numpy(),
            "samples": as_uint8(samples)}


def train_generative(job: TrainingJob, output: str | os.PathLike | None = None,
                     evaluation: Mapping[str, Any] | GenerativeEvaluation | None = None) -> dict[str, np.ndarray]:
    """Train (or resume) one generative model with one loss and evaluate it (:func:`evaluate`); write the arrays to
    ``output`` (``.npz``, with the job's labels) if given, then let the engine drop the checkpoints if asked.

    Outside Snakemake::

        job = TrainingJob.create("generative", "data/prepared/generative.h5", "checkpoints", arch="vgg16", layer="M",
                                 weights="imagenet", model="glo", loss="mse")
        arrays = train_generative(job, "glo_vgg16.npz")
    """
    settings = job.settings_as(GenerativeTraining)
    if not isinstance(evaluation, GenerativeEvaluation):
        evaluation = GenerativeEvaluation(**dict(evaluation or {}))
    model, loss, result = fit_generative(job)
    arrays = evaluate(model, loss, job.data["train"], settings, evaluation, job.seed)
    if output is not None:
        labels = {**job.spec.labels, "model": settings.model, "loss": settings.loss}
        with atomic_output(output, suffix=".partial.npz") as partial:
            np.savez_compressed(partial, **arrays, labels=np.array([f"{k}={v}" for k, v in labels.items()]))
    job.finish(result)
    return arrays


# ------------------------------------------------------------------------------------------------- evaluation


def _psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    mse = ((x - y) ** 2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return 10 * torch.log10(1 / mse)


def _ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ssim(x, y)


# Image-quality measures besides the training losses: name -> (function (x, y) -> (N,), higher is better).
QUALITY: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], bool]] = {
    "PSNR": (_psnr, True),
    "SSIM": (_ssim, True),
}


def cross_loss_matrix(reconstructions: Mapping[str, str | os.PathLike], losses: Mapping[str, nn.Module],
                      lpips: nn.Module | None = None, batch_size: int = 64,
                      device: str | torch.device = "cpu") -> "pd.DataFrame":  # noqa: F821
    """Every model's held-out reconstructions (``label -> .npz`` of :func:`train_generative`) scored against the
    held-out images under every loss (``name -> module (x, y) -> scalar or (N,)``), PSNR, SSIM and ``lpips``.

    Long table: ``model, measure, value, normalized, higher_is_better``; ``normalized`` is the value divided by
    the largest of its measure's column, as seed 003 shows its matrix.
    """
    import pandas as pd

    measures: dict[str, tuple[Callable, bool]] = {name: (module, False) for name, module in losses.items()}
    measures.update(QUALITY)
    if lpips is not None:
        measures["LPIPS"] = (lpips, False)
    rows = []
    for label, path in progress_bar(list(reconstructions.items()), desc="cross-loss matrix"):
        with np.load(path) as arrays:
            images = as_tensor(arrays["heldout_images"])
            recon = torch.from_numpy(arrays["heldout_recon"])
        for name, (function, higher) in measures.items():
            values = []
            with torch.no_grad():
                for i in range(0, len(images), batch_size):
                    x, y = recon[i:i + batch_size].to(device), images[i:i + batch_size].to(device)
                    value = function(x, y)
                    values.append(value.reshape(-1).mean().cpu() * len(x) if value.ndim == 0 else value.sum().cpu())
            rows.append({"model": label, "measure": name, "value": float(sum(values)) / len(images),
                         "higher_is_better": higher})
    table = pd.DataFrame(rows)
    table["normalized"] = table["value"] / table.groupby("measure")["value"].transform(lambda v: v.abs().max())
    return table[["model", "measure", "value", "normalized", "higher_is_better"]]


def render_matrix(table: "pd.DataFrame", path: str | os.PathLike) -> list[Path]:  # noqa: F821
    """The cross-loss matrix as a heat map of the normalised values, each cell annotated (PNG)."""
    plt = pyplot()
    matrix = table.pivot(index="model", columns="measure", values="normalized")
    matrix = matrix[list(dict.fromkeys(table["measure"]))].loc[list(dict.fromkeys(table["model"]))]
    fig, ax = plt.subplots(figsize=(1.1 * matrix.shape[1] + 3, 0.5 * matrix.shape[0] + 1.8), layout="constrained")
    image = ax.imshow(matrix.to_numpy(), cmap="YlGnBu", aspect="auto")
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    ax.set_title("Held-out reconstructions under every measure (each column / its largest value)", fontsize=9)
    fig.colorbar(image, ax=ax)
    return save_figure(fig, path)


def render_reconstructions(reconstructions: Mapping[str, str | os.PathLike], path: str | os.PathLike) -> list[Path]:
    """One row of images per model: training images reconstructed, held-out images reconstructed, samples; the
    originals on top (PNG)."""
    plt = pyplot()
    arrays = {label: dict(np.load(file)) for label, file in reconstructions.items()}
    first = next(iter(arrays.values()))
    n = len(first["train_images"])
    blocks = [("train", "train_recon", "train_images"), ("held-out", "heldout_recon", "heldout_images"),
              ("samples", "samples", None)]

    def strip(images: np.ndarray) -> np.ndarray:
        images = images[:n]
        if images.dtype != np.uint8:
            images = (np.clip(images, 0, 1) * 255).round().astype(np.uint8).transpose(0, 2, 3, 1)
        pad = np.full((len(images), images.shape[1], 2, 3), 255, np.uint8)
        return np.concatenate([np.concatenate([image, p], axis=1) for image, p in zip(images, pad)], axis=1)

    rows = [("originals", [strip(first[original]) if original else None for _, _, original in blocks])]
    rows += [(label, [strip(data[key]) for _, key, _ in blocks]) for label, data in arrays.items()]
    fig, axes = plt.subplots(len(rows), len(blocks), squeeze=False, layout="constrained",
                             figsize=(3 * len(blocks) * n / 8 + 1.5, 0.45 * len(rows) * 8 / max(n, 1) + 1.2))
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if image is not None:
                ax.imshow(image, interpolation="nearest")
            if r == 0:
                ax.set_title(blocks[c][0], fontsize=9)
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    return save_figure(fig, path)


def run_cross_loss(reconstructions: Mapping[str, str | os.PathLike], losses: Mapping[str, Mapping[str, Any]],
                   *, weights_sources: Mapping[str, str] | None = None, lpips: Mapping[str, str] | None = None,
                   normalize_input: bool = True, seed: int = 0, device: str | torch.device = "cpu",
                   table: str | os.PathLike, matrix: str | os.PathLike, grid: str | os.PathLike) -> "pd.DataFrame":  # noqa: F821
    """The experiment's summary: the cross-loss matrix (CSV ``table`` and heat map ``matrix``) of the models
    ``label -> .npz``, scored under every configured loss (``label -> {loss, arch, layer, weights}``) and LPIPS
    (``{arch, weights}``; default AlexNet, ImageNet), and the reconstruction figure ``grid``."""
    from .. import LPIPS
    from .._util import resolve_device

    device = resolve_device(device)
    modules = {}
    for label, entry in losses.items():
        variant = entry.get("weights")
        source = (weights_sources or {}).get(variant, variant) if variant else None
        source = source.format(arch=entry.get("arch", SEED_VGG_ARCH)) if isinstance(source, str) else source
        modules[label] = build_loss(entry["loss"], loss_spec(entry, source), normalize_input, seed).to(device)
    lpips = {"arch": "alexnet", "weights": "imagenet", **dict(lpips or {})}
    lpips_source = (weights_sources or {}).get(lpips["weights"], lpips["weights"]).format(arch=lpips["arch"])
    # calibrated (LPIPS v0.1's channel weights) only on the ImageNet backbone they were learnt on
    metric = LPIPS(lpips["arch"], weights=lpips_source, calibrated=lpips_source == "imagenet").to(device)
    result = cross_loss_matrix(reconstructions, modules, metric, device=device)
    write_csv(result, table)
    render_matrix(result, matrix)
    render_reconstructions(reconstructions, grid)
    return result

