"""The workflow as the Snakemake catalog expects it: `snakemake --lint` finds nothing (a conda environment on
every rule, functions only in rules/common.smk, no hard-coded path prefixes) and snakefmt leaves every file as it
is, for the paper's config and for the demo."""

import subprocess
import sys

import pytest
from conftest import REPO, snakemake, tail


@pytest.mark.parametrize("overlay", [[], ["--configfile", "demo.yaml"]], ids=["paper", "demo"])
def test_snakemake_lint_is_clean(workflow_copy, overlay):
    result = snakemake(workflow_copy, "--lint", *overlay, timeout=300)
    assert result.returncode == 0, tail(result)
    assert "Congratulations" in result.stdout + result.stderr, tail(result)


def test_snakefmt_leaves_every_workflow_file_unchanged():
    result = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "--diff", "Snakefile", "rules"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_paths_from_outside_are_anchored_to_the_launch_folder_as_the_schema_marks_them():
    """The demo works in demo/; a state_dict, a BAPPS folder or an image folder named relative to where Snakemake
    was started must still be found. Keywords (demo, offline, stl10, scikit-image names) stay as they are."""
    from lossnet.workflow import anchor_paths

    config = {"weight_files": {"mine": {"alexnet": "w/a.pth"}}, "similarity": {"root": "bapps"},
              "image_mean": {"images": "demo"}, "style_transfer": {"content": "astronaut", "style": "t/x.png"},
              "clustering": {"data": "stl10"}, "generative": {"data": "faces"}, "workdir": "demo",
              "seed003": {"image_mean": {"images": "offline"}}}
    anchor_paths(config, REPO / "schemas/config.schema.yaml", "/launch")
    assert config["weight_files"]["mine"]["alexnet"] == "/launch/w/a.pth"
    assert config["similarity"]["root"] == "/launch/bapps" and config["generative"]["data"] == "/launch/faces"
    assert config["style_transfer"] == {"content": "astronaut", "style": "/launch/t/x.png"}
    assert config["image_mean"]["images"] == "demo" and config["clustering"]["data"] == "stl10"
    assert config["seed003"]["image_mean"]["images"] == "offline" and config["workdir"] == "demo"
