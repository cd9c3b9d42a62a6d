#!/usr/bin/env bash
# 检查（有权限时安装）本书需要的 Debian/Ubuntu 系统软件包
#   dataset-fashion-mnist  Fashion-MNIST 数据集（/usr/share/datasets/fashion-mnist）
#   fonts-noto-cjk         图和示意图中的中文字体
#   graphviz               构建网站时渲染示意图（dot）
#   chromium chromium-driver  浏览器测试（只有 make test 需要）
set -euo pipefail
pkgs=(dataset-fashion-mnist fonts-noto-cjk graphviz)
if [ "${1:-}" = "--with-browser" ]; then pkgs+=(chromium chromium-driver); fi

missing=()
for p in "${pkgs[@]}"; do
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
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
