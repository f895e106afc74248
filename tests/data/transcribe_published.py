"""Write ``pihlgren2023_scores.csv``: the paper's appendix scores of benchmarks 1, 2 and 4 in the scores schema.

Parses the full text of Pihlgren et al. (the seed text): Table V (2AFC, JND), Tables VI-IX (PSNR and
MSSIM of x4 and x8 super-resolution on Set5, Set14, BSD100) and Table XI (SVHN, STL-10 accuracy).
Table X (benchmark 3) is not parsed: its text is scrambled in the seed (cells out of order, some missing).

    python tests/data/transcribe_published.py [PAPER_TEXT] [-o src/lossnet/data/published/pihlgren2023_scores.csv]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

SEED = Path("/work/shared/seeds/001_96b5a4023694c868.txt")
ARCHS = {
    "VGG-11": "vgg11", "VGG-16": "vgg16", "VGG-16_bn": "vgg16_bn", "VGG-19": "vgg19",
    "ResNet-18": "resnet18", "ResNet-50": "resnet50", "ResNeXt-50 32x4d": "resnext50_32x4d",
    "GoogLeNet": "googlenet", "InceptionNet v3": "inception_v3",
    "EfficientNet_B0": "efficientnet_b0", "EfficientNet_B7": "efficientnet_b7",
    "AlexNet": "alexnet", "DenseNet-121": "densenet121", "SqueezeNet": "squeezenet1_1",
}
LAYERS = "ESML"
SR_SETS = ["set5", "set14", "bsd100"]
# Table title -> (benchmark, metric of each block of four E/S/M/L columns)
TABLES = {
    "TABLE V": ("similarity", ["2afc", "jnd"]),
    "TABLE VI ": ("superres", [f"psnr_{s}_x4" for s in SR_SETS]),
    "TABLE VII ": ("superres", [f"ssim_{s}_x4" for s in SR_SETS]),
    "TABLE VIII ": ("superres", [f"psnr_{s}_x8" for s in SR_SETS]),
    "TABLE IX ": ("superres", [f"ssim_{s}_x8" for s in SR_SETS]),
    "TABLE XI ": ("autoencoding", ["svhn", "stl10"]),
}
NUMBER = re.compile(r"^\d+\.\d+$")


def parse(text: str) -> pd.DataFrame:
    """Every (benchmark, metric, arch, layer) score of the tables in :data:`TABLES`."""
    lines = text.splitlines()
    rows = []
    for title, (benchmark, metrics) in TABLES.items():
        start = next(i for i, line in enumerate(lines) if line.startswith(title) or line == title.strip())
        for line in lines[start + 1:]:
            if line.startswith("TABLE"):
                break
            name, *cells = line.split("\t")
            values = [float(cell) for cell in cells if NUMBER.match(cell.strip())]
            if name.strip() not in ARCHS or not values:
                continue
            if len(values) != 4 * len(metrics):
                raise ValueError(f"{title.strip()}: row {name!r} has {len(values)} numbers, not {4 * len(metrics)}")
            for index, value in enumerate(values):
                rows.append({
                    "benchmark": benchmark, "metric": metrics[index // 4], "arch": ARCHS[name.strip()],
                    "layer": LAYERS[index % 4], "weights": "imagenet", "value": value, "higher_is_better": True,
                })
    return pd.DataFrame(rows)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("seed", nargs="?", type=Path, default=SEED)
    packaged = Path(__file__).parents[2] / "src/lossnet/data/published/pihlgren2023_scores.csv"
    args.add_argument("-o", "--output", type=Path, default=packaged)
    options = args.parse_args()
    table = parse(options.seed.read_text(encoding="utf-8"))
    table.to_csv(options.output, index=False)
    print(table.groupby(["benchmark", "metric"]).size().to_string())


if __name__ == "__main__":
    main()
