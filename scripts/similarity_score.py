"""Snakemake entry point: 2AFC and JND scores of one layer (or of all layers summed) from the cache."""
from lossnet.similarity import score
from lossnet.workflow import start

start(snakemake)
layers = snakemake.params.layers if "layers" in snakemake.params.keys() else snakemake.wildcards.layer
score(snakemake.input[0], layers).to_csv(snakemake.output[0], index=False)
