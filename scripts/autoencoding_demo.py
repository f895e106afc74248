"""Snakemake entry point: generate synthetic SVHN- or STL-10-format demo data (offline, same formats)."""
from pathlib import Path

from lossnet.embedding_data import make_demo_stl10, make_demo_svhn
from lossnet.workflow import start

start(snakemake)
sizes, seed = snakemake.params.sizes, snakemake.params.seed
if snakemake.params.dataset == "svhn":
    make_demo_svhn(Path(snakemake.output[0]).parent, sizes["n_train"], sizes["n_test"], sizes["n_unlabeled"], seed)
else:  # the output is the stl10_binary folder; the generator writes it inside the given root
    make_demo_stl10(Path(snakemake.output[0]).parent, sizes["n_train"], sizes["n_test"], sizes["n_unlabeled"], seed)
