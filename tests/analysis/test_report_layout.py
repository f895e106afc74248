"""The report's layout (issue 25): contents, numbered captions, Table IV per benchmark, E S M L order, honest
correlations, the reproduction table, links to every file; and its explorer driven in a real browser."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from browser import Chromium, chromium_path
from lossnet.analysis import tables as analysis
from lossnet.analysis.published import published_scores
from lossnet.analysis.rank import rank
from lossnet.analysis.report import build_report, correlation_view, in_layer_order, split_wide
from test_analysis import synthetic_attributes

ARCHS = ["alexnet", "vgg11", "resnet18"]


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    paper = published_scores()
    paper = paper[paper["arch"].isin(ARCHS)].reset_index(drop=True)
    return paper.assign(ci_low=paper["value"] * 0.99, ci_high=paper["value"] * 1.01)


@pytest.fixture(scope="module")
def page(tmp_path_factory, scores) -> Path:
    folder = tmp_path_factory.mktemp("report")
    attributes = synthetic_attributes(ARCHS)
    best = analysis.best_layer_table(scores)
    rankings = rank(scores)
    (folder / "tables").mkdir()
    files = [folder / "tables" / "rankings.csv", folder / "tables" / "sensitivity.csv"]
    for path in files:
        path.write_text("x\n")
    sensitivity = pd.DataFrame({"weights": "imagenet", "arch": "alexnet", "layer": ["E", "L", "M", "S"],
                                "distance": "lpips", "agreement": [0.1, 0.4, 0.3, 0.2]})
    return build_report(rankings, best, analysis.layer_summary(best, scores),
                        analysis.correlations(scores, attributes, rankings), [], folder / "report.html",
                        tables={"sensitivity": sensitivity}, scores=scores, attributes=attributes,
                        published=published_scores(), files=files)


def test_contents_sections_and_numbered_captions(page):
    text = page.read_text()
    contents = text[text.index("<nav class='toc'>"):text.index("</nav>")]
    # Correlations and agreement are inside their weights section (1.x), the others after it
    for entry in ("1 Weights: imagenet", "1.1 Rankings", "1.2 Best extraction layer", "1.4 Correlations",
                  "1.5 Agreement", "Reproduction", "Explorer", "Files"):
        assert entry in contents, entry
    assert "<h3 id='s1-4'>1.4 Correlations with attributes</h3>" in text
    numbers = [int(n) for n in re.findall(r"<b>Table (\d+)\.</b>", text)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 8
    # Table IV: one table per benchmark, super-resolution's 12 scores in two of 6
    assert "B1 perceptual similarity: the best layer" in text and "B2 super-resolution (part 2 of 2)" in text
    assert "href='tables/rankings.csv'" in text and "href='tables/sensitivity.csv'" in text


def test_layers_read_e_s_m_l_everywhere():
    frame = pd.DataFrame({"weights": "w", "arch": ["b", "b", "a", "a"], "layer": ["L", "E", "S", "E"], "v": range(4)})
    assert in_layer_order(frame)[["arch", "layer"]].values.tolist() == [["b", "E"], ["b", "L"], ["a", "E"], ["a", "S"]]
    grid = pd.DataFrame({"arch": ["a"], "L": [1], "E": [2], "M": [3], "S": [4]})
    assert list(in_layer_order(grid).columns) == ["arch", "E", "S", "M", "L"]


def test_a_wide_table_is_split_by_column_group():
    frame = pd.DataFrame({"arch": ["a"], "2afc_gram": [1], "2afc_lpips": [2], "jnd_gram": [3], "jnd_lpips": [4]})
    parts = split_wide(frame, ["arch"])
    assert list(parts) == ["2afc", "jnd"] and list(parts["jnd"].columns) == ["arch", "gram", "lpips"]
    assert list(split_wide(frame[["arch", "2afc_gram"]], ["arch"])) == [""]


def test_correlations_state_n_and_the_smallest_p_and_keep_every_tie():
    rows = [{"analysis": "score_vs_attribute", "weights": "w", "benchmark": "b", "metric": "m", "layer": "best",
             "variable": f"v{i}", "n": 3, "spearman": 1.0, "spearman_p": 1 / 3, "pearson": 0.9,
             "pearson_p": 1 / 3, "p_method": "exact permutation"} for i in range(20)]
    view, text = correlation_view(pd.DataFrame(rows), "w", top=5)
    assert len(view) == 20  # all tied at 1/3: no arbitrary 5 of them
    assert "n = 3 (smallest attainable p 0.333)" in text and "20 reach the smallest attainable p" in text
    assert analysis.smallest_p(3) == pytest.approx(1 / 3) and analysis.smallest_p(5) == pytest.approx(2 / 120)
    assert analysis.smallest_p(14) == 0 and np.isnan(analysis.smallest_p(2))


def test_reproduction_table_for_real_data_only(page, scores, tmp_path):
    text = page.read_text()
    assert "Reproduction: published (Pihlgren et al. 2023) vs this run" in text
    # this run = published, intervals of ±1%: every published value inside
    assert "24 of 24 published values inside" in text and "+0 ✓</span>" in text and "✗</span>" not in text
    best = analysis.best_layer_table(scores)
    synthetic = build_report(rank(scores), best, analysis.layer_summary(best, scores), pd.DataFrame(
        columns=analysis.CORRELATION_COLUMNS), [], tmp_path / "s.html", scores=scores, published=published_scores(),
        synthetic=["similarity", "superres", "autoencoding"]).read_text()
    assert "which ran on synthetic demo data here" in synthetic and "+0 ✓" not in synthetic


@pytest.mark.skipif(chromium_path() is None, reason="needs chromium (apt-get install chromium)")
def test_the_explorer_in_a_real_browser(page):
    with Chromium() as browser:
        tab = browser.open(page, width=1000)
        assert tab.evaluate("window.explorerReady === true")
        plot = "document.getElementById('explorer')"
        before = tab.evaluate(f"({plot}.data.map(t => t.y).flat())")
        assert tab.evaluate(f"{plot}.dataset.y") == "similarity/2afc" and len(before) == 12  # 3 archs x 4 layers
        assert tab.evaluate(f"{plot}.data.map(t => t.name)") == ["E", "S", "M", "L"]  # coloured by layer
        # change the y selector: the plot redraws with the other score
        tab.evaluate("(() => {const s = document.getElementById('explorer-y'); s.value = 'autoencoding/stl10';"
                     "s.dispatchEvent(new Event('change'));})()")
        after = tab.evaluate(f"({plot}.data.map(t => t.y).flat())")
        assert tab.evaluate(f"{plot}.dataset.y") == "autoencoding/stl10" and sorted(after) != sorted(before)
        assert 0.681 in after or any(abs(v - 0.724) < 1e-9 for v in after)  # vgg11 L's STL-10 accuracy
        assert "STL-10" in tab.evaluate(f"{plot}.layout.yaxis.title.text")
        # colour by architecture, x = layer
        tab.evaluate("(() => {for (const [id, v] of [['explorer-colour', 'arch_label'], ['explorer-x', 'layer']]) {"
                     "const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change'));}})()")
        assert sorted(tab.evaluate(f"{plot}.data.map(t => t.name)")) == ["AlexNet", "ResNet-18", "VGG-11"]
        assert tab.evaluate(f"{plot}.layout.xaxis.type") == "category"
        # hovering a point shows its architecture, layer, value and interval
        tab.evaluate(f"Plotly.Fx.hover({plot}, [{{curveNumber: 0, pointNumber: 0}}])")
        hover = tab.evaluate("document.querySelector('.hoverlayer .hovertext').textContent")
        assert "AlexNet" in hover and "layer E" in hover and "95% interval" in hover and "STL-10" in hover
        # sorting a table by a click on its header
        order = ("[...document.querySelectorAll('table.sortable')].find(t => t.caption.textContent.includes("
                 "'Distortion')).tBodies[0]")
        assert tab.evaluate(f"[...{order}.rows].map(r => r.cells[2].textContent)") == ["E", "S", "M", "L"]
        tab.evaluate(f"{order}.parentElement.tHead.rows[0].cells[4].click()")  # agreement, ascending
        assert tab.evaluate(f"[...{order}.rows].map(r => r.cells[2].textContent)") == ["E", "S", "M", "L"]
        tab.evaluate(f"{order}.parentElement.tHead.rows[0].cells[4].click()")  # descending
        assert tab.evaluate(f"[...{order}.rows].map(r => r.cells[2].textContent)") == ["L", "M", "S", "E"]
