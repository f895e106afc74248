"""The report's example outputs: LR / bicubic / pixel / loss network / HR crops of one test image, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
from PIL import Image

from ..._util import atomic_output
from .degradation import bicubic_upscale, crop_to_scale, degrade


def centre_box(height: int, width: int, side: int, scale: int) -> tuple[int, int, int]:
    """``(top, left, side)`` of a centred square crop, aligned to ``scale`` so the LR crop matches exactly."""
    side = max(scale, min(side, height, width) // scale * scale)
    top, left = (height - side) // 2 // scale * scale, (width - side) // 2 // scale * scale
    return top, left, side


def example_panels(hr: np.ndarray, scale: int, outputs: Mapping[str, np.ndarray],
                   side: int = 96) -> list[tuple[str, np.ndarray]]:
    """``(title, crop)`` panels: LR (nearest-upscaled), bicubic, each of ``outputs`` (SR images of ``hr``), HR."""
    hr = crop_to_scale(hr, scale)
    lr = degrade(hr, scale)
    top, left, side = centre_box(*hr.shape[:2], side, scale)
    crop = lambda image: image[top:top + side, left:left + side]
    lr_crop = lr[top // scale:(top + side) // scale, left // scale:(left + side) // scale]
    panels = [("LR", np.asarray(Image.fromarray(lr_crop).resize((side, side), Image.NEAREST))),
              ("bicubic", crop(bicubic_upscale(lr, scale)))]
    for title, image in outputs.items():
        if image.shape != hr.shape:
            raise ValueError(f"output {title!r} is {image.shape}, the HR image cropped to x{scale} is {hr.shape}")
        panels.append((title, crop(image)))
    return panels + [("HR", crop(hr))]


def example_figure(rows: Mapping[str, tuple[np.ndarray, int, Mapping[str, np.ndarray]]], output: Path,
                   side: int = 96) -> Path:
    """One row of panels per entry ``{row title: (hr, scale, {title: SR image})}``, saved to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panel_rows = {title: example_panels(hr, scale, outputs, side) for title, (hr, scale, outputs) in rows.items()}
    n_cols = max(len(panels) for panels in panel_rows.values())
    fig, axes = plt.subplots(len(panel_rows), n_cols, figsize=(2 * n_cols, 2.2 * len(panel_rows)), squeeze=False)
    for axes_row, (row_title, panels) in zip(axes, panel_rows.items()):
        for ax in axes_row:
            ax.axis("off")
        for ax, (title, image) in zip(axes_row, panels):
            ax.imshow(image, interpolation="nearest")
            ax.set_title(title, fontsize=8)
        axes_row[0].text(-0.1, 0.5, row_title, rotation=90, va="center", ha="right", transform=axes_row[0].transAxes,
                         fontsize=8)
    fig.tight_layout()
    with atomic_output(output, f".partial{Path(output).suffix}") as partial:
        fig.savefig(partial, dpi=150)
    plt.close(fig)
    return Path(output)
