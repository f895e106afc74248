"""One convention for every command (issue 25): tables as CSV to stdout unless -o, help text on every argument,
plain text in `lossnet --help`, and `archs ARCH` in forward order with the E/S/M/L marks and output shapes."""

import argparse
from io import StringIO

import pandas as pd
import pytest

from lossnet import cli
from lossnet.analysis.published import published_path


def _commands() -> dict[str, argparse.ArgumentParser]:
    main = cli.parser()
    subparsers = next(a for a in main._actions if isinstance(a, argparse._SubParsersAction))
    return {"lossnet": main, **subparsers.choices}


def test_every_argument_has_help():
    missing = [f"{name} {action.dest}" for name, command in _commands().items() for action in command._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_main_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":mod:" not in text and "stdout" in text


@pytest.mark.parametrize("command", ["rank", "superres-metrics", "delineation-metrics", "similarity", "attributes"])
def test_output_is_optional(command):
    output = next(a for a in _commands()[command]._actions if "--output" in a.option_strings)
    assert not output.required and "-o" in output.option_strings and "stdout" in output.help


def test_rank_writes_csv_to_stdout_or_only_to_the_file(tmp_path, capsys):
    assert cli.main(["rank", str(published_path())]) == 0
    printed = pd.read_csv(StringIO(capsys.readouterr().out))
    assert len(printed) == 14 and printed["position"].min() == 1
    assert cli.main(["rank", str(published_path()), "-o", str(tmp_path / "r.csv")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "r.csv" in captured.err
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "r.csv"), printed)


def test_archs_lists_modules_in_forward_order_with_labels_and_shapes(capsys):
    assert cli.main(["archs", "resnet18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["module", "label", "output", "CxHxW", "at", "64", "px"]
    rows = [line.split() for line in lines[1:]]
    modules = [row[0] for row in rows]
    # forward, not alphabetical: the stem before layer1, layer4 before the classifier
    assert modules.index("conv1") < modules.index("bn1") < modules.index("layer1") < modules.index("layer4")
    assert modules.index("layer4") < modules.index("avgpool") < modules.index("fc")
    marked = {row[0]: row[1] for row in rows if len(row) == 3}
    assert marked == {"relu": "E", "layer1": "S", "layer2": "M", "layer4": "L"}  # zoo: resnet18's E/S/M/L
    shapes = {row[0]: row[-1] for row in rows}
    assert shapes["conv1"] == "64x32x32" and shapes["layer4"] == "512x2x2" and shapes["fc"] == "1000"
