"""Snakemake entry point: download one MRD split tile by tile (resumable, checksum manifest)."""
from lossnet.benchmarks.delineation.data import download_split
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
download_split(snakemake.wildcards.split, params.root, params.url, workers=params.workers)
