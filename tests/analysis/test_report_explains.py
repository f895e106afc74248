"""The report explains itself: banner for synthetic data / random weights, provenance, every table, display names,
log-scale MFLOPS and a labelled Figure 5 for random weights."""

from pathlib import Path

import pandas as pd

from lossnet.analysis import figures, tables as analysis
from lossnet.analysis.provenance import config_digest, provenance, run_warnings
from lossnet.analysis.rank import rank
from lossnet.analysis.report import build_report
from lossnet.analysis.published import published_path
from lossnet.benchmarks.scores import read_scores

PAPER = published_path()  # the paper's appendix scores, packaged
DEMO = {"benchmarks": ["similarity", "autoencoding"], "weights": ["random"], "similarity": {"source": "demo"},
        "autoencoding": {"source": "demo"}, "device": "cpu"}


def test_run_warnings_and_provenance():
    banner = run_warnings(DEMO)
    assert len(banner) == 2 and "similarity, autoencoding" in banner[0] and banner[1].startswith("Random weights")
    assert run_warnings({"benchmarks": ["similarity"], "weights": ["imagenet"], "similarity": {"source": "download"}}) == []
    about = provenance(DEMO, root=Path(__file__).parent)
    assert set(about) == {"commit", "lossnet", "torch", "torchvision", "device", "config digest", "date"}
    assert about["device"] == "cpu" and about["config digest"] == config_digest(dict(reversed(DEMO.items())))
    assert config_digest({**DEMO, "seed": 1}) != config_digest(DEMO)


def test_report_has_banner_provenance_and_every_table(tmp_path):
    scores = read_scores([PAPER])
    scores = scores[scores["benchmark"] == "similarity"]
    best = analysis.best_layer_table(scores)
    correlations = pd.DataFrame(columns=["analysis", "benchmark", "metric", "layer", "variable", "n", "spearman",
                                         "spearman_p", "pearson", "pearson_p"])
    extra = {"distances": pd.DataFrame({"arch": ["vgg16", "squeezenet1_1"], "lpips": [0.7, 0.6]}),
             "sensitivity": pd.DataFrame({"arch": ["alexnet"], "layer": ["E"], "blur": [0.1]}),
             "image_mean": pd.DataFrame({"loss": ["vgg16 M lpips"], "l2": [0.02]})}
    page = build_report(rank(scores), best, analysis.layer_summary(best, scores), correlations, [], tmp_path / "r.html",
                        banner=run_warnings(DEMO), provenance=provenance(DEMO), tables=extra).read_text()
    assert "class='banner'" in page and "Synthetic data" in page and "Random weights" in page
    assert "Provenance" in page and "config digest" in page and "torchvision" in page
    for title in ("Distances side by side", "Distortion sensitivity", "Perceptual image mean"):
        assert title in page
    assert "SqueezeNet 1.1" in page and "VGG-16" in page and ">squeezenet1_1<" not in page
    assert "every metric" in page


def test_mflops_axis_is_log_scale_and_figure5_is_labelled_for_random_weights():
    scores = read_scores([PAPER])
    from test_analysis import synthetic_attributes  # the same synthetic attributes as the analysis tests

    attributes = synthetic_attributes()
    figure = figures.flops_scatter(scores, attributes, "similarity")
    assert all(ax.get_xscale() == "log" for ax in figure.axes)
    random = scores.assign(weights="random")
    assert "Random weights" in figures.fig5_imagenet(random, attributes).get_suptitle()
    assert figures.fig5_imagenet(scores, attributes).get_suptitle() == ""


def test_calibrated_lpips_is_explained_where_its_column_is():
    from lossnet.analysis.report import _table_note, split_wide

    distances = pd.DataFrame({"weights": ["random"], "arch": ["alexnet"], "layer": ["all"], "2afc_lpips": [0.73],
                              "2afc_lpips_lin": [0.74], "jnd_lpips": [0.3]})
    parts = split_wide(distances, ["weights", "arch", "layer"])
    assert "calibrated LPIPS" in _table_note("distances", parts["2afc"])
    assert _table_note("distances", parts["jnd"]) == "" and _table_note("sensitivity", parts["2afc"]) == ""
