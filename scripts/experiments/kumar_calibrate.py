"""Snakemake entry point: calibrated LPIPS (lpips_lin) of one Kumar-study network, fitted on 2afc/train."""
from lossnet.experiments.kumar import calibrated_scores
from lossnet.workflow import runtime_of, start

start(snakemake)
runtime = runtime_of(snakemake, "kumar")
calibrated_scores(snakemake.params.job, int(snakemake.wildcards.kumar_size), snakemake.input.train,
                  snakemake.input.val, snakemake.output[0], schedule=snakemake.params.schedule,
                  batch_size=runtime.eval_batch_size, device=runtime.device)
