"""Snakemake entry point: the Kumar study's figures (a) to (g) and their CSVs."""
import pandas as pd

from lossnet.experiments.kumar_figures import write_figures
from lossnet.workflow import start

start(snakemake)
params, tables = snakemake.params, snakemake.input
write_figures(pd.read_csv(tables.scores, keep_default_na=False, na_values=[""]).assign(
                  subset=lambda t: t["subset"].fillna("")),
              pd.read_csv(tables.models), pd.read_csv(tables.sensitivity), pd.read_csv(tables.ceiling),
              params.pair, params.depth_series, params.outdir)
