#!/usr/bin/env bash
# 在 CPU 机器上为第 6 章的 GPU 运行准备一切（GPU 机器：Python 3.12、PyTorch，没有网络、没有 Jupyter）。
# 放进被 git 忽略的 .gpu/：Jupyter 执行栈的 cp312 轮子（约 15 MB）、Fashion-MNIST（约 30 MB）、remote.sh。
#
#   bash tools/gpu/prepare.sh
#   DRY_RUN=1 OUT=/tmp/gpu-out PYTHON=.venv/bin/python bash .gpu/remote.sh   # 先在本机按缩减规模试一遍
#   （在 GPU 机器上，仓库根目录）OUT=<结果目录> bash .gpu/remote.sh          # 约 6 分钟；BENCH=1 另跑基准测试
#
# 试运行会改写第 6 章的笔记本：之后用 git checkout chapters/ch06_modern-cnn 还原。
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
here=$(cd "$(dirname "$0")" && pwd)
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/whl .gpu/fashion-mnist

python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d .gpu/whl \
  nbclient==0.11.0 nbformat==5.11.1 jupyter_client==8.10.0 ipykernel==7.4.0 \
  ipython==9.18.1 matplotlib-inline==0.2.2 2>&1 | grep -v 'is ignored' || true
# GPU 机器自己有这些（matplotlib、pandas 依赖它们），留用它的版本
for p in attrs packaging psutil pygments python_dateutil typing_extensions six; do
  rm -f .gpu/whl/${p}-*.whl
done

src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
cp "$src"/*-ubyte* .gpu/fashion-mnist/
cp "$here/remote.sh" .gpu/remote.sh
du -sh .gpu .gpu/whl .gpu/fashion-mnist
echo "仓库加 .gpu/ 应小于 64 MiB：git ls-files -z | xargs -0 du -cb | tail -1"
