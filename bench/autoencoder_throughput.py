"""Benchmark-4 autoencoder training throughput (images/s) per loss network, and the cost of the paper's sweep.

    .venv/bin/python bench/autoencoder_throughput.py --device cpu                      # ~4 CPU-minutes (2 cores)
    .venv/bin/python bench/autoencoder_throughput.py --device cuda                     # batch 256, 20 timed steps
    .venv/bin/python bench/autoencoder_throughput.py --device cuda --archs all --layers E S M L --precision bf16

What is timed is the real training engine: `lossnet.training.fit` (one epoch) trains the protocol's
`Autoencoder` with `ReconstructionLoss(PerceptualLoss(arch, [layer], "random", "mse"))`, built as
`lossnet.benchmarks.autoencoding.model.train_autoencoder` builds them, on an `ImageSplit` of synthetic uint8 images written in the
prepared-HDF5 layout (in memory, num_workers 0: the config's defaults). A step is the DataLoader batch, the
autoencoder forward, the frozen loss network's forward on target and prediction, the backward through both to the
autoencoder, and the Adam step. A global optimizer-step hook stamps the clock at the end of every step (after a
CUDA synchronize), so the timed window, from the end of the last of `--warmup` untimed steps to the end of the last
of `--steps` timed ones, holds exactly the timed steps with their DataLoader batches; it excludes the DataLoader
start-up and the end-of-epoch checkpoint (10 per run of the sweep: negligible next to an epoch).
`pixel` is the network-free pixel-MSE baseline and is always measured. Weights are random (speed does not depend
on their values); images are uniform noise.

The second table estimates the device-hours of the paper's benchmark-4 sweep: 14 architectures x 4 layers x
{SVHN: 531,131 extra images at 64x64; STL-10: 100,000 unlabeled at 96x96} x `--epochs` epochs, plus the pixel
baseline, for one weights variant. Measured configurations use their measured images/s. The others are
extrapolated with a FLOPs model fitted per image size on the measured ones: seconds/image = pixel's
seconds/image + k * (forward GFLOPs of the loss network up to the layer, counted on the meta device), with
k = sum(measured s/image - pixel's) / sum(GFLOPs) pooled over the architecture's own measured layers where it has
any, else over all measured configurations (clamped at 0). The script prints which configurations were measured,
their sum, the extrapolated sum with the fitted k values, and the total. Measure `--archs all --layers E S M L`
to need no extrapolation.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.flop_counter import FlopCounterMode

from lossnet.benchmarks.autoencoding.model import Autoencoder, ImageSplit, ReconstructionLoss
from lossnet.loss import PerceptualLoss
from lossnet.network import LossNetwork
from lossnet.training import NonFiniteLossError, fit
from lossnet.zoo import LAYER_LABELS, PAPER_ARCHITECTURES

# The paper's sweep: dataset -> (image side, autoencoder training images). SVHN: the `extra` split padded to 64;
# STL-10: the `unlabeled` split (config autoencoding.max_unlabeled: null keeps them all).
DATASETS = {"svhn": (64, 531_131), "stl10": (96, 100_000)}
DEFAULT_ARCHS = ["alexnet", "vgg16", "resnet50"]


class StepClock:
    """Stamps the clock after every optimizer step (after a CUDA synchronize), through a global Adam hook."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.stamps = device, []

    def __enter__(self) -> "StepClock":
        self.handle = register_optimizer_step_post_hook(self._stamp)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()

    def _stamp(self, *_) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.stamps.append(time.perf_counter())


def synthetic_prepared(path: Path, size: int, n: int) -> Path:
    """A prepared-format HDF5 (``/unlabeled/images`` uint8 (n, size, size, 3)) of uniform noise."""
    images = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    with h5py.File(path, "w") as h5:
        h5["unlabeled/images"] = images
    return path


def measure(arch: str, layer: str, prepared: Path, args, device: torch.device, workdir: Path) -> dict:
    """Images/s of ``fit`` over the timed steps, and the peak GPU memory."""
    data = ImageSplit(prepared, "unlabeled", in_memory=True)
    torch.manual_seed(0)
    model = Autoencoder(data.size, 64)
    loss = PerceptualLoss(arch, [layer] if arch != "pixel" else [], "random", "mse", True, 0)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    with StepClock(device) as clock:
        fit(model, ReconstructionLoss(loss), data, checkpoint_dir=workdir / f"{arch}-{layer}-{data.size}",
            epochs=1, batch_size=args.batch_size, lr=1e-3, seed=0, device=str(device), precision=args.precision,
            frozen=[loss], num_workers=0, progress=False, log=logging.getLogger("bench.quiet"))
    # stamps[i] ends step i; the window from the end of the last warm-up step to the end of the last step holds
    # exactly the timed steps, each with its DataLoader batch.
    assert len(clock.stamps) == args.warmup + args.steps, f"{len(clock.stamps)} optimizer steps"
    seconds = clock.stamps[-1] - clock.stamps[args.warmup - 1]
    images = args.batch_size * args.steps
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"ips": images / seconds, "seconds": seconds, "images": images, "peak_gib": peak}


