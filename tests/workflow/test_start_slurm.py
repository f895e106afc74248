"""tests/cluster/start_slurm.sh with a stand-in apt-get: a busy apt lock is waited for and then a failure, never
"cannot be installed" (exit 3, on which the SLURM test skips itself and CI passes without running it)."""

import os
import stat
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "cluster" / "start_slurm.sh"


def _fake_bin(folder: Path, apt_output: str) -> Path:
    folder.mkdir()
    scripts = {
        "id": "#!/bin/sh\necho 0\n",  # "root", so that the script gets to the packages
        "apt-get": f'#!/bin/sh\necho "$@" >> "{folder}/apt-calls"\necho "{apt_output}" >&2\nexit 100\n',
    }
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod((folder / name).stat().st_mode | stat.S_IEXEC)
    return folder


def _run(tmp_path: Path, apt_output: str) -> tuple[subprocess.CompletedProcess, str]:
    fake = _fake_bin(tmp_path / "bin", apt_output)
    env = {**os.environ, "PATH": f"{fake}:/usr/bin:/bin", "LOSSNET_SLURM_SBIN": str(tmp_path / "no-sbin"),
           "LOSSNET_APT_LOCK_TIMEOUT_S": "1"}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return result, (fake / "apt-calls").read_text() if (fake / "apt-calls").exists() else ""


def test_a_busy_apt_lock_is_waited_for_and_is_not_a_skip(tmp_path):
    lock = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"
    result, calls = _run(tmp_path, lock)
    assert result.returncode == 6, result.stderr
    assert "lock" in result.stderr
    assert calls and all("DPkg::Lock::Timeout=1" in line for line in calls.splitlines())


def test_packages_that_do_not_exist_are_the_only_skip(tmp_path):
    result, _ = _run(tmp_path, "E: Unable to locate package slurmctld")
    assert result.returncode == 3, result.stderr
    (tmp_path / "other").mkdir()
    result, _ = _run(tmp_path / "other", "E: Sub-process /usr/bin/dpkg returned an error code (1)")
    assert result.returncode == 7, result.stderr
