"""Benchmark-2 evaluation: whole images, 12 headline metrics named as the paper's, per-image values, the bicubic
reference, user SR folders scored by stem, and the example-outputs figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lossnet.analysis.published import published_path
from lossnet.benchmarks.superres import evaluate as ev
from lossnet.benchmarks.superres.data import SuperresDataError, read_test_set
from lossnet.benchmarks.superres.degradation import bicubic_upscale, crop_to_scale, degrade
from lossnet.benchmarks.superres.figure import example_figure, example_panels
from lossnet.benchmarks.superres.metrics import psnr_y, ssim_y
from lossnet.benchmarks.superres.model import TransformNet

PAPER_SCORES = published_path()


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return TransformNet(4).eval()


def test_twelve_metrics_named_as_the_paper_with_per_image_values(prepared, tmp_path):
    test_sets = {name: prepared[name] for name in ev.TEST_SETS}
    frames = [ev.evaluate(ev.bicubic_upscaler(scale), test_sets, scale, scores=tmp_path / f"x{scale}.csv",
                          per_image=tmp_path / f"x{scale}-images.csv", arch="bicubic", layer="-", weights="none",
                          progress=False) for scale in (4, 8)]
    scores = pd.concat(frames)
    paper = pd.read_csv(PAPER_SCORES)
    assert set(scores["metric"]) == set(paper.loc[paper["benchmark"] == "superres", "metric"])
    assert len(scores) == 12 and scores["higher_is_better"].all()
    assert (scores[["benchmark", "arch", "layer", "weights"]].drop_duplicates().values.tolist()
            == [["superres", "bicubic", "-", "none"]])
    images = pd.read_csv(tmp_path / "x4-images.csv", keep_default_na=False)
    assert len(images) == sum(len(read_test_set(prepared[name])) for name in ev.TEST_SETS)
    row = images[images["dataset"] == "set14"].iloc[1]  # the greyscale image, at its whole (cropped) size
    hr = crop_to_scale(read_test_set(prepared["set14"])[row["image"]], 4)
    assert (row["height"], row["width"]) == hr.shape[:2]
    sr = bicubic_upscale(degrade(hr, 4), 4)
    assert row["psnr"] == pytest.approx(psnr_y(sr, hr, 4)) and row["ssim"] == pytest.approx(ssim_y(sr, hr, 4))
    headline = scores.set_index("metric").loc["psnr_set14_x4", "value"]
    assert headline == pytest.approx(images.loc[images["dataset"] == "set14", "psnr"].mean())


def test_network_outputs_are_quantised_whole_images(prepared, network):
    hr = crop_to_scale(next(iter(read_test_set(prepared["bsd100"]).values())), 4)
    sr = ev.network_upscaler(network, "cpu")(degrade(hr, 4))
    assert sr.dtype == np.uint8 and sr.shape == hr.shape
    with torch.no_grad():
        raw = network(torch.from_numpy(degrade(hr, 4)).permute(2, 0, 1)[None].float() / 255)[0]
    np.testing.assert_array_equal(sr, (raw.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())


def _write(folder: Path, images: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        Image.fromarray(image).save(folder / f"{name}.png")
    return folder


def test_score_folders_matches_by_stem(prepared, tmp_path):
    hr = read_test_set(prepared["set14"])
    sr = {name: bicubic_upscale(degrade(crop_to_scale(image, 4), 4), 4) for name, image in hr.items()}
    table = ev.score_folders(_write(tmp_path / "hr", hr), _write(tmp_path / "sr", sr), 4)
    assert list(table.columns) == ["image", "psnr", "ssim"] and list(table["image"]) == sorted(hr)
    expected = [psnr_y(sr[name], crop_to_scale(hr[name], 4), 4) for name in sorted(hr)]
    np.testing.assert_allclose(table["psnr"], expected)


def test_score_folders_errors(prepared, tmp_path):
    hr = read_test_set(prepared["set5"])
    name = sorted(hr)[0]
    hr_dir = _write(tmp_path / "hr", hr)
    with pytest.raises(SuperresDataError, match=f"no partner for .*{sorted(hr)[1]}"):
        ev.score_folders(hr_dir, _write(tmp_path / "one", {name: hr[name]}), 4)
    wrong = {n: image[:-1] if n == name else crop_to_scale(image, 4) for n, image in hr.items()}
    with pytest.raises(SuperresDataError, match=f"{name}: the SR image"):
        ev.score_folders(hr_dir, _write(tmp_path / "wrong", wrong), 4)
    broken = _write(tmp_path / "broken", {n: crop_to_scale(image, 4) for n, image in hr.items()})
    (broken / f"{name}.png").write_bytes(b"not a png")
    with pytest.raises(SuperresDataError, match=f"{name}.png"):
        ev.score_folders(hr_dir, broken, 4)


def test_example_outputs_figure(prepared, network, tmp_path):
    hr = read_test_set(prepared["set5"])
    name = next(iter(hr))
    example = ev.save_example(ev.network_upscaler(network, "cpu"), prepared["set5"], 4, tmp_path / "sr.png")
    sr = np.asarray(Image.open(example))
    panels = example_panels(hr[name], 4, {"pixel": sr, "alexnet M": sr}, side=32)
    assert [title for title, _ in panels] == ["LR", "bicubic", "pixel", "alexnet M", "HR"]
    assert all(image.shape == (32, 32, 3) for _, image in panels)
    out = example_figure({"set5 x4": (hr[name], 4, {"pixel": sr})}, tmp_path / "examples.png", side=32)
    assert Image.open(out).size[0] > 100


def test_superres_metrics_command(prepared, tmp_path):
    import argparse

    from lossnet.benchmarks.superres import cli

    hr = read_test_set(prepared["set14"])
    sr = {name: bicubic_upscale(degrade(crop_to_scale(image, 4), 4), 4) for name, image in hr.items()}
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["superres-metrics", str(_write(tmp_path / "hr", hr)), str(_write(tmp_path / "sr", sr)),
                              "--scale", "4", "--output", str(tmp_path / "out" / "metrics.csv")])
    args.run(args)
    table = pd.read_csv(tmp_path / "out" / "metrics.csv")
    pd.testing.assert_frame_equal(table, ev.score_folders(tmp_path / "hr", tmp_path / "sr", 4))


def test_two_sr_images_of_one_stem_are_named(tmp_path):
    # Issue 20 item 3: a.png and a.jpg in the SR folder: one was used silently.
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    (tmp_path / "hr").mkdir(), (tmp_path / "sr").mkdir()
    Image.fromarray(image).save(tmp_path / "hr" / "a.png")
    Image.fromarray(image).save(tmp_path / "sr" / "a.png")
    Image.fromarray(255 - image).save(tmp_path / "sr" / "a.jpg")
    with pytest.raises(ev.SuperresDataError, match=r"stem 'a': .*a\.jpg and .*a\.png.*keep only one"):
        ev.score_folders(tmp_path / "hr", tmp_path / "sr", 4)
