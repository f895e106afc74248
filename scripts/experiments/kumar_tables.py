"""Snakemake entry point: the Kumar study's tables (PS per tap and subset, sensitivity, models, PS's range)."""
import h5py
import pandas as pd

from lossnet._util import atomic_output
from lossnet.benchmarks.similarity.sensitivity import distortion_sensitivity
from lossnet.experiments.kumar import ceiling, model_table, stage_scores
from lossnet.workflow import start

start(snakemake)
params, output = snakemake.params, snakemake.output
jobs = [(path, variant, size) for path, (variant, size, _) in zip(snakemake.input.caches, params.jobs)]
tables = {
    "scores": pd.concat([stage_scores(path, variant, size) for path, variant, size in jobs]
                        + [pd.read_csv(path, keep_default_na=False) for path in snakemake.input.calibrated],
                        ignore_index=True),
    "sensitivity": pd.concat([distortion_sensitivity([path]).assign(size=size) for path, _, size in jobs],
                             ignore_index=True),
    "models": model_table(params.archs, params.variants),
}
with h5py.File(snakemake.input.prepared, "r") as prepared:
    judgements = {subset: group["judge"][:] for subset, group in prepared["2afc"].items()}
tables["ceiling"] = ceiling(judgements, seed=params.seed)
for name, table in tables.items():
    with atomic_output(output[name]) as partial:
        table.to_csv(partial, index=False)
