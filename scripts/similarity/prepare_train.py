"""Snakemake entry point: decode a BAPPS 2afc/train folder into HDF5 once."""
from lossnet.benchmarks.similarity.data import prepare
from lossnet.workflow import start

start(snakemake)
prepare(snakemake.params.root, snakemake.output[0], snakemake.params.subsets, (), part="train")
