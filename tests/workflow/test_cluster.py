"""A small target of the demo on a real one-node SLURM cluster through `snakemake --profile slurm`.

tests/cluster/start_slurm.sh installs (apt) and starts slurmctld, slurmd and munge with two partitions, `cpu`
and `gpu` (one count-only GPU). The run (demo.yaml plus tests/cluster/small.yaml: one architecture and layer,
every benchmark) must submit every non-local job to SLURM, put the GPU jobs on the `gpu` partition with a GPU
each, leave the light rules on this host, write SLURM's logs, and give the scores of the same target run locally.
Skipped only where the cluster cannot exist: not root, or the packages cannot be installed (exit status 3).
"""

import os
import re
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO_TARGET, REPO, copy_workflow, demo_out, environment, snakemake, tail

SMALL = REPO / "tests/cluster/small.yaml"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

START_SLURM = REPO / "tests/cluster/start_slurm.sh"
PARTITIONS = REPO / "tests/cluster/partitions.yaml"
JOBCOMP_LOG = Path("/var/log/slurm/jobcomp.log")
CLUSTER_TIMEOUT_S = 3600


@pytest.fixture(scope="module")
def slurm_cluster():
    """Starts (idempotently) the one-node test cluster; skips only where it cannot be had."""
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster needs root (it installs packages with apt and starts system daemons)")
    result = subprocess.run(["bash", str(START_SLURM)], capture_output=True, text=True, timeout=1800)
    if result.returncode == 3:
        pytest.skip(f"SLURM packages are not installed and cannot be installed: {result.stderr.strip()[-800:]}")
    assert result.returncode == 0, f"{START_SLURM} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    cancel_leftover_jobs()


def cancel_leftover_jobs(timeout_s: float = 120) -> None:
    """Cancels the jobs an interrupted earlier run left queued or running on the test cluster.

    slurmctld keeps its queue across restarts, so a run killed mid-way would leave GPU jobs holding or waiting
    for the node's one GPU, and this run's GPU jobs would pend behind them until the timeout. The cluster is
    the one start_slurm.sh wrote (it refuses to touch any other), so every active job on it is a leftover.
    """
    active = "--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED"
    def active_jobs() -> list[str]:
        out = subprocess.run(["squeue", active, "--noheader", "-o", "%i"], capture_output=True, text=True, check=True)
        return out.stdout.split()
    leftovers = active_jobs()
    if not leftovers:
        return
    subprocess.run(["scancel", *leftovers], check=True)
    deadline = time.monotonic() + timeout_s
    while active_jobs():
        assert time.monotonic() < deadline, f"leftover SLURM jobs {leftovers} still active {timeout_s}s after scancel"
        time.sleep(1)


def job_blocks(log: str) -> list[dict]:
    """Every job Snakemake started, from its log: rule, jobid, local or not, GPUs asked for."""
    jobs = []
    current = None
    for line in log.splitlines():
        header = re.match(r"^(local)?(?:rule|checkpoint) (\w+):$", line)
        if header:
            current = {"local": bool(header.group(1)), "rule": header.group(2), "jobid": None, "gpu": 0}
            jobs.append(current)
        elif current is not None and line.startswith((" ", "\t")):
            if match := re.match(r"^\s+jobid: (\d+)$", line):
                current["jobid"] = int(match.group(1))
            elif line.strip().startswith("resources:"):
                gpu = re.search(r"(?:^|[ ,])gpu=(\d+)", line.strip()[len("resources:"):])
                current["gpu"] = int(gpu.group(1)) if gpu else 0
        else:
            current = None
    return jobs


def jobcomp_records(workdir: Path) -> dict[str, dict]:
    """jobcomp/filetxt records (one line per finished SLURM job) of the jobs run in `workdir`."""
    records = {}
    for line in JOBCOMP_LOG.read_text().splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("WorkDir") == str(workdir):
            records[fields["JobId"]] = fields
    return records


def squeue_records(workdir: Path) -> dict[str, dict]:
    """squeue's view (finished jobs are kept for MinJobAge) of the jobs run in `workdir`."""
    names = ["JobID", "Partition", "State", "tres-per-job", "Comment", "WorkDir"]
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "-O", ",".join(f"{name}:|" for name in names)],
        capture_output=True, text=True, check=True,
    ).stdout
    records = {}
    for line in out.splitlines():
        values = dict(zip(names, (value.strip() for value in line.split("|"))))
        if values.get("WorkDir") == str(workdir):
            records[values["JobID"]] = values
    return records


def timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


