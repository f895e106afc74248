"""Shared helpers and fixtures for the end-to-end workflow tests.

`demo_run` runs the offline demo (`snakemake --cores 2 results/tables/rankings.csv --configfile demo.yaml`) once
per test session in a fresh copy of the workflow; tests that change anything work on their own copy of it
(`demo_copy`, or `copy_run`), which keeps every file's mtime (shutil.copy2), so Snakemake sees the copy as
up to date. Tests using these fixtures are end-to-end runs: mark them `slow`.

The helpers are plain functions; a test module imports them with `from conftest import ...` (pytest puts
tests/ on sys.path for its conftest.py).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# What a new clone has that a run needs (src/lossnet is installed in the venv; the SLURM profile is slurm/).
WORKFLOW_FILES = ["Snakefile", "config.yaml", "demo.yaml", "rules", "scripts", "schemas", "profiles", "slurm", "report",
                  "envs"]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
DEMO_TARGET = "results/tables/rankings.csv"
DEMO_TIMEOUT_S = 2400


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow in `dest` (created), as a new clone would have it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest


def copy_run(source: Path, dest: Path) -> Path:
    """A copy of a workflow folder after a run: outputs, logs and .snakemake metadata, mtimes kept."""
    shutil.copytree(source, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m snakemake ARGS` in `workdir` (name targets before `--configfile`, which takes several files)."""
    return subprocess.run(
        SNAKEMAKE + list(args), cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env
    )


def tail(result: subprocess.CompletedProcess, n: int = 4000) -> str:
    """The end of a run's output, for assertion messages."""
    return f"--- stdout ---\n{result.stdout[-n:]}\n--- stderr ---\n{result.stderr[-n:]}"


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from the "Job stats:" table of a (dry-)run; {} when nothing is to be done."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    table = re.split(r"\n\s*\n", table.lstrip("\n"), maxsplit=1)[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)
        if m.group(1) not in ("total", "job", "count")
    }


def file_states(root: Path, folders=("results", "data"), exclude=()) -> dict[str, tuple[int, str]]:
    """{relative path: (mtime_ns, sha256)} of every file under `folders` of `root`, except paths starting
    with one of `exclude` (relative, e.g. "results/tables/")."""
    import hashlib

    states = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if not path.is_file() or any(relative.startswith(prefix) for prefix in exclude):
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            states[relative] = (path.stat().st_mtime_ns, digest)
    return states


@pytest.fixture
def one_thread():
    """Tiny ops on a shared 2-core machine: extra threads only spin; bit-exact comparisons (a resumed run against
    an uninterrupted one) need one reduction order. Modules use it with `pytestmark = usefixtures("one_thread")`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """The workflow folder after one local demo run of the rankings target (shared: do not modify it)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("demo_run") / "workflow")
    result = snakemake(workdir, "--cores", "2", DEMO_TARGET, "--configfile", "demo.yaml", timeout=DEMO_TIMEOUT_S)
    assert result.returncode == 0, tail(result)
    assert (demo_out(workdir) / DEMO_TARGET).is_file()
    return workdir


@pytest.fixture
def demo_copy(demo_run, tmp_path) -> Path:
    """A private copy of `demo_run` that a test may change (mtimes and .snakemake metadata kept)."""
    return copy_run(demo_run, tmp_path / "workflow")


@pytest.fixture
def workflow_copy(tmp_path) -> Path:
    """A fresh copy of the workflow without any outputs."""
    return copy_workflow(tmp_path / "workflow")


def environment(**overrides: str | None) -> dict[str, str]:
    """os.environ with `overrides` (None removes a variable)."""
    env = dict(os.environ)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def merged(base: dict, overlay: dict) -> dict:
    """`overlay` over `base`, dicts merged key by key (as Snakemake merges --configfile overlays)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def demo_config() -> dict:
    return merged(yaml.safe_load((REPO / "config.yaml").read_text()), yaml.safe_load((REPO / "demo.yaml").read_text()))


def demo_out(root: Path) -> Path:
    """Where a demo run in the workflow folder `root` writes (config `workdir`: data/, results/, logs/)."""
    return root / demo_config()["workdir"]
