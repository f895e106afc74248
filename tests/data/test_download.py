"""Tests of lossnet.data.download against a loopback HTTP server (no internet)."""

from __future__ import annotations

import hashlib
import io
import random
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lossnet.data import download as dl
from lossnet.data.download import DownloadError, download, extract_tar, file_digest

PAYLOAD = random.Random(0).randbytes(300_000)
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range`` unless the path is in ``server.ignore_range``;
    drops the connection after ``server.drop_after[path]`` bytes on the first request of that path."""

    def do_GET(self) -> None:
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start, status = 0, 200
        header = self.headers.get("Range")
        if header and self.path not in server.ignore_range:
            start, status = int(header.removeprefix("bytes=").rstrip("-")), 206
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(status)
        self.send_header("Content-Length", str(len(data) - start))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        drop = server.drop_after.pop(self.path, None)
        self.wfile.write(data[start:] if drop is None else data[start:start + drop])
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.ignore_range, httpd.drop_after, httpd.requests = {"/data.bin": PAYLOAD}, set(), {}, []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_retry_delay(monkeypatch):
    monkeypatch.setattr(dl, "_RETRY_DELAY", 0.0)


def test_download_verifies_sha256_and_md5(server, tmp_path):
    dest = download(f"{server.url}/data.bin", tmp_path / "sub" / "data.bin", sha256=SHA256, md5=MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert file_digest(dest, "md5") == MD5


def test_resume_after_interrupted_transfer(server, tmp_path):
    server.drop_after["/data.bin"] = 100_000
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA256, retries=2, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/data.bin", None), ("/data.bin", "bytes=100000-")]


def test_server_ignoring_range_restarts_and_416_means_complete(server, tmp_path):
    url, dest, part = f"{server.url}/data.bin", tmp_path / "data.bin", tmp_path / "data.bin.part"
    part.write_bytes(b"garbage")
    server.ignore_range.add("/data.bin")
    assert download(url, dest, sha256=SHA256, progress=False).read_bytes() == PAYLOAD
    dest.unlink()
    part.write_bytes(PAYLOAD)
    server.ignore_range.clear()
    assert download(url, dest, sha256=SHA256, progress=False).read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/data.bin", f"bytes={len(PAYLOAD)}-")


def test_wrong_checksum_deletes_part(server, tmp_path):
    dest, wrong = tmp_path / "data.bin", "0" * 64
    with pytest.raises(DownloadError) as caught:
        download(f"{server.url}/data.bin", dest, sha256=wrong, progress=False)
    message = str(caught.value)
    assert str(dest) in message and wrong in message and SHA256 in message
    assert not dest.exists() and not (tmp_path / "data.bin.part").exists()


def test_existing_good_destination_skips_network(server, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    assert download(f"{server.url}/data.bin", dest, sha256=SHA256, md5=MD5, progress=False) == dest
    assert server.requests == []
    dest.write_bytes(b"stale")  # a corrupt existing file is downloaded again
    assert download(f"{server.url}/data.bin", dest, sha256=SHA256, progress=False).read_bytes() == PAYLOAD
    assert len(server.requests) == 1


def test_no_checksum_writes_sidecar_and_warns(server, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="lossnet.data.download"):
        dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", progress=False)
    assert (tmp_path / "data.bin.sha256").read_text().split() == [SHA256, "data.bin"]
    assert SHA256 in caplog.text and "no checksum" in caplog.text
    assert dest.read_bytes() == PAYLOAD


def test_unreachable_url_names_destination(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = tmp_path / "x.bin"
    with pytest.raises(DownloadError, match="offline") as caught:
        download(f"http://127.0.0.1:{port}/x", dest, retries=1, timeout=5, progress=False)
    assert str(dest) in str(caught.value) and f"127.0.0.1:{port}/x" in str(caught.value)
    assert not dest.exists()


def test_404_raises(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(f"{server.url}/missing", tmp_path / "m.bin", progress=False)
    assert len(server.requests) == 1  # an HTTP error is not retried


def _make_tree(root: Path) -> None:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "top.txt").write_text("top")
    (root / "a" / "b" / "c" / "deep.bin").write_bytes(random.Random(1).randbytes(200_000))


def test_extract_tar_round_trip_replaces_destination(tmp_path):
    _make_tree(tmp_path / "src")
    archive = tmp_path / "tree.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src", arcname="tree")
    out = tmp_path / "out"
    (out / "stale").mkdir(parents=True)
    assert extract_tar(archive, out) == out
    assert (out / "tree" / "top.txt").read_text() == "top"
    assert (out / "tree" / "a" / "b" / "c" / "deep.bin").read_bytes() == random.Random(1).randbytes(200_000)
    assert not (out / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src", "tree.tar.gz"]


def test_truncated_tar_raises_naming_archive(tmp_path):
    _make_tree(tmp_path / "src")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src", arcname="tree")
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DownloadError, match="delete it") as caught:
        extract_tar(archive, tmp_path / "out")
    assert str(archive) in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.tar.gz", "src"]


def test_tar_member_escaping_destination_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(DownloadError, match="refusing"):
        extract_tar(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]
