"""Snakemake entry point: the self-contained HTML report (tables and figures embedded)."""
import pandas as pd

from lossnet.report import build_report
from lossnet.workflow import start

start(snakemake)
build_report(
    pd.read_csv(snakemake.input.rankings), pd.read_csv(snakemake.input.best), pd.read_csv(snakemake.input.summary),
    pd.read_csv(snakemake.input.correlations), snakemake.input.figures, snakemake.output[0],
)
