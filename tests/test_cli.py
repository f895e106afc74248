"""The `lossnet` command as users meet it: compare, --version, defaults in --help, weights first, a clean checkout."""

import csv
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import lossnet
from lossnet import cli
from lossnet.weights import build_model


def _image(path, size=(40, 32), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_two_files_to_stdout_matches_the_library(tmp_path, capsys):
    a, b = _image(tmp_path / "a.png"), _image(tmp_path / "b.png", seed=1)
    code, out, err = _run(["compare", str(a), str(b), "--arch", "vgg16", "--layers", "E", "M", "--weights", "random",
                           "--distance", "mse"], capsys)
    assert code == 0, err
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["layers"] == "E M" and row["distance"] == "mse" and row["weights"] == "random"
    net = lossnet.LossNetwork("vgg16", ["E", "M"], weights="random")
    from lossnet.compare import read_image
    expected = lossnet.distance("mse", net(read_image(a)), net(read_image(b))).item()
    assert float(row["value"]) == pytest.approx(expected, rel=1e-5)


def test_compare_folders_by_file_name_to_a_csv(tmp_path, capsys):
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    for i, name in enumerate(["p.png", "q.jpg", "r.png"]):
        _image(tmp_path / "x" / name, seed=i), _image(tmp_path / "y" / name, seed=i if name == "p.png" else 9)
    (tmp_path / "x" / "notes.txt").write_text("not an image")
    out_csv = tmp_path / "out" / "d.csv"
    out_csv.parent.mkdir()
    code, out, err = _run(["compare", str(tmp_path / "x"), str(tmp_path / "y"), "--weights", "random",
                           "--no-calibrated", "--output", str(out_csv)], capsys)
    assert code == 0, err and out == ""
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["a"].rsplit("/", 1)[1] for r in rows] == ["p.png", "q.jpg", "r.png"]
    assert rows[0]["layers"] == "features.1 features.4 features.7 features.9 features.11"
    assert float(rows[0]["value"]) == 0 and float(rows[1]["value"]) > 0
    code, out, err = _run(["compare", str(tmp_path / "x"), str(tmp_path / "y"), "--distance", "ssim"], capsys)
    assert code == 0 and "none" in out.splitlines()[1]  # network-free: no weights needed


def test_compare_clear_errors(tmp_path, capsys):
    a, small = _image(tmp_path / "a.png"), _image(tmp_path / "small.png", size=(20, 16))
    code, _, err = _run(["compare", str(a), str(small), "--weights", "random", "--no-calibrated"], capsys)
    assert code == 1 and "40x32" in err and "20x16" in err and "--resize" in err
    code, out, err = _run(["compare", str(a), str(small), "--weights", "random", "--no-calibrated",
                           "--resize", "64x72"], capsys)
    assert code == 0, err
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    _image(tmp_path / "x" / "one.png"), _image(tmp_path / "x" / "two.png"), _image(tmp_path / "y" / "one.png")
    code, _, err = _run(["compare", str(tmp_path / "x"), str(tmp_path / "y"), "--weights", "random"], capsys)
    assert code == 1 and "partner" in err and "two.png" in err
    code, _, err = _run(["compare", str(a), str(tmp_path / "x")], capsys)
    assert code == 1 and "two image files or two folders" in err
    code, _, err = _run(["compare", str(a), str(a), "--weights", str(tmp_path / "missing.pth")], capsys)
    assert code == 1 and "missing.pth does not exist" in err


def test_version_and_defaults_in_every_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"lossnet {lossnet.__version__}"
    parser = cli.parser()
    subcommands = parser._subparsers._group_actions[0].choices
    assert {"archs", "compare", "similarity", "rank", "recommend"} <= set(subcommands)
    for name, sub in subcommands.items():
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False) and action.dest != "help":
                shown = " ".join(f"default: {action.default}".split())[:18]
                assert shown in text or "default" in (action.help or ""), (name, action.dest)


def test_similarity_resolves_weights_before_reading_data(tmp_path, capsys, monkeypatch):
    from lossnet.benchmarks.similarity import data as bapps

    def must_not_run(*args, **kwargs):
        raise AssertionError("the dataset was decoded before the weights were checked")

    monkeypatch.setattr(bapps, "prepare", must_not_run)
    code, _, err = _run(["similarity", str(tmp_path), "--arch", "alexnet", "--weights", str(tmp_path / "w.pth"),
                         "--output", str(tmp_path / "s.csv")], capsys)
    assert code == 1 and "w.pth does not exist" in err
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # empty cache; no network in tests

    import lossnet.weights as weights

    def offline(arch):
        raise weights.WeightsUnavailableError(f"ImageNet weights for {arch} are not cached (offline)")

    monkeypatch.setattr(weights, "_imagenet_state_dict", offline)
    code, _, err = _run(["similarity", str(tmp_path), "--arch", "alexnet", "--weights", "imagenet",
                         "--output", str(tmp_path / "s.csv")], capsys)
    assert code == 1 and "not cached" in err and not (tmp_path / "s.csv").exists()


def test_commands_write_nothing_into_the_working_directory(tmp_path):
    a = _image(tmp_path / "a.png")
    work = tmp_path / "checkout"
    work.mkdir()
    for argv in (["archs"], ["--version"], ["compare", str(a), str(a), "--weights", "random", "--no-calibrated"],
                 ["similarity", "--help"]):
        subprocess.run([sys.executable, "-m", "lossnet.cli", *argv], cwd=work, check=True, capture_output=True,
                       env={**__import__("os").environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert list(work.iterdir()) == []


def test_state_dict_weights_work_offline_for_compare(tmp_path, capsys):
    path = tmp_path / "alexnet.pth"
    import torch
    torch.save(build_model("alexnet", "random").state_dict(), path)
    a = _image(tmp_path / "a.png")
    code, out, err = _run(["compare", str(a), str(a), "--weights", str(path), "--no-calibrated"], capsys)
    assert code == 0 and float(out.splitlines()[1].rsplit(",", 1)[1]) == 0
