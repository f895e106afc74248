"""Estimated GPU cost per network of the Kumar study's cache jobs (no GPU needed: an estimate, marked so).

Per classifier and weights entry: BAPPS val images (2AFC 36,288 triplets x 3 + JND 9,600 pairs x 2 = 128,064
images) x the multiply-accumulates of one image at the side it runs at (``lossnet.experiments.kumar.run_size``),
scaled from torchvision's GFLOPS metadata at the entry's evaluation crop by (run / crop)^2 (convolutions scale
so; attention a little faster), x 2 FLOPs per MAC / an assumed sustained rate, plus a fixed overhead per job
(start-up, weights load, HDF5 reads, distances). Both assumptions are flags. Prints a markdown table.

    python bench/kumar_cost.py [--tflops 20] [--overhead 30] [--size 64]
"""

from __future__ import annotations

import argparse

from lossnet.experiments.kumar import run_size, variant_source
from lossnet.weights import weights_metadata
from lossnet.zoo import torchvision_classifiers

IMAGES = 36_288 * 3 + 9_600 * 2  # BAPPS val: 2AFC triplets x 3 images, JND pairs x 2 images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tflops", type=float, default=20.0, help="assumed sustained fp32 TFLOP/s of the GPU")
    parser.add_argument("--overhead", type=float, default=30.0, help="assumed fixed seconds per cache job")
    parser.add_argument("--size", type=int, default=64, help="the study's input size (64 or 224)")
    args = parser.parse_args()
    print(f"ESTIMATE (not measured): {IMAGES:,} images per job at {args.size} px, {args.tflops:g} TFLOP/s sustained, "
          f"{args.overhead:g} s fixed per job\n")
    print("| arch | weights | run px | GMAC/image | est. GPU s |\n|---|---|---|---|---|")
    total = 0.0
    for arch in torchvision_classifiers():
        for variant in ("imagenet", "imagenet_v2"):
            source = variant_source(arch, variant)
            if source is None:
                continue
            meta = weights_metadata(arch, source[0])
            run = run_size(arch, args.size, variant)
            macs = meta["gflops"] * (run / meta["eval_crop"]) ** 2
            seconds = IMAGES * 2 * macs * 1e9 / (args.tflops * 1e12) + args.overhead
            total += seconds
            print(f"| {arch} | {variant} | {run} | {macs:.3f} | {seconds:.0f} |")
    print(f"\nTotal (V1 + V2, {args.size} px): {total / 3600:.2f} GPU-hours (estimated)")


if __name__ == "__main__":
    main()
