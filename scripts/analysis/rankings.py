"""Snakemake entry point: the paper's rankings from the tidy scores, with rank intervals from the replicates."""
from lossnet.analysis.rank import write_rankings
from lossnet.workflow import start

start(snakemake)
write_rankings([snakemake.input.scores], snakemake.output[0], replicates=snakemake.input.replicates,
               distance=snakemake.params.distance)
