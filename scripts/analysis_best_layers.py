"""Snakemake entry point: Table IV (best layer per weights, arch and metric) and how often each layer wins."""
from lossnet.analysis import best_layer_table, layer_summary
from lossnet.rank import read_scores
from lossnet.workflow import start

start(snakemake)
best = best_layer_table(read_scores(snakemake.input))
best.to_csv(snakemake.output.best, index=False)
layer_summary(best).to_csv(snakemake.output.summary, index=False, float_format="%.4g")
