"""Fixtures of the delineation tests: small MRD-format tiles generated offline, and their prepared HDF5 file.

A plain module, not a conftest.py: tests/workflow imports helpers with `from conftest import ...`, which a second
conftest.py would shadow. Test modules import the fixtures by name.
"""

from pathlib import Path

import pytest

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
