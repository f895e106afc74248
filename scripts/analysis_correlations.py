"""Snakemake entry point: correlations of the scores with the attributes, and agreement between benchmarks."""
import pandas as pd

from lossnet.analysis import correlations, read_attributes
from lossnet.rank import read_scores
from lossnet.workflow import start

start(snakemake)
table = correlations(
    read_scores([snakemake.input.scores]), read_attributes(snakemake.input.attributes),
    pd.read_csv(snakemake.input.rankings),
)
table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
