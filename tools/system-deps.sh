#!/usr/bin/env bash
# 检查（有权限时安装）本书需要的 Debian/Ubuntu 系统软件包。每条 make 命令只要求它用得到的：
#   bash tools/system-deps.sh site|unit|execute|bench|test
#
#   site     构建网站：fonts-noto-cjk（示意图里的中文）、graphviz（dot 渲染示意图）
#   unit     单元测试：fonts-noto-cjk（中文字体检查）+ Fashion-MNIST（数据测试）
#   execute  执行笔记本：fonts-noto-cjk（图里的中文）+ Fashion-MNIST
#   bench    基准测试：Fashion-MNIST
#   test     全部测试：以上全部 + chromium chromium-driver（浏览器检查）
#
# Fashion-MNIST 来自软件包 dataset-fashion-mnist（/usr/share/datasets/fashion-mnist）；
# 环境变量 FASHION_MNIST_DIR 指向的目录已有四个 IDX 文件（.gz 或解压后的）时不需要这个软件包。
set -euo pipefail

usage() {
  echo "用法：bash tools/system-deps.sh site|unit|execute|bench|test" >&2
  exit 2
}
[ $# -eq 1 ] || usage
case "$1" in
  site)         pkgs=(fonts-noto-cjk graphviz);                          needs_data=0 ;;
  unit|execute) pkgs=(fonts-noto-cjk);                                   needs_data=1 ;;
  bench)        pkgs=();                                                 needs_data=1 ;;
  test)         pkgs=(fonts-noto-cjk graphviz chromium chromium-driver); needs_data=1 ;;
  *)            usage ;;
esac

# FASHION_MNIST_DIR 已提供全部四个文件时返回 0
fashion_mnist_in_env_dir() {
  local d="${FASHION_MNIST_DIR:-}" n
  [ -n "$d" ] || return 1
  if [ ! -d "$d" ]; then
    echo "环境变量 FASHION_MNIST_DIR=$d：这个路径不存在或不是目录。" >&2
    echo "请把它改成存放四个 IDX 文件的目录，或取消这个变量（unset FASHION_MNIST_DIR）。" >&2
    exit 1
  fi
  for n in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if ! { [ -f "$d/$n.gz" ] && [ -r "$d/$n.gz" ]; } && ! { [ -f "$d/$n" ] && [ -r "$d/$n" ]; }; then
      echo "FASHION_MNIST_DIR=$d 中没有可读的 $n(.gz)，需要软件包 dataset-fashion-mnist" >&2
      return 1
    fi
  done
}
if [ "$needs_data" = 1 ] && ! fashion_mnist_in_env_dir; then
  pkgs+=(dataset-fashion-mnist)
fi

missing=()
for p in ${pkgs[@]+"${pkgs[@]}"}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "缺少系统软件包：${missing[*]}"
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "没有安装权限。请先运行：" >&2
  echo "  sudo apt-get update && sudo apt-get install ${missing[*]}" >&2
  case " ${missing[*]} " in
    *" dataset-fashion-mnist "*)
      echo "（Fashion-MNIST 也可以不装软件包：把四个 IDX 文件放进一个目录，并设置 FASHION_MNIST_DIR=该目录）" >&2 ;;
  esac
  exit 1
fi
