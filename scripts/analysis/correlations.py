"""Snakemake entry point: correlations of the scores with the attributes, and agreement between benchmarks."""
import pandas as pd

from lossnet._util import write_csv
from lossnet.analysis.tables import correlations, read_attributes
from lossnet.analysis.rank import ranked_scores
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
inputs = snakemake.input
table = correlations(ranked_scores(read_scores([inputs.scores]), snakemake.params.distance), read_attributes(inputs.attributes), pd.read_csv(inputs.rankings))
write_csv(table, snakemake.output[0], float_format="%.6g")
