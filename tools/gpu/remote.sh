#!/usr/bin/env bash
# 在 GPU 机器上、仓库根目录运行：用本书自己的执行命令按完整规模运行第 6 章（PyTorch 版；6.5 的 MXNet 版
# 在那里没有 MXNet，不运行），日志和执行后的笔记本放进 $OUT。参数原样传给 tools/execute.py。
# BENCH=1 另外运行第 6 章的 GPU 基准测试（benchmarks/run.py --only gpu：加载器比较、训练循环逐步改动的速度），
# 原始结果写进 $OUT/bench.json（每做完一项更新一次），回来后用 benchmarks/run.py --from-json 生成表格。
# DRY_RUN=1 在本机（CPU）上走一遍同样的步骤（不装轮子；缩减规模）。
set -uo pipefail
: "${OUT:?把 OUT 设为存放结果的目录}"
PYTHON=${PYTHON:-python3}
if [ -z "${DRY_RUN:-}" ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .gpu/whl/*.whl || { echo "安装轮子失败"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 FASHION_MNIST_DIR=$PWD/.gpu/fashion-mnist XDG_CACHE_HOME=/tmp/gpu-pass-cache
"$PYTHON" -c 'import torch, numpy, matplotlib; print("torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
nbs=${NOTEBOOKS:-chapters/ch06_modern-cnn/*.ipynb}
start=$(date +%s)
# shellcheck disable=SC2086
"$PYTHON" tools/execute.py --framework pytorch "$@" $nbs 2>&1 | tee "$OUT/gpu-pass.log"
rc=${PIPESTATUS[0]}
echo "execute: rc=$rc, $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu-pass.log"
# shellcheck disable=SC2086
tar czf "$OUT/notebooks.tgz" $nbs
if [ -n "${BENCH:-}" ]; then
  "$PYTHON" benchmarks/run.py --only gpu --no-write --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
fi
exit "$rc"
