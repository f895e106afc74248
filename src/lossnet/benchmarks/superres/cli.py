"""The ``lossnet superres-metrics`` command (registered by :mod:`lossnet.cli` through the benchmark registry)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    from ...cli import output_argument, positive_int

    metrics = commands.add_parser(
        "superres-metrics",
        help="score your own SR outputs as benchmark 2 does (Y-channel PSNR/SSIM, `scale` border shaved)",
        description="Match SR_DIR's images to HR_DIR's by file stem, crop each HR image to a multiple of --scale, "
                    "and write one row per image (image, psnr, ssim) on the BT.601 Y channel with --scale border "
                    "pixels shaved; SSIM is Wang et al.'s (Gaussian window, sigma 1.5).",
    )
    metrics.add_argument("hr_dir", help="folder of ground-truth HR images (png, jpg, bmp)")
    metrics.add_argument("sr_dir", help="folder of your SR outputs, one per HR image, same file stems")
    metrics.add_argument("--scale", type=positive_int, required=True, help="the upscaling factor (also the border shaved)")
    output_argument(metrics, "image, psnr, ssim")
    metrics.set_defaults(run=_superres_metrics, outputs=("output",))


def _superres_metrics(args: argparse.Namespace) -> None:
    from ...cli import write_table
    from .evaluate import score_folders

    table = score_folders(Path(args.hr_dir), Path(args.sr_dir), args.scale)
    write_table(table, args.output)
    print(f"mean PSNR {table['psnr'].mean():.3f} dB, mean SSIM {table['ssim'].mean():.4f} over {len(table)} images", file=sys.stderr)
