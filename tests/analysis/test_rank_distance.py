"""The ranked feature distance (config similarity.rank_distance): chosen explicitly, never silently empty."""

import pandas as pd
import pytest

from lossnet.analysis.rank import write_rankings


def _scores(path, distances=("gram",)):
    rows = [
        {"benchmark": "similarity", "metric": "2afc", "arch": arch, "layer": "E", "weights": "imagenet",
         "value": value + 0.01 * i, "higher_is_better": True, "subset": "", "distance": distance}
        for i, distance in enumerate(distances)
        for arch, value in (("alexnet", 0.7), ("vgg16", 0.6))
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_scores_without_the_ranked_distance_are_refused(tmp_path):
    scores = _scores(tmp_path / "scores.csv")
    with pytest.raises(ValueError, match=r"\['gram'\] but not with 'lpips'"):
        write_rankings([scores], tmp_path / "rankings.csv")
    assert not (tmp_path / "rankings.csv").exists()


def test_the_ranked_distance_is_the_one_asked_for(tmp_path):
    scores = _scores(tmp_path / "scores.csv", ("gram", "lpips"))
    table = write_rankings([scores], tmp_path / "rankings.csv", distance="gram")
    assert table.set_index("arch")["similarity"].to_dict() == {"alexnet": 1.0, "vgg16": 2.0}
    assert table["similarity"].notna().all()


def test_the_rank_command_takes_the_distance(tmp_path):
    from lossnet.cli import main

    scores = _scores(tmp_path / "scores.csv")
    output = tmp_path / "rankings.csv"
    assert main(["rank", str(scores), "-o", str(output)]) != 0
    assert not output.exists()
    assert main(["rank", str(scores), "-o", str(output), "--distance", "gram"]) == 0
    assert pd.read_csv(output).set_index("arch")["similarity"].to_dict() == {"alexnet": 1.0, "vgg16": 2.0}
