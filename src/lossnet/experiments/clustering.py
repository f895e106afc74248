"""Perceptual clustering (seed 003): k-means in the feature space of a loss network, scored against the labels.

Each space is an embedding whose squared Euclidean distance is an image distance, so scikit-learn's Euclidean
k-means clusters by that distance exactly:

- ``pixels``: the flattened image (pixel L2);
- a network at a layer: channels unit-normalised at every position, divided by sqrt(H W) and flattened, whose
  squared distance is the unweighted LPIPS distance of that layer (:func:`lossnet.distances.lpips`);
- ``mmd``: MMD++'s mean random-feature embedding of every window's patches divided by the square root of its size,
  whose squared distance is MMD++'s MMD term (:meth:`lossnet.distances.MMDPlusPlus.mmd_term`).

k is the number of classes; k-means runs from ``n_seeds`` seeds. Scores (scikit-learn): NMI, ARI, and seed 003's
weighted F1 after mapping each cluster to its most frequent label; their mean and spread over the seeds, beside the
same scores of random labellings (the chance level).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from .._util import progress_bar, resolve_device, write_csv
from ..distances import MMDPlusPlus, unit_normalize
from ..network import LossNetwork
from ._images import as_tensor, named_image, pyplot, save_figure, square

METRICS = ("nmi", "ari", "f1")
METRIC_NAMES = {"nmi": "NMI", "ari": "ARI", "f1": "weighted F1 (majority label)"}
DEFAULT_NETWORKS: tuple[dict, ...] = ({"arch": "vgg16", "layers": ["E", "S", "M", "L"]},)
DEFAULT_WEIGHTS = ("imagenet", "random", "random_zero_mean")
RANDOM = "random labels"


# ------------------------------------------------------------------------------------------------------- data


def load_labelled(source: str | os.PathLike, size: int = 64, max_per_class: int | None = 100,
                  split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Labelled images, uint8 (N, size, size, 3), and labels 0..k-1.

    ``source``: a prepared file of benchmark 4 (``.h5``, its ``split``: STL-10's test set) or a folder with one
    subfolder of images per class (10 LFW identities, say), classes in name order. Each class keeps its first
    ``max_per_class`` images (None: all); images are centre-cropped square and resized to ``size``.
    """
    source = Path(source)
    if source.suffix == ".h5":
        import h5py

        with h5py.File(source, "r") as h5:
            if f"{split}/labels" not in h5:
                raise KeyError(f"{source} has no labelled split {split!r}: give benchmark 4's prepared STL-10 file")
            images, labels = h5[f"{split}/images"][:], h5[f"{split}/labels"][:].astype(np.int64)
        keep = _first_per_class(labels, max_per_class)
        images, labels = images[keep], labels[keep]
        images = np.stack([square(image, size) for image in images]) if images.shape[1] != size else images
        return images, np.unique(labels, return_inverse=True)[1]
    if not source.is_dir():
        raise FileNotFoundError(f"clustering data {source} is neither a prepared .h5 file nor a folder of class folders")
    from ..images import IMAGE_SUFFIXES

    classes = sorted(p for p in source.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ValueError(f"{source} holds {len(classes)} class folder(s): clustering needs at least two")
    images, labels = [], []
    for label, folder in enumerate(classes):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:max_per_class]
        images += [square(named_image(p), size) for p in files]
        labels += [label] * len(files)
    return np.stack(images), np.asarray(labels, np.int64)


def _first_per_class(labels: np.ndarray, limit: int | None) -> np.ndarray:
    if limit is None:
        return np.arange(len(labels))
    return np.sort(np.concatenate([np.flatnonzero(labels == label)[:limit] for label in np.unique(labels)]))


# ----------------------------------------------------------------------------------------------------- spaces


def pixel_embedding(images: torch.Tensor, **_: Any) -> torch.Tensor:
    """The flattened images: squared distance = summed squared pixel difference."""
    return images.flatten(1)


