"""Snakemake entry point: per-channel LPIPS values of every 2AFC triplet of one BAPPS part, for one network."""
from lossnet.benchmarks.similarity.calibrate import cache_per_channel
from lossnet.workflow import runtime_of, start

start(snakemake)
params = snakemake.params
runtime = runtime_of(snakemake, "similarity")
cache_per_channel(params.arch["name"], params.weights, snakemake.input[0], snakemake.output[0], layers=params.layers,
                  seed=params.seed, batch_size=runtime.eval_batch_size, device=runtime.device)
