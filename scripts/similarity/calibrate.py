"""Snakemake entry point: fit calibrated LPIPS on the train cache (CPU) and score it on the val cache."""
from lossnet.benchmarks.similarity.calibrate import calibrate, score_calibrated
from lossnet.workflow import start

start(snakemake)
params, output = snakemake.params, snakemake.output
fitted = calibrate(snakemake.input.train, output.calibration, schedule=params.schedule, seed=params.seed)
score_calibrated(fitted, snakemake.input.val, weights_label=snakemake.wildcards.weights, seed=params.seed,
                 output=output.scores)
