"""Snakemake entry point: distortion sensitivity and the side-by-side distances table of benchmark 1."""
from lossnet._util import write_csv
from lossnet.benchmarks.scores import read_scores
from lossnet.benchmarks.similarity.sensitivity import distance_table, distortion_sensitivity
from lossnet.workflow import start

start(snakemake)
write_csv(distortion_sensitivity(snakemake.input.caches), snakemake.output.sensitivity, float_format="%.6g")
write_csv(distance_table(read_scores([snakemake.input.scores])), snakemake.output.distances, float_format="%.4f")
