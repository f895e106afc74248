"""Snakemake entry point: the self-contained HTML report (tables and figures embedded), with its banner and provenance."""
from pathlib import Path

import pandas as pd

from lossnet.analysis.provenance import provenance
from lossnet.analysis.report import build_report
from lossnet.workflow import start

start(snakemake)
inputs, params = snakemake.input, snakemake.params
about = provenance(snakemake.config, root=Path.cwd())
about["config digest"] = params.config_digest
about["ranked distance"] = snakemake.config["similarity"]["rank_distance"]
about["device"] = f"{about['device']} (config device: {params.device})"
build_report(pd.read_csv(inputs.rankings), pd.read_csv(inputs.best), pd.read_csv(inputs.summary),
             pd.read_csv(inputs.correlations), inputs.figures, snakemake.output[0], banner=params.banner,
             provenance=about, tables={Path(path).stem: pd.read_csv(path) for path in inputs.tables},
             images=inputs.images)
