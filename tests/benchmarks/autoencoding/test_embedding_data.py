"""Benchmark 4 data: the SVHN/STL-10 readers on generated files in the real formats, and the prepared HDF5."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from lossnet.benchmarks.autoencoding.demo import make_demo_stl10, make_demo_svhn
from lossnet.benchmarks.autoencoding.data import (
    EmbeddingDataError,
    pad_svhn,
    prepare_stl10,
    prepare_svhn,
    read_prepared,
    read_stl10_split,
    read_svhn_mat,
)


@pytest.fixture(scope="module")
def svhn(tmp_path_factory) -> Path:
    return make_demo_svhn(tmp_path_factory.mktemp("svhn"), n_train=30, n_test=20, n_extra=40, seed=1)


@pytest.fixture(scope="module")
def stl10(tmp_path_factory) -> Path:
    return make_demo_stl10(tmp_path_factory.mktemp("stl10"), n_train=12, n_test=8, n_unlabeled=16, seed=1)


def test_svhn_mat_round_trip_maps_label_10_to_digit_0(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": images, "y": np.array([[10], [1], [9], [10]], np.uint8)})
    read, labels = read_svhn_mat(tmp_path / "train_32x32.mat")
    assert read.shape == (32, 32, 3, 4) and np.array_equal(read, images)
    assert labels.tolist() == [0, 1, 9, 0]


def test_svhn_demo_files_have_the_real_layout(svhn):
    mat = scipy.io.loadmat(svhn / "test_32x32.mat")
    assert mat["X"].shape == (32, 32, 3, 20) and mat["X"].dtype == np.uint8
    assert mat["y"].shape == (20, 1) and set(mat["y"].ravel()) <= set(range(1, 11))


def test_svhn_prepared_is_reflection_padded_to_64(svhn, tmp_path):
    output = prepare_svhn(svhn, tmp_path / "svhn.h5", max_unlabeled=25, progress=False)
    images, labels = read_prepared(output, "train")
    raw, raw_labels = read_svhn_mat(svhn / "train_32x32.mat")
    assert images.shape == (30, 64, 64, 3) and images.dtype == np.uint8
    assert np.array_equal(images[:, 16:48, 16:48], raw.transpose(3, 0, 1, 2))
    assert np.array_equal(images[:, 15, 16:48], images[:, 17, 16:48])  # reflect, without repeating the edge
    assert np.array_equal(labels, raw_labels)
    assert read_prepared(output, "unlabeled")[0].shape == (25, 64, 64, 3)
    with h5py.File(output) as h5:
        assert h5.attrs["dataset"] == "svhn" and h5.attrs["size"] == 64
    assert not output.with_name("svhn.h5.partial").exists()


def test_pad_svhn_matches_torch_reflection_padding():
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    expected = torch.nn.functional.pad(torch.from_numpy(images).permute(0, 3, 1, 2).float(), (16,) * 4, mode="reflect")
    assert np.array_equal(pad_svhn(images), expected.permute(0, 2, 3, 1).numpy().astype(np.uint8))


def test_stl10_binary_is_read_column_major_with_labels_1_to_10(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    image = np.zeros((96, 96, 3), np.uint8)
    image[0, :, 0] = 255  # the top row red: in the file it is the first *column* of the red channel
    image[5, 7, 1] = 77
    stored = image.transpose(2, 1, 0)  # what STL-10 stores: per channel, column-major
    assert stored[0, :, 0].min() == 255
    stored[None].tofile(folder / "train_X.bin")
    np.array([10], np.uint8).tofile(folder / "train_y.bin")
    images, labels = read_stl10_split(folder, "train")
    assert images.shape == (1, 96, 96, 3) and np.array_equal(images[0], image)
    assert labels.tolist() == [9]


def test_stl10_demo_prepared_keeps_96_and_maps_labels(stl10, tmp_path):
    assert stl10.name == "stl10_binary"
    raw = np.fromfile(stl10 / "test_y.bin", np.uint8)
    output = prepare_stl10(stl10, tmp_path / "stl10.h5", progress=False)
    images, labels = read_prepared(output, "test")
    assert images.shape == (8, 96, 96, 3)
    assert np.array_equal(labels, raw.astype(np.int64) - 1) and labels.min() >= 0 and labels.max() <= 9
    unlabeled, none = read_prepared(output, "unlabeled")
    assert unlabeled.shape == (16, 96, 96, 3) and none is None


def test_truncated_mat_is_named(svhn, tmp_path):
    broken = tmp_path / "train_32x32.mat"
    data = (svhn / "train_32x32.mat").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(EmbeddingDataError, match="train_32x32.mat"):
        read_svhn_mat(broken)


def test_truncated_stl10_binary_is_named(stl10, tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    for name in ("train_X.bin", "train_y.bin"):
        (folder / name).write_bytes((stl10 / name).read_bytes())
    data = (folder / "train_X.bin").read_bytes()
    (folder / "train_X.bin").write_bytes(data[: len(data) - 1000])
    with pytest.raises(EmbeddingDataError, match="train_X.bin"):
        read_stl10_split(folder, "train")
    for name in ("test_X.bin", "test_y.bin", "unlabeled_X.bin"):
        (folder / name).write_bytes((stl10 / name).read_bytes())
    with pytest.raises(EmbeddingDataError, match="train_X.bin"):
        prepare_stl10(folder, tmp_path / "stl10.h5", progress=False)
    assert not list(tmp_path.glob("stl10.h5*"))  # the partial file is removed
    (folder / "train_X.bin").write_bytes(data[: len(data) - 3 * 96 * 96])  # whole images missing: counts differ
    with pytest.raises(EmbeddingDataError, match="train_y.bin"):
        read_stl10_split(folder, "train")


def test_missing_files_are_named_before_any_work(svhn, tmp_path):
    (tmp_path / "train_32x32.mat").write_bytes((svhn / "train_32x32.mat").read_bytes())
    with pytest.raises(EmbeddingDataError, match="test_32x32.mat, .*extra_32x32.mat"):
        prepare_svhn(tmp_path, tmp_path / "out.h5", progress=False)
    assert not (tmp_path / "out.h5.partial").exists()