def small_workflow(dest: Path) -> Path:
    workdir = copy_workflow(dest).resolve()
    (workdir / "small.yaml").write_text(SMALL.read_text())
    return workdir


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The small target run locally, the reference for the cluster run."""
    workdir = small_workflow(tmp_path_factory.mktemp("local") / "workflow")
    result = snakemake(workdir, "--cores", "2", DEMO_TARGET, "--configfile", "demo.yaml", "small.yaml",
                       timeout=CLUSTER_TIMEOUT_S)
    assert result.returncode == 0, tail(result, 8000)
    return workdir


def test_small_target_on_slurm_gives_the_local_scores(slurm_cluster, local_run, tmp_path):
    demo_run = local_run
    workdir = small_workflow(tmp_path / "workflow")
    env = environment(LOSSNET_SLURM_ACCOUNT=None, LOSSNET_SLURM_PARTITION=None, SNAKEMAKE_SLURM_PARTITIONS=None)
    result = snakemake(
        workdir,
        "--profile", "slurm",
        "--slurm-status-command", "squeue",  # no accounting database on the test cluster
        "--slurm-partition-config", str(PARTITIONS),  # GPU jobs to `gpu`, the rest to `cpu`
        "--slurm-init-seconds-before-status-checks", "5",
        "--slurm-keep-successful-logs",
        DEMO_TARGET,
        "--configfile", "demo.yaml", "small.yaml",
        timeout=CLUSTER_TIMEOUT_S,
        env=env,
    )
    assert result.returncode == 0, tail(result, 8000)
    log = result.stdout + result.stderr

    # Snakemake's view: which jobs ran on this host, which went to SLURM.
    jobs = job_blocks(log)
    stats = re.findall(r"^total\s+(\d+)$", log, re.MULTILINE)
    assert stats and len(jobs) == int(stats[0]), f"{len(jobs)} job blocks, job stats say {stats}"
    local = [job for job in jobs if job["local"]]
    remote = {job["jobid"]: job for job in jobs if not job["local"]}
    assert len(remote) == len(jobs) - len(local) and None not in remote
    assert {"demo_bapps", "scores_table", "rankings"} <= {job["rule"] for job in local}
    assert not any(job["gpu"] for job in local), "a GPU job ran on the submitting host"
    gpu_rules = {job["rule"] for job in remote.values() if job["gpu"]}
    assert {"similarity_cache", "similarity_pixel", "autoencoder_train", "autoencoder_train_pixel"} <= gpu_rules

    submitted = dict(
        (int(jobid), slurm_id) for jobid, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log)
    )
    assert set(submitted) == set(remote), "every non-local job is submitted once, and no local one"
    assert len(set(submitted.values())) == len(submitted)
    slurm_jobs = {slurm_id: remote[jobid] for jobid, slurm_id in submitted.items()}

    # SLURM's records: every submitted job, nothing else, completed, on the partition its GPU request asks for.
    finished = jobcomp_records(workdir)  # SLURM jobs run in the launch folder; their logs are under workdir
    assert set(finished) == set(slurm_jobs), "jobcomp records != submitted jobs"
    assert {(r["JobState"], r["ExitCode"]) for r in finished.values()} == {("COMPLETED", "0:0")}
    queue = squeue_records(workdir)
    assert set(queue) == set(slurm_jobs), "squeue records != submitted jobs"
    for slurm_id, job in slurm_jobs.items():
        expected_partition = "gpu" if job["gpu"] else "cpu"
        assert finished[slurm_id]["Partition"] == expected_partition, (slurm_id, job)
        assert queue[slurm_id]["Partition"] == expected_partition, (slurm_id, job)
        assert ("gres:gpu:1" in queue[slurm_id]["tres-per-job"]) == bool(job["gpu"]), (queue[slurm_id], job)
        assert queue[slurm_id]["Comment"].startswith(f"rule_{job['rule']}"), (queue[slurm_id], job)
        logs = list((demo_out(workdir) / ".snakemake/slurm_logs" / f"rule_{job['rule']}").rglob(f"{slurm_id}.log"))
        assert len(logs) == 1, f"SLURM log of job {slurm_id} ({job['rule']})"
    assert Counter(job["rule"] for job in slurm_jobs.values()) == Counter(job["rule"] for job in remote.values())

    # The local `gpu` resource does not cap the queue: GPU jobs wait in SLURM side by side (the node's one GPU
    # runs them one at a time), instead of being submitted one after the other.
    gpu_spans = sorted(
        (timestamp(finished[i]["SubmitTime"]), timestamp(finished[i]["EndTime"]))
        for i, job in slurm_jobs.items() if job["gpu"]
    )
    assert any(
        later_submit < end for (_, end), (later_submit, _) in zip(gpu_spans, gpu_spans[1:])
    ), "GPU jobs were submitted one at a time: the local gpu resource capped the cluster queue"

    # Same results as the local run.
    key = ["weights", "arch"]
    expected = pd.read_csv(demo_out(demo_run) / DEMO_TARGET).sort_values(key).reset_index(drop=True)
    got = pd.read_csv(demo_out(workdir) / DEMO_TARGET).sort_values(key).reset_index(drop=True)
    # Unranked rows (references) have NaN positions on both sides; assert_frame_equal takes NaN == NaN.
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-6, atol=1e-6)

    scores_local = pd.read_csv(demo_out(demo_run) / "results/tables/scores.csv", keep_default_na=False)
    scores_cluster = pd.read_csv(demo_out(workdir) / "results/tables/scores.csv", keep_default_na=False)
    columns = [c for c in scores_local.columns if c != "value"]
    merged = scores_local.merge(scores_cluster, on=columns, how="outer", suffixes=("_local", "_cluster"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert np.allclose(merged.value_local, merged.value_cluster, rtol=1e-4, atol=1e-5), merged