def network_embedding(images: torch.Tensor, *, network: LossNetwork, layer: str, **_: Any) -> torch.Tensor:
    """Unit-normalised channels / sqrt(HW), flattened: squared distance = the layer's unweighted LPIPS."""
    z = network(images)[layer]
    return (unit_normalize(z) / (z.shape[2] * z.shape[3]) ** 0.5).flatten(1)


def mmd_embedding(images: torch.Tensor, *, mmd: MMDPlusPlus, **_: Any) -> torch.Tensor:
    """MMD++'s window embeddings / sqrt(their size), flattened: squared distance = MMD++'s MMD term."""
    e = mmd.window_embeddings(images)
    return (e / e[0].numel() ** 0.5).flatten(1)


EMBEDDINGS: dict[str, Callable[..., torch.Tensor]] = {
    "pixels": pixel_embedding,
    "network": network_embedding,
    "mmd": mmd_embedding,
}


def embed(images: np.ndarray, space: str, batch_size: int = 64, device: str | torch.device = "cpu",
          **options: Any) -> np.ndarray:
    """The embedding (N, D) float32 of uint8 images in ``space`` of :data:`EMBEDDINGS` (``options``: its network,
    layer or MMD++ module)."""
    try:
        function = EMBEDDINGS[space]
    except KeyError:
        raise ValueError(f"unknown clustering space {space!r}; known: {', '.join(EMBEDDINGS)}") from None
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            batch = as_tensor(images[i:i + batch_size]).to(device)
            out.append(function(batch, **options).float().cpu())
    return torch.cat(out).numpy()


# ---------------------------------------------------------------------------------------------------- scoring


