"""MRD listings, downloads through a loopback HTTP server with the checksum manifest, and the prepare step."""

import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from lossnet.benchmarks.delineation.data import (
    MRDError,
    check_tiff,
    download_split,
    parse_listing,
    prepare,
    read_map,
    tile_pairs,
)
from lossnet.benchmarks.delineation.demo import make_mrd
from lossnet.data import download as download_module
from mrd_fixtures import mrd_root, one_thread, prepared  # noqa: F401 (fixtures)

LISTING = Path(__file__).parent / "data" / "mrd_train_sat_index.html"
LISTING_URL = "https://www.cs.toronto.edu/~vmnih/data/mass_roads/train/sat/index.html"


def test_parse_saved_listing():
    # A saved listing in MRD's format: one absolute <a href> per line (what the original code sliced by hand).
    files = parse_listing(LISTING.read_text(), LISTING_URL)
    assert len(files) == 8
    assert list(files)[:2] == ["10078660_15.tiff", "10078675_15.tiff"]
    assert files["10228675_15.tiff"] == "http://www.cs.toronto.edu/~vmnih/data/mass_roads/train/sat/10228675_15.tiff"


def test_parse_listing_resolves_relative_links_and_ignores_others():
    html = '<html><a href="../">up</a><a href="x.tif">x</a> <a href="sub/y.TIFF">y</a><a href="n.txt">n</a></html>'
    assert parse_listing(html, "http://host/test/map/index.html") == {
        "x.tif": "http://host/test/map/x.tif", "y.TIFF": "http://host/test/map/sub/y.TIFF"}


def test_listing_without_tiffs_is_an_error():
    with pytest.raises(MRDError, match="http://host/index.html links no .tif"):
        parse_listing("<html>Not Found</html>", "http://host/index.html")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_tiff_is_named(tmp_path):
    path = tmp_path / "tile.tiff"
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(path)
    check_tiff(path)
    _truncate(path)
    with pytest.raises(MRDError, match=r"tile\.tiff is not a readable TIFF"):
        check_tiff(path)


def test_prepare_writes_uint8_rgb_and_binary_maps(mrd_root, prepared):
    with h5py.File(prepared, "r") as h5:
        assert {split: h5[f"{split}/sat"].shape for split in ("train", "valid", "test")} == {
            "train": (3, 256, 256, 3), "valid": (1, 256, 256, 3), "test": (2, 256, 256, 3)}
        assert h5["train/sat"].dtype == np.uint8 and h5["train/map"].dtype == np.uint8
        names = [name.decode() for name in h5["test/names"]]
        assert names == sorted(names) and len(names) == 2
        sat = np.asarray(Image.open(mrd_root / "test" / "sat" / f"{names[1]}.tiff"))
        np.testing.assert_array_equal(h5["test/sat"][1], sat)
        road = h5["test/map"][1]
        assert set(np.unique(road)) == {0, 1}
        np.testing.assert_array_equal(road, np.asarray(Image.open(mrd_root / "test" / "map" / f"{names[1]}.tif")) > 0)


def test_prepare_names_a_truncated_tile(mrd_root, tmp_path):
    root = shutil.copytree(mrd_root, tmp_path / "raw")
    victim = sorted((root / "valid" / "map").glob("*.tif"))[0]
    _truncate(victim)
    with pytest.raises(MRDError, match=rf"{victim.name} is not a readable TIFF"):
        prepare(root, tmp_path / "mrd.h5", progress=False)
    assert not list(tmp_path.glob("mrd.h5*")), "no output or partial file after a failure"


def test_sat_without_map_is_named(mrd_root, tmp_path):
    root = shutil.copytree(mrd_root, tmp_path / "raw")
    victim = sorted((root / "test" / "map").glob("*.tif"))[-1]
    victim.unlink()
    with pytest.raises(MRDError, match=rf"sat.{victim.stem}\.tiff has no map partner"):
        tile_pairs(root / "test")


