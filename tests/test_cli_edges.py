"""Every bad input to the `lossnet` commands gets one line, naming the argument or file, before any computing
(issue 20): arguments validated like the config, one output-path check, atomic outputs, a closed pipe, --debug."""

import csv
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lossnet import cli
from lossnet.weights import build_model


def _image(path, size=(40, 32), seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv, named", [
    (["superres-metrics", "h", "s", "--scale", "0", "--output", "o.csv"], "--scale"),
    (["superres-metrics", "h", "s", "--scale", "-4", "--output", "o.csv"], "--scale"),
    (["delineation-metrics", "p", "t", "--threshold", "2", "--output", "o.csv"], "--threshold"),
    (["delineation-metrics", "p", "t", "--threshold", "-1", "--output", "o.csv"], "--threshold"),
    (["delineation-metrics", "p", "t", "--slack", "-3", "--output", "o.csv"], "--slack"),
    (["delineation-metrics", "p", "t", "--slack", "nan", "--output", "o.csv"], "--slack"),
    (["compare", "a.png", "b.png", "--resize", "100000"], "--resize"),
    (["rank", "s.csv", "-o", "r.csv", "--distance", "ssim"], "--distance"),
])
def test_arguments_are_validated_like_the_config(argv, named, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"lossnet {argv[0]}: error: argument {named}")


def test_rank_distance_is_checked_by_the_library_too():
    from lossnet.analysis.rank import RANKABLE_DISTANCES, check_rank_distance
    from lossnet.distances import FEATURE_DISTANCES

    assert set(RANKABLE_DISTANCES) == set(FEATURE_DISTANCES)
    assert check_rank_distance("gram") == "gram"
    with pytest.raises(ValueError, match="cannot rank by the distance 'ssim': only the feature distances lpips"):
        check_rank_distance("ssim")


def test_non_spatial_layer_is_refused_with_the_spatial_ones(tmp_path, capsys):
    a = _image(tmp_path / "a.png")
    code = cli.main(["compare", str(a), str(a), "--weights", "random", "--no-calibrated", "--layers", "classifier.6",
                     "--distance", "mse"])
    line = _one_line(capsys.readouterr().err)
    assert code == 1 and "classifier.6" in line and "features.11" in line


def test_compare_leaves_no_partial_file(tmp_path, capsys):
    (tmp_path / "x").mkdir(), (tmp_path / "y").mkdir()
    for name in ("1.png", "2.png", "3.png"):
        _image(tmp_path / "x" / name), _image(tmp_path / "y" / name, seed=1)
    (tmp_path / "y" / "3.png").write_bytes(b"not a png")
    output = tmp_path / "out.csv"
    code = cli.main(["compare", str(tmp_path / "x"), str(tmp_path / "y"), "--distance", "l2", "-o", str(output)])
    assert code == 1 and "3.png" in _one_line(capsys.readouterr().err)
    assert not output.exists() and list(tmp_path.glob("out.csv*")) == []


@pytest.mark.parametrize("command", ["compare", "superres-metrics", "rank", "delineation-metrics"])
def test_unwritable_output_is_found_before_computing(tmp_path, capsys, monkeypatch, command):
    import lossnet.analysis.rank as rank
    import lossnet.benchmarks.delineation.metrics as delineation
    import lossnet.benchmarks.superres.evaluate as superres
    import lossnet.compare as compare

    def no_computing(*args, **kwargs):
        raise AssertionError("computed before checking the output")

    for module, name in ((compare, "compare"), (superres, "score_folders"), (rank, "rank_files"),
                         (delineation, "score_predictions")):
        monkeypatch.setattr(module, name, no_computing)
    (tmp_path / "file").write_text("")
    output = str(tmp_path / "file" / "out.csv")
    argv = {"compare": ["compare", "a", "b", "-o", output],
            "superres-metrics": ["superres-metrics", "h", "s", "--scale", "4", "--output", output],
            "rank": ["rank", "s.csv", "-o", output],
            "delineation-metrics": ["delineation-metrics", "p", "t", "--output", output]}[command]
    code = cli.main(argv)
    line = _one_line(capsys.readouterr().err)
    assert code == 1 and output in line and "is a file, not a folder" in line


def test_a_failing_cleanup_does_not_hide_the_error(tmp_path, monkeypatch):
    from pathlib import Path

    from lossnet._util import atomic_output

    def read_only(self, missing_ok=False):
        raise OSError(30, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(KeyError, match="the first error"):
        with atomic_output(tmp_path / "x.csv"):
            raise KeyError("the first error")


def test_calibrated_weights_on_random_backbone_are_labelled_and_warned(tmp_path, capsys):
    a = _image(tmp_path / "a.png")
    code = cli.main(["compare", str(a), str(a), "--weights", "random"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (row,) = csv.DictReader(out.splitlines())
    assert row["distance"] == "lpips-channel-weighted"
    line = _one_line(err)
    assert line.startswith("lossnet compare: warning: LPIPS's channel weights") and "--no-calibrated" in line


def test_nan_weights_are_refused_when_loaded(tmp_path, capsys):
    state = build_model("alexnet", "random").state_dict()
    state["features.0.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pth"
    torch.save(state, path)
    a = _image(tmp_path / "a.png")
    code = cli.main(["compare", str(a), str(a), "--weights", str(path), "--no-calibrated"])
    line = _one_line(capsys.readouterr().err)
    assert code == 1 and str(path) in line and "NaN or infinite" in line and "features.0.weight" in line


def test_unexpected_errors_are_one_line_and_debug_shows_the_trace(tmp_path, capsys, monkeypatch):
    import lossnet.compare as compare

    def bug(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(compare, "compare", bug)
    a = _image(tmp_path / "a.png")
    assert cli.main(["compare", str(a), str(a)]) == 1
    assert "TypeError: a bug" in _one_line(capsys.readouterr().err)
    with pytest.raises(TypeError):
        cli.main(["compare", str(a), str(a), "--debug"])


def test_rank_on_an_empty_csv_names_the_file(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code = cli.main(["rank", str(empty), "-o", str(tmp_path / "r.csv")])
    line = _one_line(capsys.readouterr().err)
    assert code == 1 and f"{empty} is empty" in line


def test_a_closed_pipe_is_quiet():
    # `lossnet archs vgg16 | head`: stdout is a pipe whose reader is gone (here: from the start, so it is certain).
    code = ("import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); from lossnet.cli import main; "
            "sys.exit(main(['archs', 'vgg16']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.stderr == "" and result.returncode == 1
