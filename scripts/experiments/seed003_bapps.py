"""Snakemake entry point: the first N samples of each BAPPS subset, for a seed-003 table that only exercises the
pipeline (the demo)."""
from lossnet.benchmarks.similarity.data import subsample_prepared
from lossnet.workflow import start

start(snakemake)
subsample_prepared(snakemake.input[0], snakemake.output[0], snakemake.params.per_subset)
