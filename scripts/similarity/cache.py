"""Snakemake entry point: one pass of an architecture over BAPPS, caching every layer's pair distances."""
from lossnet.benchmarks.similarity.cache import compute_distances
from lossnet.workflow import runtime_of, start

start(snakemake)
params = snakemake.params
runtime = runtime_of(snakemake, "similarity")
compute_distances(params.arch["name"], params.weights, snakemake.input[0], snakemake.output[0], layers=params.layers,
                  device=runtime.device, seed=params.seed, weights_label=snakemake.wildcards.weights,
                  batch_size=runtime.eval_batch_size, channels_last=runtime.channels_last, compile=runtime.compile,
                  **params.settings)
