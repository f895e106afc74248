"""Resumable, checksum-verified downloads and safe tar extraction (standard library, progress through the package's one helper)."""

from __future__ import annotations

import glob
import hashlib
import http.client
import logging
import lzma
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from .._util import progress_bar


logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
# Seconds before the first retry, doubled each time; tests set it to 0.
_RETRY_DELAY = 1.0


class DownloadError(RuntimeError):
    """A file could not be downloaded, verified or extracted."""


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of the file at ``path`` with the ``hashlib`` ``algorithm``."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def _offline_hint(url: str, destination: Path) -> str:
    return (
        f"On an offline machine, download {url} elsewhere and place the file at {destination}; "
        "the workflow then skips the download."
    )


# HTTP answers worth another attempt: the server is busy or failing for a moment.
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class _Transient(OSError):
    """A failure the next attempt may not have (a busy server, a part that has to start over)."""


def _total_from_content_range(header: str | None) -> int | None:
    """The full size in ``Content-Range: bytes a-b/N`` or ``bytes */N``; None when absent or ``*``."""
    if header and "/" in header and not header.rstrip().endswith("/*"):
        try:
            return int(header.rsplit("/", 1)[1])
        except ValueError:
            return None
    return None


def _remote_size(url: str, offset: int, timeout: float) -> int | None:
    """Ask the server for the file's size (a ranged request that reads no body); None if it does not say."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = _total_from_content_range(response.headers.get("Content-Range"))
            if total is None and response.status == 200 and response.headers.get("Content-Length"):
                total = int(response.headers["Content-Length"])
            return total
    except urllib.error.HTTPError as error:
        error.close()
        return _total_from_content_range(error.headers.get("Content-Range")) if error.code == 416 else None


def _fetch(url: str, part: Path, destination: Path, timeout: float, progress: bool) -> int | None:
    """Append the rest of ``url`` to ``part``; return the file's size when the server says it.

    Raises ``IncompleteRead`` if ``part`` ends short of that size and :class:`_Transient` on a busy server or a part
    that cannot be continued (then deleted).
    """
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416:  # nothing left after `offset`: complete only if `offset` is the file's size
            total = _total_from_content_range(error.headers.get("Content-Range"))
            if total is not None and total == offset:
                return total
            part.unlink(missing_ok=True)
            raise _Transient(
                f"the server has no bytes after the {offset} of {part} (its size: {total if total is not None else 'not given'}); "
                "starting over"
            ) from error
        if error.code in _TRANSIENT_STATUS:
            raise _Transient(f"HTTP {error.code} {error.reason}") from error
        raise DownloadError(
            f"could not download {url} to {destination}: HTTP {error.code} {error.reason}. "
            + _offline_hint(url, destination)
        ) from error
    with response:
        if response.status != 206:  # the server ignored the Range header and sends the whole file
            offset = 0
        length = response.headers.get("Content-Length")
        total = _total_from_content_range(response.headers.get("Content-Range"))
        if total is None and length:
            total = offset + int(length)
        with part.open("ab" if offset else "wb") as file, progress_bar(
            total=total, initial=offset, unit="B", desc=destination.name, disable=not progress,
        ) as bar:
            while chunk := response.read(_CHUNK):
                file.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is None:
        # No length was sent, so a dropped connection looks like the end of the file: ask for the size.
        total = _remote_size(url, size, timeout)
    # urllib returns b"" instead of raising when a connection closes before Content-Length is reached.
    if total is not None and size < total:
        raise http.client.IncompleteRead(b"", total - size)
    if total is not None and size > total:
        part.unlink()
        raise _Transient(f"{part} has {size} bytes, more than the {total} of the file; starting over")
    return total


def download(
    url: str,
    destination: Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60,
    retries: int = 3,
) -> Path:
    """Download ``url`` to ``destination`` unless a file matching the given checksums is already there.

    The transfer goes to ``<destination>.part``, resumes it with HTTP Range requests (also across
    runs), is retried ``retries`` times on connection errors and on busy or failing servers (HTTP 429 and 5xx), is
    checked against the size the server gives and against ``sha256`` and ``md5``, and is finally renamed
    atomically to ``destination``. Without a checksum the size must be known (a transfer of unknown length
    is refused, since a dropped connection would look complete); the computed sha256 is then logged and
    written to ``<destination>.sha256`` so that it can be pinned.
    """
    destination = Path(destination)
    expected = {name: digest.lower() for name, digest in (("sha256", sha256), ("md5", md5)) if digest}
    if destination.is_file() and all(file_digest(destination, a) == d for a, d in expected.items()):
        return destination
    part = destination.with_name(destination.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            total = _fetch(url, part, destination, timeout, progress)
            break
        except (OSError, http.client.HTTPException) as error:  # URLError and socket timeouts are OSErrors
            if attempt == retries:
                raise DownloadError(
                    f"could not download {url} to {destination} after {retries + 1} attempts: {error}. "
                    + _offline_hint(url, destination)
                ) from error
            logger.info("download of %s interrupted (%s); retrying", url, error)
            time.sleep(_RETRY_DELAY * 2**attempt)

    if total is None and not expected:
        part.unlink()
        raise DownloadError(
            f"{url} was sent without its size and no checksum is pinned for {destination}, so a transfer cut "
            "short cannot be told from a complete one (the partial file is deleted). Pin its sha256 or md5 in the "
            "config, or download it by other means and place it at that path."
        )
    actual = {name: file_digest(part, name) for name in expected or ["sha256"]}
    mismatches = [f"{name} expected {expected[name]}, got {actual[name]}"
                  for name in expected if actual[name] != expected[name]]
    if mismatches:
        part.unlink()
        raise DownloadError(
            f"checksum mismatch for {url} (downloaded to {part}, now deleted; destination {destination}): "
            + "; ".join(mismatches)
        )
    os.replace(part, destination)
    if not expected:
        sidecar = destination.with_name(destination.name + ".sha256")
        sidecar.write_text(f"{actual['sha256']}  {destination.name}\n")
        logger.warning("no checksum pinned for %s; its sha256 is %s (pin it in the config)", url, actual["sha256"])
    return destination


def extract_tar(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` safely into the directory ``destination``, replacing it only on success."""
    archive, destination = Path(archive), Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{destination.name}.extracting-"
    for leftover in destination.parent.glob(f"{glob.escape(prefix)}*"):  # staging of a killed earlier extraction
        logger.info("removing %s, left by an interrupted extraction", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    # A sibling on the same file system, so that the final rename is atomic.
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=destination.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
    except tarfile.FilterError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"refusing to extract {archive}: unsafe member ({error})") from error
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(
            f"cannot extract {archive}: {error}. The archive is probably corrupt or truncated; "
            "delete it and rerun to download it again."
        ) from error
    # rename() cannot replace a non-empty directory, so the old one is moved aside first.
    trash = staging.with_name(staging.name + ".old")
    if destination.exists():
        destination.rename(trash)
    staging.rename(destination)
    shutil.rmtree(trash, ignore_errors=True)
    return destination


def extract_top_folder(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` and move its top-level folder named like ``target`` to ``target`` (atomically)."""
    archive, target = Path(archive), Path(target)
    staging = target.with_name(target.name + ".unpacked")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed earlier run
    unpacked = extract_tar(archive, staging)
    try:
        if not (unpacked / target.name).is_dir():
            raise DownloadError(f"{archive} does not contain a top-level folder {target.name}/")
        os.replace(unpacked / target.name, target)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return target
