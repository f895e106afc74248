"""Snakemake entry point: concatenate every job's scores into results/tables/scores.csv."""
from lossnet._util import write_csv
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
write_csv(read_scores(snakemake.input), snakemake.output[0])
