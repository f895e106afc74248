"""Benchmark 1: reading BAPPS folders, the cache pass, and 2AFC / JND scoring."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from lossnet.benchmarks.similarity import cache as distance_cache, data as bapps, scoring
from lossnet.benchmarks.similarity.data import BappsFormatError


def test_2afc_hand_computed_with_a_tie():
    d0 = np.array([1.0, 2.0, 3.0, 3.0])
    d1 = np.array([2.0, 1.0, 3.0, 4.0])
    judge = np.array([0.2, 0.6, 0.4, 1.0])  # fraction preferring p1
    # p0 nearer -> 1 - 0.2; p1 nearer -> 0.6; tie -> 0.5; p0 nearer -> 1 - 1.0
    assert scoring.score_2afc(d0, d1, judge) == pytest.approx((0.8 + 0.6 + 0.5 + 0.0) / 4)


def test_jnd_hand_computed():
    d = np.array([0.1, 0.4, 0.2, 0.3])
    same = np.array([1.0, 0.0, 0.5, 0.0])
    # ascending distance: same = 1, .5, 0, 0 -> precision 1, .75, .5, .375 at recall 2/3, 1, 1, 1
    assert scoring.score_jnd(d, same) == pytest.approx(2 / 3 * 1.0 + 1 / 3 * 0.75)


def test_jnd_ties_keep_file_order():
    assert scoring.score_jnd(np.array([0.2, 0.2]), np.array([0.0, 1.0])) == pytest.approx(0.5)
    assert scoring.score_jnd(np.array([0.2, 0.2]), np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert np.isnan(scoring.score_jnd(np.array([0.1, 0.2]), np.array([0.0, 0.0])))  # no positives


def test_jnd_matches_the_lpips_package_voc_ap():
    import lpips

    rng = np.random.default_rng(0)
    d, same = rng.random(200), rng.integers(0, 4, 200) / 3
    order = np.argsort(d, kind="stable")
    tp = np.cumsum(same[order])
    fp = np.cumsum(1 - same[order])
    expected = lpips.voc_ap(tp / np.sum(same), tp / (tp + fp))
    assert scoring.score_jnd(d, same) == pytest.approx(expected, rel=1e-12)


def _write_bapps(root: Path, n: int = 3, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, folders, judgement in (("2afc", ("ref", "p0", "p1"), "judge"), ("jnd", ("p0", "p1"), "same")):
        subset = root / split / "val" / "traditional"
        for i in range(n):
            for folder in folders:
                (subset / folder).mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(subset / folder / f"{i:06d}.png")
            (subset / judgement).mkdir(exist_ok=True)
            np.save(subset / judgement / f"{i:06d}.npy", np.array([rng.integers(0, 6) / 5]))
    return root


def _prepare(root: Path, tmp_path: Path) -> Path:
    return bapps.prepare(root, tmp_path / "bapps.h5", ["traditional"], ["traditional"], progress=False)


def test_prepare_reads_the_folder_in_sorted_order(tmp_path):
    root = _write_bapps(tmp_path / "bapps")
    with h5py.File(_prepare(root, tmp_path)) as h5:
        assert h5["2afc/traditional/ref"].shape == (3, 64, 64, 3) and h5["2afc/traditional/ref"].dtype == np.uint8
        assert list(h5["jnd/traditional/ids"][:]) == [b"000000", b"000001", b"000002"]
        image = np.asarray(Image.open(root / "2afc/val/traditional/p1/000002.png"))
        assert np.array_equal(h5["2afc/traditional/p1"][2], image)
        judge = float(np.load(root / "2afc/val/traditional/judge/000001.npy")[0])
        assert h5["2afc/traditional/judge"][1] == pytest.approx(judge)


def test_corrupt_png_names_the_file(tmp_path):
    root = _write_bapps(tmp_path / "bapps")
    broken = root / "2afc/val/traditional/p0/000001.png"
    broken.write_bytes(broken.read_bytes()[:100])
    with pytest.raises(BappsFormatError, match=str(broken)):
        _prepare(root, tmp_path)
    assert not (tmp_path / "bapps.h5").exists()


def test_missing_judge_file_names_the_file(tmp_path):
    root = _write_bapps(tmp_path / "bapps")
    missing = root / "2afc/val/traditional/judge/000002.npy"
    missing.unlink()
    with pytest.raises(BappsFormatError, match=f"missing judgement file {missing}"):
        _prepare(root, tmp_path)


def test_missing_subset_folder_is_named(tmp_path):
    root = _write_bapps(tmp_path / "bapps")
    with pytest.raises(BappsFormatError, match="2afc/val/cnn/ref"):
        bapps.prepare(root, tmp_path / "x.h5", ["cnn"], [], progress=False)


def test_cache_pass_and_scores_are_consistent_and_deterministic(tmp_path):
    prepared = _prepare(_write_bapps(tmp_path / "bapps", n=5), tmp_path)
    first = distance_cache.compute_distances("alexnet", "random", prepared, tmp_path / "a.h5", batch_size=2, progress=False)
    second = distance_cache.compute_distances("alexnet", "random", prepared, tmp_path / "b.h5", batch_size=5, progress=False)
    with h5py.File(first) as a, h5py.File(second) as b:
        for layer in "ESML":
            np.testing.assert_allclose(a[f"lpips/{layer}/2afc/traditional/d0"][:], b[f"lpips/{layer}/2afc/traditional/d0"][:], rtol=1e-5)
        d0 = sum(a[f"lpips/{layer}/2afc/traditional/d0"][:].astype(float) for layer in "ESML")
        d1 = sum(a[f"lpips/{layer}/2afc/traditional/d1"][:].astype(float) for layer in "ESML")
        judge = a["judgements/2afc/traditional/judge"][:]
        assert a.attrs["arch"] == "alexnet" and a.attrs["seed"] == 0 and a.attrs["torch"]
    table = scoring.score(first, list("ESML"))
    row = table[(table.metric == "2afc") & (table.subset == "")]
    assert row.layer.item() == "all" and row.value.item() == pytest.approx(scoring.score_2afc(d0, d1, judge))
    single = scoring.score(first, "M")
    assert set(single.metric) == {"2afc", "jnd"} and set(single.subset) == {"", "traditional"}
    assert single.value.between(0, 1).all()


def test_cache_distances_equal_a_direct_computation(tmp_path):
    import torch

    import lossnet

    root = _write_bapps(tmp_path / "bapps", n=2)
    cache = distance_cache.compute_distances("squeezenet1_1", "random", _prepare(root, tmp_path), tmp_path / "c.h5",
                                         layers=["S"], progress=False)
    net = lossnet.LossNetwork("squeezenet1_1", layers=["S"], weights="random")

    def load(folder):
        return torch.from_numpy(np.asarray(Image.open(root / f"jnd/val/traditional/{folder}/000001.png"))).permute(2, 0, 1)[None] / 255.0

    with torch.no_grad():
        expected = lossnet.distance("lpips", net(load("p0")), net(load("p1"))).item()
    with h5py.File(cache) as h5:
        assert h5["lpips/S/jnd/traditional/d"][1] == pytest.approx(expected, rel=1e-5)


def test_score_unknown_layer_is_named(tmp_path):
    prepared = _prepare(_write_bapps(tmp_path / "bapps", n=2), tmp_path)
    cache = distance_cache.compute_distances("alexnet", "random", prepared, tmp_path / "c.h5", layers=["E"], progress=False)
    with pytest.raises(KeyError, match="no lpips distances for layers \\['L'\\]"):
        scoring.score(cache, "L")


def test_distortion_sensitivity_on_a_hand_made_cache(tmp_path):
    from lossnet.benchmarks.similarity.sensitivity import distortion_sensitivity

    with h5py.File(tmp_path / "c.h5", "w") as cache:
        cache.attrs.update({"arch": "toy", "weights": "random"})
        cache["judgements/2afc/traditional/judge"] = np.array([1.0, 0.0, 0.6, 1.0])
        cache["lpips/E/2afc/traditional/d0"] = np.array([3.0, 1.0, 9.0, 1.0])
        cache["lpips/E/2afc/traditional/d1"] = np.array([1.0, 2.0, 0.0, 3.0])
    row = distortion_sensitivity([tmp_path / "c.h5"]).iloc[0]
    # unanimous triplets 0, 1, 3: margins (rejected - chosen) = 3-1, 2-1, 1-3
    assert row.n_unanimous == 3
    assert row.mean_margin == pytest.approx((2 + 1 - 2) / 3)
    assert row.relative_margin == pytest.approx((2 / 2 + 1 / 1.5 - 2 / 2) / 3)
    assert row.agreement == pytest.approx(2 / 3)


def test_cli_scores_every_requested_distance(tmp_path, capsys):
    from lossnet.cli import main
    from lossnet.benchmarks.similarity.demo import make_bapps

    root = make_bapps(tmp_path / "bapps", n_2afc=2, n_jnd=2, seed=0)
    output = tmp_path / "scores.csv"
    code = main(["similarity", str(root), "--arch", "alexnet", "--layers", "E", "M", "--weights", "random",
                 "--distances", "lpips", "gram", "--output", str(output)])
    assert code == 0
    import pandas as pd

    scores = pd.read_csv(output, keep_default_na=False)
    headline = scores[scores.subset == ""]
    assert sorted(set(zip(headline.distance, headline.layer))) == [
        ("gram", "E"), ("gram", "M"), ("gram", "all"), ("lpips", "E"), ("lpips", "M"), ("lpips", "all")
    ]
    out, err = capsys.readouterr()
    assert out == "" and f"wrote {output}" in err  # with -o: the file, and one line on stderr


def test_odd_sized_image_is_named_even_when_it_comes_first(tmp_path):
    # Issue 12 item 9: the first image's shape was taken as the norm, so the other ones were blamed.
    root = _write_bapps(tmp_path / "bapps", n=4)
    odd = root / "2afc/val/traditional/p0/000000.png"
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(odd)
    with pytest.raises(BappsFormatError) as caught:
        _prepare(root, tmp_path)
    message = str(caught.value)
    assert f"1 of the 4 images" in message and f"{odd} (48x32)" in message and "not 64x64" in message
    for other in ("000001", "000002", "000003"):
        assert f"p0/{other}.png" not in message
    assert not list(tmp_path.glob("bapps.h5*"))


def test_a_folder_of_another_size_is_named(tmp_path):
    root = _write_bapps(tmp_path / "bapps", n=3)
    for i in range(3):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / f"2afc/val/traditional/p1/{i:06d}.png")
    with pytest.raises(BappsFormatError, match=r"traditional/p1 are 32x32 but those in .*traditional/ref are 64x64"):
        _prepare(root, tmp_path)
    assert not list(tmp_path.glob("bapps.h5*"))


def test_a_judgement_that_is_not_npy_gets_no_pickle_advice(tmp_path):
    root = _write_bapps(tmp_path / "bapps")
    text = root / "2afc/val/traditional/judge/000001.npy"
    text.write_text("0.5\n")
    with pytest.raises(BappsFormatError, match="is not a .npy array file") as caught:
        _prepare(root, tmp_path)
    assert str(text) in str(caught.value) and "pickle" not in str(caught.value)
    assert not list(tmp_path.glob("bapps.h5*"))


def test_no_subsets_is_refused_before_reading(tmp_path):
    with pytest.raises(BappsFormatError, match="name at least one"):
        bapps.prepare(tmp_path, tmp_path / "x.h5", [], [], progress=False)


@pytest.mark.parametrize("kind", ["directory", "parent is a file"])
def test_cli_unwritable_output_fails_before_computing(tmp_path, capsys, monkeypatch, kind):
    # Issue 12 item 7: everything was computed, then lost in a traceback.
    from lossnet.cli import main

    def no_computing(*args, **kwargs):
        raise AssertionError("computed before checking the output")

    monkeypatch.setattr(bapps, "prepare", no_computing)
    (tmp_path / "file").write_text("")
    output = tmp_path if kind == "directory" else tmp_path / "file" / "scores.csv"
    code = main(["similarity", str(tmp_path), "--arch", "alexnet", "--weights", "random", "--output", str(output)])
    error = capsys.readouterr().err
    assert code == 1 and str(output) in error
    assert ("is a directory" if kind == "directory" else f"{tmp_path / 'file'} is a file") in error


def test_cli_empty_subsets_are_refused_naming_the_options(tmp_path, capsys):
    from lossnet.cli import main

    code = main(["similarity", str(tmp_path), "--arch", "alexnet", "--weights", "random", "--subsets-2afc",
                 "--subsets-jnd", "--output", str(tmp_path / "s.csv")])
    error = capsys.readouterr().err
    assert code == 1 and "--subsets-2afc" in error and "tmp" not in error.replace(str(tmp_path), "")


def test_sigterm_removes_the_partial_file(tmp_path):
    # Issue 12 item 10: a stopped prepare job (Snakemake's Ctrl-C, SLURM's scancel) left bapps.h5.partial.
    import signal
    import subprocess
    import sys
    import time

    root = _write_bapps(tmp_path / "bapps", n=3)
    script = f"""