def test_map_reader_treats_any_nonzero_pixel_as_road(tmp_path):
    Image.fromarray(np.array([[0, 1], [255, 0]], np.uint8)).save(tmp_path / "m.tif")
    np.testing.assert_array_equal(read_map(tmp_path / "m.tif"), [[0, 1], [1, 0]])


class Server:
    """A loopback HTTP server of a folder that records the paths asked for."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mass_roads"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def tiles_fetched(self) -> list[str]:
        return sorted(path for path in self.requests if not path.endswith("index.html"))


@pytest.fixture
def remote(tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "_RETRY_DELAY", 0)
    server = Server(tmp_path / "www")
    make_mrd(tmp_path / "www" / "mass_roads", {"train": 2, "valid": 1, "test": 1}, size=64, seed=3,
             base_url=server.url)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_download_split_resumes_from_the_manifest_and_refetches_a_corrupt_file(remote, tmp_path):
    local, served = tmp_path / "local", tmp_path / "www" / "mass_roads"
    sums = download_split("train", local, remote.url, workers=2, progress=False)
    assert len(remote.tiles_fetched()) == 4  # 2 sat + 2 map
    for path in sorted((served / "train").rglob("*.tif*")):
        assert (local / path.relative_to(served)).read_bytes() == path.read_bytes()
    manifest = json.loads((local / "train" / "manifest.json").read_text())
    assert sorted(manifest) == ["map/10000000_15.tif", "map/10007919_15.tif",
                                "sat/10000000_15.tiff", "sat/10007919_15.tiff"]
    assert sums.read_text().splitlines()[0] == f"{manifest['map/10000000_15.tif']}  map/10000000_15.tif"
    assert not list(local.rglob("*.sha256")) and not list(local.rglob("*.part"))

    remote.requests.clear()
    download_split("train", local, remote.url, workers=2, progress=False)
    assert remote.tiles_fetched() == [], "a rerun skips the files of the manifest"

    corrupt = local / "train" / "sat" / "10007919_15.tiff"
    corrupt.write_bytes(b"garbage")
    download_split("train", local, remote.url, workers=2, progress=False)
    assert remote.tiles_fetched() == ["/mass_roads/train/sat/10007919_15.tiff"]
    assert corrupt.read_bytes() == (served / "train" / "sat" / corrupt.name).read_bytes()

    for split in ("valid", "test"):
        download_split(split, local, remote.url, progress=False)
    assert [len(pairs) for pairs in map(tile_pairs, [local / s for s in ("train", "valid", "test")])] == [2, 1, 1]


def test_download_names_a_truncated_tiff_and_deletes_it(remote, tmp_path):
    victim = next((tmp_path / "www" / "mass_roads" / "valid" / "map").glob("*.tif"))
    _truncate(victim)
    local = tmp_path / "local"
    with pytest.raises(MRDError, match=rf"valid/map/{victim.name} is not a readable TIFF.*deleted it"):
        download_split("valid", local, remote.url, progress=False)
    assert not (local / "valid" / "map" / victim.name).exists()
    assert "map/" + victim.name not in json.loads((local / "valid" / "manifest.json").read_text())


def test_listing_with_a_sat_tile_without_map_is_an_error(remote, tmp_path):
    served = tmp_path / "www" / "mass_roads" / "test" / "map"
    (served / "index.html").write_text("<a href='elsewhere.tif'>elsewhere.tif</a>")
    with pytest.raises(MRDError, match=r"test/sat/\d+_15\.tiff has no map partner"):
        download_split("test", tmp_path / "local", remote.url, progress=False)


def test_a_failed_tile_leaves_no_checksum_sidecar(remote, tmp_path):
    # Issue 20 item 11: the tile was deleted but its .tiff.sha256 stayed behind.
    victim = next((tmp_path / "www" / "mass_roads" / "test" / "sat").glob("*.tiff"))
    _truncate(victim)
    local = tmp_path / "local"
    with pytest.raises(MRDError, match=victim.name):
        download_split("test", local, remote.url, workers=1, progress=False)
    assert not list(local.rglob("*.sha256"))
