"""Tests for the synthetic BAPPS generator (lossnet.benchmarks.similarity.demo)."""

from __future__ import annotations

import csv
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lossnet.benchmarks.similarity.demo import SUBSETS_2AFC, SUBSETS_JND, make_bapps, write_bapps_archives

N2, NJ = 24, 24


@pytest.fixture(scope="module")
def bapps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bapps(tmp_path_factory.mktemp("bapps"), n_2afc=N2, n_jnd=NJ, seed=0)


def _names(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def _tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def _strengths(root: Path) -> list[dict[str, str]]:
    with open(root / "strengths.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_layout_and_counts(bapps: Path) -> None:
    assert _names(bapps) == ["2afc", "README.txt", "jnd", "strengths.csv"]
    assert _names(bapps / "2afc" / "val") == sorted(SUBSETS_2AFC)
    assert _names(bapps / "jnd" / "val") == sorted(SUBSETS_JND)
    pngs = [f"{i:06d}.png" for i in range(N2)]
    for subset in SUBSETS_2AFC:
        d = bapps / "2afc" / "val" / subset
        assert _names(d) == ["judge", "p0", "p1", "ref"]
        for k in ("ref", "p0", "p1"):
            assert _names(d / k) == pngs
        assert _names(d / "judge") == [f"{i:06d}.npy" for i in range(N2)]
    for subset in SUBSETS_JND:
        d = bapps / "jnd" / "val" / subset
        assert _names(d) == ["p0", "p1", "same"]
        assert _names(d / "p0") == _names(d / "p1") == [f"{i:06d}.png" for i in range(NJ)]
        assert _names(d / "same") == [f"{i:06d}.npy" for i in range(NJ)]
    text = (bapps / "README.txt").read_text()
    assert "synthetic" in text.lower() and "seed=0" in text and "not from human raters" in text


def test_images_are_64x64_rgb_uint8(bapps: Path) -> None:
    pngs = sorted(bapps.rglob("*.png"))
    assert len(pngs) == 3 * N2 * len(SUBSETS_2AFC) + 2 * NJ * len(SUBSETS_JND)
    for p in pngs[:: max(1, len(pngs) // 60)]:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "RGB" and im.size == (64, 64)
            arr = np.asarray(im)
        assert arr.shape == (64, 64, 3) and arr.dtype == np.uint8
    ref = np.asarray(Image.open(bapps / "2afc/val/traditional/ref/000000.png"), np.float64)
    assert ref.std() > 2.0  # a crop of a photo, not a flat patch


@pytest.mark.parametrize(("kind", "folder", "raters"), [("2afc", "judge", 5), ("jnd", "same", 3)])
def test_judgements(bapps: Path, kind: str, folder: str, raters: int) -> None:
    vals = []
    for p in sorted((bapps / kind / "val").glob(f"*/{folder}/*.npy")):
        v = np.load(p)
        assert v.shape == (1,) and np.issubdtype(v.dtype, np.floating)
        vals.append(float(v[0]))
    vals_a = np.array(vals)
    assert ((vals_a >= 0) & (vals_a <= 1)).all()
    assert np.allclose(vals_a * raters, np.round(vals_a * raters), atol=1e-9)
    assert len(np.unique(vals_a)) >= 3  # not degenerate


def test_strengths_csv_matches_and_carries_signal(bapps: Path) -> None:
    rows = _strengths(bapps)
    assert len(rows) == N2 * len(SUBSETS_2AFC) + NJ * len(SUBSETS_JND)
    for r in rows[::7]:
        folder = "judge" if r["dataset"] == "2afc" else "same"
        path = bapps / r["dataset"] / "val" / r["subset"] / folder / f"{int(r['index']):06d}.npy"
        assert np.load(path)[0] == pytest.approx(float(r["judgement"]), abs=1e-6)
    two = [r for r in rows if r["dataset"] == "2afc"]
    diff = np.array([float(r["s0"]) - float(r["s1"]) for r in two])
    judge = np.array([float(r["judgement"]) for r in two])
    assert np.corrcoef(judge, diff)[0, 1] > 0.5
    jnd = [r for r in rows if r["dataset"] == "jnd"]
    s = np.array([float(r["s1"]) for r in jnd])
    same = np.array([float(r["judgement"]) for r in jnd])
    assert np.corrcoef(same, s)[0, 1] < -0.3  # stronger distortion -> judged "same" less often


def test_determinism(tmp_path: Path) -> None:
    kw = dict(n_2afc=3, n_jnd=3)
    a = _tree(make_bapps(tmp_path / "a", seed=7, **kw))
    b = _tree(make_bapps(tmp_path / "b", seed=7, **kw))
    c = _tree(make_bapps(tmp_path / "c", seed=8, **kw))
    assert a == b
    assert a.keys() == c.keys()
    changed = [k for k in a if k != "README.txt" and a[k] != c[k]]
    assert len(changed) > len(a) // 2


def test_subset_selection(tmp_path: Path) -> None:
    root = make_bapps(tmp_path, n_2afc=2, n_jnd=1, subsets_2afc=("color",), subsets_jnd=("cnn",))
    assert _names(root / "2afc" / "val") == ["color"]
    assert _names(root / "jnd" / "val") == ["cnn"]
    assert len(list((root / "2afc/val/color/ref").iterdir())) == 2


def test_archives(bapps: Path, tmp_path: Path) -> None:
    """Members as in the real archives: twoafc_* unpack into dataset/2afc (top folders val/, train/), jnd into
    dataset (top folder jnd/)."""
    bapps = Path(shutil.copytree(bapps, tmp_path / "bapps"))  # the module's fixture stays as it was
    make_bapps(bapps / "train_part", n_2afc=2, n_jnd=0, subsets_2afc=("mix",), subsets_jnd=(), part="train", seed=1)
    shutil.move(bapps / "train_part/2afc/train", bapps / "2afc/train")
    out = write_bapps_archives(bapps, tmp_path / "arch")
    assert set(out) == {"twoafc_val", "twoafc_train", "jnd"}
    for key, base, top in (("twoafc_val", bapps / "2afc", "val"), ("twoafc_train", bapps / "2afc", "train"),
                           ("jnd", bapps, "jnd")):
        assert out[key].name == f"{key}.tar.gz"
        with tarfile.open(out[key], "r:gz") as tar:
            names = tar.getnames()
            files = {m.name for m in tar.getmembers() if m.isfile()}
            assert all(n == top or n.startswith(f"{top}/") for n in names)
            expected = {p.relative_to(base).as_posix() for p in (base / top).rglob("*") if p.is_file()}
            assert files == expected
            assert {"twoafc_val": "val/traditional/judge/000000.npy", "twoafc_train": "train/mix/judge/000000.npy",
                    "jnd": "jnd/val/cnn/same/000000.npy"}[key] in files
            tar.extractall(tmp_path / "extract" / key, filter="data")
        assert _tree(tmp_path / "extract" / key) == {k: v for k, v in _tree(base).items() if k.startswith(f"{top}/")}
    again = write_bapps_archives(bapps, tmp_path / "arch2")
    assert out["jnd"].read_bytes() == again["jnd"].read_bytes()  # archives are reproducible


def test_real_reader_consumes_it(bapps: Path, tmp_path: Path) -> None:
    """The project's real BAPPS reader decodes the synthetic folders unchanged."""
    from lossnet.benchmarks.similarity import data as reader
    import h5py
    out = reader.prepare(bapps, tmp_path / "bapps.h5", progress=False)
    rows = {(r["dataset"], r["subset"], int(r["index"])): float(r["judgement"])
            for r in _strengths(bapps)}
    with h5py.File(out, "r") as h5:
        for split, subsets, key, n in (("2afc", SUBSETS_2AFC, "judge", N2),
                                       ("jnd", SUBSETS_JND, "same", NJ)):
            for subset in subsets:
                g = h5[f"{split}/{subset}"]
                assert g["p0"].shape == (n, 64, 64, 3) and g["p0"].dtype == np.uint8
                want = [rows[(split, subset, i)] for i in range(n)]
                np.testing.assert_allclose(g[key][:], want, atol=1e-6)
        ref = np.asarray(Image.open(bapps / "2afc/val/cnn/ref/000003.png"))
        np.testing.assert_array_equal(h5["2afc/cnn/ref"][3], ref)


def test_default_size_is_fast(tmp_path: Path) -> None:
    import time

    t0 = time.perf_counter()
    make_bapps(tmp_path)
    assert time.perf_counter() - t0 < 30.0
    assert len(list((tmp_path / "2afc/val/frameinterp/judge").iterdir())) == 64
    assert len(list((tmp_path / "jnd/val/traditional/same").iterdir())) == 64
