"""Snakemake entry point: the paper's rankings from the tidy scores."""
from lossnet.analysis.rank import write_rankings
from lossnet.workflow import start

start(snakemake)
write_rankings(snakemake.input, snakemake.output[0], distance=snakemake.params.distance)
