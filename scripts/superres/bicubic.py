"""Snakemake entry point: the bicubic reference rows of benchmark 2 (no training)."""
from lossnet.benchmarks.superres.jobs import evaluate_bicubic
from lossnet.workflow import start

start(snakemake)
evaluate_bicubic(snakemake.input.tests, snakemake.output, scale=snakemake.params.scale, seed=snakemake.params.seed)
