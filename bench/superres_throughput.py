"""Benchmark-2 super-resolution training throughput (steps/s) per loss network, and the cost of the paper's sweep.

    .venv/bin/python bench/superres_throughput.py --device cpu                    # alexnet S/L + pixel, x4, 2 steps
    .venv/bin/python bench/superres_throughput.py --device cuda                   # 3 archs x S/L x {x4, x8}, 20 steps
    .venv/bin/python bench/superres_throughput.py --device cuda --archs all --layers E S M L
    .venv/bin/python bench/superres_throughput.py --device cuda --precision bf16 --channels-last --compile

What is timed is the real training path: `lossnet.benchmarks.superres.train.train_superres` (one epoch of
the training engine) trains the protocol's `TransformNet` with `SuperresLoss(PerceptualLoss(arch, [layer],
"random", "mse"))` on `SuperresPairs` of a synthetic prepared `coco.h5` (uint8 noise crops, `--crop` pixels,
default the protocol's 288; LR degraded on the fly by PIL, as in training). A step is the DataLoader batch (with
the degradation), the network forward, the frozen loss network's forward on target and prediction, the backward,
and the Adam step. The clock is stamped after every optimizer step (after a CUDA synchronize, `StepClock` of
`autoencoder_throughput.py`); the window from the end of the last of `--warmup` untimed steps to the end of the last
of `--steps` timed ones holds exactly the timed steps. The epoch's validation and checkpoint (80 per 200k-step
run) are outside it. `pixel` is the pixel-MSE reference and is always measured.

Knobs (each a config knob of `superres`, whose effect on PSNR is to be measured, not assumed): `--precision bf16`
(fit's autocast), `--channels-last` (network, loss network and batches), `--compile` (`Module.compile()` of the
network and the loss network; the warm-up steps pay the compilation, so give `--warmup` >= 3).

The second table estimates the device-hours of the paper's sweep: 14 architectures x 4 layers x {x4, x8} x
`--iterations` steps at batch `--batch-size`, plus the two pixel references, for one weights variant. Measured
configurations count as measured; the others are extrapolated per scale as s/step = pixel's s/step + k x forward
GFLOPs of the loss network up to the layer at the crop size (meta-device count), k pooled over the measured
configurations of the same architecture where there are any, else over all (as in `autoencoder_throughput.py`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autoencoder_throughput import StepClock, loss_network_gflops  # noqa: E402

from lossnet.benchmarks.superres.train import train_superres  # noqa: E402
from lossnet.training import Runtime, TrainingJob  # noqa: E402
from lossnet.training import NonFiniteLossError  # noqa: E402
from lossnet.zoo import LAYER_LABELS, PAPER_ARCHITECTURES  # noqa: E402

DEFAULT_ARCHS = ["alexnet", "vgg16", "resnet50"]
SCALES = (4, 8)


def synthetic_coco(path: Path, crop: int, n_train: int, n_val: int = 2) -> Path:
    """A prepared-format ``coco.h5`` of uniform noise (``/train/images``, ``/val/images``)."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        for split, n in (("train", n_train), ("val", n_val)):
            h5[f"{split}/images"] = rng.integers(0, 256, (n, crop, crop, 3), dtype=np.uint8)
    return path


