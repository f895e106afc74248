"""Snakemake entry point: the self-contained HTML report (tables, figures and the explorer embedded), with its
banner, provenance, the comparison with the published scores and links to every CSV and PDF."""
from pathlib import Path

import pandas as pd

from lossnet.analysis.provenance import provenance
from lossnet.analysis.published import published_scores
from lossnet.analysis.rank import ranked_scores
from lossnet.analysis.report import build_report
from lossnet.analysis.tables import read_attributes
from lossnet.benchmarks.scores import read_scores
from lossnet.workflow import start

start(snakemake)
inputs, params = snakemake.input, snakemake.params
about = provenance(snakemake.config, root=Path.cwd())
about["config digest"] = params.config_digest
about["ranked distance"] = params.distance
about["device"] = f"{about['device']} (config device: {params.device})"
build_report(pd.read_csv(inputs.rankings), pd.read_csv(inputs.best), pd.read_csv(inputs.summary),
             pd.read_csv(inputs.correlations), inputs.figures, snakemake.output[0], banner=params.banner,
             provenance=about, tables={Path(path).stem: pd.read_csv(path) for path in inputs.tables},
             images=inputs.images, scores=ranked_scores(read_scores([inputs.scores]), params.distance),
             attributes=read_attributes(inputs.attributes), published=published_scores(), synthetic=params.synthetic,
             files=[inputs.scores, inputs.rankings, inputs.best, inputs.summary, inputs.correlations, *inputs.tables,
                    *inputs.pdfs])