def majority_mapping(labels: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Each item's predicted label: the most frequent true label of its cluster (ties: the smallest label)."""
    predicted = np.empty_like(labels)
    for cluster in np.unique(assignment):
        members = assignment == cluster
        predicted[members] = np.bincount(labels[members]).argmax()
    return predicted


def cluster_scores(labels: np.ndarray, assignment: np.ndarray) -> dict[str, float]:
    """NMI, ARI and the weighted F1 of the majority-label mapping of a clustering ``assignment``."""
    from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

    labels, assignment = np.asarray(labels), np.asarray(assignment)
    return {"nmi": float(normalized_mutual_info_score(labels, assignment)),
            "ari": float(adjusted_rand_score(labels, assignment)),
            "f1": float(f1_score(labels, majority_mapping(labels, assignment), average="weighted"))}


def kmeans_runs(features: np.ndarray, labels: np.ndarray, n_seeds: int = 5, seed: int = 0) -> list[dict[str, float]]:
    """Scores of k-means (k = number of labels, k-means++ start) from seeds ``seed .. seed + n_seeds - 1``."""
    from sklearn.cluster import KMeans

    k = len(np.unique(labels))
    return [cluster_scores(labels, KMeans(k, n_init=1, random_state=seed + s).fit_predict(features))
            for s in range(n_seeds)]


def random_runs(labels: np.ndarray, n_seeds: int = 5, seed: int = 0) -> list[dict[str, float]]:
    """Scores of uniformly random labellings into k clusters: the chance level."""
    k = len(np.unique(labels))
    return [cluster_scores(labels, np.random.default_rng(seed + s).integers(0, k, len(labels)))
            for s in range(n_seeds)]


def _rows(labels: Mapping[str, str], runs: Sequence[Mapping[str, float]]) -> list[dict]:
    return [{**labels, "metric": metric, "mean": float(np.mean([run[metric] for run in runs])),
             "std": float(np.std([run[metric] for run in runs])), "n_seeds": len(runs)} for metric in METRICS]


# ----------------------------------------------------------------------------------------------- experiment


def cluster(
    data: str | os.PathLike,
    *,
    networks: Sequence[Mapping] = DEFAULT_NETWORKS,
    weights: Sequence[str] = DEFAULT_WEIGHTS,
    weights_sources: Mapping[str, str] | None = None,
    pixels: bool = True,
    mmd: bool = True,
    size: int = 64,
    max_per_class: int | None = 100,
    n_seeds: int = 5,
    seed: int = 0,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    table: str | os.PathLike | None = None,
    figure: str | os.PathLike | None = None,
) -> "pd.DataFrame":  # noqa: F821
    """Cluster the labelled images of ``data`` (:func:`load_labelled`) in every space and score each clustering.

    Spaces: ``pixels``, ``mmd`` (MMD++ with ``seed``), and every ``{arch, layers}`` of ``networks`` under every
    weights variant (``weights_sources`` maps a variant to what is loaded instead, ``{arch}`` filled in; results
    mark it ``*``). Returns the long table ``space, arch, layer, weights, metric, mean, std, n_seeds`` (first rows:
    the random-label chance level) and writes it (CSV) and a figure when asked.
    """
    import pandas as pd

    device = resolve_device(device)
    images, labels = load_labelled(data, size, max_per_class)
    rows = _rows({"space": RANDOM, "arch": "-", "layer": "-", "weights": "none"}, random_runs(labels, n_seeds, seed))
    jobs: list[tuple[dict, Callable[[], dict]]] = []
    if pixels:
        jobs.append(({"space": "pixels", "arch": "-", "layer": "-", "weights": "none"}, lambda: {}))
    if mmd:
        jobs.append(({"space": "mmd", "arch": "-", "layer": "-", "weights": "none"},
                     lambda: {"mmd": MMDPlusPlus(seed).to(device)}))
    for spec in networks:
        for variant in weights:
            replaced = weights_sources and variant in weights_sources and weights_sources[variant] != variant
            source = str((weights_sources or {}).get(variant, variant)).format(arch=spec["arch"])
            network = _lazy_network(spec["arch"], list(spec["layers"]), source, seed, device)
            for layer in spec["layers"]:
                jobs.append(({"space": "network", "arch": spec["arch"], "layer": layer,
                              "weights": f"{variant} *" if replaced else variant},
                             lambda network=network, layer=layer: {"network": network(), "layer": layer}))
    for labels_of, options in progress_bar(jobs, desc="clustering spaces"):
        space = labels_of["space"]
        features = embed(images, space, batch_size, device, **options())
        rows += _rows(labels_of, kmeans_runs(features, labels, n_seeds, seed))
    result = pd.DataFrame(rows)
    if table is not None:
        write_csv(result, table)
    if figure is not None:
        render_scores(result, figure)
    return result


def _lazy_network(arch: str, layers: list[str], source: str, seed: int, device: torch.device) -> Callable[[], LossNetwork]:
    """A loss network built at first use and kept for the other layers of the same (arch, weights)."""
    built: list[LossNetwork] = []

    def get() -> LossNetwork:
        if not built:
            built.append(LossNetwork(arch, layers, source, seed=seed).to(device))
        return built[0]
    return get


def _label(row: Mapping) -> str:
    if row["space"] != "network":
        return str(row["space"])
    return f"{row['arch']} {row['layer']} ({row['weights']})"


def render_scores(table: "pd.DataFrame", path: str | os.PathLike) -> list[Path]:  # noqa: F821
    """One panel per metric: the mean over seeds per space (bars, the spread as error bars), chance dashed (PNG)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 0.32 * table["space"].size / 3 + 2.5),
                             squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], METRICS):
        rows = table[table["metric"] == metric]
        chance = rows[rows["space"] == RANDOM]
        rows = rows[rows["space"] != RANDOM]
        names = [_label(row) for _, row in rows.iterrows()]
        ax.barh(range(len(rows)), rows["mean"], xerr=rows["std"], color="tab:blue", alpha=0.8)
        if len(chance):
            ax.axvline(float(chance["mean"].iloc[0]), color="grey", linestyle="--", label="random labels")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_yticks(range(len(rows)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(METRIC_NAMES[metric], fontsize=9)
    fig.suptitle("k-means in each space: mean and spread over seeds", fontsize=9)
    return save_figure(fig, path)