def measure(arch: str, layer: str, scale: int, prepared: Path, args, device: torch.device, workdir: Path) -> dict:
    """Steps/s of one epoch of ``train_superres`` over the timed steps, and the peak GPU memory."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    with StepClock(device) as clock:
        runtime = Runtime(device=str(device), channels_last=args.channels_last, compile=args.compile, progress=False)
        train_superres(TrainingJob.create("superres", prepared, workdir / f"{arch}-{layer}-x{scale}", arch=arch,
                                          layer=layer, weights="random", scale=scale, epochs=1,
                                          batch_size=args.batch_size, precision=args.precision, runtime=runtime))
    assert len(clock.stamps) == args.warmup + args.steps, f"{len(clock.stamps)} optimizer steps"
    seconds = clock.stamps[-1] - clock.stamps[args.warmup - 1]
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"sps": args.steps / seconds, "seconds": seconds, "peak_gib": peak}


def _k(pairs: list[tuple[float, float]]) -> float:
    """Seconds per step per GFLOP: sum of extra seconds over sum of GFLOPs (heavy configurations weigh most)."""
    return max(sum(extra for extra, _ in pairs) / sum(flops for _, flops in pairs), 0.0)


def step_seconds(measured: dict, crop: int) -> dict:
    """Seconds per step of every (arch, layer, scale) of the sweep: measured, or from the FLOPs model."""
    out = {}
    for scale in SCALES:
        if ("pixel", "-", scale) not in measured:
            continue
        pixel = 1 / measured["pixel", "-", scale]
        extra: dict[str, list[tuple[float, float]]] = {}
        for (arch, layer, s), sps in measured.items():
            if s == scale and arch != "pixel":
                extra.setdefault(arch, []).append((1 / sps - pixel, loss_network_gflops(arch, layer, crop)))
        k_all = _k([pair for pairs in extra.values() for pair in pairs]) if extra else 0.0
        out["pixel", "-", scale] = (pixel, "measured")
        for arch in PAPER_ARCHITECTURES:
            k = _k(extra[arch]) if arch in extra else k_all
            for layer in LAYER_LABELS:
                if (arch, layer, scale) in measured:
                    out[arch, layer, scale] = (1 / measured[arch, layer, scale], "measured")
                else:
                    out[arch, layer, scale] = (pixel + k * loss_network_gflops(arch, layer, crop), "extrapolated")
    return out


def estimate(measured: dict, args, unit: str, device_name: str) -> None:
    """Print the device-hours of the sweep per architecture and scale, and the total."""
    seconds = step_seconds(measured, args.crop)
    scales = [s for s in SCALES if ("pixel", "-", s) in measured]
    print(f"\n**Estimated {unit} ({device_name}) of the paper's benchmark-2 sweep ({args.iterations:,} steps of batch "
          f"{args.batch_size} per run, one weights variant)**\n")
    print("| loss network | runs measured | " + " | ".join(f"x{s} {unit}" for s in scales) + " | total |")
    print("|---|---:|" + "---:|" * (len(scales) + 1))
    totals = {"measured": 0.0, "extrapolated": 0.0}
    for arch in [*PAPER_ARCHITECTURES, "pixel"]:
        layers = ["-"] if arch == "pixel" else list(LAYER_LABELS)
        cells, done = [], 0
        for scale in scales:
            hours = 0.0
            for layer in layers:
                step, kind = seconds[arch, layer, scale]
                hours += step * args.iterations / 3600
                totals[kind] += step * args.iterations / 3600
                done += kind == "measured"
            cells.append(hours)
        print(f"| {arch} | {done}/{len(layers) * len(scales)} | " + " | ".join(f"{c:,.1f}" for c in cells)
              + f" | {sum(cells):,.1f} |")
    runs = (len(PAPER_ARCHITECTURES) * len(LAYER_LABELS) + 1) * len(scales)
    print(f"\n{runs} runs: measured {totals['measured']:,.1f} + extrapolated {totals['extrapolated']:,.1f} = "
          f"**{totals['measured'] + totals['extrapolated']:,.1f} {unit}** on one device"
          + ("" if len(scales) == 2 else f" (scales {scales} only)")
          + "; validation, checkpoints and evaluation not included. Extrapolated rows: s/step = pixel's + k x "
          "loss-network GFLOPs, which ignores how efficiently an architecture runs (likely low for efficientnet, "
          "densenet, googlenet, inception).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--archs", nargs="+", help=f"zoo architectures or 'all' (default {DEFAULT_ARCHS} on cuda, "
                        "alexnet on cpu); pixel is always added")
    parser.add_argument("--layers", nargs="+", default=["S", "L"], choices=LAYER_LABELS)
    parser.add_argument("--scales", nargs="+", type=int, choices=SCALES, help="default 4 8 on cuda, 4 on cpu")
    parser.add_argument("--crop", type=int, default=288, help="HR crop side (the protocol's 288)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, help="timed steps per configuration (default 20 on cuda, 2 on cpu)")
    parser.add_argument("--warmup", type=int, help="untimed steps first, at least 1 (default 3 on cuda, 1 on cpu)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--iterations", type=int, default=200_000, help="steps per run of the estimated sweep")
    parser.add_argument("--step-times", help="also write the measured rates as rows of this step-time CSV (lossnet estimate's bench/step_times.csv; replaces the device's rows of the same rule and network)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    args.steps = args.steps or (20 if cuda else 2)
    args.warmup = max(1, args.warmup or (3 if cuda else 1))
    archs = args.archs or (DEFAULT_ARCHS if cuda else ["alexnet"])
    archs = list(PAPER_ARCHITECTURES) if archs == ["all"] else [a for a in archs if a != "pixel"]
    scales = args.scales or (list(SCALES) if cuda else [4])
    torch.backends.cudnn.benchmark = True
    logging.getLogger("lossnet").setLevel(logging.WARNING)

    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads (no GPU)"
    print(f"device: {name}; torch {torch.__version__}; {args.precision}"
          f"{', channels_last' if args.channels_last else ''}{', compile' if args.compile else ''}; batch "
          f"{args.batch_size}, HR crop {args.crop}; {args.warmup} warm-up + {args.steps} timed steps; load average "
          f"{os.getloadavg()[0]:.2f} at start\n")
    print("| loss network | layer | scale | steps/s | ms/step |" + (" peak GiB |" if cuda else "") + " load 1m |")
    print("|---|---|---:|---:|---:|" + ("---:|" if cuda else "") + "---:|")
    measured: dict[tuple[str, str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepared = synthetic_coco(workdir / "coco.h5", args.crop, args.batch_size * (args.warmup + args.steps))
        for arch, layer in [("pixel", "-")] + [(arch, layer) for arch in archs for layer in args.layers]:
            for scale in scales:
                try:
                    result = measure(arch, layer, scale, prepared, args, device, workdir)
                except (torch.OutOfMemoryError, NonFiniteLossError) as error:
                    what = "out of memory" if isinstance(error, torch.OutOfMemoryError) else "non-finite loss"
                    print(f"| {arch} | {layer} | x{scale} | {what} | |" + (" |" if cuda else "")
                          + f" {os.getloadavg()[0]:.2f} |", flush=True)
                    continue
                measured[arch, layer, scale] = result["sps"]
                peak = f" {result['peak_gib']:.1f} |" if cuda else ""
                print(f"| {arch} | {layer} | x{scale} | {result['sps']:,.2f} | {1e3 / result['sps']:,.0f} |{peak} "
                      f"{os.getloadavg()[0]:.2f} |", flush=True)
    estimate(measured, args, "GPU-hours" if cuda else "CPU-hours", name)
    if args.step_times:
        from step_rows import write_rows

        rates: dict[str, list[float]] = {}
        for (arch, _, _), sps in measured.items():  # seconds per megapixel of HR crops
            rates.setdefault(arch, []).append(1e6 / (sps * args.batch_size * args.crop ** 2))
        write_rows(args.step_times, name if cuda else "cpu", "superres_train", rates, "Mpx",
                   f"bench/superres_throughput.py, batch {args.batch_size}, crop {args.crop}, {args.precision}")


if __name__ == "__main__":
    main()