@functools.lru_cache(maxsize=None)
def loss_network_gflops(arch: str, layer: str, size: int) -> float:
    """Forward GFLOPs per image of the loss network up to ``layer`` (counted on the meta device: no weights)."""
    with torch.device("meta"):
        network = LossNetwork(arch, [layer], "random")
        with FlopCounterMode(display=False) as counter:
            network(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def estimate(measured: dict, args, unit: str, device_name: str) -> None:
    """Print the device-hours of the sweep: measured configurations as measured, the rest from the FLOPs model."""
    print(f"\n**Estimated {unit} ({device_name}) of the paper's benchmark-4 sweep ({args.epochs} epochs, "
          "one weights variant)**\n")
    # Per dataset: pixel's s/image (the autoencoder alone) and k in s/image per loss-network GFLOP, pooled
    # (sum of extra seconds / sum of GFLOPs, so the heavy configurations that dominate the sweep weigh most) over
    # all measured configurations, and over each measured architecture's own configurations.
    models, notes = {}, []
    for dataset, (size, _) in DATASETS.items():
        if ("pixel", "-", dataset) not in measured:
            continue
        pixel = 1 / measured["pixel", "-", dataset]
        extra: dict[str, list[tuple[float, float]]] = {}
        for (arch, layer, ds), ips in measured.items():
            if ds == dataset and arch != "pixel":
                extra.setdefault(arch, []).append((1 / ips - pixel, loss_network_gflops(arch, layer, size)))
        pooled = lambda pairs: max(sum(e for e, _ in pairs) / sum(f for _, f in pairs), 0.0)  # noise can go < 0
        k_all = pooled([pair for pairs in extra.values() for pair in pairs]) if extra else None
        k_arch = {arch: pooled(pairs) for arch, pairs in extra.items()}
        models[dataset] = (pixel, k_all, k_arch)
        if k_all is None:
            notes.append(f"{dataset}: only pixel measured, so loss networks are counted as free (k = 0)")
        else:
            notes.append(f"{dataset} {size}x{size}: autoencoder alone (pixel) {pixel * 1e3:.1f} ms/image, k "
                         f"{k_all * 1e3:.1f} ms/GFLOP over all measured, "
                         + ", ".join(f"{arch} {k * 1e3:.1f}" for arch, k in k_arch.items()))
    columns = " | ".join(f"{d} {unit}" for d in models)
    print(f"| loss network | trainings measured | {columns} | total | the rest extrapolated with |")
    print("|---|---:|" + "---:|" * (len(models) + 1) + "---|")
    totals = {"measured": 0.0, "extrapolated": 0.0}
    configs = 0
    for arch in [*PAPER_ARCHITECTURES, "pixel"]:
        layers = ["-"] if arch == "pixel" else list(LAYER_LABELS)
        cells, row_total, done = [], 0.0, 0
        for dataset, (pixel, k_all, k_arch) in models.items():
            size, n = DATASETS[dataset]
            hours = 0.0
            for layer in layers:
                configs += 1
                if (arch, layer, dataset) in measured:
                    ips, kind = measured[arch, layer, dataset], "measured"
                    done += 1
                else:
                    k = k_arch.get(arch, k_all or 0.0)  # k_all None: only pixel measured, loss networks cost 0
                    ips, kind = 1 / (pixel + k * loss_network_gflops(arch, layer, size)), "extrapolated"
                part = args.epochs * n / ips / 3600
                hours += part
                totals[kind] += part
            cells.append(f"{hours:,.1f}")
            row_total += hours
        total = len(layers) * len(models)
        basis = "-" if done == total else ("its own k x GFLOPs" if arch in measured_archs(measured) else
                                           "pooled k x GFLOPs")
        print(f"| {arch} | {done}/{total} | " + " | ".join(cells) + f" | {row_total:,.1f} | {basis} |")
    n_measured = sum(1 for key in measured if key[2] in models)
    print(f"\nMeasured: {n_measured} of the sweep's {configs} trainings (arch/layer@dataset): "
          + ", ".join(f"{a}/{l}@{d}" for a, l, d in measured) + f"; together {totals['measured']:,.1f} {unit}.")
    if configs > n_measured:
        print(f"Extrapolated: the other {configs - n_measured}, together {totals['extrapolated']:,.1f} "
              f"{unit}, as s/image = pixel's s/image + k x forward GFLOPs/image of the loss network up to the layer "
              "(meta-device count), k = (measured s/image - pixel's) / GFLOPs pooled over the measured "
              "configurations of the same architecture where there are any, else over all; " + "; ".join(notes)
              + ". GFLOPs ignore how efficiently an architecture runs (depthwise and grouped convolutions, many small "
              "layers), so extrapolated efficientnet, resnext, densenet, googlenet and inception rows are likely low.")
    left_out = [d for d in DATASETS if d not in models]
    whole = "Whole sweep" if not left_out else f"Sweep without {', '.join(left_out)} (not measured, not estimated)"
    print(f"{whole}: {totals['measured'] + totals['extrapolated']:,.1f} {unit} on one device (x the number of "
          "weights variants); data preparation, embedding and probe training not included.")


def measured_archs(measured: dict) -> set[str]:
    return {arch for arch, _, _ in measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--archs", nargs="+", default=DEFAULT_ARCHS,
                        help=f"zoo architectures, or 'all' for the paper's {len(PAPER_ARCHITECTURES)}; "
                        "pixel is always added")
    parser.add_argument("--layers", nargs="+", default=["S", "L"], choices=LAYER_LABELS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--batch-size", type=int, help="default 256 on cuda (the config's), 32 on cpu")
    parser.add_argument("--steps", type=int, help="timed steps per configuration (default 20 on cuda, 2 on cpu)")
    parser.add_argument("--warmup", type=int, help="untimed steps first, at least 1 (default 3 on cuda, 1 on cpu)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16: fit's autocast")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the estimated sweep")
    parser.add_argument("--step-times", help="also write the measured rates as rows of this step-time CSV (lossnet estimate's bench/step_times.csv; replaces the device's rows of the same rule and network)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    args.batch_size = args.batch_size or (256 if cuda else 32)
    args.steps = args.steps or (20 if cuda else 2)
    args.warmup = args.warmup or (3 if cuda else 1)  # at least 1: the window starts at the end of a step
    archs = list(PAPER_ARCHITECTURES) if args.archs == ["all"] else [a for a in args.archs if a != "pixel"]
    torch.backends.cudnn.benchmark = True

    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {args.precision}; batch {args.batch_size}, "
          f"{args.warmup} warm-up + {args.steps} timed steps; load average {os.getloadavg()[0]:.2f} at start\n")
    print("| loss network | layer | dataset | size | images/s | ms/step |" + (" peak GiB |" if cuda else "")
          + " load 1m |")
    print("|---|---|---|---:|---:|---:|" + ("---:|" if cuda else "") + "---:|")
    measured: dict[tuple[str, str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        n = args.batch_size * (args.warmup + args.steps)  # one epoch: warm-up and timed steps, all full batches
        files = {d: synthetic_prepared(workdir / f"{d}.h5", DATASETS[d][0], n) for d in args.datasets}
        configs = [("pixel", "-")] + [(arch, layer) for arch in archs for layer in args.layers]
        for arch, layer in configs:
            for dataset in args.datasets:
                size = DATASETS[dataset][0]
                try:
                    result = measure(arch, layer, files[dataset], args, device, workdir)
                except (torch.OutOfMemoryError, NonFiniteLossError) as error:
                    what = "out of memory" if isinstance(error, torch.OutOfMemoryError) else "non-finite loss"
                    print(f"| {arch} | {layer} | {dataset} | {size} | {what} | |" + (" |" if cuda else "")
                          + f" {os.getloadavg()[0]:.2f} |", flush=True)
                    continue
                measured[arch, layer, dataset] = result["ips"]
                step_ms = 1e3 * result["seconds"] / args.steps
                peak = f" {result['peak_gib']:.1f} |" if cuda else ""
                print(f"| {arch} | {layer} | {dataset} | {size} | {result['ips']:,.1f} | {step_ms:,.0f} |{peak} "
                      f"{os.getloadavg()[0]:.2f} |", flush=True)
    estimate(measured, args, "GPU-hours" if cuda else "CPU-hours", name)
    if args.step_times:
        from step_rows import write_rows

        rates: dict[str, list[float]] = {}
        for (arch, _, dataset), ips in measured.items():  # seconds per megapixel of training images
            rates.setdefault(arch, []).append(1e6 / (ips * DATASETS[dataset][0] ** 2))
        write_rows(args.step_times, name if cuda else "cpu", "autoencoder_train", rates, "Mpx",
                   f"bench/autoencoder_throughput.py, batch {args.batch_size}, {args.precision}")


if __name__ == "__main__":
    main()
