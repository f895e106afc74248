"""Benchmark-2 data: seeded selection from the sorted member list, COCO preparation, test sets, corrupt files,
range reads of a remote zip from a loopback server, the whole-file fallback and its checksum."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from lossnet.benchmarks.superres import data, demo
from lossnet.benchmarks.superres.remote_zip import HttpRangeFile, open_zip, read_members
from lossnet.data.download import DownloadError

CROP = 48  # the prepared fixture's crop side (conftest.py)


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves ``server.files``, honouring ``Range: bytes=a-b`` unless ``server.ranges`` is False; counts bytes."""

    def do_GET(self) -> None:
        payload = self.server.files.get(self.path)
        if payload is None:
            self.send_error(404)
            return
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        start, stop, status = 0, len(payload), 200
        if match and self.server.ranges:
            start, status = int(match[1]), 206
            stop = min(int(match[2]) + 1, len(payload)) if match[2] else len(payload)
        self.send_response(status)
        self.send_header("Content-Length", str(stop - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(payload)}")
        self.server.sent += stop - start  # counted before sending: the client may check as soon as it has read
        self.server.requests += 1
        self.end_headers()
        self.wfile.write(payload[start:stop])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    httpd.files, httpd.ranges, httpd.sent, httpd.requests = {}, True, 0, 0
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_selection_is_seeded_from_the_sorted_list():
    names = [f"train2014/COCO_{i:04d}.jpg" for i in range(50)] + ["train2014/", "train2014/notes.txt"]
    chosen = data.select_members(names, 10, seed=3)
    assert chosen == sorted(chosen) and len(set(chosen)) == 10 and all(n.endswith(".jpg") for n in chosen)
    assert data.select_members(list(reversed(names)), 10, seed=3) == chosen  # listing order does not matter
    assert data.select_members(names, 10, seed=4) != chosen
    with pytest.raises(data.SuperresDataError, match="only 50"):
        data.select_members(names, 51, seed=0)


@pytest.mark.parametrize("size", [(60, 90), (90, 60), (40, 40)])
def test_resize_crop_is_shorter_side_then_centre(size):
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    out = data.resize_crop(image, 32)
    h, w = size
    new = (32, int(32 * h / w)) if w <= h else (int(32 * w / h), 32)
    resized = np.asarray(Image.fromarray(image).resize(new, Image.BILINEAR))
    top, left = round((new[1] - 32) / 2), round((new[0] - 32) / 2)
    np.testing.assert_array_equal(out, resized[top:top + 32, left:left + 32])


def test_prepared_coco(prepared, demo_inputs):
    with h5py.File(prepared["coco"], "r") as h5:
        assert h5["train/images"].shape == (12, CROP, CROP, 3) and h5["val/images"].shape == (4, CROP, CROP, 3)
        assert h5["train/images"].dtype == np.uint8 and h5.attrs["seed"] == 0
    names = data.image_names(prepared["coco"], "train")
    with zipfile.ZipFile(demo_inputs["coco_train"]) as archive:
        assert names == data.select_members(archive.namelist(), 12, 0)
        with h5py.File(prepared["coco"], "r") as h5:
            assert list(h5["train/crc32"][:]) == [archive.getinfo(name).CRC for name in names]
        first = data.decode_image(archive.read(names[0]), names[0])[0]
    np.testing.assert_array_equal(data.read_coco(prepared["coco"], "train", 1)[0], data.resize_crop(first, CROP))


def test_test_sets_keep_their_sizes_and_mark_greyscale(prepared, demo_inputs):
    set14 = data.read_test_set(prepared["set14"])
    assert list(set14) == [f"img_{i:03d}_SRF_4_HR" for i in (1, 2, 3)]
    assert len({image.shape for image in set14.values()}) > 1 and all(i.shape[2] == 3 for i in set14.values())
    grey = set14["img_002_SRF_4_HR"]
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    with h5py.File(prepared["set14"], "r") as h5:
        assert list(h5.attrs["greyscale"]) == ["img_002_SRF_4_HR"]
    with tarfile.open(demo_inputs["bsd100"]) as tar:
        test_ids = tar.extractfile("BSDS300/iids_test.txt").read().split()
    assert sorted(data.read_test_set(prepared["bsd100"])) == sorted(i.decode() for i in test_ids)


def _corrupt_jpeg(valid: bytes) -> bytes:
    return valid[: len(valid) // 3]  # truncated


def test_corrupt_png_in_a_test_folder_is_named(demo_inputs, tmp_path):
    folder = demo.make_hr_folder(tmp_path / "set5", 2, seed=1)
    bad = folder / "img_002_SRF_4_HR.png"
    bad.write_bytes(bad.read_bytes()[:200])
    with pytest.raises(data.SuperresDataError, match="img_002_SRF_4_HR.png") as caught:
        data.prepare_test_set(folder, tmp_path / "set5.h5", "set5")
    assert "corrupt or truncated" in str(caught.value)
    assert not (tmp_path / "set5.h5").exists()


def test_corrupt_jpeg_in_the_coco_zip_is_named(demo_inputs, tmp_path):
    with zipfile.ZipFile(demo_inputs["coco_train"]) as source, zipfile.ZipFile(tmp_path / "bad.zip", "w") as out:
        names = source.namelist()
        victim = data.select_members(names, 12, 0)[5]
        for name in names:
            payload = source.read(name)
            out.writestr(name, _corrupt_jpeg(payload) if name == victim else payload)
    with pytest.raises(data.SuperresDataError, match=re.escape(victim)):
        data.prepare_coco(tmp_path / "bad.zip", demo_inputs["coco_val"], tmp_path / "coco.h5", n_train=12, n_val=4,
                          size=CROP, progress=False)
    assert not (tmp_path / "coco.h5").exists()


def test_range_reads_fetch_only_the_directory_and_the_chosen_members(server, tmp_path):
    payload = demo.make_coco_zip(tmp_path / "train2014.zip", "train2014", 60, seed=5).read_bytes()
    server.files["/train2014.zip"] = payload
    with zipfile.ZipFile(io.BytesIO(payload)) as local:
        chosen = data.select_members(local.namelist(), 3, seed=1)
        expected = {name: local.read(name) for name in chosen}
        member_bytes = sum(local.getinfo(name).compress_size for name in chosen)
    archive = open_zip(f"{server.url}/train2014.zip")
    assert isinstance(archive.fp, HttpRangeFile)
    before = server.requests
    assert dict(read_members(archive, chosen)) == expected
    assert server.requests - before == 3  # one request per member
    assert server.sent < 0.25 * len(payload) and server.sent >= member_bytes


def test_prepare_coco_over_http_equals_the_local_zip(server, demo_inputs, prepared, tmp_path):
    for split in ("train", "val"):
        server.files[f"/{split}2014.zip"] = demo_inputs[f"coco_{split}"].read_bytes()
    remote = data.prepare_coco(f"{server.url}/train2014.zip", f"{server.url}/val2014.zip", tmp_path / "coco.h5",
                               n_train=12, n_val=4, seed=0, size=CROP, progress=False)
    for split in ("train", "val"):
        np.testing.assert_array_equal(data.read_coco(remote, split), data.read_coco(prepared["coco"], split))
    assert not list(tmp_path.glob("*.zip"))  # nothing downloaded whole


def test_server_without_ranges_falls_back_to_a_checksummed_download(server, demo_inputs, tmp_path):
    payload = demo_inputs["coco_val"].read_bytes()
    server.files["/val2014.zip"], server.ranges = payload, False
    digest = hashlib.sha256(payload).hexdigest()
    with open_zip(f"{server.url}/val2014.zip", cache_dir=tmp_path, sha256=digest, progress=False) as archive:
        assert archive.filename == str(tmp_path / "val2014.zip")
    assert (tmp_path / "val2014.zip").read_bytes() == payload


def test_wrong_checksum_of_the_fallback_download_is_named(server, demo_inputs, tmp_path):
    server.files["/val2014.zip"], server.ranges = demo_inputs["coco_val"].read_bytes(), False
    wrong = "0" * 64
    with pytest.raises(DownloadError, match="checksum mismatch") as caught:
        open_zip(f"{server.url}/val2014.zip", cache_dir=tmp_path, sha256=wrong, progress=False)
    assert "val2014.zip" in str(caught.value) and wrong in str(caught.value)
    assert not (tmp_path / "val2014.zip").exists()


def test_member_with_a_bad_crc_is_named(server, demo_inputs):
    payload = bytearray(demo_inputs["coco_val"].read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(payload))) as local:
        info = local.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
    payload[start] ^= 0xFF  # a flipped byte inside the stored JPEG
    server.files["/val2014.zip"] = bytes(payload)
    with pytest.raises(DownloadError, match=re.escape(info.filename)):
        list(read_members(open_zip(f"{server.url}/val2014.zip"), [info.filename]))


def test_a_remote_file_that_is_not_a_zip_names_its_url(server):
    # Issue 20 item 11: zipfile's BadZipFile without the URL.
    server.files["/broken.zip"] = b"<html>not found</html>" * 10
    with pytest.raises(DownloadError, match=r"/broken\.zip is not a zip file, or is truncated"):
        open_zip(f"{server.url}/broken.zip")


def test_a_zip_holding_one_member_name_twice_is_refused():
    # Issue 20 item 3: the same image came back three times as training data.
    names = ["train2014/a.jpg", "train2014/b.jpg", "train2014/a.jpg", "train2014/a.jpg"]
    with pytest.raises(data.SuperresDataError, match=r"train2014/a\.jpg more than once"):
        data.select_members(names, 2, seed=0)


def test_two_images_of_one_stem_in_a_test_folder_are_named(tmp_path):
    # Issue 20 item 3: HDF5's "name already exists", naming no file.
    folder = demo.make_hr_folder(tmp_path / "set5", 1, seed=1)
    png = next(folder.glob("*.png"))
    Image.open(png).convert("RGB").save(png.with_suffix(".bmp"))
    with pytest.raises(data.SuperresDataError, match=rf"{png.stem}.*{png.name}.*keep only one"):
        data.prepare_test_set(folder, tmp_path / "set5.h5", "set5")
    assert not (tmp_path / "set5.h5").exists()


def test_an_image_too_small_for_the_scale_is_refused_when_the_test_set_is_built(tmp_path):
    # Issue 20 item 9: a 12x12 image failed every x4 job after training, in skimage's words.
    folder = demo.make_hr_folder(tmp_path / "set5", 1, seed=1)
    Image.new("RGB", (12, 12), "gray").save(folder / "tiny.png")
    with pytest.raises(data.SuperresDataError, match=r"tiny of .* is 12x12: at x4 an image needs at least 20"):
        data.prepare_test_set(folder, tmp_path / "set5.h5", "set5", scales=[4])
    assert data.minimum_size(4) == 20 and data.minimum_size(8) == 32
    Image.new("RGB", (20, 20), "gray").save(folder / "tiny.png")
    data.prepare_test_set(folder, tmp_path / "set5.h5", "set5", scales=[4])
    from lossnet.benchmarks.superres.evaluate import bicubic_upscaler, evaluate_images

    table = evaluate_images(bicubic_upscaler(4), {"set5": tmp_path / "set5.h5"}, 4, progress=False)
    assert table["ssim"].notna().all()  # the smallest accepted image is scored
