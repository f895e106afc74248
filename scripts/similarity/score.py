"""Snakemake entry point: 2AFC and JND scores of one layer (or of the layers summed), for every distance."""
from lossnet._util import write_csv
from lossnet.benchmarks.similarity.scoring import score_distances
from lossnet.workflow import start

start(snakemake)
write_csv(score_distances(snakemake.input[0], snakemake.params.layers, snakemake.params.distances), snakemake.output[0])
