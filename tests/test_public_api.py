"""The public API of `import lossnet`: names pinned, listed by dir(), imported lazily."""

import subprocess
import sys

import lossnet

PUBLIC = ["ARCHITECTURES", "DISTANCES", "LAYER_LABELS", "LPIPS", "LossNetwork", "LossSpec", "PerceptualLoss", "distance",
          "register_architecture"]


def test_all_is_pinned():
    assert lossnet.__all__ == PUBLIC


def test_dir_lists_the_api_for_tab_completion():
    assert set(PUBLIC) <= set(dir(lossnet)) and "__version__" in dir(lossnet)
    assert all(callable(getattr(lossnet, name)) or name.isupper() for name in PUBLIC)


def test_light_commands_do_not_import_torch():
    code = ("import sys, lossnet, lossnet.analysis.rank, lossnet.analysis.labels, lossnet.benchmarks.scores; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
