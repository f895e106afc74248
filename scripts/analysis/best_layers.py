"""Snakemake entry point: Table IV (best layer per weights, arch and metric) and how often each layer wins."""
from lossnet._util import write_csv
from lossnet.analysis.tables import best_layer_table, layer_summary
from lossnet.analysis.rank import ranked_scores
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
scores = ranked_scores(read_scores(snakemake.input), snakemake.params.distance)
best = best_layer_table(scores)
write_csv(best, snakemake.output.best)
write_csv(layer_summary(best, scores), snakemake.output.summary, float_format="%.4g")
