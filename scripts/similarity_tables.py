"""Snakemake entry point: distortion sensitivity and the side-by-side distances table of benchmark 1."""
from lossnet.rank import read_scores
from lossnet.sensitivity import distance_table, distortion_sensitivity
from lossnet.workflow import start

start(snakemake)
distortion_sensitivity(snakemake.input.caches).to_csv(snakemake.output.sensitivity, index=False, float_format="%.6g")
distance_table(read_scores([snakemake.input.scores])).to_csv(snakemake.output.distances, index=False, float_format="%.4f")
