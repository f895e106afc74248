"""bench/gpu_suite.sh --smoke (issue 26): every step of the GPU suite runs on the CPU at tiny sizes, writes its
markdown report and the step-time rows `lossnet estimate` reads."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lossnet.estimate import read_step_times

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None,
                    reason="needs bash and snakemake")
def test_gpu_suite_smoke_writes_a_report_and_step_times(tmp_path):
    pytest.importorskip("lpips")
    env = {**os.environ, "PYTHON": sys.executable, "LOSSNET_SUITE_OUT": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", str(ROOT / "bench" / "gpu_suite.sh"), "--smoke"], env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    report = next(tmp_path.glob("cpu-smoke-*.md")).read_text()
    for title in ("Benchmark 1 vs the lpips package", "Distance overhead", "Autoencoder step rate",
                  "Super-resolution step rate", "Kumar per-network cost", "Demo, dry run"):
        assert f"## {title}" in report
    assert "failed" not in report and "cut after" not in report
    kinds = {row.kind for row in read_step_times(tmp_path / "step_times.csv")}
    assert {"autoencoder_train", "autoencoder_train_pixel", "superres_train", "superres_train_pixel"} <= kinds
