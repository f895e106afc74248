"""Snakemake entry point: unpack a BAPPS archive and move its top folder (2afc/ or jnd/) into place."""
import os
import shutil
from pathlib import Path

from lossnet.download import DownloadError, extract_tar
from lossnet.workflow import start

start(snakemake)
target = Path(snakemake.output[0])
unpacked = extract_tar(Path(snakemake.input[0]), target.with_name(target.name + ".unpacked"))
if not (unpacked / target.name).is_dir():
    raise DownloadError(f"{snakemake.input[0]} does not contain a top-level folder {target.name}/")
os.replace(unpacked / target.name, target)
shutil.rmtree(unpacked)
