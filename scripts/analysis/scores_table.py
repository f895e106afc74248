"""Snakemake entry point: concatenate every job's scores into results/tables/scores.csv, with the run's warnings
(synthetic data, random weights) beside it for the commands that read it later (lossnet recommend)."""
from lossnet._util import write_csv
from lossnet.analysis.provenance import write_run_warnings
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
write_csv(read_scores(snakemake.input), snakemake.output.scores)
write_run_warnings(snakemake.params.banner, snakemake.output.scores)
