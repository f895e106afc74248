"""How the library's modules take image tensors: one conversion and one range check for LossNetwork, LPIPS and
PerceptualLoss, so that a uint8 or float16 batch gives the right value or a clear error, never NaN."""

from __future__ import annotations

import warnings

import torch


def unit_images(images: torch.Tensor, value_range: tuple[float, float], who: str) -> torch.Tensor:
    """``images`` as floats in [0, 1]: uint8 is read as 8-bit images ([0, 255], whatever ``value_range`` says);
    floats are mapped from ``value_range``. Other integer and bool tensors are refused (their range is unknown)."""
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    if not torch.is_floating_point(images):
        raise ValueError(f"{who} takes float images in value_range {value_range} or uint8 images in [0, 255], "
                         f"got a {images.dtype} tensor: convert it, e.g. images.float() / 255")
    low, high = value_range
    if (low, high) == (0.0, 1.0):
        return images
    return (images - low) / (high - low)


def as_dtype(images: torch.Tensor, dtype: torch.dtype, who: str) -> torch.Tensor:
    """Floating ``images`` in the module's ``dtype`` (float16, bfloat16 and float64 are cast; gradients flow)."""
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    elif not torch.is_floating_point(images):
        raise ValueError(f"{who} takes float images in [0, 1] or uint8 images in [0, 255], got a {images.dtype} "
                         "tensor: convert it, e.g. images.float() / 255")
    return images if images.dtype == dtype else images.to(dtype)


def should_check_range(checked: bool) -> bool:
    """Whether to look at the values of a batch now: once per module, and never while torch.compile traces (the
    check reads tensor values: a graph break, and a GPU sync on every call if it ran every time)."""
    return not checked and not torch.compiler.is_compiling()


def warn_if_out_of_range(images: torch.Tensor, value_range: tuple[float, float], who: str) -> None:
    """Warn when float ``images`` fall clearly (by 10% of the range) outside ``value_range``."""
    if images.dtype == torch.uint8 or not torch.is_floating_point(images) or not images.numel():
        return
    low, high = value_range
    margin = 0.1 * (high - low)
    lo, hi = (float(v) for v in images.detach().aminmax())
    if lo < low - margin or hi > high + margin:
        hint = " (it looks like [0, 255]: pass value_range=(0, 255) or divide by 255)" if hi > 2 * high else ""
        warnings.warn(f"{who} inputs span [{lo:.3g}, {hi:.3g}], outside the expected value_range "
                      f"{value_range}{hint}", stacklevel=4)
