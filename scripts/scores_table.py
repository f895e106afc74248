"""Snakemake entry point: concatenate every job's scores into results/tables/scores.csv."""
from lossnet.rank import read_scores
from lossnet.workflow import start

start(snakemake)
read_scores(snakemake.input).to_csv(snakemake.output[0], index=False)
