"""Snakemake entry point: our fit of the LPIPS taps beside the lpips package's v0.1 weights, on the same val."""
from lossnet.benchmarks.similarity.calibrate import compare_with_lpips_package
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
compare_with_lpips_package(snakemake.input.train, snakemake.input.val, schedule=params.schedule, seed=params.seed,
                           output=snakemake.output[0])
