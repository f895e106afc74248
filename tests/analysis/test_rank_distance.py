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


def test_a_view_of_ranked_scores_keeps_the_ranked_distance_beside_references(tmp_path):
    """Table IV reads ranked_scores(): gram rows beside the references' own distances (l2, ssim) are still gram's."""
    from lossnet.analysis.rank import ranked_distance, ranked_scores
    from lossnet.analysis.tables import best_layer_table

    scores = pd.read_csv(_scores(tmp_path / "scores.csv", ("gram", "lpips")))
    references = pd.DataFrame([{"benchmark": "similarity", "metric": "2afc", "arch": name, "layer": "-",
                                "weights": "none", "value": 0.65, "higher_is_better": True, "subset": "",
                                "distance": name} for name in ("l2", "ssim")])
    view = ranked_scores(pd.concat([scores, references], ignore_index=True), "gram")
    assert ranked_distance(view) == "gram"
    best = best_layer_table(view)
    networks = best[best["weights"] != "none"].set_index("arch")["value"].to_dict()
    assert networks == {"alexnet": 0.7, "vgg16": 0.6}  # gram's values (lpips's are 0.01 higher)
