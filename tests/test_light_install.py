"""The core install (`pip install lossnet`, no extras): the library and its light commands work without the
workflow dependencies, made unimportable in a fresh interpreter."""

import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image

# The `workflow` extra of pyproject.toml, by import name.
WORKFLOW_MODULES = ["snakemake", "h5py", "seaborn", "pandas", "matplotlib", "scipy", "skimage", "sklearn", "yaml",
                    "jsonschema"]

# A None entry in sys.modules is how Python spells "not installed" to both `import` (ModuleNotFoundError) and
# importlib.util.find_spec (None: torch._dynamo probes pandas that way). A sys.meta_path finder that raises would
# break those probes; one that returns None would let the real finders load the module.
BLOCKER = textwrap.dedent(f"""
    import sys
    for name in {WORKFLOW_MODULES!r}:
        assert name not in sys.modules
        sys.modules[name] = None
""")


def _run_core(code: str, tmp_path) -> str:
    script = tmp_path / "core.py"
    script.write_text(BLOCKER + textwrap.dedent(code))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_core_api_without_workflow_dependencies(tmp_path):
    out = _run_core("""
        import torch, lossnet
        from lossnet.training import fit

        x, y = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
        net = lossnet.LossNetwork("vgg16", layers=["E", "features.8"], weights="random")
        for name in lossnet.DISTANCES:
            assert lossnet.distance(name, net(x), net(y)).shape == (2,)
        for name in ("l2", "ssim", "mmdpp"):
            assert lossnet.distance(name, x, y).shape == (2,)
        assert lossnet.LPIPS("alexnet", weights="random", calibrated=False)(x, y).shape == (2,)
        loss = lossnet.PerceptualLoss("resnet18", layers="S", weights="random")
        model = torch.nn.Conv2d(3, 3, 3, padding=1)
        data = torch.utils.data.TensorDataset(torch.rand(4, 3, 32, 32))
        result = fit(model, lambda m, batch: loss(m(batch[0]), batch[0]), data, checkpoint_dir="ckpt", epochs=1,
                     batch_size=2, progress=False)
        assert result.last_path.exists()
        for blocked in {blocked!r}:
            assert sys.modules[blocked] is None, blocked
        print("core ok")
    """.replace("{blocked!r}", repr(WORKFLOW_MODULES)), tmp_path)
    assert "core ok" in out


def test_light_commands_without_workflow_dependencies(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels[::-1].copy()).save(tmp_path / "b.png")
    out = _run_core("""
        from lossnet import cli
        assert cli.main(["archs"]) == 0
        assert cli.main(["compare", "a.png", "b.png", "--weights", "random", "--no-calibrated"]) == 0
        assert cli.main(["similarity", "x"]) == 1      # says to install the workflow extra
        assert cli.main(["rank", "s.csv", "-o", "r.csv"]) == 1
        print("commands ok")
    """, tmp_path)
    assert "commands ok" in out and "a.png,b.png,alexnet" in out
