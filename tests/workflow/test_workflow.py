"""The Snakemake workflow as a user runs it: config validation, the planned DAG, offline behaviour, the demo."""

from pathlib import Path

import math

import pandas as pd
import pytest
from conftest import copy_workflow, demo_config, demo_out, job_counts, snakemake, tail

from lossnet.analysis.published import published_path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow, as a new clone would have it."""
    return copy_workflow(tmp_path)


def test_paper_config_plans_the_study(workdir):
    result = snakemake(workdir, "-n", "results/tables/rankings.csv")
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["similarity_cache"] == 14
    assert counts["similarity_score"] == 56
    assert counts["similarity_score_all_layers"] == 14
    assert counts["similarity_pixel"] == 3
    # BAPPS twoafc_val, jnd and twoafc_train (calibrated LPIPS); Set5 and Set14 HR images and BSDS300 (COCO: range
    # reads in the prepare job); SVHN train, test, extra and STL-10
    assert counts["download"] == 3 + (5 + 14 + 1) + 4
    assert counts["extract"] == 3 + 1  # the three BAPPS archives and STL-10
    # benchmark 2: 14 architectures x 4 layers x {x4, x8}, plus the pixel-MSE and bicubic references per scale
    assert counts["superres_train"] == 56 * 2
    assert counts["superres_train_pixel"] == counts["superres_bicubic"] == 2
    assert counts["prepare_superres_coco"] == 1 and counts["prepare_superres_test"] == 3
    # benchmark 4: 14 architectures x 4 layers x {svhn, stl10}, plus the pixel-MSE reference per dataset
    assert counts["autoencoder_train"] == counts["autoencoder_probe"] == 56 * 2
    assert counts["autoencoder_train_pixel"] == counts["autoencoder_probe_pixel"] == 2
    # benchmark 3: 14 architectures x 4 layers, plus the BCE-only reference; MRD downloaded split by split
    assert counts["delineation_train"] == 56 and counts["delineation_train_pixel"] == 1
    assert counts["download_mrd"] == 3 and counts["prepare_mrd"] == 1


def test_config_typo_is_named(workdir):
    (workdir / "typo.yaml").write_text("similarity:\n  runtime: {batchsize: 8}\n")
    result = snakemake(workdir, "-n", "--configfile", "typo.yaml")
    assert result.returncode != 0
    assert "batchsize" in result.stdout + result.stderr


def test_config_wrong_type_is_named(workdir):
    (workdir / "wrong.yaml").write_text("similarity:\n  runtime: {eval_batch_size: lots}\n")
    result = snakemake(workdir, "-n", "--configfile", "wrong.yaml")
    assert result.returncode != 0
    assert "'lots' is not of type 'integer'" in result.stdout + result.stderr


def test_unknown_architecture_is_named(workdir):
    (workdir / "arch.yaml").write_text("architectures: [vgg16, vgg17]\n")
    result = snakemake(workdir, "-n", "--configfile", "arch.yaml")
    assert result.returncode != 0
    assert "unknown architecture 'vgg17'" in result.stdout + result.stderr


def test_a_new_architecture_is_one_config_entry(workdir):
    (workdir / "new.yaml").write_text(
        "architectures:\n  - alexnet\n"
        "  - {name: mobilenet_v3_small, layers: {E: features.0, S: features.1, M: features.4, L: features.12}}\n"
    )
    result = snakemake(workdir, "-n", "results/tables/rankings.csv", "--configfile", "new.yaml")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout)["similarity_cache"] == 2
    assert "results/cache/similarity/imagenet/mobilenet_v3_small.h5" in result.stdout


def test_offline_download_stops_with_a_clear_message(workdir):
    (workdir / "offline.yaml").write_text(
        "similarity:\n  archives:\n"
        "    twoafc_val: {url: 'http://127.0.0.1:9/twoafc_val.tar.gz'}\n"
        "    jnd: {url: 'http://127.0.0.1:9/jnd.tar.gz'}\n"
    )
    result = snakemake(workdir, "--cores", "1", "data/raw/bapps/jnd.tar.gz", "--configfile", "offline.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "DownloadError" in output and "http://127.0.0.1:9/jnd.tar.gz" in output
    log = (workdir / "logs/data/download/bapps/jnd.tar.gz.log").read_text()
    assert "data/raw/bapps/jnd.tar.gz" in log
    assert not (workdir / "data/raw/bapps/jnd.tar.gz").exists()


@pytest.mark.slow
def test_offline_demo_produces_rankings(demo_run):
    rankings = pd.read_csv(demo_out(demo_run) / "results/tables/rankings.csv")
    config = demo_config()
    networks = sorted(config["architectures"])
    # network-free rows: pixel distances (B1), bicubic and the pixel-MSE SR network (B2), BCE-only U-Net (B3),
    # pixel-MSE autoencoder (B4); the pixel baselines share the arch name `pixel`
    references = ["bicubic", "l2", "mmdpp", "pixel", "ssim"]
    assert sorted(rankings.arch) == sorted(networks + references)
    assert set(rankings.weights) == {"random"}
    # references are listed, flagged, unranked; the architectures alone take positions 1..3
    assert sorted(rankings[rankings.reference].arch) == references
    assert rankings[rankings.reference].position.isna().all() and rankings[rankings.reference].overall.isna().all()
    both = rankings[~rankings.reference]
    assert sorted(both.arch) == networks and both.position.min() == 1 and both.position.max() <= 3
    assert both.similarity.notna().all() and both.autoencoding.notna().all() and both.superres.notna().all()
    assert both.delineation.notna().all() and (both.n_benchmarks == 4).all()
    # rank intervals over joint bootstrap resamples, around each rank
    for column in ("similarity", "autoencoding", "overall", "position"):
        assert both[f"{column}_low"].notna().all(), column
        assert (both[f"{column}_low"] <= both[column]).all() and (both[column] <= both[f"{column}_high"]).all()
    assert rankings[rankings.reference].similarity_low.notna().sum() == 3  # l2, mmdpp, ssim would-be ranks

    scores = pd.read_csv(demo_out(demo_run) / "results/tables/scores.csv", keep_default_na=False)
    headline = scores[(scores.subset == "") & (scores.layer != "all")]
    similarity = headline[(headline.benchmark == "similarity") & (headline.weights == "random")]
    assert sorted(similarity.distance.unique()) == ["gram", "lpips", "meanpool"]
    assert len(similarity) == len(networks) * len(config["layers"]) * 2 * 3  # arch x layer x {2afc, jnd} x distance
    assert headline[headline.benchmark == "similarity"].value.between(0, 1).all()
    # a 95% interval on every headline row (references and all-layer sums too), around its value
    every = scores[scores.subset == ""].astype({"ci_low": float, "ci_high": float, "value": float})
    assert every.ci_low.notna().all() and every.ci_high.notna().all()
    assert ((every.ci_low <= every.value + 1e-9) & (every.value <= every.ci_high + 1e-9)).all()
    assert (every.ci_high > every.ci_low).any()
    # JND: one mAP over the pooled pairs of both subsets, with the per-subset rows kept
    jnd = scores[(scores.metric == "jnd") & (scores.arch == "alexnet") & (scores.layer == "M")
                 & (scores.distance == "lpips")]
    assert sorted(jnd.subset) == ["", "cnn", "traditional"]
    assert float(jnd[jnd.subset == ""].n.item()) == jnd[jnd.subset != ""].n.astype(float).sum()
    # benchmark 4 records all seven probes
    probes = scores[(scores.benchmark == "autoencoding") & scores.subset.str.startswith("probe ")]
    assert probes.groupby(["arch", "layer", "metric"]).size().eq(7).all()
    assert (demo_out(demo_run) / "logs/similarity/cache/random/alexnet.log").read_text()

    # Benchmark 2: all 12 metrics for each demo architecture (demo.yaml: layer M only) and both references.
    superres = headline[headline.benchmark == "superres"]
    paper = pd.read_csv(published_path())
    metrics = set(paper.loc[paper.benchmark == "superres", "metric"])
    assert len(metrics) == 12
    for arch in networks + ["bicubic", "pixel"]:
        assert set(superres.loc[superres.arch == arch, "metric"]) == metrics, arch
    assert superres[superres.metric.str.startswith("ssim")].value.between(-1, 1).all()

    # Benchmark 4: the probes beat chance (10 classes) on both synthetic datasets, by three standard errors of
    # the mean accuracy over the loss networks' test sets.
    n_test = config["autoencoding"]["demo"]["n_test"]
    autoencoding = headline[(headline.benchmark == "autoencoding") & (headline.weights == "random")]
    for dataset in ("svhn", "stl10"):
        accuracies = autoencoding[autoencoding.metric == dataset].value
        assert len(accuracies) == len(networks) * len(config["autoencoding"]["layers"] or config["layers"])
        standard_error = math.sqrt(0.1 * 0.9 / (n_test * len(accuracies)))
        assert accuracies.mean() > 0.1 + 3 * standard_error, (dataset, accuracies.tolist())

    # Benchmark 3: the three metrics for every network and layer and for the BCE-only reference, in [0, 1] or NaN.
    delineation = headline[headline.benchmark == "delineation"]
    assert sorted(delineation.groupby(["arch", "layer"]).metric.apply(sorted).apply(tuple).unique()) == [
        ("completeness", "correctness", "quality")]
    n_layers = len(config["delineation"]["layers"] or config["layers"])
    assert len(delineation) == 3 * (len(networks) * n_layers + 1)
    assert set(delineation[delineation.weights == "none"].arch) == {"pixel"}
    values = pd.to_numeric(delineation.value, errors="coerce")
    assert (values.between(0, 1) | values.isna()).all()


@pytest.mark.slow
def test_demo_report_and_image_mean_build_offline(demo_copy):
    result = snakemake(demo_copy, "--cores", "2", "results/report.html", "results/figures/image_mean.png",
                       "--configfile", "demo.yaml", timeout=900)
    assert result.returncode == 0, tail(result)
    counts = job_counts(result.stdout + result.stderr)  # a real run prints its job stats on stderr
    assert "similarity_cache" not in counts and "autoencoder_train" not in counts  # reuses the demo run
    report = (demo_out(demo_copy) / "results/report.html").read_text()
    assert "<img" in report and "alexnet" in report.lower() and "best layer" in report.lower()
    assert "Network-free references (not ranked)" in report and "not separable" in report
    assert "3 architectures ranked 1..3" in report and "14 architectures" not in report
    for name in ("fig2_layers", "fig3_autoencoding", "fig4_flops", "fig5_imagenet", "heatmap"):
        assert (demo_out(demo_copy) / f"results/figures/random/{name}.png").stat().st_size > 10_000
    assert (demo_out(demo_copy) / "results/figures/superres_examples.png").stat().st_size > 10_000
    assert "superres_examples" in report  # the benchmarks' own figures are in the report too
    best = pd.read_csv(demo_out(demo_copy) / "results/tables/best_layers.csv")
    assert set(best.metric) == {"2afc", "jnd", "correctness", "completeness", "quality", "svhn", "stl10"} | {
        f"{kind}_{dataset}_x{scale}" for kind in ("psnr", "ssim") for dataset in ("set5", "set14", "bsd100")
        for scale in (4, 8)}
    image_mean = pd.read_csv(demo_out(demo_copy) / "results/figures/image_mean.csv")
    assert len(image_mean) >= 4


@pytest.fixture
def archive_server(tmp_path_factory):
    """A loopback HTTP server serving generated BAPPS archives (the "remote")."""
    import functools
    import http.server
    import threading

    from lossnet.benchmarks.similarity.demo import make_bapps, write_bapps_archives

    folder = tmp_path_factory.mktemp("remote")
    make_bapps(folder / "bapps", n_2afc=2, n_jnd=0, seed=1, subsets_2afc=("traditional", "cnn", "mix"),
               subsets_jnd=(), part="train")
    archives = write_bapps_archives(make_bapps(folder / "bapps", n_2afc=3, n_jnd=3), folder / "served")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder / "served"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", archives
    server.shutdown()
    thread.join(timeout=10)


def test_download_extract_prepare_from_a_loopback_remote(workdir, archive_server):
    import hashlib

    import h5py

    url, archives = archive_server
    digest = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in archives.items()}
    (workdir / "remote.yaml").write_text(
        "similarity:\n  archives:\n"
        f"    twoafc_val: {{url: '{url}/twoafc_val.tar.gz', sha256: '{digest['twoafc_val']}'}}\n"
        f"    jnd: {{url: '{url}/jnd.tar.gz', sha256: '{digest['jnd']}'}}\n"
        f"    twoafc_train: {{url: '{url}/twoafc_train.tar.gz', sha256: '{digest['twoafc_train']}'}}\n"
    )
    result = snakemake(workdir, "--cores", "2", "data/prepared/bapps.h5", "data/prepared/bapps_train.h5",
                       "--configfile", "remote.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with h5py.File(workdir / "data/prepared/bapps.h5") as h5:
        assert sorted(h5["2afc"]) == sorted(["traditional", "cnn", "superres", "deblur", "color", "frameinterp"])
        assert h5["jnd/cnn/p0"].shape == (3, 64, 64, 3)
    with h5py.File(workdir / "data/prepared/bapps_train.h5") as h5:  # the calibration's train part, as unpacked
        assert sorted(h5["2afc"]) == ["cnn", "mix", "traditional"] and h5.attrs["part"] == "train"
        assert h5["2afc/mix/ref"].shape == (2, 64, 64, 3)


def test_the_demo_and_the_study_never_share_files(workdir):
    """demo.yaml's `workdir`: the demo's data, results and logs live in demo/, the study's in the repository root."""
    (workdir / "tiny.yaml").write_text("demo: {n_bapps: 4}\n")
    result = snakemake(workdir, "--cores", "1", "data/demo/bapps", "--configfile", "demo.yaml", "tiny.yaml")
    assert result.returncode == 0, tail(result)
    out = demo_out(workdir)
    assert out != workdir and (out / "data/demo/bapps/2afc").is_dir() and (out / "logs/data/demo_bapps.log").exists()
    assert not (workdir / "data").exists() and not (workdir / "logs").exists()
    study = snakemake(workdir, "-n", "results/tables/rankings.csv")
    assert study.returncode == 0 and "Creating specified working directory" not in study.stderr, tail(study)
    assert job_counts(study.stdout)["prepare_bapps"] == 1  # the study prepares its own data, not the demo's
