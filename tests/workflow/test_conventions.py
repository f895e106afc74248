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
