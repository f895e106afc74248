"""Rankings (Table III) from a hand-computed scores table, in the library and through the CLI."""

import pandas as pd
import pytest

from lossnet.cli import main
from lossnet.analysis.rank import best_layers, rank
from lossnet.benchmarks.scores import read_scores

ROWS = [
    # benchmark, metric, arch, layer, value, higher_is_better, subset
    ("similarity", "2afc", "A", "E", 0.6, True, ""),
    ("similarity", "2afc", "A", "L", 0.7, True, ""),
    ("similarity", "2afc", "B", "E", 0.65, True, ""),
    ("similarity", "2afc", "C", "M", 0.7, True, ""),
    ("similarity", "2afc", "A", "E", 0.99, True, "traditional"),  # a breakdown: not ranked
    ("similarity", "2afc", "B", "all", 0.99, True, ""),  # all-layer sum: not ranked
    ("similarity", "jnd", "A", "E", 0.5, True, ""),
    ("similarity", "jnd", "B", "E", 0.6, True, ""),
    ("similarity", "jnd", "C", "E", 0.4, True, ""),
    ("superres", "psnr_set5_x4", "A", "S", 20.0, True, ""),
    ("superres", "psnr_set5_x4", "B", "S", 25.0, True, ""),
    ("superres", "psnr_set5_x4", "C", "S", 22.0, True, ""),
    ("superres", "error", "A", "S", 0.1, False, ""),
    ("superres", "error", "A", "M", 0.05, False, ""),
    ("superres", "error", "B", "S", 0.3, False, ""),
    ("superres", "error", "C", "S", 0.2, False, ""),
]


@pytest.fixture
def scores() -> pd.DataFrame:
    columns = ["benchmark", "metric", "arch", "layer", "value", "higher_is_better", "subset"]
    table = pd.DataFrame(ROWS, columns=columns).assign(weights="imagenet")
    random = table.assign(weights="random", value=lambda t: t.value.where(t.arch != "C", -1.0))
    return pd.concat([table, random], ignore_index=True)


def test_rankings_by_hand(scores):
    table = rank(scores).set_index(["weights", "arch"])
    imagenet = table.loc["imagenet"]
    # 2afc: A and C tie at 0.7 -> 1.5 each, B 3; jnd: B 1, A 2, C 3 -> similarity A 1.75, B 2, C 2.25
    assert imagenet["similarity"].to_dict() == {"A": 1.75, "B": 2.0, "C": 2.25}
    # psnr: B 1, C 2, A 3; error (lower is better, A's best layer M 0.05): A 1, C 2, B 3 -> 2, 2, 2
    assert imagenet["superres"].to_dict() == {"A": 2.0, "B": 2.0, "C": 2.0}
    assert imagenet["overall"].to_dict() == {"A": 1.875, "B": 2.0, "C": 2.125}
    assert imagenet["position"].to_dict() == {"A": 1, "B": 2, "C": 3}
    assert list(table.columns) == ["similarity", "superres", "overall", "n_benchmarks", "position"]


def test_weights_variants_are_ranked_separately(scores):
    random = rank(scores).set_index(["weights", "arch"]).loc["random"]
    assert random.loc["C", "position"] == 3  # C is worst everywhere in the random variant
    assert random["similarity"].to_dict() == {"A": 1.5, "B": 1.5, "C": 3.0}


def test_best_layers(scores):
    best = best_layers(scores).set_index(["weights", "benchmark", "metric", "arch"])
    assert best.loc[("imagenet", "similarity", "2afc", "A"), "layer"] == "L"
    assert best.loc[("imagenet", "superres", "error", "A"), "layer"] == "M"


def test_cli_rank_round_trip(scores, tmp_path):
    scores.to_csv(tmp_path / "scores.csv", index=False)
    assert main(["rank", str(tmp_path / "scores.csv"), "-o", str(tmp_path / "rankings.csv")]) == 0
    written = pd.read_csv(tmp_path / "rankings.csv")
    assert written[written.weights == "imagenet"].sort_values("position").arch.tolist() == ["A", "B", "C"]


def test_a_file_without_the_schema_is_named(tmp_path):
    pd.DataFrame({"arch": ["A"], "value": [1.0]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv is not a scores file: missing columns \['benchmark'"):
        read_scores([tmp_path / "bad.csv"])


def test_tied_layers_pick_the_earlier_one():
    tied = pd.DataFrame({"benchmark": "b", "metric": "m", "arch": "A", "layer": ["L", "S", "M"], "weights": "w",
                         "value": 0.5, "higher_is_better": True})
    assert best_layers(tied).layer.item() == "S"


def test_reference_rows_join_every_variant_and_other_distances_are_not_ranked(scores):
    extra = pd.DataFrame({
        "benchmark": "similarity", "metric": ["2afc", "jnd", "2afc"], "arch": ["mmdpp", "mmdpp", "A"],
        "layer": ["-", "-", "E"], "weights": ["none", "none", "imagenet"], "value": [0.9, 0.9, 0.99],
        "higher_is_better": True, "subset": "", "distance": ["mmdpp", "mmdpp", "gram"],
    })
    table = rank(pd.concat([scores, extra], ignore_index=True)).set_index(["weights", "arch"])
    assert table.loc[("imagenet", "mmdpp"), "similarity"] == 1.0  # best on both metrics
    assert table.loc[("random", "mmdpp"), "similarity"] == 1.0
    # A's gram row (0.99) is not ranked: A keeps 2afc rank 2.5 (0.7 tied with C, behind mmdpp) and jnd 3
    assert table.loc[("imagenet", "A"), "similarity"] == (2.5 + 3) / 2
