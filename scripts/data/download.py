"""Snakemake entry point: download one file of the DOWNLOADS table (checksummed, resumable, atomic)."""
from lossnet.data.download import download
from lossnet.workflow import start

start(snakemake)
download(snakemake.params.url, snakemake.output[0], sha256=snakemake.params.sha256, md5=snakemake.params.md5)
