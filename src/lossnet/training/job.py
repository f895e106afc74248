"""One training job: what every benchmark and experiment that trains a model calls.

A job is a value: the loss network (:class:`~lossnet.spec.LossSpec`), the prepared data it trains on, its
result-defining settings and seed, where checkpoints go, and the runtime knobs. The job owns the run's
fingerprint and checkpoint folder (:mod:`.run`), resuming or refusing (:func:`.fit.fit`), moving the frozen loss
network with the batch, CPU threads and clean-up. A benchmark writes only its data, model, loss and evaluation::

    job = TrainingJob("my_study", LossSpec.resolve("vgg16", "M", "imagenet"), {"train": "data.h5"},
                      {"epochs": 80, "batch_size": 4, "lr": 1e-3}, checkpoints="results/checkpoints")
    settings = job.settings_as(MyTraining)             # typed, with defaults, unknown keys refused
    loss = job.spec.perceptual_loss("mse")
    result = job.fit(model, loss_fn, train_data, settings, frozen=[loss])
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

from ..spec import LossSpec
from .fit import ADAM_BETAS, FitResult, fit
from .run import run_dir, run_fingerprint

Settings = TypeVar("Settings")


@dataclass(frozen=True)
class Runtime:
    """How a job runs, never what it computes: no knob here enters a fingerprint or reruns a job.

    ``keep_checkpoints`` False deletes the run's checkpoint folder once the job's outputs are written.
    ``in_memory``, ``eval_batch_size``, ``channels_last`` and ``compile`` are read by the benchmarks that use them.
    """

    device: str = "auto"
    threads: int | None = None
    num_workers: int = 0
    keep_checkpoints: bool = True
    in_memory: bool = True
    eval_batch_size: int = 64
    channels_last: bool = False
    compile: bool = False
    progress: bool = True

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None, **overrides: Any) -> "Runtime":
        """A config section's ``runtime`` mapping (validated by the schema), with ``overrides`` on top."""
        values = {**dict(section or {}), **{k: v for k, v in overrides.items() if v is not None}}
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown runtime knob(s) {unknown}; known: {[f.name for f in dataclasses.fields(cls)]}")
        return cls(**values)


@dataclass(frozen=True)
class TrainingJob:
    """One training run of benchmark or experiment ``kind`` with the loss network ``spec``.

    ``data``: prepared files by role, entering the fingerprint by content. ``settings``: the result-defining
    settings as the config gives them (``epochs`` continues a run, everything else defines it). ``checkpoints``:
    the root under which the run's folder is made (:func:`.run.run_dir`).
    """

    kind: str
    spec: LossSpec
    data: Mapping[str, str | os.PathLike]
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    checkpoints: str | os.PathLike = "results/checkpoints"
    runtime: Runtime = Runtime()

    @classmethod
    def create(cls, kind: str, data: str | os.PathLike, checkpoints: str | os.PathLike, *, arch: str = "pixel",
               layer: str = "M", weights: str | os.PathLike = "imagenet", seed: int = 0,
               runtime: Runtime | None = None, **settings: Any) -> "TrainingJob":
        """A job outside Snakemake: ``arch`` at ``layer`` with ``weights`` (``arch="pixel"``: the reference),
        trained on the prepared file ``data``; ``settings`` as in the config section (unset ones take the
        benchmark's defaults, which are the workflow's)."""
        spec = LossSpec.resolve(arch, layer, weights)
        return cls(kind, spec, {"train": data}, settings, seed, checkpoints, runtime or Runtime())

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"lossnet.{self.kind}")

    def settings_as(self, kind: Callable[..., Settings]) -> Settings:
        """The settings as the benchmark's settings dataclass (defaults filled); an unknown key is refused."""
        known = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
        unknown = sorted(set(self.settings) - known)
        if unknown:
            raise ValueError(f"{self.kind} settings: unknown key(s) {unknown}; known: {sorted(known)}")
        return kind(**self.settings)

    def fingerprint(self, settings: Any) -> dict[str, Any]:
        """The run's fingerprint, from the typed ``settings`` (so an omitted default and the same value written out
        are one run)."""
        values = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(settings)
        return run_fingerprint(self.kind, self.spec, self.data, values, self.seed)

    def run_dir(self, settings: Any) -> Path:
        return run_dir(Path(self.checkpoints) / self.kind, self.spec, self.fingerprint(settings))

    def fit(self, model, loss_fn, train_data, settings: Any, *, frozen: Sequence[Any] = (),
            validate: Callable[[Any], float] | None = None,
            group_lrs: Mapping[str, float] | None = None) -> FitResult:
        """Train (or resume) ``model`` with :func:`.fit.fit` in this run's folder.

        ``settings`` must have ``epochs``, ``batch_size``, ``lr`` and ``precision``, and may have ``betas`` (Adam's)
        and ``lr_decay_every`` with ``lr_decay_factor`` (a step schedule; 0 or None: constant); ``group_lrs``
        (parameter-name prefix -> learning rate) gives parts of the model their own rate. ``frozen`` modules (the
        loss network) follow the model to the device.
        """
        if self.runtime.threads:
            import torch

            torch.set_num_threads(self.runtime.threads)
        folder = self.run_dir(settings)
        self.log.info("%s run %s: %s with %s", self.kind, folder, self.spec.labels, settings)
        return fit(model, loss_fn, train_data, checkpoint_dir=folder, epochs=settings.epochs,
                   batch_size=settings.batch_size, lr=settings.lr, seed=self.seed, device=self.runtime.device,
                   precision=settings.precision, validate=validate, frozen=frozen,
                   num_workers=self.runtime.num_workers, progress=self.runtime.progress, log=self.log,
                   betas=tuple(getattr(settings, "betas", None) or ADAM_BETAS), lr_schedule=_lr_schedule(settings),
                   group_lrs=group_lrs)

    def finish(self, result: FitResult) -> None:
        """Drop the run's checkpoints unless ``runtime.keep_checkpoints`` (call once the outputs are written)."""
        if self.runtime.keep_checkpoints:
            return
        folder, root = result.last_path.parent, Path(self.checkpoints).resolve()
        shutil.rmtree(folder, ignore_errors=True)
        for parent in folder.resolve().parents:  # the label folders it leaves empty, up to the root
            if parent == root or root not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break


def _lr_schedule(settings: Any) -> tuple[int, float] | None:
    """``(lr_decay_every, lr_decay_factor)`` of settings that have them (a step schedule), else None."""
    every = getattr(settings, "lr_decay_every", None)
    return (int(every), float(getattr(settings, "lr_decay_factor", 1.0))) if every else None
