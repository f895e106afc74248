#!/usr/bin/env bash
# A one-node SLURM on this machine for tests/test_cluster.py (and for trying `--profile slurm` by hand).
#
#   sudo tests/cluster/start_slurm.sh          # idempotent: installs, configures, starts, waits for the node
#
# Debian/Ubuntu: installs slurmctld slurmd slurm-client munge with apt when they are missing, writes
# /etc/slurm/slurm.conf (+ gres.conf), creates the munge key, starts munged, slurmctld and slurmd without
# systemd (containers and CI runners have none) and waits until `sinfo` shows the node idle.
#
# The cluster: one node named after this host, two partitions over it, `cpu` (default) and `gpu`, and one
# stand-in GPU (`Gres=gpu:1`, /dev/null as its device file) so that jobs asking `--gpus=1` are scheduled, one at
# a time, exactly as on a real GPU partition (they run on the CPU). No accounting database (sacct has nothing to say; use
# `--slurm-status-command squeue`), but every finished job is recorded by jobcomp/filetxt in
# $JOBCOMP_LOG (JobId, Name, JobState, Partition, ExitCode, Tres, WorkDir) and by slurmctld in its log.
# The node advertises the machine's CPUs and memory but at least $MIN_CPUS CPUs and $MIN_MEM_MB MB
# (SlurmdParameters=config_overrides): a stand-in for a cluster node on which the rules' requests (a 32 GB
# training job next to 8 GB probes) fit and share the node even on a small CI runner. Nothing is enforced
# (no cgroups); how many jobs run at once is capped by the advertised CPUs and `snakemake --jobs`.
# Daemons talk over 127.0.0.1, so the host name need not resolve.
#
# It refuses to overwrite a slurm.conf it did not write. Exit status: 0 up; 2 not root; 3 packages missing and
# not installable (no apt-get, or apt has no such packages: the only status on which the test skips); 4 a daemon
# did not come up (logs in $LOG_DIR); 5 a foreign slurm.conf is in the way; 6 apt's lock stayed busy for
# $LOSSNET_APT_LOCK_TIMEOUT_S seconds (default 600: apt waits for it); 7 apt-get failed otherwise.
set -euo pipefail

MARKER="# written by lossnet tests/cluster/start_slurm.sh"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm
JOBCOMP_LOG="$LOG_DIR/jobcomp.log"
MIN_CPUS=${LOSSNET_SLURM_MIN_CPUS:-8}
MIN_MEM_MB=${LOSSNET_SLURM_MIN_MEM_MB:-128000}
WAIT_S=${LOSSNET_SLURM_WAIT_S:-60}
APT_LOCK_TIMEOUT_S=${LOSSNET_APT_LOCK_TIMEOUT_S:-600}
SBIN=${LOSSNET_SLURM_SBIN:-/usr/sbin}  # where the daemons are installed (tests point it elsewhere)

say() { echo "start_slurm: $*" >&2; }
die() { local code=$1; shift; say "ERROR: $*"; exit "$code"; }

[[ $(id -u) -eq 0 ]] || die 2 "must run as root (it installs packages and starts system daemons)"

# 1. packages -------------------------------------------------------------------------------------------------
need_install=0
for command in slurmctld slurmd sinfo sbatch munged mungekey; do
    command -v "$command" >/dev/null 2>&1 || [[ -x $SBIN/$command ]] || need_install=1
