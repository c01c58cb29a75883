#!/usr/bin/env bash
# The one CUDA check, run from the repository root on a machine with one NVIDIA GPU:
#
#     OUT=/some/dir bash benchmarks/cuda_check.sh
#
# (a0) the fused Triton spatial stage against the PyTorch one on CUDA (first: does it compile and
# agree), (a) the test suite on CUDA, (b) benchmarks/bench_gpu.py (with the fused-stage rows), (c) the command line on CUDA: a short
# training in fp32 and in bf16 (--amp; final MPJPE within 1 % of fp32), exact --deterministic
# resume, --evaluate and --render. Each step has its own time limit and log, $OUT/<step>.log;
# the last lines of each log and PASS/FAIL per step go to $OUT/summary.log and stdout.
# The step limits add up to 14.3 minutes (the first run on a GPU compiles ~25 Triton kernels in step fused). Needs python (PyTorch with CUDA, timm, numpy, pytest, pytest-xdist).
# For a dry run elsewhere: STEPS="cli" DEVICE=cpu SUBSET=0.02 bash benchmarks/cuda_check.sh
set -u -o pipefail
export PYTHONUNBUFFERED=1 CI=1
OUT=${OUT:-/tmp/cuda_check}
PY=${PYTHON:-$(command -v python || command -v python3)}
mkdir -p "$OUT"
WORK=$(mktemp -d)
STEPS=${STEPS:-fused pytest bench_gpu profile amp cli}
DEVICE=${DEVICE:-cuda}
SUBSET=${SUBSET:-0.3}
AMP_EPOCHS=${AMP_EPOCHS:-8}
BENCH_ARGS=${BENCH_ARGS:-}
export PY WORK DEVICE SUBSET AMP_EPOCHS
SUMMARY="$OUT/summary.log"
: > "$SUMMARY"
failed=0

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log, record the result
    local name=$1 limit=$2
    shift 2
    [[ " $STEPS " == *" $name "* ]] || return 0
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    local verdict=PASS
    [ $rc -eq 0 ] || { verdict="FAIL (exit $rc$([ $rc -eq 124 ] && echo ', time limit'))"; failed=1; }
    { echo "== $name: $verdict in $((SECONDS - start)) s"; tail -n 25 "$OUT/$name.log"; echo; } | tee -a "$SUMMARY"
}

{ echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
  echo; } 2>&1 | tee -a "$SUMMARY"

# (a0) the fused spatial stage (Triton kernels compiled for this GPU) vs PyTorch: forward, gradients, fp16, compile
step fused 180 $PY -m pytest -q -p no:cacheprovider tests/test_fused_spatial.py

# (a) the whole suite, device auto -> cuda
step pytest 150 $PY -m pytest -q -n 6 -p no:cacheprovider tests benchmarks

# (b) training / evaluation speed; compiled variants are skipped after --budget seconds
step bench_gpu 240 $PY benchmarks/bench_gpu.py --budget 95 $BENCH_ARGS

# (b2) where the time of our bf16 step goes (top kernels)
step profile 45 $PY benchmarks/profile_gpu_step.py

# (c) --amp accuracy: bf16 against fp32 (same seed), and fp32 with another seed for the spread of training itself
amp() {
    local data="$WORK/data" ck="$WORK/ckpt"
    local common=(-d synthetic --data-dir "$data" -k gt -f 27 --embed-dim-ratio 16 --depth 2 --num-heads 4
                  -b 512 --downsample 5 --subset "$SUBSET" -lr 0.002 --progress off --device "$DEVICE"
                  -e "$AMP_EPOCHS" -lrd 0.8)
    echo "-- fp32 (--no-tf32), bf16 (--amp): $AMP_EPOCHS epochs with lr decay 0.8, seed 1234; fp32 with seed 1235"
    $PY run_poseformer.py "${common[@]}" --no-tf32 -c "$ck/fp32" | tee "$WORK/fp32.txt" \
        | grep -E '^\[|action-wise average' || return 1
    $PY run_poseformer.py "${common[@]}" --amp -c "$ck/amp" | tee "$WORK/amp.txt" \
        | grep -E '^\[|action-wise average' || return 1
    $PY run_poseformer.py "${common[@]}" --no-tf32 --seed 1235 -c "$ck/fp32_seed" > "$WORK/fp32_seed.txt" || return 1
    $PY - "$WORK/fp32.txt" "$WORK/amp.txt" "$WORK/fp32_seed.txt" <<'EOF' || return 1
import re, sys
fp32, amp, other = (float(re.search(r'Protocol #1 +\(MPJPE\) action-wise average: ([0-9.]+)', open(p).read()).group(1))
                    for p in sys.argv[1:])
print(f'final MPJPE fp32 {fp32} mm, bf16 {amp} mm: {100 * (amp - fp32) / fp32:+.2f} %; '
      f'fp32 with another seed {other} mm: {100 * (other - fp32) / fp32:+.2f} %')
sys.exit(0 if abs(amp - fp32) <= 0.01 * fp32 else 1)
EOF
}
export -f amp

# (d) the command line on CUDA
cli() {
    local data="$WORK/data" ck="$WORK/ckpt"
    local common=(-d synthetic --data-dir "$data" -k gt -f 27 --embed-dim-ratio 16 --depth 2 --num-heads 4
                  -b 512 --downsample 5 --subset "$SUBSET" -lr 0.002 --progress off --device "$DEVICE")
    $PY run_poseformer.py "${common[@]}" -e 2 -c "$ck/fp32" | grep -E '^\[|action-wise average' || return 1
    echo "-- --deterministic: 2 epochs == 1 epoch + resume 1 (bitwise)"
    local det=("${common[@]}" --deterministic --no-eval --checkpoint-frequency 1)
    $PY run_poseformer.py "${det[@]}" -e 2 -c "$ck/det_a" > /dev/null || return 1
    $PY run_poseformer.py "${det[@]}" -e 1 -c "$ck/det_b" > /dev/null || return 1
    $PY run_poseformer.py "${det[@]}" -e 2 -c "$ck/det_b" -r epoch_1.bin | grep -E '^\[|Resuming' || return 1
    $PY - "$ck/det_a/epoch_2.bin" "$ck/det_b/epoch_2.bin" <<'EOF' || return 1
import sys, torch
a, b = (torch.load(p, weights_only=True) for p in sys.argv[1:])
differ = [k for k in a['model_pos'] if not torch.equal(a['model_pos'][k], b['model_pos'][k])]
print('resume exact' if not differ else f'resume differs in {len(differ)} tensors, e.g. {differ[:3]}')
sys.exit(1 if differ else 0)
EOF
    echo "-- --evaluate and --render on CUDA"
    $PY run_poseformer.py "${common[@]}" -c "$ck/fp32" --evaluate best_epoch.bin | grep 'action-wise average' || return 1
    $PY run_poseformer.py "${common[@]}" -c "$ck/fp32" --evaluate best_epoch.bin --render --viz-subject S9 \
        --viz-action Walking --viz-camera 0 --viz-limit 20 --viz-size 2 --viz-output "$WORK/walking.gif" || return 1
    ls -la "$WORK/walking.gif"
}
export -f cli
step amp 150 bash -o pipefail -c amp
step cli 90 bash -o pipefail -c cli

rm -rf "$WORK"
echo "== overall: $([ $failed -eq 0 ] && echo PASS || echo FAIL)" | tee -a "$SUMMARY"
exit $failed
