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
        if server.fail_with.get(self.path):
            self.send_error(server.fail_with[self.path].pop(0))
            return
        if self.path in server.no_length and not self.headers.get("Range"):
            # a close-delimited body: the client cannot tell a dropped connection from the end unless it asks
            self.send_response(200)
            self.end_headers()
            drop = server.drop_after.pop(self.path, None)
            self.wfile.write(data if drop is None else data[:drop])
            self.close_connection = True
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
    httpd.no_length, httpd.fail_with = set(), {}
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


def test_416_with_a_part_of_another_size_starts_over(server, tmp_path):
    # Issue 12 item 6: a 416 was taken as "complete" whatever the size of the part (no checksum pinned).
    url, dest, part = f"{server.url}/data.bin", tmp_path / "data.bin", tmp_path / "data.bin.part"
    part.write_bytes(PAYLOAD + b"left from an older, longer file")
    assert download(url, dest, progress=False).read_bytes() == PAYLOAD
    assert not part.exists()


def test_transfer_without_length_cut_short_is_resumed_not_accepted(server, tmp_path):
    # Issue 12 item 6: without Content-Length a half file landed under the final name.
    server.files["/nolen.bin"] = PAYLOAD
    server.no_length.add("/nolen.bin")
    server.drop_after["/nolen.bin"] = 100_000
    dest = download(f"{server.url}/nolen.bin", tmp_path / "nolen.bin", progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert ("/nolen.bin", "bytes=100000-") in server.requests  # the size check that found it short


def test_transfer_of_unknown_size_without_checksum_is_refused(server, tmp_path, monkeypatch):
    server.files["/nolen.bin"] = PAYLOAD
    server.no_length.add("/nolen.bin")
    server.drop_after["/nolen.bin"] = 100_000
    monkeypatch.setattr(dl, "_remote_size", lambda *args: None)  # a server that never tells the size
    dest = tmp_path / "nolen.bin"
    with pytest.raises(DownloadError, match="without its size") as caught:
        download(f"{server.url}/nolen.bin", dest, progress=False)
    assert str(dest) in str(caught.value)
    assert not dest.exists() and not (tmp_path / "nolen.bin.part").exists()
    # with a pinned checksum the checksum decides
    server.drop_after.clear()
    assert download(f"{server.url}/nolen.bin", dest, sha256=SHA256, progress=False).read_bytes() == PAYLOAD


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_busy_or_failing_server_is_retried(server, tmp_path, status):
    server.fail_with["/data.bin"] = [status, status]
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA256, retries=2, progress=False)
    assert dest.read_bytes() == PAYLOAD and len(server.requests) == 3


def test_failing_server_gives_up_after_the_retries(server, tmp_path):
    server.fail_with["/data.bin"] = [503] * 3
    with pytest.raises(DownloadError, match="503"):
        download(f"{server.url}/data.bin", tmp_path / "data.bin", retries=2, progress=False)
    assert not (tmp_path / "data.bin").exists()


def test_staging_left_by_a_killed_extraction_is_removed(tmp_path):
    _make_tree(tmp_path / "src")
    archive = tmp_path / "tree.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "src", arcname="tree")
    out = tmp_path / "out"
    (tmp_path / dl_staging_name(out)).mkdir()  # as a SIGKILL mid-extraction leaves it
    (tmp_path / (dl_staging_name(out) + ".old")).mkdir()
    extract_tar(archive, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src", "tree.tar"]


def dl_staging_name(destination: Path) -> str:
    return f".{destination.name}.extracting-k1ll3d"