import time
from lossnet._util import exit_on_sigterm
from lossnet.benchmarks.similarity import data
exit_on_sigterm()
slow = data.read_image
def read_image(path):
    time.sleep(0.5)
    return slow(path)
data.read_image = read_image
data.prepare({str(root)!r}, {str(tmp_path / 'bapps.h5')!r}, ['traditional'], ['traditional'], progress=False)
"""
    process = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while not (tmp_path / "bapps.h5.partial").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "bapps.h5.partial").exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert not list(tmp_path.glob("bapps.h5*"))


def test_jnd_headline_is_one_map_over_the_pooled_pairs_and_subsets_are_kept(tmp_path):
    from lossnet.benchmarks.scores import read_replicates, replicates_path
    from lossnet.benchmarks.similarity.demo import make_bapps

    root = make_bapps(tmp_path / "bapps", n_2afc=6, n_jnd=12, seed=1, subsets_2afc=["traditional", "cnn"],
                      subsets_jnd=["traditional", "cnn"])
    prepared = bapps.prepare(root, tmp_path / "bapps.h5", ["traditional", "cnn"], ["traditional", "cnn"],
                             progress=False)
    cache = distance_cache.compute_distances("alexnet", "random", prepared, tmp_path / "c.h5", layers=["M"],
                                             progress=False)
    table = scoring.score_distances(cache, ["M"], ["lpips"], output=tmp_path / "M.csv")
    with h5py.File(cache) as h5:
        d = {s: h5[f"lpips/M/jnd/{s}/d"][:].astype(float) for s in ("traditional", "cnn")}
        same = {s: h5[f"judgements/jnd/{s}/same"][:].astype(float) for s in ("traditional", "cnn")}
    jnd = table[table.metric == "jnd"].set_index("subset")
    pooled = scoring.score_jnd(np.concatenate([d["traditional"], d["cnn"]]),
                               np.concatenate([same["traditional"], same["cnn"]]))
    assert jnd.loc["", "value"] == pytest.approx(pooled, rel=1e-12) and jnd.loc["", "n"] == 24
    for subset in ("traditional", "cnn"):  # breakdown rows kept, each its own subset's mAP
        assert jnd.loc[subset, "value"] == pytest.approx(scoring.score_jnd(d[subset], same[subset]), rel=1e-12)
    assert jnd.loc["", "value"] != pytest.approx(jnd.loc[["traditional", "cnn"], "value"].mean())
    # every row has a 95% interval around its value; the headlines' replicates are written beside the scores
    assert (table.ci_low <= table.value + 1e-12).all() and (table.value <= table.ci_high + 1e-12).all()
    replicates = read_replicates([replicates_path(tmp_path / "M.csv")])
    assert sorted(replicates.metric) == ["2afc", "jnd"] and (replicates.subset == "").all()
    # The summed-layers job of a one-layer study: the same values, labelled `all`, never a second row of layer M.
    summed = scoring.score_distances(cache, ["M"], ["lpips"], label="all")
    assert set(summed.layer) == {"all"} and summed.value.tolist() == table.value.tolist()
    assert replicates.shape[1] - 8 == 1000
