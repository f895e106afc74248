"""Snakemake entry point: the self-contained HTML report (tables and figures embedded)."""
import pandas as pd

from lossnet.analysis.report import build_report
from lossnet.workflow import start

start(snakemake)
inputs = snakemake.input
build_report(pd.read_csv(inputs.rankings), pd.read_csv(inputs.best), pd.read_csv(inputs.summary),
             pd.read_csv(inputs.correlations), inputs.figures, snakemake.output[0])
