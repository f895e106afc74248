"""Perceptual image mean: the pixel-MSE optimum is the pixel mean, other distances move away from it, figure."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from lossnet.experiments.image_mean import (
    FeatureDistance,
    demo_image_set,
    folder_image_set,
    image_mean,
    jitter_set,
    jitter_sets,
    network_label,
    render_grid,
    run_experiment,
    run_seed003_image_mean,
    sharpness,
)
from lossnet.network import LossNetwork
from lossnet.distances import MMDPlusPlus, l2, ssim_distance


@pytest.fixture(scope="module")
def image_set():
    return demo_image_set(n_images=4, size=32, seed=0)


def test_demo_set_is_seeded_related_images(image_set):
    assert image_set.shape == (4, 3, 32, 32) and image_set.dtype == torch.float32
    assert 0 <= float(image_set.min()) and float(image_set.max()) <= 1
    assert torch.equal(image_set, demo_image_set(n_images=4, size=32, seed=0))
    assert not torch.equal(image_set, demo_image_set(n_images=4, size=32, seed=1))
    # related but not identical: shifted crops of one photo
    differences = [float((image_set[0] - image_set[i]).abs().mean()) for i in range(1, 4)]
    assert all(0.005 < d < 0.3 for d in differences)


def test_network_labels():
    assert network_label({"arch": "vgg16", "layer": "M", "distance": "lpips"}) == "vgg16 M lpips"
    assert network_label({"arch": "vgg16", "layer": "M", "weights": "random"}) == "vgg16 M lpips (random)"
    assert network_label({"arch": "vgg16", "layer": "E", "weights": "/m/vgg16_sin.pth"}) == "vgg16 E lpips (vgg16_sin)"
    spec = {"arch": "vgg16", "layer": "E", "distance": "gram", "weights": "/m/a.pth", "weights_label": "stylized"}
    assert network_label(spec) == "vgg16 E gram (stylized)"


def test_folder_set(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    images = folder_image_set(tmp_path, n_images=3, size=16)
    assert images.shape == (3, 3, 16, 16)
    with pytest.raises(ValueError, match="holds 3 images"):
        folder_image_set(tmp_path, n_images=4, size=16)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_l2_optimum_stays_at_the_pixel_mean(image_set, dtype):
    images = image_set.to(dtype)
    result = image_mean(images, l2, steps=200, lr=0.05)
    assert len(result.losses) == 201
    torch.testing.assert_close(result.image, images.mean(dim=0), atol=1e-5, rtol=0)
    assert result.losses[-1] == pytest.approx(result.losses[0], rel=1e-6)


def test_mmdpp_image_mean_lowers_the_loss_and_is_deterministic(image_set):
    mmd = MMDPlusPlus(seed=0)
    result = image_mean(image_set, mmd, steps=30, lr=0.05)
    assert result.losses[-1] < 0.9 * result.losses[0]
    assert float((result.image - image_set.mean(0)).abs().max()) > 0.05  # it left the pixel mean
    assert 0 <= float(result.image.min()) and float(result.image.max()) <= 1  # clamped
    # bind() (targets' embeddings precomputed) is the same objective as calling the distance
    start = image_set.mean(0, keepdim=True)
    torch.testing.assert_close(mmd.bind(image_set)(start), mmd(start.expand_as(image_set), image_set))
    again = image_mean(image_set, MMDPlusPlus(seed=0), steps=30, lr=0.05)
    assert torch.equal(result.image, again.image) and result.losses == again.losses


def test_ssim_and_network_image_means_lower_the_loss(image_set):
    result = image_mean(image_set, ssim_distance, steps=10, lr=0.02)
    assert result.losses[-1] < result.losses[0]
    network = LossNetwork("alexnet", ["E"], weights="random", seed=0)
    feature_distance = FeatureDistance(network, "lpips")
    start = image_set.mean(0, keepdim=True)
    torch.testing.assert_close(
        feature_distance.bind(image_set)(start), feature_distance(start.expand_as(image_set), image_set)
    )
    result = image_mean(image_set, feature_distance, steps=10, lr=0.02)
    assert result.losses[-1] < result.losses[0]
    assert all(p.grad is None for p in network.parameters())  # the loss network stays frozen
    with pytest.raises(ValueError, match="unknown distance"):
        FeatureDistance(network, "l7")


def test_init_noise_is_seeded(image_set):
    a = image_mean(image_set, l2, steps=1, init_noise=0.1, seed=3)
    b = image_mean(image_set, l2, steps=1, init_noise=0.1, seed=3)
    c = image_mean(image_set, l2, steps=1, init_noise=0.1, seed=4)
    assert a.losses == b.losses and a.losses != c.losses


def test_render_grid_writes_png_and_pdf(tmp_path, image_set):
    mean = image_set.mean(0)
    files = render_grid(
        image_set, mean, {"L2": mean, "MMD++": image_set[0]}, tmp_path / "fig" / "grid.png",
        curves={"L2": [1.0, 1.0], "MMD++": [1.0, 0.5]},
    )
    assert [f.name for f in files] == ["grid.png", "grid.pdf"]
    assert all(f.stat().st_size > 1000 for f in files)
    with Image.open(files[0]) as png:
        assert png.width > 300 and png.height > 200
    assert files[1].read_bytes().startswith(b"%PDF")


def test_run_experiment_end_to_end(tmp_path):
    results = run_experiment(
        images="demo", n_images=3, size=32, steps=3, lr=0.05,
        networks=[{"arch": "alexnet", "layer": "E", "distance": "gram", "weights": "random"}],
        pixel=["mmdpp", "l2"], seed=0, device="cpu",
        output=tmp_path / "image_mean.png", table=tmp_path / "image_mean.csv",
    )
    assert list(results) == ["alexnet E gram (random)", "MMD++", "L2"]
    assert (tmp_path / "image_mean.png").stat().st_size > 0 and (tmp_path / "image_mean.pdf").stat().st_size > 0
    with open(tmp_path / "image_mean.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["label"] for row in rows] == list(results)
    for bad in ({"pixel": ["l3"]}, {"networks": [{"arch": "alexnet", "layer": "E", "distance": "l7"}]}):
        with pytest.raises(ValueError, match="unknown distance"):
            run_experiment(images="demo", n_images=2, size=16, steps=1, output=tmp_path / "x.png", **bad)


# ------------------------------------------------------------------------------- seed 003's image mean, as run


def test_jitter_set_is_four_shifted_crops():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    crops = jitter_set(photo, side=24, shift=3)
    assert crops.shape == (4, 3, 24, 24) and crops.dtype == torch.float32
    # offsets (x, y): (0, 0), (0, 3), (3, 0), (3, 3) of one resized image
    torch.testing.assert_close(crops[2][:, :, :-3], crops[0][:, :, 3:])  # shifted right by 3
    torch.testing.assert_close(crops[1][:, :-3, :], crops[0][:, 3:, :])  # shifted down by 3
    torch.testing.assert_close(crops[3][:, :-3, :-3], crops[0][:, 3:, 3:])
    assert not torch.equal(crops[0], crops[3])


def test_sharpness_prefers_the_set_images_to_their_pixel_mean():
    images = jitter_sets("offline", n_sets=1, side=48, shift=4)["chelsea"]
    assert sharpness(images.mean(dim=0)) < min(sharpness(image) for image in images)


def test_seed003_image_mean_scores_every_mean_under_every_distance(tmp_path):
    objectives = [{"distance": "patch_rbf"}, {"distance": "seed_vgg", "weights": "random_zero_mean", "redraw": True}]
    evaluations = [{"distance": "l2"}, {"distance": "seed_vgg", "weights": "imagenet"}]
    means = run_seed003_image_mean(
        n_sets=2, side=24, shift=3, steps=3, objectives=objectives, evaluations=evaluations,
        weights_sources={"imagenet": "random"}, output=tmp_path / "gim.png", table=tmp_path / "gim.csv")
    assert list(means) == ["chelsea", "astronaut"]
    labels = ["pixel mean", "patch-RBF", "VGG (random_zero_mean, redrawn)"]
    assert list(means["chelsea"]) == labels
    for images in means.values():
        assert all(0 <= float(image.min()) and float(image.max()) <= 1 for image in images.values())
    with open(tmp_path / "gim.csv") as handle:
        rows = list(csv.DictReader(handle))
    measures = {row["measure"] for row in rows}
    # the redrawn objective is scored by one fixed network; the variant keeps its name though a stand-in was loaded
    assert measures == {"sharpness", "patch-RBF", "VGG (random_zero_mean)", "L2", "VGG (imagenet) *"}
    for measure in measures - {"sharpness"}:
        scored = {(row["set"], row["mean"]) for row in rows if row["measure"] == measure}
        assert scored == {(s, label) for s in means for label in labels}
    assert (tmp_path / "gim.png").stat().st_size > 1000 and (tmp_path / "gim.pdf").read_bytes().startswith(b"%PDF")
