"""Snakemake entry point: download one archive (checksummed, resumable, atomic)."""
from pathlib import Path

from lossnet.download import download
from lossnet.workflow import start

start(snakemake)
download(snakemake.params.url, Path(snakemake.output[0]), sha256=snakemake.params.sha256, md5=snakemake.params.md5)