done
if [[ $need_install -eq 1 ]]; then
    command -v apt-get >/dev/null 2>&1 || die 3 "slurm/munge are not installed and apt-get is not available"
    say "installing slurmctld slurmd slurm-client munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    packages=(slurmctld slurmd slurm-client munge)
    apt_log=/tmp/lossnet-slurm-apt.log
    # Another apt (unattended-upgrades, a parallel CI step) may hold dpkg's lock: wait for it instead of failing.
    apt=(apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT_S")
    if ! "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >"$apt_log" 2>&1; then
        # A fresh machine has no package lists yet.
        if ! { "${apt[@]}" update >>"$apt_log" 2>&1 \
               && "${apt[@]}" install -y --no-install-recommends "${packages[@]}" >>"$apt_log" 2>&1; }; then
            # Exit 3 (the test skips) only when the packages truly cannot be had; anything else is a failure.
            if grep -qiE "could not get lock|unable to acquire the dpkg|is another process using it" "$apt_log"; then
                die 6 "apt's lock stayed busy for ${APT_LOCK_TIMEOUT_S}s (log: $apt_log); rerun when the other apt is done"
            elif grep -qiE "unable to locate package|has no installation candidate|no installation candidate" "$apt_log"; then
                die 3 "apt has no ${packages[*]} (log: $apt_log)"
            fi
            die 7 "apt-get install ${packages[*]} failed (log: $apt_log)"
        fi
    fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# 2. configuration ------------------------------------------------------------------------------------------
if [[ -e $CONF ]] && ! grep -qF "$MARKER" "$CONF"; then
    die 5 "$CONF exists and was not written by this script; not touching a real SLURM configuration"
fi
node=$(hostname -s)
cpus=$(nproc --all)
mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
(( cpus < MIN_CPUS )) && cpus=$MIN_CPUS
(( mem_mb < MIN_MEM_MB )) && mem_mb=$MIN_MEM_MB
mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd"
new_conf=$(mktemp)
cat >"$new_conf" <<CONF
$MARKER
# One-node test cluster; see the script for what it is for. Not a production configuration.
ClusterName=lossnet
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5
GresTypes=gpu
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No accounting database: job records come from jobcomp (one line per finished job) and squeue.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
# squeue keeps finished jobs for MinJobAge seconds: the executor's squeue status checks need that window, and
# tests/test_cluster.py reads every job of a run (comment = rule and wildcards, partition, GPUs) from squeue
# after the run. A day outlasts any test run; 0 would keep them forever but makes the plugin fall back to sacct.
MinJobAge=86400
InactiveLimit=0
KillWait=10
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node Default=NO MaxTime=INFINITE State=UP
CONF
new_gres=$(mktemp)
cat >"$new_gres" <<GRES
$MARKER
# A stand-in GPU: /dev/null as its device file (a gpu GRES without File counts as none). Jobs asking
# --gpus=1 are scheduled on it one at a time and get CUDA_VISIBLE_DEVICES=0, which names no device here.
AutoDetect=off
NodeName=$node Name=gpu File=/dev/null
GRES
changed=0
if ! cmp -s "$new_conf" "$CONF"; then changed=1; install -m 644 "$new_conf" "$CONF"; fi
if ! cmp -s "$new_gres" "$CONF_DIR/gres.conf"; then changed=1; install -m 644 "$new_gres" "$CONF_DIR/gres.conf"; fi
rm -f "$new_conf" "$new_gres"

# 3. munge --------------------------------------------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
        || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- munged --force
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
    munge -n | unmunge >/dev/null || die 4 "munged does not answer (log: /var/log/munge/munged.log)"
fi

# 4. slurmctld and slurmd -----------------------------------------------------------------------------------
running() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {  # pid file
    if running "$1"; then
        local pid; pid=$(cat "$1"); kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
}
if [[ $changed -eq 1 ]]; then
    say "configuration written to $CONF; (re)starting the daemons"
    stop /run/slurmd.pid
    stop /run/slurmctld.pid
fi
if ! running /run/slurmctld.pid; then
    say "starting slurmctld"
    slurmctld || die 4 "slurmctld did not start (log: $LOG_DIR/slurmctld.log)"
fi
for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping | grep -q UP || die 4 "slurmctld does not answer (log: $LOG_DIR/slurmctld.log)"
if ! running /run/slurmd.pid; then
    say "starting slurmd"
    slurmd || die 4 "slurmd did not start (log: $LOG_DIR/slurmd.log)"
fi

# 5. wait for the node ------------------------------------------------------------------------------------
deadline=$((SECONDS + WAIT_S))
while :; do
    state=$(sinfo --noheader --nodes="$node" --format=%T 2>/dev/null | head -n1 || true)
    case $state in
        idle|mixed|allocated|completing) break ;;
        *drain*|down*|fail*|inval*)
            # e.g. left drained by an earlier configuration of this script
            scontrol update NodeName="$node" State=RESUME 2>/dev/null || true ;;
    esac
    (( SECONDS < deadline )) || die 4 "node $node is '${state:-missing}' after ${WAIT_S}s (logs: $LOG_DIR/slurmd.log, $LOG_DIR/slurmctld.log)"
    sleep 1
done
say "up: node $node ($cpus CPUs, $mem_mb MB, gpu:1) is $state; partitions: $(sinfo --noheader --format=%P | tr '\n' ' ')"
