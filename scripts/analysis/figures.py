"""Snakemake entry point: Figures 2-5 and the heatmap per weights variant, PNG and PDF."""
from lossnet.analysis.figures import write_figures
from lossnet.analysis.tables import read_attributes
from lossnet.analysis.rank import ranked_scores
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
write_figures(ranked_scores(read_scores([snakemake.input.scores]), snakemake.params.distance), read_attributes(snakemake.input.attributes),
              snakemake.params.names, snakemake.params.weights, snakemake.params.outdir)
