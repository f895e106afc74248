"""What calibrated LPIPS costs over the plain benchmark-1 pass: time and disk of the per-channel cache, and the fit.

    .venv/bin/python bench/calibration_cost.py --device cpu                 # alexnet, squeezenet1_1, resnet18
    .venv/bin/python bench/calibration_cost.py --device cuda --archs alexnet vgg16 resnet50 --n 512

On one synthetic BAPPS file (`lossnet.benchmarks.similarity.demo.make_bapps` + `.data.prepare`: ``--n`` triplets
per 2AFC subset and pairs per JND subset, six and two subsets) it times, per architecture and at the study's layers
E S M L, the `similarity_cache` pass (`compute_distances`, distance lpips) and the `calibration_cache` pass over the
same file's 2AFC triplets (`cache_per_channel`), and reads the bytes each wrote. It then fits a calibration on the
per-channel cache with the `lpips` schedule (`calibrate`, CPU). Extrapolated to the paper's data at the measured
rates: the train pass over BAPPS 2afc/train (151,300 triplets) plus the val pass (36,344 triplets), and their
disk; these are estimates scaled from ``--n``, printed as such. The fit's time grows linearly with the triplets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from lossnet.benchmarks.costs import BAPPS_2AFC_TRAIN, BAPPS_2AFC_VAL
from lossnet.benchmarks.similarity import data as bapps, demo
from lossnet.benchmarks.similarity.cache import compute_distances
from lossnet.benchmarks.similarity.calibrate import cache_per_channel, calibrate
from lossnet.zoo import LAYER_LABELS

PAPER_TRIPLETS = sum(BAPPS_2AFC_TRAIN.values()) + sum(BAPPS_2AFC_VAL.values())


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["alexnet", "squeezenet1_1", "resnet18"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=48, help="triplets per 2AFC subset (and pairs per JND subset)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        root = demo.make_bapps(work / "bapps", n_2afc=args.n, n_jnd=args.n, seed=0)
        prepared = bapps.prepare(root, work / "bapps.h5", progress=False)
        triplets = args.n * len(bapps.SUBSETS_2AFC)
        print(f"device {args.device}; {triplets} 2AFC triplets + {args.n * len(bapps.SUBSETS_JND)} JND pairs, "
              f"layers {' '.join(LAYER_LABELS)}, random weights, batch {args.batch_size}")
        print(f"{'arch':<16}{'plain s':>9}{'per-channel s':>15}{'extra %':>9}{'per-ch. kB/triplet':>20}"
              f"{'fit s':>8}{'paper pass h':>14}{'paper disk GB':>15}")
        for arch in args.archs:
            plain = timed(lambda: compute_distances(arch, "random", prepared, work / f"{arch}.h5", layers=LAYER_LABELS,
                                                    batch_size=args.batch_size, device=args.device, progress=False))
            output = work / f"{arch}_pc.h5"
            per_channel = timed(lambda: cache_per_channel(arch, "random", prepared, output, layers=list(LAYER_LABELS),
                                                          batch_size=args.batch_size, device=args.device))
            fit = timed(lambda: calibrate(output, work / f"{arch}.pt", schedule="lpips"))
            per_triplet = output.stat().st_size / triplets
            print(f"{arch:<16}{plain:>9.2f}{per_channel:>15.2f}{100 * per_channel / plain:>9.0f}"
                  f"{per_triplet / 1e3:>20.2f}{fit:>8.2f}{per_channel / triplets * PAPER_TRIPLETS / 3600:>14.2f}"
                  f"{per_triplet * PAPER_TRIPLETS / 1e9:>15.2f}")
        print(f"paper columns: estimates at the measured rate for {PAPER_TRIPLETS:,} triplets (2afc/train + val); "
              "extra % = the per-channel pass's time as a share of the plain pass (it reads 2AFC only)")


if __name__ == "__main__":
    main()
