"""Snakemake entry point: the per-architecture v0.1 comparisons in one table."""
import pandas as pd

from lossnet._util import write_csv
from lossnet.workflow import start

start(snakemake)
tables = [pd.read_csv(path, keep_default_na=False) for path in snakemake.input]
write_csv(pd.concat(tables, ignore_index=True), snakemake.output[0], float_format="%.6f")
