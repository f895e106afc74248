"""The Snakemake workflow as a user runs it: config validation, the planned DAG, offline behaviour, the demo."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "config.yaml", "demo.yaml", "rules", "scripts", "schemas", "profiles"]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow, as a new clone would have it."""
    for name in WORKFLOW_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    return tmp_path


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(SNAKEMAKE + list(args), cwd=workdir, capture_output=True, text=True, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE) if m.group(1) != "total"}


def test_paper_config_plans_the_study(workdir):
    result = snakemake(workdir, "-n", "results/tables/rankings.csv")
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["similarity_cache"] == 14
    assert counts["similarity_score"] == 56
    assert counts["similarity_score_all_layers"] == 14
    assert counts["similarity_pixel"] == 3
    assert counts["download_bapps"] == 2
    # benchmark 4: 14 architectures x 4 layers x {svhn, stl10}, plus the pixel-MSE reference per dataset
    assert counts["autoencoder_train"] == counts["autoencoder_probe"] == 56 * 2
    assert counts["autoencoder_train_pixel"] == counts["autoencoder_probe_pixel"] == 2
    assert counts["download_svhn"] == 3 and counts["download_stl10"] == 1


def test_config_typo_is_named(workdir):
    (workdir / "typo.yaml").write_text("similarity:\n  batchsize: 8\n")
    result = snakemake(workdir, "-n", "--configfile", "typo.yaml")
    assert result.returncode != 0
    assert "batchsize" in result.stdout + result.stderr


def test_config_wrong_type_is_named(workdir):
    (workdir / "wrong.yaml").write_text("similarity:\n  batch_size: lots\n")
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
    log = (workdir / "logs/data/download_bapps_jnd.log").read_text()
    assert "data/raw/bapps/jnd.tar.gz" in log
    assert not (workdir / "data/raw/bapps/jnd.tar.gz").exists()


@pytest.mark.slow
def test_offline_demo_produces_rankings(workdir):
    result = snakemake(workdir, "--cores", "2", "results/tables/rankings.csv", "--configfile", "demo.yaml", timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rankings = pd.read_csv(workdir / "results/tables/rankings.csv")
    assert sorted(rankings.arch) == ["alexnet", "resnet18", "squeezenet1_1"]
    assert set(rankings.weights) == {"random"} and sorted(rankings.position) in ([1, 2, 3], [1, 1, 3], [1, 2, 2], [1, 1, 1])
    scores = pd.read_csv(workdir / "results/tables/scores.csv", keep_default_na=False)
    assert len(scores[(scores.subset == "") & (scores.layer != "all")]) == 3 * 4 * 2  # arch x layer x {2afc, jnd}
    assert scores.value.between(0, 1).all()
    assert (workdir / "logs/similarity/cache/random/alexnet.log").read_text()


@pytest.fixture
def archive_server(tmp_path_factory):
    """A loopback HTTP server serving generated BAPPS archives (the "remote")."""
    import functools
    import http.server
    import threading

    from lossnet.demo import make_bapps, write_bapps_archives

    folder = tmp_path_factory.mktemp("remote")
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
    )
    result = snakemake(workdir, "--cores", "2", "data/prepared/bapps.h5", "--configfile", "remote.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with h5py.File(workdir / "data/prepared/bapps.h5") as h5:
        assert sorted(h5["2afc"]) == sorted(["traditional", "cnn", "superres", "deblur", "color", "frameinterp"])
        assert h5["jnd/cnn/p0"].shape == (3, 64, 64, 3)
