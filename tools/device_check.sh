#!/usr/bin/env bash
# GPU check of issue #15 on a lent device machine, in under 5 minutes; everything goes to $OUT.
#
#   1. bench/scale.py: env steps/s of CPU MuJoCo vs MuJoCo Warp on the GPU at 1024 / 4096 envs
#      (Go2 and G1), TRIRL's learner per iteration on the GPU with the gpu preset;
#   2. a short G1 TRIRL run on the gpu preset (warp env, 4096 envs), 2 ranks of torchrun when the
#      machine has 2 GPUs, else one, stopped after 150 s: its metrics.csv is the learning curve.
#
# The device image has Python 3.12 and PyTorch but no MuJoCo: carry wheels in .whl/ (listed in
# .git/info/exclude), downloaded here for cp312 manylinux x86_64: mujoco, mujoco-warp, warp-lang,
# onnx/onnxruntime are there already. warp-lang's wheel (149 MB) exceeds one call's 64 MiB, so carry
# it split (`split -b 60M warp_lang-*.whl .whl/warp_lang.part.`) over calls on a warm machine; this
# script joins the parts. ../shared does not travel: copy ../shared/robots and ../shared/mocap/g1 into
# ./shared/ (excluded too) and carry it. Run from the repository root: `bash tools/device_check.sh`.
set -euo pipefail
OUT=${OUT:-/tmp/device_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TRIRL_ROBOTS_DIR=${TRIRL_ROBOTS_DIR:-$PWD/shared/robots}
if ls .whl/warp_lang.part.* >/dev/null 2>&1; then
  cat .whl/warp_lang.part.* > /tmp/warp_lang-1.19.0-py3-none-manylinux_2_28_x86_64.whl
  WARP_WHEEL=/tmp/warp_lang-1.19.0-py3-none-manylinux_2_28_x86_64.whl
fi
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl ${WARP_WHEEL:-} 2>&1 | tail -3
export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"

timeout 150 python3 bench/scale.py --cpu-envs 256 --warp-cpu-envs "" --gpu-envs 1024,4096 --steps 20 --threads 8 \
  2>&1 | tee "$OUT/scale.txt" || echo "scale.py: exit $?" | tee -a "$OUT/scale.txt"

GPUS=$(nvidia-smi -L | wc -l)
RUN=/tmp/g1_gpu
rm -rf "$RUN"
timeout -s INT 150 python3 -m torch.distributed.run --nproc_per_node "$GPUS" -m trirl_ros.cli train \
  --config config/tasks/g1_walk.yaml --set preset=gpu --set eval.every_iters=5 --set export=false \
  --set dataset.source=shared/mocap/g1/locomujoco_g1_walk_constspeed.npz \
  --run-dir "$RUN" --no-progress 2>&1 | tail -40 | tee "$OUT/g1_gpu_run.txt" || true
cp "$RUN/metrics.csv" "$OUT/g1_gpu_metrics.csv" 2>/dev/null || echo "no metrics.csv" | tee -a "$OUT/g1_gpu_run.txt"
