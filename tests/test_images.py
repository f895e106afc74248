"""The image-input matrix (issue 20): what the library's reader and the three image commands (compare,
superres-metrics, delineation-metrics) make of uint8, 16-bit, float, grey, RGBA, palette, tiny, huge and truncated
files: the value of the same picture saved as 8-bit RGB, or a one-line error naming the file and the fix."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from lossnet import images
from lossnet.cli import main

SIZE = 32
RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
RGB = RNG.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def _save(path, kind):
    """Save a picture of ``kind``; return the RGB uint8 array the reader must give (None: it must refuse)."""
    grey_rgb = np.repeat(GREY[..., None], 3, axis=2)
    if kind == "uint8":
        Image.fromarray(RGB).save(path)
        return RGB
    if kind == "grey":
        Image.fromarray(GREY).save(path)
        return grey_rgb
    if kind == "16-bit":  # the same grey picture at 16 bits: v * 257 is exactly v at 8 bits
        Image.fromarray(GREY.astype(np.uint16) * 257).save(path)
        return grey_rgb
    if kind == "rgba-opaque":
        Image.fromarray(np.dstack([RGB, np.full((SIZE, SIZE), 255, np.uint8)])).save(path)
        return RGB
    if kind == "rgba-transparent":
        Image.fromarray(np.dstack([RGB, np.full((SIZE, SIZE), 128, np.uint8)])).save(path)
        return None
    if kind == "palette":
        image = Image.fromarray(RGB).quantize(16)
        image.save(path)
        return np.asarray(image.convert("RGB"))
    if kind == "float":
        Image.fromarray(GREY.astype(np.float32) / 255).save(path.with_suffix(".tif"))
        path.with_suffix(".tif").rename(path)
        return None
    if kind == "truncated":
        Image.fromarray(RGB).save(path)
        path.write_bytes(path.read_bytes()[:300])
        return None
    raise ValueError(kind)


KINDS = ["uint8", "grey", "16-bit", "rgba-opaque", "rgba-transparent", "palette", "float", "truncated"]
FIXES = {"rgba-transparent": "transparent.*flatten it", "float": "floating-point.*8- or 16-bit",
         "truncated": "corrupt or truncated.*replace it"}


@pytest.mark.parametrize("kind", KINDS)
def test_reader(tmp_path, kind):
    path = tmp_path / "picture.png"
    expected = _save(path, kind)
    if expected is None:
        with pytest.raises(images.ImageReadError, match=rf"^cannot read {path}.*{FIXES[kind]}") as caught:
            images.read_image(path)
        assert "\n" not in str(caught.value)
    else:
        np.testing.assert_array_equal(images.read_image(path), expected)


def test_reader_refuses_a_decompression_bomb(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.fromarray(RGB).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SIZE * SIZE // 4)  # PIL warns above it, refuses above twice
    with pytest.raises(images.ImageReadError, match=rf"cannot read {path}: .*decompression.bomb.*shrink it"):
        images.read_image(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", SIZE * SIZE - 1)
    with pytest.raises(images.ImageReadError, match=r"it is 32x32 pixels.*decompression-bomb limit.*shrink it"):
        images.read_image(path)


def _one_line_error(code, err, *names):
    lines = err.strip().splitlines()
    assert code in (1, 2) and len(lines) == 1 and "Traceback" not in err, err
    assert all(name in lines[0] for name in names), err


@pytest.mark.parametrize("kind", [*KINDS, "tiny", "huge"])
def test_compare(tmp_path, capsys, monkeypatch, kind):
    reference = tmp_path / "reference.png"
    Image.fromarray(RGB).save(reference)
    path = tmp_path / "picture.png"
    if kind == "tiny":  # below alexnet's minimum: the size is said, the files named
        Image.new("RGB", (8, 8)).save(path)
        code = main(["compare", str(path), str(path), "--weights", "random", "--no-calibrated"])
        _one_line_error(code, capsys.readouterr().err, str(path), "at least 31x31", "--resize")
        return
    if kind == "huge":
        Image.fromarray(RGB).save(path)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 16)
        code = main(["compare", str(path), str(reference), "--distance", "l2"])
        _one_line_error(code, capsys.readouterr().err, str(path), "shrink it")
        return
    expected = _save(path, kind)
    if expected is not None:
        Image.fromarray(expected).save(reference)  # the same picture as 8-bit RGB
    code = main(["compare", str(path), str(reference), "--distance", "l2"])
    out, err = capsys.readouterr()
    if expected is None:
        _one_line_error(code, err, str(path))
    else:
        assert code == 0, err
        (row,) = csv.DictReader(io.StringIO(out))
        assert float(row["value"]) == 0


@pytest.mark.parametrize("kind", ["uint8", "grey", "16-bit", "rgba-opaque", "rgba-transparent", "float", "truncated",
                                  "tiny"])
def test_superres_metrics(tmp_path, capsys, kind):
    hr, sr = tmp_path / "hr", tmp_path / "sr"
    hr.mkdir(), sr.mkdir()
    path = sr / "a.png"
    if kind == "tiny":
        Image.new("RGB", (12, 12)).save(hr / "a.png"), Image.new("RGB", (12, 12)).save(path)
        expected = None
    else:
        expected = _save(path, kind)
        Image.fromarray(RGB if kind not in ("grey", "16-bit") else np.repeat(GREY[..., None], 3, 2)).save(hr / "a.png")
    code = main(["superres-metrics", str(hr), str(sr), "--scale", "4", "--output", str(tmp_path / "s.csv")])
    out, err = capsys.readouterr()
    if expected is None:
        _one_line_error(code, err, "a" if kind == "tiny" else str(path))
        assert not (tmp_path / "s.csv").exists()
    else:
        assert code == 0, err
        assert "mean PSNR inf dB, mean SSIM 1.0000" in err  # the same picture (the summary goes to stderr)


@pytest.mark.parametrize("kind", ["grey", "16-bit", "uint8", "truncated"])
def test_delineation_metrics(tmp_path, capsys, kind):
    pred, truth = tmp_path / "pred", tmp_path / "truth"
    pred.mkdir(), truth.mkdir()
    road = np.zeros((SIZE, SIZE), np.uint8)
    road[16, 4:28] = 1
    Image.fromarray(road * 255).save(truth / "t.tif")
    path = pred / "t.png"
    if kind == "16-bit":
        Image.fromarray(road.astype(np.uint16) * 65535).save(path)
    elif kind == "grey":
        Image.fromarray(road * 255).save(path)
    else:
        _save(path, kind)
    code = main(["delineation-metrics", str(pred), str(truth), "--output", str(tmp_path / "s.csv")])
    out, err = capsys.readouterr()
    if kind in ("grey", "16-bit"):
        assert code == 0, err
        assert list(csv.DictReader((tmp_path / "s.csv").open()))[0]["quality"] == "1.0"
    else:
        _one_line_error(code, err, str(path))
