"""Snakemake entry point: train one autoencoder (resumable) with a loss network or pixel MSE, then embed the
labelled train/test images with its frozen encoder."""
import shutil
from pathlib import Path

from lossnet.autoencoding import train_autoencoder, write_embeddings
from lossnet.workflow import ensure_architecture, start

start(snakemake)
params = snakemake.params
if "arch" in params.keys():
    arch, layer, weights, label = params.arch["name"], snakemake.wildcards.layer, params.weights, snakemake.wildcards.weights
    ensure_architecture(arch, params.arch["layers"], params.arch["build_kwargs"])
else:  # the network-free reference: pixel MSE
    arch, layer, weights, label = "pixel", "-", "none", "none"
settings = dict(params.settings)
embed_batch_size, keep_checkpoints = settings.pop("embed_batch_size"), settings.pop("keep_checkpoints")
model = train_autoencoder(
    Path(snakemake.input[0]), Path(params.checkpoint_dir), arch=arch, layer=layer, weights=weights,
    seed=params.seed, device=params.device, **settings,
)
write_embeddings(
    model, Path(snakemake.input[0]), Path(snakemake.output[0]),
    {"arch": arch, "layer": layer, "weights": label, "seed": params.seed, "epochs": settings["epochs"]},
    batch_size=embed_batch_size, device=params.device,
)
if not keep_checkpoints:
    shutil.rmtree(params.checkpoint_dir, ignore_errors=True)
