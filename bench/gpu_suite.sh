#!/usr/bin/env bash
# Every GPU benchmark of bench/ on one GPU (H100/H200) in about 8 minutes, one markdown file:
#   bench/gpu_suite.sh            -> bench/results/<device>-<date>.md, and rows of bench/step_times.csv
#   bench/gpu_suite.sh --smoke    -> the same scripts on the CPU at tiny sizes (a test runs it; under a minute),
#                                    writing into $LOSSNET_SUITE_OUT (default: a temporary folder), not bench/
# Each step has a time limit, 480 s together (a step over it is cut and marked in the file); the steps, in order: benchmark 1's
# pass against the lpips package (fp32, channels_last, bf16, compile), the distance overhead, the autoencoder,
# super-resolution and delineation step rates (with --step-times rows for `lossnet estimate`), the Kumar per-network
# cost model, and a short end-to-end demo run with `device: cuda`.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
SMOKE=0
[[ "${1:-}" == "--smoke" ]] && SMOKE=1

if (( SMOKE )); then
    DEVICE=cpu
    OUT=${LOSSNET_SUITE_OUT:-$(mktemp -d)}
    STEP_TIMES=$OUT/step_times.csv
    NAME=cpu-smoke
else
    DEVICE=cuda
    OUT=bench/results
    STEP_TIMES=bench/step_times.csv
    NAME=$($PYTHON -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '_'))") || exit 1
fi
mkdir -p "$OUT"
REPORT=$OUT/$NAME-$(date +%Y-%m-%d).md
export PYTHONUNBUFFERED=1

PARTS=$OUT/parts-$NAME
rm -rf "$PARTS" && mkdir -p "$PARTS"
N=0
step() {  # step TITLE LIMIT_SECONDS COMMAND...: run it, its stdout (markdown) into the next part of the report
    local title=$1 limit=$2; shift 2
    local start=$SECONDS part
    N=$((N + 1)); part=$PARTS/$(printf '%02d' $N).md
    printf '\n## %s\n\n`%s`\n\n' "$title" "$*" > "$part"
    timeout "$limit" "$@" >> "$part" 2>> "$OUT/$NAME.stderr"
    local rc=$?
    if (( rc == 124 )); then echo "**cut after ${limit} s**" >> "$part"
    elif (( rc != 0 )); then echo "**failed (exit $rc), see $NAME.stderr**" >> "$part"; fi
    printf '\nwall %d s\n' $((SECONDS - start)) >> "$part"
    echo "gpu_suite: $title: exit $rc, $((SECONDS - start)) s" >&2
    return 0
}

{
    echo "# bench/gpu_suite.sh on $NAME, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "\`$(uptime)\`; $($PYTHON -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)')"
} > "$REPORT"

if (( SMOKE )); then
    step "Benchmark 1 vs the lpips package" 60 $PYTHON bench/similarity_throughput.py --device cpu --triplets 8 --batch-size 8 --archs alexnet
    step "Distance overhead" 60 $PYTHON bench/distance_overhead.py --device cpu --archs alexnet --layers E --n 4 --repeats 1 --batch-size 16
    step "Autoencoder step rate" 60 $PYTHON bench/autoencoder_throughput.py --device cpu --archs alexnet --layers S --datasets svhn --batch-size 4 --steps 1 --warmup 1 --step-times "$STEP_TIMES"
    step "Super-resolution step rate" 60 $PYTHON bench/superres_throughput.py --device cpu --archs alexnet --layers S --crop 48 --steps 1 --warmup 1 --step-times "$STEP_TIMES"
    step "Kumar per-network cost (model)" 30 $PYTHON bench/kumar_cost.py
    step "Demo, dry run" 60 snakemake --dry-run --quiet --cores 2 --configfile demo.yaml --config "workdir=$OUT/demo"
else
    step "Benchmark 1 vs the lpips package" 110 $PYTHON bench/similarity_throughput.py --device cuda --triplets 20000 --batch-size 512
    step "Distance overhead" 75 $PYTHON bench/distance_overhead.py --device cuda --n 500
    step "Autoencoder step rate" 55 $PYTHON bench/autoencoder_throughput.py --device cuda --step-times "$STEP_TIMES"
    step "Super-resolution step rate" 55 $PYTHON bench/superres_throughput.py --device cuda --step-times "$STEP_TIMES"
    step "Delineation step rate" 40 $PYTHON bench/delineation_throughput.py --device cuda --step-times "$STEP_TIMES"
    step "Kumar per-network cost (model)" 10 $PYTHON bench/kumar_cost.py
    step "Demo end to end, device: cuda" 135 snakemake --cores 16 --configfile demo.yaml --config device=cuda "workdir=$OUT/demo-$NAME" --quiet
fi
cat "$PARTS"/*.md >> "$REPORT" && rm -rf "$PARTS"
echo "gpu_suite: wrote $REPORT (step times: $STEP_TIMES)" >&2
