"""Snakemake entry point: one pass of an architecture over BAPPS, caching every layer's pair distances."""
from lossnet.benchmarks.similarity.cache import compute_distances
from lossnet.workflow import start

start(snakemake)
params = snakemake.params
compute_distances(params.arch["name"], params.weights, snakemake.input[0], snakemake.output[0], layers=params.layers,
                  device=params.device, seed=params.seed, weights_label=snakemake.wildcards.weights, **params.settings)
