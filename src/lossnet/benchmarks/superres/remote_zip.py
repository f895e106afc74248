"""Read chosen members of a remote zip over HTTP range requests, without downloading the whole archive.

:class:`HttpRangeFile` is a read-only, seekable file object over a URL: :mod:`zipfile` reads the end record and the
central directory through it (two or three requests), and :func:`read_members` then fetches each chosen member
with one request (its local header plus compressed bytes, whose size the central directory gives). For COCO
train2014 (13 GB) that is the ~7 MB central directory plus the chosen JPEGs. Every member is checked against its
CRC-32 by :mod:`zipfile`. A server that ignores ``Range`` raises :class:`RangeNotSupported`; the caller then
downloads the whole file (:func:`open_zip`).
"""

from __future__ import annotations

import io
import logging
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

from ...data.download import DownloadError, download

log = logging.getLogger(__name__)
_BLOCK = 1 << 16  # read-ahead of an unplanned read (the end record, a member header)
_LOCAL_HEADER = 30  # fixed part of a zip local file header
_HEADER_SLACK = 1024  # room for the local header's extra field, which the central directory does not give
_RETRIES = 3


class RangeNotSupported(OSError):
    """The server answered a range request with the whole file (or not at all)."""


def _range_request(url: str, start: int, stop: int, timeout: float) -> tuple[bytes, int]:
    """Bytes ``start..stop-1`` of ``url`` and the file's total size (from ``Content-Range``)."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-{stop - 1}"})
    for attempt in range(_RETRIES + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if response.status != 206:
                    raise RangeNotSupported(f"{url} answered a range request with HTTP {response.status}")
                total = response.headers.get("Content-Range", "").rsplit("/", 1)[-1]
                data = response.read()
            if len(data) != stop - start or not total.isdigit():
                raise OSError(f"{url}: asked for bytes {start}-{stop - 1}, got {len(data)} bytes")
            return data, int(total)
        except urllib.error.HTTPError as error:
            error.close()
            raise RangeNotSupported(f"{url} refused a range request: HTTP {error.code} {error.reason}") from error
        except RangeNotSupported:
            raise
        except OSError as error:
            if attempt == _RETRIES:
                raise DownloadError(f"range request for bytes {start}-{stop - 1} of {url} failed: {error}") from error
            log.info("range request to %s failed (%s); retrying", url, error)
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


class HttpRangeFile(io.RawIOBase):
    """A read-only seekable file over ``url``; each read outside the cached block is one range request."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        super().__init__()
        self.url, self.timeout, self.position = url, timeout, 0
        first, self.size = _range_request(url, 0, 1, timeout)
        self._block_start, self._block = 0, first
        self.requests = 1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek before the start of {self.url}")
        self.position = base + offset
        return self.position

    def prefetch(self, start: int, length: int) -> None:
        """Fetch ``length`` bytes from ``start`` in one request, to serve the reads that follow."""
        stop = min(start + length, self.size)
        if start < stop and not self._cached(start, stop):
            self._block, _ = _range_request(self.url, start, stop, self.timeout)
            self._block_start = start
            self.requests += 1

    def _cached(self, start: int, stop: int) -> bool:
        return self._block_start <= start and stop <= self._block_start + len(self._block)

    def read(self, size: int = -1) -> bytes:
        stop = self.size if size is None or size < 0 else min(self.position + size, self.size)
        if stop <= self.position:
            return b""
        if not self._cached(self.position, stop):
            self.prefetch(self.position, max(stop - self.position, _BLOCK))
        offset = self.position - self._block_start
        data = self._block[offset:offset + stop - self.position]
        self.position = stop
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def open_zip(source: str | Path, *, cache_dir: Path | None = None, sha256: str | None = None,
             progress: bool = True) -> zipfile.ZipFile:
    """A zip from a local path, or from a URL: over range requests, else downloaded whole into ``cache_dir``.

    The whole-file download is checksummed (``sha256``; recorded next to the file when not pinned) and resumable.
    """
    source = str(source)
    if not source.startswith(("http://", "https://")):
        return _open_local(Path(source))
    try:
        return zipfile.ZipFile(HttpRangeFile(source))
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{source} is not a zip file, or is truncated ({error}): check the URL") from error
    except RangeNotSupported as error:
        if cache_dir is None:
            raise DownloadError(f"{error}; give a cache_dir to download the whole file instead") from error
        log.warning("%s; downloading the whole file instead", error)
    destination = Path(cache_dir) / source.rstrip("/").rsplit("/", 1)[-1]
    return _open_local(download(source, destination, sha256=sha256, progress=progress))


def _open_local(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise DownloadError(f"cannot open zip {path}: {error}. Delete it and rerun to download it again.") from error


def read_members(archive: zipfile.ZipFile, names: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of each member, CRC-checked; over HTTP, one range request per member."""
    remote = archive.fp if isinstance(getattr(archive, "fp", None), HttpRangeFile) else None
    for name in names:
        info = archive.getinfo(name)
        if remote is not None:
            remote.prefetch(info.header_offset,
                            _LOCAL_HEADER + len(info.orig_filename.encode()) + _HEADER_SLACK + info.compress_size)
        try:
            yield name, archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DownloadError(f"member {name} of {archive.filename or remote.url} is corrupt: {error}") from error
