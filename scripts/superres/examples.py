"""Snakemake entry point: the example-outputs figure (LR, bicubic, pixel, the best loss network, HR)."""
from lossnet.benchmarks.superres.jobs import examples_figure
from lossnet.workflow import start

start(snakemake)
examples_figure(snakemake.input.scores, snakemake.input.examples, snakemake.input.test_set, snakemake.output[0])
