"""Fixtures of the delineation tests: small MRD-format tiles generated offline, and their prepared HDF5 file.

A plain module, not a conftest.py: tests/workflow imports helpers with `from conftest import ...`, which a second
conftest.py would shadow. Test modules import the fixtures by name (autouse ones too).
"""

from pathlib import Path

import pytest
import torch

from lossnet.benchmarks.delineation.data import prepare
from lossnet.benchmarks.delineation.demo import make_mrd

TILES = {"train": 3, "valid": 1, "test": 2}
SIZE = 256


@pytest.fixture(scope="session")
def mrd_root(tmp_path_factory) -> Path:
    """MRD-format splits (listings with relative links): 3 train, 1 valid, 2 test tiles of 256 x 256."""
    return make_mrd(tmp_path_factory.mktemp("mrd") / "raw", TILES, SIZE, seed=0)


@pytest.fixture(scope="session")
def prepared(mrd_root, tmp_path_factory) -> Path:
    return prepare(mrd_root, tmp_path_factory.mktemp("prepared") / "mrd.h5", progress=False)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: tiny tensors on a shared 2-core machine only make a second thread spin, and the resume
    test compares bit for bit with subprocesses that use one thread too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
