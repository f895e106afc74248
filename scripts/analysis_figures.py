"""Snakemake entry point: Figures 2-5 and the heatmap per weights variant, PNG and PDF."""
import matplotlib

matplotlib.use("Agg")

from lossnet.analysis import read_attributes  # noqa: E402
from lossnet.figures import write_figures  # noqa: E402
from lossnet.rank import read_scores  # noqa: E402
from lossnet.workflow import start  # noqa: E402

start(snakemake)
write_figures(
    read_scores([snakemake.input.scores]), read_attributes(snakemake.input.attributes),
    snakemake.params.names, snakemake.params.weights, snakemake.params.outdir,
)
