"""Shared fixtures of the benchmark-2 tests: demo inputs in the real formats, their prepared HDF5, one thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from lossnet.benchmarks.superres import data, demo, evaluate

CROP = 48  # x4: LR 12, x8: LR 6 (reflection padding of the 9x9 convolution needs more than 4 pixels)


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every super-resolution test on one thread (tests/conftest.py's `one_thread`)."""


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory) -> dict[str, Path]:
    """COCO-like zips, Set5/Set14-like folders (Set14 image 2 greyscale), a BSDS300-like archive."""
    return demo.make_demo(tmp_path_factory.mktemp("superres-demo"), n_train=12, n_val=4, n_set5=2, n_set14=3,
                          n_bsd100=2, seed=0)


@pytest.fixture(scope="session")
def prepared(demo_inputs, tmp_path_factory) -> dict[str, Path]:
    """``coco`` (12 train / 4 val crops of 48 px) and the three prepared test sets."""
    root = tmp_path_factory.mktemp("superres-prepared")
    out = {"coco": data.prepare_coco(demo_inputs["coco_train"], demo_inputs["coco_val"], root / "coco.h5",
                                     n_train=12, n_val=4, seed=0, size=CROP, progress=False)}
    for name in evaluate.TEST_SETS:
        out[name] = data.prepare_test_set(demo_inputs[name], root / f"{name}.h5", name)
    return out
