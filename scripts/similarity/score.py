"""Snakemake entry point: 2AFC and JND scores of one layer (or of the layers summed), for every distance, with
the headline rows' bootstrap replicates beside them."""
from lossnet.benchmarks.similarity.scoring import score_distances
from lossnet.workflow import start

start(snakemake)
score_distances(snakemake.input[0], snakemake.params.layers, snakemake.params.distances, output=snakemake.output[0],
                label=snakemake.params.label)
